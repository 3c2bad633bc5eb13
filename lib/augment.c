/* augment.c - random affine warp (rotation, zoom, flip, translation) with
 * bilinear sampling and a replicated border, brightness and contrast; and
 * a preview grid of augmented samples. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "augment.h"

cnn_augment_params cnn_augment_defaults(void)
{
    return (cnn_augment_params){.rotation_deg = 10.0f,
                                .zoom = 0.1f,
                                .translate = 0.05f,
                                .hflip = 0,
                                .brightness = 0.1f,
                                .contrast = 0.1f};
}

/* Uniform in [-1, 1). */
static float symmetric_uniform(cnn_rng *rng)
{
    return 2.0f * cnn_rng_uniform(rng) - 1.0f;
}

void cnn_augment_sample(const cnn_augment_params *p, cnn_rng *rng,
                        cnn_augment_draw *d)
{
    float u[7];
    for (int i = 0; i < 7; i++)
        u[i] = symmetric_uniform(rng);
    d->angle_deg = p->rotation_deg * u[0];
    d->scale = 1.0f + p->zoom * u[1];
    d->shift_x = p->translate * u[2];
    d->shift_y = p->translate * u[3];
    d->flip = p->hflip && u[4] < 0.0f;
    d->brightness = 1.0f + p->brightness * u[5];
    d->contrast = 1.0f + p->contrast * u[6];
}

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
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
    return CNN_OK;
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
