/* conv.c - 2-D convolution as im2col + cblas_sgemm, forward and backward.
 *
 * Per image, with K = in_c*kh*kw and P = out_h*out_w:
 *   forward   y [out_c, P]  = weight [out_c, K] x col [K, P]  (+ bias)
 *   backward  dweight      += dy [out_c, P] x col^T [P, K]
 *             dcol [K, P]   = weight^T [K, out_c] x dy [out_c, P]
 *             dx            = col2im(dcol)
 * The work is cut into pieces whose column matrix lives in the caller's
 * workspace (cnn_conv_workspace_floats):
 *   - small images (under GROUP_BELOW pixels, e.g. 8x8 or 12x12): groups of
 *     whole images side by side, col [K, g*P],
 *     so that sgemm still gets wide matrices; the products go through a
 *     staging matrix [out_c, g*P] in the workspace;
 *   - larger images: a 1x1 stride-1 convolution's col is the image itself,
 *     so it goes straight to sgemm, an image per thread; the others are done
 *     in chunks of output rows, small enough to stay in cache.
 */
#include <assert.h>
#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <limits.h>
#include <string.h>

#include "channel_sum.h"
#include "cnn.h"
#include "im2col.h"

/* A chunk's column matrix holds up to CHUNK_FLOATS (16 MB): measured on
 * VGG16's 224x224x64 3x3 layer, 1 MB chunks reached 72% of the raw sgemm
 * rate, 4 MB 85%, 16 MB 90% (fewer, wider sgemm calls). sgemm slows down
 * below a few hundred columns, so a chunk has at least MIN_COLS columns when
 * the image has them. Images of fewer than
 * GROUP_BELOW pixels are taken MIN_COLS columns' worth at a time (a GEMM
 * with only 64 columns runs at half speed on two threads), as long as the
 * group's column matrix stays under GROUP_FLOATS (16 MB). */
#define CHUNK_FLOATS ((size_t)1 << 22)
#define MIN_COLS 512
#define GROUP_BELOW 256
#define GROUP_FLOATS ((size_t)1 << 22)

cnn_status cnn_conv_shape_init(cnn_conv_shape *s, int in_c, int in_h, int in_w,
                               int out_c, int kh, int kw, int stride_h,
                               int stride_w, cnn_padding pad, cnn_error *err)
{
    if (in_c <= 0 || out_c <= 0)
        return cnn_fail(err, CNN_ERR_SHAPE,
                        "conv: channels in %d, out %d must be positive", in_c,
                        out_c);
    cnn_status st;
    int out_h, out_w, pad_top, pad_left;
    if ((st = cnn_window_1d(in_h, kh, stride_h, pad, &out_h, &pad_top, err)) ||
        (st = cnn_window_1d(in_w, kw, stride_w, pad, &out_w, &pad_left, err)))
        return st;
    /* sgemm takes int sizes: K, P and their products with the channels. */
    if ((long long)in_c * kh * kw > INT_MAX / 4 ||
        (long long)out_h * out_w > INT_MAX / 4 ||
        (long long)in_h * in_w > INT_MAX / 4)
        return cnn_fail(err, CNN_ERR_TOO_LARGE,
                        "conv: %dx%dx%d input with %dx%d kernel is too large",
                        in_c, in_h, in_w, kh, kw);
    *s = (cnn_conv_shape){.in_c = in_c, .in_h = in_h, .in_w = in_w,
                          .out_c = out_c, .out_h = out_h, .out_w = out_w,
                          .kh = kh, .kw = kw, .stride_h = stride_h,
                          .stride_w = stride_w, .pad_top = pad_top,
                          .pad_left = pad_left};
    return CNN_OK;
}

/* 1x1, stride 1 (hence no padding): the input is already the column matrix. */
static int is_pointwise(const cnn_conv_shape *s)
{
    return s->kh == 1 && s->kw == 1 && s->stride_h == 1 && s->stride_w == 1;
}

/* 1x1 layers on images that are not grouped run one image per thread, each
 * sgemm on its own thread, when every thread gets at least two: their
 * matrices are small (tens to hundreds of rows), and two one-thread sgemms
 * side by side did 1.15-1.2x the work of one two-thread sgemm (64x625x192
 * and 80x2916x64, 16 images). The weight gradient then sums into the first
 * thread's dweight and the others' slots in the workspace. */
#define POINTWISE_SLOTS 2

static int pointwise_threads(int n)
{
    int threads = cnn_get_threads();
    if (threads > POINTWISE_SLOTS)
        threads = POINTWISE_SLOTS;
    return n >= 2 * threads ? threads : 1;
}

