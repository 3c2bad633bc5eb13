/* image.h - decoding PNG/JPEG/DICOM, resizing, model-input preprocessing, PNG output. */
#ifndef CNN_IMAGE_H
#define CNN_IMAGE_H

#include "cnn.h"

/* A decoded image: float pixels on the 0..255 scale (16-bit sources keep
 * their precision as fractions: v16 * 255 / 65535), planar
 * [channels][height][width]; channels is 1 (grey) or 3 (RGB).
 *
 * Alpha (grey+alpha, RGBA, palette or colour-key transparency) is
 * composited over black: value * alpha / alpha_max. A transparent border
 * around an X-ray thus reads as black, like the unexposed film around it.
 * Palette images decode to RGB; CMYK/YCCK JPEGs to RGB. Gamma and colour
 * profiles are ignored (as Pillow does by default). */
typedef struct {
    int width, height, channels;
    float *data;
} cnn_image;

#define CNN_IMAGE_DEFAULT_MAX_PIXELS (100u * 1000u * 1000u)

/* What a PNG or JPEG decodes into never exceeds this many floats (64 MiB),
 * whatever the source's pixel count; decoding goes row by row, so that it
 * costs little more:
 *   - an RGB source whose three samples are equal in every pixel (most
 *     X-rays saved as RGB) decodes to one grey plane, as
 *     cnn_image_collapse_grey would leave it;
 *   - images that fit (a grey 4096x4096, a colour 2364x2364) decode pixel
 *     for pixel; larger ones are reduced while decoding, each pixel the
 *     mean of a k x k block of source pixels for the smallest k that fits;
 *     width and height are then those of the reduced image.
 * Progressive JPEGs whose DCT coefficients would take more than 96 MiB
 * (libjpeg holds them all) and PNGs with a side over 65535 pixels are
 * refused (CNN_ERR_TOO_LARGE). */
#define CNN_IMAGE_MAX_DECODED_SAMPLES ((size_t)16 << 20)

/* Decodes PNG, JPEG or DICOM, chosen by magic bytes. Images with more than
 * max_pixels pixels (0: the default) are refused before any large
 * allocation. On failure *out is left empty ({0}) and err names the problem
 * ("empty file", "truncated PNG ...", "not a PNG, JPEG or DICOM file (starts
 * with ...)", "image is WxH = N megapixels, over the M megapixel limit"). */
cnn_status cnn_image_decode(const uint8_t *bytes, size_t len, size_t max_pixels,
                            cnn_image *out, cnn_error *err);
/* Reads the file and decodes it; error messages start with the path. */
cnn_status cnn_image_load(const char *path, size_t max_pixels, cnn_image *out,
                          cnn_error *err);

/* DICOM (lib/dicom.h) is decoded too, detected by content. Its header may
 * say that the image is not a frontal chest X-ray (a lateral view, another
 * body part, another modality): cnn_image_decode and cnn_image_load then
 * fail with CNN_ERR_UNSUPPORTED, "not a frontal chest X-ray (REASON)". The
 * _ex forms decode it all the same and fill *dicom (dicom->present = 1 for
 * DICOM input, 0 otherwise; dicom->refusal holds the reason), so that the
 * caller can refuse it its own way and show what the header says. */
typedef struct cnn_dicom_info cnn_dicom_info;
cnn_status cnn_image_decode_ex(const uint8_t *bytes, size_t len,
                               size_t max_pixels, cnn_image *out,
                               cnn_dicom_info *dicom, cnn_error *err);
cnn_status cnn_image_load_ex(const char *path, size_t max_pixels,
                             cnn_image *out, cnn_dicom_info *dicom,
                             cnn_error *err);
void cnn_image_free(cnn_image *img);

/* The format-specific decoders behind cnn_image_decode (same contract;
 * max_pixels must already be resolved, i.e. > 0). */
cnn_status cnn_png_decode(const uint8_t *bytes, size_t len, size_t max_pixels,
                          cnn_image *out, cnn_error *err);
cnn_status cnn_jpeg_decode(const uint8_t *bytes, size_t len, size_t max_pixels,
                           cnn_image *out, cnn_error *err);

/* Checks decoded dimensions before anything large is allocated: positive,
 * width*height <= max_pixels, and width*height*4 floats addressable. */
cnn_status cnn_image_check_dimensions(uint64_t width, uint64_t height,
                                      size_t max_pixels, cnn_error *err);

/* Allocates img->data for width x height x channels floats (uninitialized);
 * checks the size for overflow. */
cnn_status cnn_image_alloc(cnn_image *img, int width, int height, int channels,
                           cnn_error *err);

/* Antialiased resize of src [c][h][w] to dst [c][out_h][out_w] (dst is
 * allocated here), the way Pillow's Image.resize does by default: a
 * separable bicubic (a = -0.5) convolution whose support is widened by the
 * scale factor when downscaling, so that every source pixel contributes
 * (area-aware); plain bicubic interpolation when upscaling. Results are
 * clamped to 0..255. */
