/* augment.h - random training-time augmentation of decoded images: rotation,
 * zoom, horizontal flip and translation composed into ONE affine warp with
 * bilinear sampling, then brightness and contrast. Seeded through cnn_rng,
 * so a seed reproduces the same images. */
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
} cnn_augment_params;

/* Mild settings for chest X-rays: rotation 10, zoom 0.1, translate 0.05,
 * brightness 0.1, contrast 0.1, hflip OFF (a mirrored chest puts the heart
 * on the wrong side, which real X-rays never show; switch it on if wanted). */
cnn_augment_params cnn_augment_defaults(void);

/* One sample's random draw, resolved from the parameters. */
typedef struct {
    float angle_deg;
    float scale;
    float shift_x, shift_y; /* fractions of width / height */
    int flip;
    float brightness;       /* factor */
    float contrast;         /* factor */
} cnn_augment_draw;

/* Draws from rng. Always consumes the same count of random numbers, so that
 * switching one transform off leaves the draws of the others unchanged. */
void cnn_augment_sample(const cnn_augment_params *p, cnn_rng *rng,
                        cnn_augment_draw *d);

/* Applies a draw: src [c][h][w] -> dst (allocated here, same size).
 * Geometry maps output pixel centres back into the source around the image
 * centre: src = centre + flip(rotate(-angle)((out - centre - shift) / scale));
 * pixels outside the source take the nearest edge pixel's value (replicate
 * border, as Keras' fill_mode="nearest"). Then contrast and brightness, with
 * the result clamped to 0..255. The identity draw reproduces src exactly. */
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