/* Small images of a 1x1 layer, which tiling() groups, go one per thread
 * instead from this many pixels: at 8x8 and 12x12 two one-thread sgemms
 * per image (192x64x1280, 192x144x768) did 1.2x the work of one two-thread
 * sgemm on a group, before the group's copies; at 5x5 0.7x. */
#define POINTWISE_ALONE_FROM 64

/* How the work is cut: `images` whole images per group if more than one,
 * else chunks of `rows` output rows of one image. */
typedef struct {
    int K, P;   /* column-matrix rows; output pixels per image */
    int rows;   /* output rows per chunk */
    int images; /* images per group */
} conv_tiling;

static conv_tiling tiling(const cnn_conv_shape *s)
{
    conv_tiling t = {.K = s->in_c * s->kh * s->kw,
                     .P = s->out_h * s->out_w, .rows = s->out_h, .images = 1};
    if (t.P < GROUP_BELOW) {
        size_t by_budget = GROUP_FLOATS / ((size_t)t.K * t.P);
        int wanted = (MIN_COLS + t.P - 1) / t.P;
        if (by_budget >= 2) {
            t.images = by_budget < (size_t)wanted ? (int)by_budget : wanted;
            return t;
        }
    }
    if (is_pointwise(s))
        return t;
    size_t row_floats = (size_t)t.K * s->out_w;
    size_t by_budget = CHUNK_FLOATS / row_floats;
    size_t by_width = (MIN_COLS + s->out_w - 1) / s->out_w;
    size_t rows = by_budget > by_width ? by_budget : by_width;
    if (rows < (size_t)s->out_h) {
        /* even chunks, so that the last one is not a sliver */
        int chunks = (s->out_h + (int)rows - 1) / (int)rows;
        t.rows = (s->out_h + chunks - 1) / chunks;
    }
    return t;
}

/* A 1x1 layer's images one per thread (pointwise_threads), or one after
 * another when they are too large to group. */
static int pointwise_alone(const cnn_conv_shape *s, const conv_tiling *t,
                           int n)
{
    return is_pointwise(s) &&
           (t->images == 1 ||
            (t->P >= POINTWISE_ALONE_FROM && pointwise_threads(n) > 1));
}

size_t cnn_conv_workspace_floats(const cnn_conv_shape *s)
{
    conv_tiling t = tiling(s);
    /* the other threads' weight gradients when images go one per thread */
    size_t alone = is_pointwise(s)
                       ? (size_t)(POINTWISE_SLOTS - 1) * s->out_c * t.K
                       : 0;
    if (t.images > 1) { /* col [K, g*P] + staging [out_c, g*P] */
        size_t group = ((size_t)t.K + s->out_c) * t.images * t.P;
        return group > alone ? group : alone;
    }
    if (is_pointwise(s))
        return alone;
    return (size_t)t.K * t.rows * s->out_w;
}

/* y [out_c, P]: every plane set to its bias. */
static void fill_bias(int out_c, size_t P, const float *bias, float *y)
{
    for (int o = 0; o < out_c; o++)
        for (size_t p = 0; p < P; p++)
            y[o * P + p] = bias[o];
}

/* One image, in chunks of output rows straight into y [out_c, P]. */
static void forward_rows(const cnn_conv_shape *s, const conv_tiling *t,
                         const float *x, const float *weight, const float *bias,
                         float *y, float *col)
{
    const float beta = bias ? 1.0f : 0.0f;
    if (bias)
        fill_bias(s->out_c, t->P, bias, y);
    for (int r0 = 0; r0 < s->out_h; r0 += t->rows) {
        int rows = s->out_h - r0 < t->rows ? s->out_h - r0 : t->rows;
        int cols = rows * s->out_w;
        cnn_im2col(s, 1, x, r0, rows, col, cols);
        /* these output rows are columns [r0*out_w, +cols) of y */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->out_c, cols,
                    t->K, 1.0f, weight, t->K, col, cols, beta,
                    y + (size_t)r0 * s->out_w, t->P);
    }
}

