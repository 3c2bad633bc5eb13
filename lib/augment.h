/* augment.h - random training-time augmentation of decoded images: rotation,
 * zoom, horizontal flip and translation composed into ONE affine warp with
 * bilinear sampling; patches over the border and marker-like glyphs (so that
 * borders and laterality markers stop being cues); gamma, brightness and
 * contrast; then what real pipelines do to an X-ray (resampling down and
 * up, blur, noise, JPEG re-compression). Seeded through cnn_rng, so a seed
 * reproduces the same images. */
#ifndef CNN_AUGMENT_H
#define CNN_AUGMENT_H

#include "image.h"

/* Strengths; 0 switches a transform off. */
typedef struct {
    float rotation_deg; /* angle uniform in [-r, +r] degrees (positive turns
                           the picture counter-clockwise on screen) */
    float zoom;         /* scale uniform in [1-z, 1+z]; > 1 enlarges */
    float translate;    /* shift uniform in [-t, +t] of the width (x) and of
                           the height (y) */
    int hflip;          /* 1: mirror left-right with probability 1/2 */
    float brightness;   /* pixels multiplied by a factor in [1-b, 1+b] */
    float contrast;     /* distance from the image mean scaled by [1-c, 1+c] */
    float gamma;        /* v -> 255 (v/255)^exp(u g), u uniform in [-1, 1] */
    /* Each of the following acts on a sample with the probability given
     * (erase, markers) or with probability 1/2 (the pipeline steps). */
    float erase;        /* probability of 1-2 flat patches (8-25% of a side)
                           at a border or corner, of a random grey level */
    float markers;      /* probability of 1-2 bright letter-like glyphs
                           (4-8% of the width) in the outer band */
    float rescale_min;  /* down by a factor in [m, 1] with a random filter,
                           then back up (0: off) */
    float blur;         /* Gaussian blur, sigma uniform in [0, b] */
    float noise;        /* Gaussian noise, sd uniform in [0, n] grey levels */
    int jpeg_min;       /* JPEG re-compression at quality in [q, 95] (0: off) */
} cnn_augment_params;

/* Settings for chest X-rays: rotation 10, zoom 0.1, translate 0.05,
 * brightness 0.1, contrast 0.1, gamma 0.3 (0.74-1.35), erase 0.3, markers
 * 0.3, rescale down to 0.35, blur 1.2, noise 4, JPEG quality 30-95; hflip
 * OFF (a mirrored chest puts the heart on the wrong side, which real X-rays
 * never show; switch it on if wanted). */
cnn_augment_params cnn_augment_defaults(void);

/* One sample's random draw, resolved from the parameters. */
typedef struct {
    float angle_deg;
    float scale;
    float shift_x, shift_y; /* fractions of width / height */
    int flip;
    float brightness;       /* factor */
    float contrast;         /* factor */
    float gamma;            /* exponent; 1: none */
    /* rectangles in fractions of width (x, w) and height (y, h) */
    int patches;            /* 0-2 erase patches */
    float patch[2][4], patch_level[2];
    int glyphs;             /* 0-2 marker glyphs */
    float glyph[2][4], glyph_level[2];
    int glyph_shape[2];     /* which strokes are cut out of the block */
    float rescale;          /* factor; 1: none */
    cnn_resize_filter rescale_down, rescale_up;
    float blur_sigma;       /* 0: none */
    float noise_sd;         /* 0: none */
    uint64_t noise_seed;
    int jpeg_quality;       /* 0: none */
} cnn_augment_draw;

/* Draws from rng. Always consumes the same count of random numbers, so that
 * switching one transform off leaves the draws of the others unchanged. */
void cnn_augment_sample(const cnn_augment_params *p, cnn_rng *rng,
                        cnn_augment_draw *d);

/* Applies a draw: src [c][h][w] -> dst (allocated here, same size).
 * Geometry maps output pixel centres back into the source around the image
 * centre: src = centre + flip(rotate(-angle)((out - centre - shift) / scale));
 * pixels outside the source take the nearest edge pixel's value (replicate
 * border, as Keras' fill_mode="nearest"). Then patches and glyphs, gamma,
 * contrast and brightness (clamped to 0..255), and last the pipeline steps
 * in the order a real one applies them: rescale, blur, noise, JPEG. The
 * identity draw reproduces src exactly. */
cnn_status cnn_augment_apply(const cnn_augment_draw *d, const cnn_image *src,
                             cnn_image *dst, cnn_error *err);

/* cnn_augment_sample + cnn_augment_apply. */
cnn_status cnn_augment_image(const cnn_augment_params *p, cnn_rng *rng,
                             const cnn_image *src, cnn_image *dst,
                             cnn_error *err);

/* Writes a PNG grid of `samples` augmented tiles (size x size each, 4-px
 * gaps, about square), tile i made from paths[i % npaths] resized to
 * size x size and augmented with draws from one generator seeded by seed.
 * Backs `trainer --preview-augment N grid.png`. */
cnn_status cnn_augment_preview_grid(const char *const *paths, int npaths,
                                    int samples, int size,
                                    const cnn_augment_params *p, uint64_t seed,
                                    const char *out_png, cnn_error *err);

#endif