cnn_status cnn_image_resize(const cnn_image *src, int out_w, int out_h,
                            cnn_image *dst, cnn_error *err);

/* Pillow's resampling filters: the same support rule (widened by the scale
 * factor when downscaling) with another kernel; NEAREST is plain point
 * sampling, which aliases when downscaling as many pipelines do. */
typedef enum {
    CNN_RESIZE_BICUBIC,  /* Keys a = -0.5, support 2 (the default) */
    CNN_RESIZE_BILINEAR, /* triangle, support 1 */
    CNN_RESIZE_BOX,      /* area average, support 1/2 */
    CNN_RESIZE_LANCZOS,  /* Lanczos-3 */
    CNN_RESIZE_NEAREST
} cnn_resize_filter;

const char *cnn_resize_filter_name(cnn_resize_filter f); /* "bicubic", ... */
cnn_status cnn_resize_filter_parse(const char *name, cnn_resize_filter *out,
                                   cnn_error *err);
cnn_status cnn_image_resize_filter(const cnn_image *src, int out_w, int out_h,
                                   cnn_resize_filter filter, cnn_image *dst,
                                   cnn_error *err);

/* Encodes img as a baseline JPEG at quality 1..100 with libjpeg-turbo (grey
 * stays grey; RGB with libjpeg's default 4:2:0 chroma subsampling, as
 * Pillow's save does), in memory, and decodes it again into dst: what a
 * JPEG export does to the pixels. Pixels are rounded to 8 bits first. */
cnn_status cnn_image_jpeg_roundtrip(const cnn_image *src, int quality,
                                    cnn_image *dst, cnn_error *err);

/* How a model wants its 0..255 pixels scaled. The _STANDARDIZED modes
 * first move each image's grey levels to one mean and spread (those of the
 * average training X-ray), so that exposure and contrast, which differ
 * between machines and settings, no longer reach the network. */
typedef enum {
    CNN_PREPROC_UNIT,      /* x / 255 -> [0, 1]   (nsfwjs InceptionV3) */
    CNN_PREPROC_SYMMETRIC, /* x / 127.5 - 1 -> [-1, 1] (Keras "tf" mode) */
    CNN_PREPROC_UNIT_STANDARDIZED,     /* per image: mean 0.486, sd 0.223 */
    CNN_PREPROC_SYMMETRIC_STANDARDIZED /* the same mapped to [-1, 1] */
} cnn_preproc;

/* The mean and standard deviation, in [0, 1] units, that standardized
 * modes give every image: the averages of the per-image values over the
 * Kermany et al. training split (every 5th image, 1044 X-rays; measured
 * by tools/measure_intensity.py). */
#define CNN_STANDARD_MEAN 0.486f
#define CNN_STANDARD_SD 0.223f

/* "unit", "symmetric", "unit-standardized", "symmetric-standardized" */
const char *cnn_preproc_name(cnn_preproc p);
cnn_status cnn_preproc_parse(const char *name, cnn_preproc *out, cnn_error *err);

/* Many greyscale X-rays are stored as RGB with three equal planes. If img
 * is such an image, keeps one plane (channels becomes 1; the buffer is not
 * shrunk) and returns 1, else returns 0. cnn_image_to_input gives the same
 * model input either way; resizing and augmenting get 3x cheaper. */
int cnn_image_collapse_grey(cnn_image *img);

/* Antialiased resize (area-aware, like Pillow's resize) of img to
 * size x size (skipped when img already has that size), grey replicated to
 * 3 channels, scaled per preproc: out [3][size][size]. Standardized modes
 * take the mean and spread over all channels of the resized image; an image
 * of one grey level becomes the standard mean. */
cnn_status cnn_image_to_input(const cnn_image *img, int size, cnn_preproc p,
                              float *out, cnn_error *err);

/* The two halves of a model's input pipeline (cnn_model_input in model.h
 * runs both; the training loader augments between them). */
/* img brought to size x size with the filter, into out (a copy when it is
 * already that size). */
cnn_status cnn_input_resize(const cnn_image *img, int size,
                            cnn_resize_filter filter, cnn_image *out,
                            cnn_error *err);
/* A size x size image through a JPEG round trip at jpeg_quality (0: none)
 * and the scaling of cnn_image_to_input, into out [3][size][size]. */
cnn_status cnn_input_finish(const cnn_image *sized, int jpeg_quality,
                            cnn_preproc p, float *out, cnn_error *err);

/* Writes 8-bit RGB (interleaved, width*height*3 bytes) as PNG, to a file or
 * to a malloc'd buffer (*out_bytes, *out_len; caller frees). */
cnn_status cnn_png_write_rgb(const char *path, const uint8_t *rgb, int width,
                             int height, cnn_error *err);
cnn_status cnn_png_encode_rgb(const uint8_t *rgb, int width, int height,
                              uint8_t **out_bytes, size_t *out_len,
                              cnn_error *err);

#endif
