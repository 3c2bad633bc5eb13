/* resize.c - separable antialiased resampling with Pillow's filters and
 * support rule (Image.resize; BICUBIC is its default since Pillow 7):
 *
 *   scale = in / out; filterscale = max(scale, 1)
 *   output pixel i is centred at (i + 0.5) * scale in input coordinates and
 *   takes input pixels j within filterscale * support of it, weighted by
 *   filter((j + 0.5 - centre) / filterscale), normalized to sum 1.
 *
 * NEAREST is point sampling (no antialiasing): pixel floor(centre).
 *
 * When downscaling, widening the support by the scale factor makes every
 * input pixel count (an area-aware low-pass), so fine detail averages out
 * instead of aliasing. Pillow rounds to 8 bits between the two passes; we
 * keep floats, which differs by well under one grey level. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

/* Keys' cubic convolution with a = -0.5 (Pillow's bicubic); support 2. */
static double cubic_filter(double x)
{
    const double a = -0.5;
    x = fabs(x);
    if (x < 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0)
        return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

static double box_filter(double x)
{
    return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
}

static double triangle_filter(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double sinc(double x)
{
    if (x == 0.0)
        return 1.0;
    x *= 3.14159265358979323846;
    return sin(x) / x;
}

static double lanczos_filter(double x)
{
    return x > -3.0 && x < 3.0 ? sinc(x) * sinc(x / 3.0) : 0.0;
}

typedef struct {
    const char *name;
    double (*weight)(double);
    double support;
} filter_def;

static const filter_def filters[] = {
    [CNN_RESIZE_BICUBIC] = {"bicubic", cubic_filter, 2.0},
    [CNN_RESIZE_BILINEAR] = {"bilinear", triangle_filter, 1.0},
    [CNN_RESIZE_BOX] = {"box", box_filter, 0.5},
    [CNN_RESIZE_LANCZOS] = {"lanczos", lanczos_filter, 3.0},
    [CNN_RESIZE_NEAREST] = {"nearest", NULL, 0.0},
};
#define FILTER_COUNT ((int)(sizeof filters / sizeof filters[0]))

const char *cnn_resize_filter_name(cnn_resize_filter f)
{
    return (int)f >= 0 && (int)f < FILTER_COUNT ? filters[f].name : "unknown";
}

cnn_status cnn_resize_filter_parse(const char *name, cnn_resize_filter *out,
                                   cnn_error *err)
{
    for (int i = 0; i < FILTER_COUNT; i++)
        if (strcmp(name, filters[i].name) == 0) {
            *out = (cnn_resize_filter)i;
            return CNN_OK;
        }
    return cnn_fail(err, CNN_ERR_ARG,
                    "unknown resize filter \"%s\" (expected bicubic, bilinear, "
                    "box, lanczos or nearest)", name);
}

/* For each output index: the first input index, how many follow, and their
 * weights (ksize per output, zero-padded). */
typedef struct {
    int ksize;
    int *first;
    int *count;
    float *weights; /* [out][ksize] */
} kernel_1d;

static void kernel_free(kernel_1d *k)
{
    free(k->first);
    free(k->count);
    free(k->weights);
}

static int kernel_init(kernel_1d *k, int in, int out, const filter_def *f)
{
    const double scale = (double)in / out;
    if (!f->weight) { /* nearest: one tap of weight 1 */
        k->ksize = 1;
        k->first = malloc(sizeof(int) * out);
        k->count = malloc(sizeof(int) * out);
        k->weights = malloc(sizeof(float) * out);
        if (!k->first || !k->count || !k->weights) {
            kernel_free(k);
            return 0;
        }
        for (int i = 0; i < out; i++) {
            int j = (int)floor((i + 0.5) * scale);
            k->first[i] = j < in ? j : in - 1;
            k->count[i] = 1;
            k->weights[i] = 1.0f;
        }
        return 1;
    }
    const double filterscale = scale > 1.0 ? scale : 1.0;
    const double support = f->support * filterscale;
    k->ksize = (int)ceil(support) * 2 + 1;
    k->first = malloc(sizeof(int) * out);
    k->count = malloc(sizeof(int) * out);
    k->weights = calloc((size_t)out * k->ksize, sizeof(float));
    if (!k->first || !k->count || !k->weights) {
        kernel_free(k);
        return 0;
    }
    for (int i = 0; i < out; i++) {
        double centre = (i + 0.5) * scale;
        int lo = (int)floor(centre - support + 0.5);
        int hi = (int)floor(centre + support + 0.5);
        if (lo < 0)
            lo = 0;
        if (hi > in)
            hi = in;
        if (hi - lo > k->ksize)
            hi = lo + k->ksize;
        float *dst = k->weights + (size_t)i * k->ksize;
        double total = 0.0;
        for (int j = lo; j < hi; j++) {
            double w = f->weight((j + 0.5 - centre) / filterscale);
            dst[j - lo] = (float)w;
            total += w;
        }
        for (int j = lo; j < hi && total != 0.0; j++)
            dst[j - lo] = (float)(dst[j - lo] / total);
        k->first[i] = lo;
        k->count[i] = hi - lo;
    }
    return 1;
}

static float clamp255(float v) { return v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v; }

/* src [rows][in_w] -> dst [rows][out_w] */
static void resample_rows(const float *src, int rows, int in_w, float *dst,
                          int out_w, const kernel_1d *k)
{
    for (int y = 0; y < rows; y++) {
        const float *s = src + (size_t)y * in_w;
        float *d = dst + (size_t)y * out_w;
        for (int x = 0; x < out_w; x++) {
            const float *w = k->weights + (size_t)x * k->ksize;
            const float *p = s + k->first[x];
            float sum = 0.0f;
            for (int j = 0; j < k->count[x]; j++)
                sum += w[j] * p[j];
            d[x] = clamp255(sum);
        }
    }
}

/* src [in_h][w] -> dst [out_h][w] */
static void resample_columns(const float *src, int w, float *dst, int out_h,
                             const kernel_1d *k)
{
    for (int y = 0; y < out_h; y++) {
        float *d = dst + (size_t)y * w;
        const float *wt = k->weights + (size_t)y * k->ksize;
        memset(d, 0, sizeof(float) * w);
        for (int j = 0; j < k->count[y]; j++) {
            const float *s = src + (size_t)(k->first[y] + j) * w;
            for (int x = 0; x < w; x++)
                d[x] += wt[j] * s[x];
        }
        for (int x = 0; x < w; x++)
            d[x] = clamp255(d[x]);
    }
}

cnn_status cnn_image_resize(const cnn_image *src, int out_w, int out_h,
                            cnn_image *dst, cnn_error *err)
{
    return cnn_image_resize_filter(src, out_w, out_h, CNN_RESIZE_BICUBIC, dst,
                                   err);
}

cnn_status cnn_image_resize_filter(const cnn_image *src, int out_w, int out_h,
                                   cnn_resize_filter filter, cnn_image *dst,
                                   cnn_error *err)
{
    dst->data = NULL;
    if (out_w <= 0 || out_h <= 0)
        return cnn_fail(err, CNN_ERR_ARG, "cannot resize to %dx%d", out_w, out_h);
    if ((int)filter < 0 || (int)filter >= FILTER_COUNT)
        return cnn_fail(err, CNN_ERR_ARG, "unknown resize filter %d", (int)filter);
    const filter_def *f = &filters[filter];
    const int c = src->channels, in_w = src->width, in_h = src->height;
    cnn_status st = cnn_image_alloc(dst, out_w, out_h, c, err);
    if (st != CNN_OK)
        return st;
    kernel_1d kx = {0}, ky = {0};
    float *tmp = malloc(sizeof(float) * (size_t)in_h * out_w);
    if (!tmp || !kernel_init(&kx, in_w, out_w, f) ||
        !kernel_init(&ky, in_h, out_h, f)) {
        free(tmp);
        kernel_free(&kx);
        cnn_image_free(dst);
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory resizing to %dx%d",
                        out_w, out_h);
    }
    for (int ch = 0; ch < c; ch++) {
        const float *s = src->data + (size_t)ch * in_w * in_h;
        float *d = dst->data + (size_t)ch * out_w * out_h;
        /* A dimension that keeps its size needs no pass (the kernel would
         * be the identity). */
        if (out_w == in_w)
            memcpy(tmp, s, sizeof(float) * (size_t)in_h * in_w);
        else
            resample_rows(s, in_h, in_w, tmp, out_w, &kx);
        if (out_h == in_h)
            memcpy(d, tmp, sizeof(float) * (size_t)out_h * out_w);
        else
            resample_columns(tmp, out_w, d, out_h, &ky);
    }
    free(tmp);
    kernel_free(&kx);
    kernel_free(&ky);
    return CNN_OK;
}
