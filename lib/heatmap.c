/* heatmap.c - Grad-CAM maps and their display: the map, colour scale and
 * blending (see heatmap.h). */
#include "heatmap.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static float clamp01(float v)
{
    return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
}

void cnn_heatmap_gradcam(int c, int hw, const float *act, const float *grad,
                         float *heat)
{
    assert(c > 0 && hw > 0);
    memset(heat, 0, (size_t)hw * sizeof *heat);
    for (int ch = 0; ch < c; ch++) {
        double weight = 0;
        for (int i = 0; i < hw; i++)
            weight += grad[(size_t)ch * hw + i];
        weight /= hw;
        for (int i = 0; i < hw; i++)
            heat[i] += (float)weight * act[(size_t)ch * hw + i];
    }
    float top = 0;
    for (int i = 0; i < hw; i++) {
        heat[i] = fmaxf(heat[i], 0.0f);
        top = fmaxf(top, heat[i]);
    }
    for (int i = 0; i < hw && top > 0; i++)
        heat[i] /= top;
}

void cnn_heatmap_colour(float v, uint8_t rgb[3])
{
    v = clamp01(v);
    /* Jet: each channel is a trapezoid of width 0.75 over v, offset by
     * channel (red peaks at 0.75, green at 0.5, blue at 0.25). */
    const float centre[3] = {0.75f, 0.5f, 0.25f};
    for (int c = 0; c < 3; c++) {
        float x = clamp01(1.5f - 4.0f * fabsf(v - centre[c]));
        rgb[c] = (uint8_t)lroundf(x * 255.0f);
    }
}

/* Pixel value of img at channel c (grey images repeat their one channel),
 * as 0..255. */
static float pixel(const cnn_image *img, int c, size_t i)
{
    size_t plane = (size_t)img->width * img->height;
    return img->data[(img->channels == 1 ? 0 : (size_t)c) * plane + i];
}

static cnn_status alloc_rgb(const cnn_image *img, uint8_t **rgb,
                            cnn_error *err)
{
    assert(img->channels == 1 || img->channels == 3);
    size_t n = (size_t)img->width * img->height * 3;
    *rgb = malloc(n);
    if (!*rgb)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for a %dx%d RGB image",
                        img->width, img->height);
    return CNN_OK;
}

static uint8_t to_byte(float v)
{
    return (uint8_t)lroundf(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
}

cnn_status cnn_image_to_rgb8(const cnn_image *img, uint8_t **rgb,
                             cnn_error *err)
{
    cnn_status st = alloc_rgb(img, rgb, err);
    if (st != CNN_OK)
        return st;
    size_t plane = (size_t)img->width * img->height;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++)
            (*rgb)[i * 3 + c] = to_byte(pixel(img, c, i));
    return CNN_OK;
}

/* Bilinear sampling positions along one axis: output index o of n_out maps
 * to source coordinate (o + 0.5) * n_in / n_out - 0.5, clamped to the
 * source; lo/hi are the neighbours, t the weight of hi. */
static void sample_axis(int o, int n_out, int n_in, int *lo, int *hi, float *t)
{
    float s = ((float)o + 0.5f) * (float)n_in / (float)n_out - 0.5f;
    if (s < 0.0f)
        s = 0.0f;
    if (s > (float)(n_in - 1))
        s = (float)(n_in - 1);
    *lo = (int)s;
    *hi = *lo + 1 < n_in ? *lo + 1 : *lo;
    *t = s - (float)*lo;
}

cnn_status cnn_heatmap_overlay(const cnn_image *img, const float *heat,
                               int heat_h, int heat_w, float alpha,
                               uint8_t **rgb, cnn_error *err)
{
    assert(heat_h > 0 && heat_w > 0);
    cnn_status st = alloc_rgb(img, rgb, err);
    if (st != CNN_OK)
        return st;
    for (int y = 0; y < img->height; y++) {
        int y0, y1;
        float ty;
        sample_axis(y, img->height, heat_h, &y0, &y1, &ty);
        for (int x = 0; x < img->width; x++) {
            int x0, x1;
            float tx;
            sample_axis(x, img->width, heat_w, &x0, &x1, &tx);
            float top = heat[y0 * heat_w + x0] * (1 - tx) + heat[y0 * heat_w + x1] * tx;
            float bot = heat[y1 * heat_w + x0] * (1 - tx) + heat[y1 * heat_w + x1] * tx;
            float v = clamp01(top * (1 - ty) + bot * ty);
            uint8_t colour[3];
            cnn_heatmap_colour(v, colour);
            float a = alpha * v;
            size_t i = (size_t)y * img->width + x;
            for (int c = 0; c < 3; c++)
                (*rgb)[i * 3 + c] =
                    to_byte((1 - a) * pixel(img, c, i) + a * (float)colour[c]);
        }
    }
    return CNN_OK;
}

/* Length of [a, b] inside [lo, hi]. */
static double overlap(double a, double b, double lo, double hi)
{
    double from = a > lo ? a : lo, to = b < hi ? b : hi;
    return to > from ? to - from : 0.0;
}

double cnn_heatmap_border_share(const float *heat, int h, int w, double band)
{
    assert(heat && h > 0 && w > 0 && band >= 0 && band <= 0.5);
    double total = 0, inner = 0;
    for (int i = 0; i < h; i++) {
        /* share of the row's height inside the central square */
        double fy = overlap((double)i / h, (double)(i + 1) / h, band, 1 - band) * h;
        for (int j = 0; j < w; j++) {
            double v = heat[(size_t)i * w + j];
            if (!(v > 0))
                continue;
            double fx = overlap((double)j / w, (double)(j + 1) / w, band, 1 - band) * w;
            total += v;
            inner += v * fx * fy;
        }
    }
    if (!(total > 0))
        return -1;
    double share = 1 - inner / total;
    return share < 0 ? 0 : share > 1 ? 1 : share;
}
