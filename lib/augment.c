/* augment.c - random affine warp (rotation, zoom, flip, translation) with
 * bilinear sampling and a replicated border, border patches and marker
 * glyphs, gamma, brightness and contrast, pipeline degradations; and a
 * preview grid of augmented samples. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "augment.h"
#include "degrade.h"

cnn_augment_params cnn_augment_defaults(void)
{
    return (cnn_augment_params){.rotation_deg = 10.0f,
                                .zoom = 0.1f,
                                .translate = 0.05f,
                                .hflip = 0,
                                .brightness = 0.1f,
                                .contrast = 0.1f,
                                .gamma = 0.3f,
                                .erase = 0.3f,
                                .markers = 0.3f,
                                .rescale_min = 0.35f,
                                .blur = 1.2f,
                                .noise = 4.0f,
                                .jpeg_min = 30};
}

/* Uniform in [-1, 1). */
static float symmetric_uniform(cnn_rng *rng)
{
    return 2.0f * cnn_rng_uniform(rng) - 1.0f;
}

/* Uniform in [0, 1). */
#define U(i) (0.5f * (u[i] + 1.0f))

/* A patch of 8-25% of each side touching a border or a corner (where in
 * the training X-rays the hospital's labels and film edges are). */
static void draw_patch(const float *u, float rect[4])
{
    float w = 0.08f + 0.17f * U(0), h = 0.08f + 0.17f * U(1);
    int where = (int)(8.0f * U(2)) % 8; /* 4 sides, then 4 corners */
    float along = U(3);
    float x = (where == 1 || where == 5 || where == 7) ? 1.0f - w
              : (where == 0 || where == 2) ? along * (1.0f - w) : 0.0f;
    float y = (where == 2 || where == 6 || where == 7) ? 1.0f - h
              : (where == 1 || where == 3) ? along * (1.0f - h) : 0.0f;
    rect[0] = x, rect[1] = y, rect[2] = w, rect[3] = h;
}

/* A glyph of 4-8% of the width (1.4 times as high), anywhere in the outer
 * fifth of the image (where laterality markers such as "R" sit), wholly
 * inside it. */
static void draw_glyph(const float *u, float rect[4])
{
    float size = 0.04f + 0.04f * U(0), height = 1.4f * size;
    int side = (int)(4.0f * U(3)) % 4;
    /* along the side, and in from it: horizontally by the width, vertically
     * by the height */
    float ax = U(1) * (1.0f - size), bx = 0.2f * U(2) * (1.0f - size);
    float ay = U(1) * (1.0f - height), by = 0.2f * U(2) * (1.0f - height);
    float x = side < 2 ? ax : side == 2 ? bx : 1.0f - size - bx;
    float y = side == 0 ? by : side == 1 ? 1.0f - height - by : ay;
    rect[0] = x, rect[1] = y, rect[2] = size, rect[3] = height;
}

enum { DRAWS = 41 };

