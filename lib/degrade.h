/* degrade.h - what acquisition and transfer pipelines do to an X-ray before
 * it reaches us: resampling down and up again, blur, sensor noise, a gamma
 * curve, JPEG compression (cnn_image_jpeg_roundtrip in image.h). Training
 * augmentation draws these at random so that the model does not learn one
 * pipeline's artefacts. Pixels stay on the 0..255 scale, clamped. */
#ifndef CNN_DEGRADE_H
#define CNN_DEGRADE_H

#include "image.h"

/* Resizes img to round(factor * side) with `down` and back to its own size
 * with `up`, in place (factor in (0, 1]; at least 1 pixel per side). */
cnn_status cnn_image_rescale_roundtrip(cnn_image *img, float factor,
                                       cnn_resize_filter down,
                                       cnn_resize_filter up, cnn_error *err);

/* Separable Gaussian blur in place, kernel radius int(3 sigma + 0.5), edges
 * replicated (scipy.ndimage.gaussian_filter with mode="nearest",
 * truncate=3). sigma <= 0 leaves the image unchanged. */
cnn_status cnn_image_gaussian_blur(cnn_image *img, float sigma, cnn_error *err);

/* Adds Gaussian noise of standard deviation sd (grey levels) to every
 * pixel, drawn from a generator seeded by seed; clamped to 0..255. */
void cnn_image_add_noise(cnn_image *img, float sd, uint64_t seed);

/* v -> 255 * (v / 255)^gamma on every pixel (gamma > 0). */
void cnn_image_gamma(cnn_image *img, float gamma);

/* Sets the rectangle [x0, x0 + w) x [y0, y0 + h), clipped to the image, to
 * `level` in every channel. */
void cnn_image_fill_rect(cnn_image *img, int x0, int y0, int w, int h,
                         float level);

#endif
