/* image.h - decoding PNG/JPEG, resizing, model-input preprocessing, PNG output. */
#ifndef CNN_IMAGE_H
#define CNN_IMAGE_H

#include "cnn.h"

/* A decoded image: float pixels on the 0..255 scale (16-bit sources keep
 * their precision as fractions), planar [channels][height][width];
 * channels is 1 (grey) or 3 (RGB). Alpha is composited over black... see
 * image_decode.c for the exact rule. */
typedef struct {
    int width, height, channels;
    float *data;
} cnn_image;

#define CNN_IMAGE_DEFAULT_MAX_PIXELS (100u * 1000u * 1000u)

/* Decodes PNG or JPEG, chosen by magic bytes. Images with more than
 * max_pixels pixels (0: the default) are refused before any large
 * allocation. */
cnn_status cnn_image_decode(const uint8_t *bytes, size_t len, size_t max_pixels,
                            cnn_image *out, cnn_error *err);
cnn_status cnn_image_load(const char *path, size_t max_pixels, cnn_image *out,
                          cnn_error *err);
void cnn_image_free(cnn_image *img);

/* How a model wants its 0..255 pixels scaled. */
typedef enum {
    CNN_PREPROC_UNIT,      /* x / 255 -> [0, 1]   (nsfwjs InceptionV3) */
    CNN_PREPROC_SYMMETRIC  /* x / 127.5 - 1 -> [-1, 1] (Keras "tf" mode) */
} cnn_preproc;

const char *cnn_preproc_name(cnn_preproc p);  /* "unit", "symmetric" */
cnn_status cnn_preproc_parse(const char *name, cnn_preproc *out, cnn_error *err);

/* Antialiased resize (area-aware, like Pillow's resize) of img to
 * size x size, grey replicated to 3 channels, scaled per preproc:
 * out [3][size][size]. */
cnn_status cnn_image_to_input(const cnn_image *img, int size, cnn_preproc p,
                              float *out, cnn_error *err);

/* Writes 8-bit RGB (interleaved, width*height*3 bytes) as PNG, to a file or
 * to a malloc'd buffer (*out_bytes, *out_len; caller frees). */
cnn_status cnn_png_write_rgb(const char *path, const uint8_t *rgb, int width,
                             int height, cnn_error *err);
cnn_status cnn_png_encode_rgb(const uint8_t *rgb, int width, int height,
                              uint8_t **out_bytes, size_t *out_len,
                              cnn_error *err);

#endif
