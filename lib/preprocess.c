/* preprocess.c - a decoded image to a model input [3][size][size]: resize,
 * grey replicated to RGB, pixel scaling named in the model's metadata
 * (optionally after standardizing each image's grey levels). */
#include <math.h>
#include <string.h>

#include "image.h"

static const char *const preproc_names[] = {
    [CNN_PREPROC_UNIT] = "unit",
    [CNN_PREPROC_SYMMETRIC] = "symmetric",
    [CNN_PREPROC_UNIT_STANDARDIZED] = "unit-standardized",
    [CNN_PREPROC_SYMMETRIC_STANDARDIZED] = "symmetric-standardized",
};
#define PREPROC_COUNT ((int)(sizeof preproc_names / sizeof preproc_names[0]))

const char *cnn_preproc_name(cnn_preproc p)
{
    return (int)p >= 0 && (int)p < PREPROC_COUNT ? preproc_names[p] : "unknown";
}

cnn_status cnn_preproc_parse(const char *name, cnn_preproc *out, cnn_error *err)
{
    for (int i = 0; i < PREPROC_COUNT; i++)
        if (strcmp(name, preproc_names[i]) == 0) {
            *out = (cnn_preproc)i;
            return CNN_OK;
        }
    return cnn_fail(err, CNN_ERR_ARG,
                    "unknown preprocessing \"%s\" (expected unit, symmetric, "
                    "unit-standardized or symmetric-standardized)", name);
}

int cnn_image_collapse_grey(cnn_image *img)
{
    if (img->channels != 3)
        return 0;
    const size_t plane = (size_t)img->width * img->height;
    const float *r = img->data, *g = r + plane, *b = g + plane;
    for (size_t i = 0; i < plane; i++)
        if (r[i] != g[i] || r[i] != b[i])
            return 0;
    img->channels = 1;
    return 1;
}

/* The map x -> x * scale + shift that gives the n grey levels in x the
 * standard mean and spread in [0, 1] units. Below one grey level of spread
 * the image is taken as flat: every pixel gets the standard mean. */
static void standardize(const float *x, size_t n, float *scale, float *shift)
{
    double sum = 0.0, sum_sq = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum += x[i];
        sum_sq += (double)x[i] * x[i];
    }
    const double mean = sum / (double)n;
    const double var = sum_sq / (double)n - mean * mean;
    const double sd = var > 1.0 ? sqrt(var) : 0.0;
    *scale = sd > 0.0 ? (float)(CNN_STANDARD_SD / sd) : 0.0f;
    *shift = (float)(CNN_STANDARD_MEAN - mean * *scale);
}

cnn_status cnn_image_to_input(const cnn_image *img, int size, cnn_preproc p,
                              float *out, cnn_error *err)
{
    if (size <= 0)
        return cnn_fail(err, CNN_ERR_ARG, "bad input size %d", size);
    if (img->channels != 1 && img->channels != 3)
        return cnn_fail(err, CNN_ERR_ARG, "image has %d channels (want 1 or 3)",
                        img->channels);
    cnn_image resized = {0};
    const cnn_image *src = img;
    if (img->width != size || img->height != size) {
        cnn_status st = cnn_image_resize(img, size, size, &resized, err);
        if (st != CNN_OK)
            return st;
        src = &resized;
    }
    const size_t plane = (size_t)size * size;
    /* y = x * scale + shift, in two steps: 0..255 to [0, 1] (standardized
     * modes: to the standard mean and spread), then [0, 1] to the range */
    float scale = 1.0f / 255.0f, shift = 0.0f;
    if (p == CNN_PREPROC_UNIT_STANDARDIZED ||
        p == CNN_PREPROC_SYMMETRIC_STANDARDIZED)
        standardize(src->data, plane * src->channels, &scale, &shift);
    if (p == CNN_PREPROC_SYMMETRIC || p == CNN_PREPROC_SYMMETRIC_STANDARDIZED) {
        scale *= 2.0f;
        shift = 2.0f * shift - 1.0f;
    }
    for (int c = 0; c < 3; c++) {
        const float *s = src->data + (src->channels == 3 ? c * plane : 0);
        float *d = out + c * plane;
        for (size_t i = 0; i < plane; i++)
            d[i] = s[i] * scale + shift;
    }
    cnn_image_free(&resized);
    return CNN_OK;
}