void cnn_augment_sample(const cnn_augment_params *p, cnn_rng *rng,
                        cnn_augment_draw *d)
{
    float u[DRAWS];
    for (int i = 0; i < DRAWS; i++)
        u[i] = symmetric_uniform(rng);
    const uint64_t noise_seed = cnn_rng_next(rng);
    memset(d, 0, sizeof *d);
    d->angle_deg = p->rotation_deg * u[0];
    d->scale = 1.0f + p->zoom * u[1];
    d->shift_x = p->translate * u[2];
    d->shift_y = p->translate * u[3];
    d->flip = p->hflip && u[4] < 0.0f;
    d->brightness = 1.0f + p->brightness * u[5];
    d->contrast = 1.0f + p->contrast * u[6];
    d->gamma = p->gamma > 0.0f ? expf(p->gamma * u[7]) : 1.0f;
    if (U(8) < p->erase) {
        d->patches = U(9) < 0.5f ? 1 : 2;
        for (int i = 0; i < d->patches; i++) {
            const float *v = u + 10 + 5 * i;
            draw_patch(v, d->patch[i]);
            /* black, white or any grey, a third each */
            float kind = 1.5f * (v[4] + 1.0f);
            d->patch_level[i] = kind < 1.0f ? 0.0f : kind < 2.0f ? 255.0f
                                                 : 255.0f * (kind - 2.0f);
        }
    }
    if (U(20) < p->markers) {
        d->glyphs = U(21) < 0.5f ? 1 : 2;
        for (int i = 0; i < d->glyphs; i++) {
            const float *v = u + 22 + 6 * i;
            draw_glyph(v, d->glyph[i]);
            d->glyph_level[i] = 190.0f + 32.5f * (v[4] + 1.0f);
            d->glyph_shape[i] = (int)(2.0f * (v[5] + 1.0f)) % 4;
        }
    }
    static const cnn_resize_filter down[] = {CNN_RESIZE_NEAREST, CNN_RESIZE_BOX,
                                             CNN_RESIZE_BILINEAR, CNN_RESIZE_BICUBIC,
                                             CNN_RESIZE_LANCZOS};
    d->rescale = 1.0f;
    if (p->rescale_min > 0.0f && U(34) < 0.5f) {
        d->rescale = p->rescale_min + (1.0f - p->rescale_min) * U(35);
        d->rescale_down = down[(int)(5.0f * U(36)) % 5];
        d->rescale_up = U(40) < 0.5f ? CNN_RESIZE_BILINEAR : CNN_RESIZE_BICUBIC;
    }
    /* Each step below is decided by one draw: given U < 1/2, 2U is again
     * uniform in [0, 1) and sets the strength. */
    if (p->blur > 0.0f && U(37) < 0.5f)
        d->blur_sigma = p->blur * 2.0f * U(37);
    if (p->noise > 0.0f && U(38) < 0.5f) {
        d->noise_sd = p->noise * 2.0f * U(38);
        d->noise_seed = noise_seed;
    }
    if (p->jpeg_min > 0 && p->jpeg_min <= 95 && U(39) < 0.5f) {
        int span = 95 - p->jpeg_min + 1;
        int q = p->jpeg_min + (int)(2.0f * U(39) * (float)span);
        d->jpeg_quality = q < 95 ? q : 95;
    }
}
#undef U

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* A block of the glyph's level with one or two dark strokes cut out, so
 * that it looks like a lead letter on the film rather than a plain
 * square. */
static void draw_glyph_pixels(cnn_image *img, const float rect[4], float level,
                              int shape)
{
    int x = (int)lrintf(rect[0] * img->width), y = (int)lrintf(rect[1] * img->height);
    int gw = (int)lrintf(rect[2] * img->width), gh = (int)lrintf(rect[3] * img->height);
    if (gw < 3 || gh < 3)
        return;
    int sw = gw / 3 > 0 ? gw / 3 : 1, sh = gh / 3 > 0 ? gh / 3 : 1;
    cnn_image_fill_rect(img, x, y, gw, gh, level);
    const float dark = 0.25f * level;
    if (shape & 1) /* an open side: a C or U */
        cnn_image_fill_rect(img, x + sw, y + sh, gw - sw, sh, dark);
    else /* a hole: an O or D */
        cnn_image_fill_rect(img, x + sw, y + sh, sw, sh, dark);
    if (shape & 2) /* a notch below: R- or A-like legs */
        cnn_image_fill_rect(img, x + sw, y + 2 * sh + sh / 2, sw, gh - 2 * sh - sh / 2, dark);
}

