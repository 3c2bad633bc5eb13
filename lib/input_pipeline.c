/* input_pipeline.c - a decoded image to the model's input, one path for
 * training and use: resize with the model's filter, [augmentation while
 * training], JPEG round trip at the model's quality, pixel scaling. */
#include <string.h>

#include "model.h"

cnn_status cnn_input_resize(const cnn_image *img, int size,
                            cnn_resize_filter filter, cnn_image *out,
                            cnn_error *err)
{
    *out = (cnn_image){0};
    if (size <= 0)
        return cnn_fail(err, CNN_ERR_ARG, "bad input size %d", size);
    if (img->width != size || img->height != size)
        return cnn_image_resize_filter(img, size, size, filter, out, err);
    cnn_status st = cnn_image_alloc(out, size, size, img->channels, err);
    if (st == CNN_OK)
        memcpy(out->data, img->data,
               sizeof(float) * (size_t)size * size * img->channels);
    return st;
}

cnn_status cnn_input_finish(const cnn_image *sized, int jpeg_quality,
                            cnn_preproc p, float *out, cnn_error *err)
{
    if (sized->width != sized->height)
        return cnn_fail(err, CNN_ERR_ARG, "input image is %dx%d, not square",
                        sized->width, sized->height);
    if (jpeg_quality <= 0)
        return cnn_image_to_input(sized, sized->width, p, out, err);
    cnn_image jpeg;
    cnn_status st = cnn_image_jpeg_roundtrip(sized, jpeg_quality, &jpeg, err);
    if (st == CNN_OK)
        st = cnn_image_to_input(&jpeg, sized->width, p, out, err);
    cnn_image_free(&jpeg);
    return st;
}

cnn_status cnn_model_input(const cnn_model_config *cfg, const cnn_image *img,
                           float *out, cnn_error *err)
{
    cnn_image sized;
    cnn_status st = cnn_input_resize(img, cfg->input_size, cfg->resize_filter,
                                     &sized, err);
    if (st == CNN_OK)
        st = cnn_input_finish(&sized, cfg->input_jpeg_quality, cfg->preprocess,
                              out, err);
    cnn_image_free(&sized);
    return st;
}
