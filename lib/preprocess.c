/* preprocess.c - a decoded image to a model input [3][size][size]: resize,
 * grey replicated to RGB, pixel scaling named in the model's metadata. */
#include <string.h>

#include "image.h"

const char *cnn_preproc_name(cnn_preproc p)
{
    switch (p) {
    case CNN_PREPROC_UNIT: return "unit";
    case CNN_PREPROC_SYMMETRIC: return "symmetric";
    }
    return "unknown";
}

cnn_status cnn_preproc_parse(const char *name, cnn_preproc *out, cnn_error *err)
{
    if (strcmp(name, "unit") == 0) {
        *out = CNN_PREPROC_UNIT;
        return CNN_OK;
    }
    if (strcmp(name, "symmetric") == 0) {
        *out = CNN_PREPROC_SYMMETRIC;
        return CNN_OK;
    }
    return cnn_fail(err, CNN_ERR_ARG,
                    "unknown preprocessing \"%s\" (expected unit or symmetric)",
                    name);
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
    /* y = x * scale + shift */
    const float scale = p == CNN_PREPROC_UNIT ? 1.0f / 255.0f : 1.0f / 127.5f;
    const float shift = p == CNN_PREPROC_UNIT ? 0.0f : -1.0f;
    const size_t plane = (size_t)size * size;
    for (int c = 0; c < 3; c++) {
        const float *s = src->data + (src->channels == 3 ? c * plane : 0);
        float *d = out + c * plane;
        for (size_t i = 0; i < plane; i++)
            d[i] = s[i] * scale + shift;
    }
    cnn_image_free(&resized);
    return CNN_OK;
}