/* The pipeline steps of a draw, in place on img (may replace its buffer). */
static cnn_status degrade(const cnn_augment_draw *d, cnn_image *img,
                          cnn_error *err)
{
    cnn_status st = CNN_OK;
    if (d->rescale < 1.0f)
        st = cnn_image_rescale_roundtrip(img, d->rescale, d->rescale_down,
                                         d->rescale_up, err);
    if (st == CNN_OK && d->blur_sigma > 0.0f)
        st = cnn_image_gaussian_blur(img, d->blur_sigma, err);
    if (st == CNN_OK && d->noise_sd > 0.0f)
        cnn_image_add_noise(img, d->noise_sd, d->noise_seed);
    if (st == CNN_OK && d->jpeg_quality > 0) {
        cnn_image jpeg;
        st = cnn_image_jpeg_roundtrip(img, d->jpeg_quality, &jpeg, err);
        if (st == CNN_OK) {
            cnn_image_free(img);
            *img = jpeg;
        }
    }
    if (st != CNN_OK)
        cnn_image_free(img);
    return st;
}

cnn_status cnn_augment_apply(const cnn_augment_draw *d, const cnn_image *src,
                             cnn_image *dst, cnn_error *err)
{
    const int w = src->width, h = src->height, c = src->channels;
    cnn_status st = cnn_image_alloc(dst, w, h, c, err);
    if (st != CNN_OK)
        return st;
    if (d->scale <= 0.0f) {
        cnn_image_free(dst);
        return cnn_fail(err, CNN_ERR_ARG, "augmentation scale %g is not positive",
                        (double)d->scale);
    }
    const double rad = d->angle_deg * 3.14159265358979323846 / 180.0;
    /* Inverse map, output -> source: rotate by -angle (y points down), undo
     * the scale, mirror x. */
    const float cs = (float)(cos(rad) / d->scale), sn = (float)(sin(rad) / d->scale);
    const float mirror = d->flip ? -1.0f : 1.0f;
    const float cx = 0.5f * (float)(w - 1), cy = 0.5f * (float)(h - 1);
    const float tx = d->shift_x * (float)w, ty = d->shift_y * (float)h;
    const size_t plane = (size_t)w * h;
    const float max_x = (float)(w - 1), max_y = (float)(h - 1);
    for (int y = 0; y < h; y++) {
        float dy = (float)y - cy - ty;
        for (int x = 0; x < w; x++) {
            float dx = (float)x - cx - tx;
            /* Source position, clamped to the image (replicate border). */
            float sx = clampf(cx + mirror * (cs * dx - sn * dy), 0.0f, max_x);
            float sy = clampf(cy + (sn * dx + cs * dy), 0.0f, max_y);
            int x0 = (int)sx, y0 = (int)sy;
            int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
            float fx = sx - (float)x0, fy = sy - (float)y0;
            size_t i00 = (size_t)y0 * w + x0, i01 = (size_t)y0 * w + x1;
            size_t i10 = (size_t)y1 * w + x0, i11 = (size_t)y1 * w + x1;
            for (int ch = 0; ch < c; ch++) {
                const float *p = src->data + ch * plane;
                float top = p[i00] + fx * (p[i01] - p[i00]);
                float bottom = p[i10] + fx * (p[i11] - p[i10]);
                dst->data[ch * plane + (size_t)y * w + x] = top + fy * (bottom - top);
            }
        }
    }

    /* Both edges of a patch rounded to pixels (the pixels whose centres
     * it covers), so that one at the border reaches the last row or
     * column. */
    for (int i = 0; i < d->patches; i++) {
        const float *r = d->patch[i];
        int x0 = (int)lrintf(r[0] * w), x1 = (int)lrintf((r[0] + r[2]) * w);
        int y0 = (int)lrintf(r[1] * h), y1 = (int)lrintf((r[1] + r[3]) * h);
        cnn_image_fill_rect(dst, x0, y0, x1 - x0, y1 - y0, d->patch_level[i]);
    }
    for (int i = 0; i < d->glyphs; i++)
        draw_glyph_pixels(dst, d->glyph[i], d->glyph_level[i], d->glyph_shape[i]);
    if (d->gamma != 1.0f)
        cnn_image_gamma(dst, d->gamma);

    /* Photometric: factors of exactly 1 are skipped so that the identity
     * stays exact. */
    const size_t n = plane * c;
    if (d->contrast != 1.0f) {
        double sum = 0.0;
        for (size_t i = 0; i < n; i++)
            sum += dst->data[i];
        float mean = (float)(sum / n);
        for (size_t i = 0; i < n; i++)
            dst->data[i] = clampf(mean + (dst->data[i] - mean) * d->contrast, 0.0f,
                                  255.0f);
    }
    if (d->brightness != 1.0f)
        for (size_t i = 0; i < n; i++)
            dst->data[i] = clampf(dst->data[i] * d->brightness, 0.0f, 255.0f);
    return degrade(d, dst, err);
}