/* g whole images through col [K, g*P] and staging [out_c, g*P]. */
static void forward_group(const cnn_conv_shape *s, const conv_tiling *t, int g,
                          const float *x, const float *weight,
                          const float *bias, float *y, float *col)
{
    const int M = s->out_c, P = t->P, cols = g * P;
    float *stage = col + (size_t)t->K * cols;
    cnn_im2col(s, g, x, 0, s->out_h, col, cols);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, cols, t->K, 1.0f,
                weight, t->K, col, cols, 0.0f, stage, cols);
    /* stage[m][j*P + p] -> y[j][m][p] */
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)M * cols > 65536)
    for (int j = 0; j < g; j++)
        for (int m = 0; m < M; m++) {
            const float *src = stage + (size_t)m * cols + (size_t)j * P;
            float *dst = y + ((size_t)j * M + m) * P;
            const float b = bias ? bias[m] : 0.0f;
            for (int p = 0; p < P; p++)
                dst[p] = src[p] + b;
        }
}

/* One image of a 1x1 layer's forward: y = w x + bias. */
static void pointwise_forward_image(const cnn_conv_shape *s,
                                    const conv_tiling *t, const float *x,
                                    const float *weight, const float *bias,
                                    float *y)
{
    if (bias)
        fill_bias(s->out_c, t->P, bias, y);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->out_c, t->P,
                t->K, 1.0f, weight, t->K, x, t->P, bias ? 1.0f : 0.0f, y, t->P);
}

void cnn_conv2d_forward(const cnn_conv_shape *s, int n, const float *x,
                        const float *weight, const float *bias, float *y,
                        float *workspace)
{
    assert(s && n >= 0 && x && weight && y);
    const conv_tiling t = tiling(s);
    const int alone = pointwise_alone(s, &t, n);
    assert(workspace || cnn_conv_workspace_floats(s) == 0 || alone);
    const size_t in_size = (size_t)s->in_c * s->in_h * s->in_w;
    const size_t out_size = (size_t)s->out_c * t.P;

    if (t.images > 1 && !alone) {
        for (int i = 0; i < n; i += t.images) {
            int g = n - i < t.images ? n - i : t.images;
            forward_group(s, &t, g, x + i * in_size, weight, bias,
                          y + i * out_size, workspace);
        }
    } else if (alone && pointwise_threads(n) > 1) {
#pragma omp parallel for schedule(static) num_threads(pointwise_threads(n))
        for (int i = 0; i < n; i++)
            pointwise_forward_image(s, &t, x + i * in_size, weight, bias,
                                    y + i * out_size);
    } else if (alone) {
        /* no OpenMP region at all: OpenBLAS called inside even a
         * one-thread region made InceptionV3's batch-1 training step 2.6x
         * slower */
        for (int i = 0; i < n; i++)
            pointwise_forward_image(s, &t, x + i * in_size, weight, bias,
                                    y + i * out_size);
    } else {
        for (int i = 0; i < n; i++)
            forward_rows(s, &t, x + i * in_size, weight, bias, y + i * out_size,
                         workspace);
    }
}

/* dbias [out_c] += sum of dy [n, out_c, P] over n and P. */
static void add_bias_grad(int n, int out_c, size_t P, const float *dy,
                          float *dbias)
{
#pragma omp parallel for schedule(static) if ((size_t)n * out_c * P > 65536)
    for (int o = 0; o < out_c; o++)
        dbias[o] += (float)cnn_channel_sum(n, out_c, P, o, dy);
}

/* One image, in chunks of output rows; dy [out_c, P] is read in place. */
static void backward_rows(const cnn_conv_shape *s, const conv_tiling *t,
                          const float *x, const float *weight, const float *dy,
                          float *dx, float *dweight, float *col)
{
    const int M = s->out_c;
    for (int r0 = 0; r0 < s->out_h; r0 += t->rows) {
        int rows = s->out_h - r0 < t->rows ? s->out_h - r0 : t->rows;
        int cols = rows * s->out_w;
        const float *dyc = dy + (size_t)r0 * s->out_w; /* [M, cols], ld P */
        if (dweight) {
            cnn_im2col(s, 1, x, r0, rows, col, cols);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, t->K, cols,
                        1.0f, dyc, t->P, col, cols, 1.0f, dweight, t->K);
        }
        if (dx) {
            /* col now takes dcol [K, cols] */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t->K, cols, M,
                        1.0f, weight, t->K, dyc, t->P, 0.0f, col, cols);
            cnn_col2im(s, 1, col, r0, rows, cols, r0 == 0, dx);
        }
    }
}

