/* degrade.c - resampling round trips, blur, noise and gamma (see degrade.h). */
#include "degrade.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float clamp255(float v) { return v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v; }

cnn_status cnn_image_rescale_roundtrip(cnn_image *img, float factor,
                                       cnn_resize_filter down,
                                       cnn_resize_filter up, cnn_error *err)
{
    if (!(factor > 0.0f && factor <= 1.0f))
        return cnn_fail(err, CNN_ERR_ARG, "rescale factor %g outside (0, 1]",
                        (double)factor);
    int w = (int)lrintf(factor * (float)img->width);
    int h = (int)lrintf(factor * (float)img->height);
    cnn_image small = {0}, back = {0};
    cnn_status st = cnn_image_resize_filter(img, w > 0 ? w : 1, h > 0 ? h : 1,
                                            down, &small, err);
    if (st == CNN_OK)
        st = cnn_image_resize_filter(&small, img->width, img->height, up, &back,
                                     err);
    cnn_image_free(&small);
    if (st != CNN_OK)
        return st;
    cnn_image_free(img);
    *img = back;
    return CNN_OK;
}

/* One pass of the 1-D kernel k[-r..r] along rows (step 1) or columns
 * (step = width) of one plane, edges replicated. */
static void blur_pass(const float *src, float *dst, int w, int h,
                      const float *k, int r, int along_rows)
{
    const int n = along_rows ? w : h;
    for (int line = 0; line < (along_rows ? h : w); line++)
        for (int i = 0; i < n; i++) {
            float sum = 0.0f;
            for (int t = -r; t <= r; t++) {
                int j = i + t < 0 ? 0 : i + t >= n ? n - 1 : i + t;
                size_t at = along_rows ? (size_t)line * w + j
                                       : (size_t)j * w + line;
                sum += k[t + r] * src[at];
            }
            dst[along_rows ? (size_t)line * w + i : (size_t)i * w + line] = sum;
        }
}

cnn_status cnn_image_gaussian_blur(cnn_image *img, float sigma, cnn_error *err)
{
    if (!(sigma > 0.0f))
        return CNN_OK;
    /* scipy's radius: int(truncate * sigma + 0.5), truncate = 3 */
    const int r = (int)(3.0 * (double)sigma + 0.5);
    const size_t plane = (size_t)img->width * img->height;
    float *k = malloc(sizeof(float) * (2 * (size_t)r + 1));
    float *tmp = malloc(sizeof(float) * plane);
    if (!k || !tmp) {
        free(k);
        free(tmp);
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for a blur");
    }
    double total = 0.0;
    for (int t = -r; t <= r; t++)
        total += exp(-0.5 * (double)t * t / ((double)sigma * sigma));
    for (int t = -r; t <= r; t++)
        k[t + r] = (float)(exp(-0.5 * (double)t * t / ((double)sigma * sigma)) /
                           total);
    for (int c = 0; c < img->channels; c++) {
        float *p = img->data + c * plane;
        blur_pass(p, tmp, img->width, img->height, k, r, 1);
        blur_pass(tmp, p, img->width, img->height, k, r, 0);
    }
    free(k);
    free(tmp);
    return CNN_OK;
}

void cnn_image_add_noise(cnn_image *img, float sd, uint64_t seed)
{
    cnn_rng rng;
    cnn_rng_seed(&rng, seed);
    const size_t n = (size_t)img->width * img->height * img->channels;
    for (size_t i = 0; i < n; i++)
        img->data[i] = clamp255(img->data[i] + sd * cnn_rng_normal(&rng));
}

void cnn_image_gamma(cnn_image *img, float gamma)
{
    const size_t n = (size_t)img->width * img->height * img->channels;
    for (size_t i = 0; i < n; i++)
        img->data[i] = 255.0f * powf(clamp255(img->data[i]) / 255.0f, gamma);
}

void cnn_image_fill_rect(cnn_image *img, int x0, int y0, int w, int h,
                         float level)
{
    int x1 = x0 + w < img->width ? x0 + w : img->width;
    int y1 = y0 + h < img->height ? y0 + h : img->height;
    x0 = x0 > 0 ? x0 : 0;
    y0 = y0 > 0 ? y0 : 0;
    const size_t plane = (size_t)img->width * img->height;
    for (int c = 0; c < img->channels; c++)
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
                img->data[c * plane + (size_t)y * img->width + x] = level;
}