cnn_status cnn_augment_image(const cnn_augment_params *p, cnn_rng *rng,
                             const cnn_image *src, cnn_image *dst,
                             cnn_error *err)
{
    cnn_augment_draw d;
    cnn_augment_sample(p, rng, &d);
    return cnn_augment_apply(&d, src, dst, err);
}

/* Copies img [c][size][size] into the RGB8 canvas at (x0, y0). */
static void paste_tile(const cnn_image *img, uint8_t *canvas, int canvas_w,
                       int x0, int y0)
{
    const size_t plane = (size_t)img->width * img->height;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++)
            for (int ch = 0; ch < 3; ch++) {
                int src_ch = img->channels == 3 ? ch : 0;
                float v = img->data[src_ch * plane + (size_t)y * img->width + x];
                canvas[((size_t)(y0 + y) * canvas_w + x0 + x) * 3 + ch] =
                    (uint8_t)lrintf(clampf(v, 0.0f, 255.0f));
            }
}

cnn_status cnn_augment_preview_grid(const char *const *paths, int npaths,
                                    int samples, int size,
                                    const cnn_augment_params *p, uint64_t seed,
                                    const char *out_png, cnn_error *err)
{
    enum { GAP = 4 };
    if (npaths <= 0 || samples <= 0 || size <= 0 || samples > 10000 ||
        size > 4096)
        return cnn_fail(err, CNN_ERR_ARG,
                        "preview needs images, 1..10000 samples and a size "
                        "(got %d images, %d samples, size %d)",
                        npaths, samples, size);
    int cols = (int)ceil(sqrt((double)samples));
    int rows = (samples + cols - 1) / cols;
    int canvas_w = cols * size + (cols + 1) * GAP;
    int canvas_h = rows * size + (rows + 1) * GAP;
    uint8_t *canvas = malloc((size_t)canvas_w * canvas_h * 3);
    if (!canvas)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for a %dx%d preview",
                        canvas_w, canvas_h);
    memset(canvas, 48, (size_t)canvas_w * canvas_h * 3);
    cnn_rng rng;
    cnn_rng_seed(&rng, seed);
    cnn_status st = CNN_OK;
    int loaded = -1;
    cnn_image original = {0}, resized = {0};
    for (int i = 0; i < samples && st == CNN_OK; i++) {
        if (i % npaths != loaded) {
            cnn_image_free(&original);
            cnn_image_free(&resized);
            loaded = i % npaths;
            st = cnn_image_load(paths[loaded], 0, &original, err);
            if (st == CNN_OK)
                st = cnn_image_resize(&original, size, size, &resized, err);
            if (st != CNN_OK)
                break;
        }
        cnn_image tile;
        st = cnn_augment_image(p, &rng, &resized, &tile, err);
        if (st != CNN_OK)
            break;
        paste_tile(&tile, canvas, canvas_w, GAP + (i % cols) * (size + GAP),
                   GAP + (i / cols) * (size + GAP));
        cnn_image_free(&tile);
    }
    cnn_image_free(&original);
    cnn_image_free(&resized);
    if (st == CNN_OK)
        st = cnn_png_write_rgb(out_png, canvas, canvas_w, canvas_h, err);
    free(canvas);
    return st;
}