/* g whole images: dy gathered into staging [out_c, g*P], col [K, g*P]. */
static void backward_group(const cnn_conv_shape *s, const conv_tiling *t,
                           int g, const float *x, const float *weight,
                           const float *dy, float *dx, float *dweight,
                           float *col)
{
    const int M = s->out_c, P = t->P, cols = g * P;
    float *stage = col + (size_t)t->K * cols;
    /* dy[j][m][p] -> stage[m][j*P + p] */
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)M * cols > 65536)
    for (int j = 0; j < g; j++)
        for (int m = 0; m < M; m++)
            memcpy(stage + (size_t)m * cols + (size_t)j * P,
                   dy + ((size_t)j * M + m) * P, P * sizeof(float));
    if (dweight) {
        cnn_im2col(s, g, x, 0, s->out_h, col, cols);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, t->K, cols,
                    1.0f, stage, cols, col, cols, 1.0f, dweight, t->K);
    }
    if (dx) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t->K, cols, M,
                    1.0f, weight, t->K, stage, cols, 0.0f, col, cols);
        cnn_col2im(s, g, col, 0, s->out_h, cols, 1, dx);
    }
}

/* One image of a 1x1 layer's backward: dweight += dy x^T, dx = w^T dy
 * (either may be NULL). */
static void pointwise_backward_image(const cnn_conv_shape *s,
                                     const conv_tiling *t, const float *x,
                                     const float *weight, const float *dy,
                                     float *dx, float *dweight)
{
    const int M = s->out_c;
    if (dweight)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, t->K, t->P,
                    1.0f, dy, t->P, x, t->P, 1.0f, dweight, t->K);
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t->K, t->P, M,
                    1.0f, weight, t->K, dy, t->P, 0.0f, dx, t->P);
}

/* 1x1 on whole images, one image per thread (pointwise_threads). */
static void backward_pointwise(const cnn_conv_shape *s, const conv_tiling *t,
                               int n, const float *x, const float *weight,
                               const float *dy, float *dx, float *dweight,
                               float *slots)
{
    const int M = s->out_c, threads = pointwise_threads(n);
    const size_t in_size = (size_t)t->K * t->P, out_size = (size_t)M * t->P;
    const size_t slot = (size_t)M * t->K;
    if (threads == 1) { /* no OpenMP region: see forward */
        for (int i = 0; i < n; i++)
            pointwise_backward_image(s, t, x ? x + i * in_size : NULL, weight,
                                     dy + i * out_size,
                                     dx ? dx + i * in_size : NULL, dweight);
        return;
    }
    if (dweight)
        memset(slots, 0, (threads - 1) * slot * sizeof *slots);
    int team = 1;
#pragma omp parallel num_threads(threads)
    {
        int me = 0;
#ifdef _OPENMP
        me = omp_get_thread_num();
#pragma omp single
        team = omp_get_num_threads();
#endif
        float *mine = me && dweight ? slots + (me - 1) * slot : dweight;
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++)
            pointwise_backward_image(s, t, x ? x + i * in_size : NULL, weight,
                                     dy + i * out_size,
                                     dx ? dx + i * in_size : NULL, mine);
    }
    if (dweight)
        for (int k = 1; k < team; k++) {
            const float *other = slots + (k - 1) * slot;
#pragma omp parallel for schedule(static)
            for (size_t j = 0; j < slot; j++)
                dweight[j] += other[j];
        }
}

void cnn_conv2d_backward(const cnn_conv_shape *s, int n, const float *x,
                         const float *weight, const float *dy, float *dx,
                         float *dweight, float *dbias, float *workspace)
{
    assert(s && n >= 0 && dy);
    assert(!dweight || x);
    assert(!dx || weight);
    const conv_tiling t = tiling(s);
    assert(workspace || cnn_conv_workspace_floats(s) == 0 || (!dx && !dweight));
    const size_t in_size = (size_t)s->in_c * s->in_h * s->in_w;
    const size_t out_size = (size_t)s->out_c * t.P;
    const int M = s->out_c;

    if (dbias)
        add_bias_grad(n, M, t.P, dy, dbias);
    if (!dx && !dweight)
        return;

    if (pointwise_alone(s, &t, n)) {
        backward_pointwise(s, &t, n, x, weight, dy, dx, dweight, workspace);
    } else if (t.images > 1) {
        for (int i = 0; i < n; i += t.images) {
            int g = n - i < t.images ? n - i : t.images;
            backward_group(s, &t, g, x ? x + i * in_size : NULL, weight,
                           dy + i * out_size, dx ? dx + i * in_size : NULL,
                           dweight, workspace);
        }
    } else {
        for (int i = 0; i < n; i++)
            backward_rows(s, &t, x ? x + i * in_size : NULL, weight,
                          dy + i * out_size, dx ? dx + i * in_size : NULL,
                          dweight, workspace);
    }
}
