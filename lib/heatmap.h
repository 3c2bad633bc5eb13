/* heatmap.h - Grad-CAM maps: the map from a layer's activations and
 * gradients (which cnn_net_saliency provides), a colour scale and the blend
 * of the map over the X-ray it was computed for, as 8-bit RGB ready for
 * PNG. */
#ifndef CNN_HEATMAP_H
#define CNN_HEATMAP_H

#include "cnn.h"
#include "image.h"

/* Grad-CAM (Selvaraju et al., 2017) from a layer's output act [c][hw] and
 * the gradient of the score with respect to it, grad [c][hw]: each channel
 * weighs by the mean of its gradient, and
 *   heat [hw] = ReLU(sum_ch weight_ch * act_ch) / its maximum
 * (all 0 when no value is positive). */
void cnn_heatmap_gradcam(int c, int hw, const float *act, const float *grad,
                         float *heat);

/* The "jet" colour of v in [0, 1] (clamped): dark blue at 0, through cyan,
 * yellow and orange, to dark red at 1. */
void cnn_heatmap_colour(float v, uint8_t rgb[3]);

/* img (grey or RGB, 0..255) as interleaved 8-bit RGB [h][w][3], malloc'd. */
cnn_status cnn_image_to_rgb8(const cnn_image *img, uint8_t **rgb,
                             cnn_error *err);

/* Blends heat [heat_h][heat_w] (values in [0, 1], spanning the whole image
 * as the model saw it) over img: the map is sampled bilinearly at each
 * pixel (sample centres aligned), and each pixel becomes
 *   (1 - a) * pixel + a * colour(v),  a = alpha * v,
 * so cold regions show the plain X-ray and hot ones turn red.
 * rgb [img->height][img->width][3] is malloc'd. */
cnn_status cnn_heatmap_overlay(const cnn_image *img, const float *heat,
                               int heat_h, int heat_w, float alpha,
                               uint8_t **rgb, cnn_error *err);

/* The share of a heat map's mass (sum of its values, negatives counted as
 * 0) lying in the outer border band of the image: the parts outside the
 * central square [band, 1 - band]^2 of the unit square the map spans. Each
 * map cell covers its own rectangle of the image (cell (i, j) spans
 * [j/w, (j+1)/w] x [i/h, (i+1)/h]) with its value spread evenly over it, so
 * a cell cut by the band's edge counts in proportion to its area outside.
 * A uniform map gives 1 - (1 - 2 band)^2 (0.4375 for band 0.125).
 * band in [0, 0.5]. Returns -1 for a map without mass (all 0). */
double cnn_heatmap_border_share(const float *heat, int h, int w, double band);

#endif
