/* pool.c - max and average pooling with TensorFlow 'valid' / 'same' windows.
 *
 * Shapes: x, dx [n, c, in_h, in_w]; y, dy, argmax [n, c, out_h, out_w].
 * Padding never takes part: a max-pool window only looks at real pixels, and
 * an average-pool window divides by the number of real pixels it covers
 * (TensorFlow's rule, not PyTorch's count_include_pad).
 *
 * Every loop is parallel over the n*c image planes, which are independent,
 * so results do not depend on the thread count.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "cnn.h"

/* Floats of the per-thread stack buffer of average pooling (see below); it
 * bounds the kernel width. */
#define AVGPOOL_SPAN_FLOATS 512

cnn_status cnn_pool_shape_init(cnn_pool_shape *s, int c, int in_h, int in_w,
                               int kh, int kw, int stride_h, int stride_w,
                               cnn_padding pad, cnn_error *err)
{
    assert(s);
    if (c <= 0)
        return cnn_fail(err, CNN_ERR_SHAPE, "pool: %d channels", c);
    cnn_status st = cnn_window_1d(in_h, kh, stride_h, pad, &s->out_h,
                                  &s->pad_top, err);
    if (st != CNN_OK)
        return st;
    st = cnn_window_1d(in_w, kw, stride_w, pad, &s->out_w, &s->pad_left, err);
    if (st != CNN_OK)
        return st;
    if (kw > AVGPOOL_SPAN_FLOATS)
        return cnn_fail(err, CNN_ERR_UNSUPPORTED,
                        "pool: kernel width %d is over the supported %d", kw,
                        AVGPOOL_SPAN_FLOATS);
    s->c = c;
    s->in_h = in_h;
    s->in_w = in_w;
    s->kh = kh;
    s->kw = kw;
    s->stride_h = stride_h;
    s->stride_w = stride_w;
    return CNN_OK;
}

/* The part [*lo, *hi) of the window starting at `start` (in unpadded
 * coordinates, possibly negative) that lies inside [0, size). */
static void clip_window(int start, int k, int size, int *lo, int *hi)
{
    *lo = start < 0 ? 0 : start;
    *hi = start + k > size ? size : start + k;
}

/* The output columns [*lo, *hi) whose window column kx falls on a real
 * pixel: 0 <= ow*stride + kx - pad_left < in_w. */
static void columns_for_tap(const cnn_pool_shape *s, int kx, int *lo, int *hi)
{
    int off = kx - s->pad_left;
    *lo = off < 0 ? (-off + s->stride_w - 1) / s->stride_w : 0;
    int last = s->in_w - 1 - off; /* largest ow*stride allowed */
    *hi = last < 0 ? 0 : last / s->stride_w + 1;
    if (*hi > s->out_w)
        *hi = s->out_w;
}

/* Real pixels in the window of output column ow. */
static int window_width(const cnn_pool_shape *s, int ow)
{
    int w0, w1;
    clip_window(ow * s->stride_w - s->pad_left, s->kw, s->in_w, &w0, &w1);
    return w1 - w0;
}

/* Max pooling handles a whole output row at a time: for each window tap
 * (h, kx) it sweeps the output columns, which the compiler vectorizes. Taps
 * are visited in row-major order, so with a strict comparison the first
 * maximum of each window wins, as in a direct loop (and PyTorch). */

/* One tap over the output columns [lo, hi): yr = max(yr, row[ow*sw + off]),
 * and ar the winner's index (base + ow*sw) when ar is not NULL. Called
 * with a literal stride for the common 1 and 2, whose strided loads
 * vectorize (a stride known only at run time left the loop scalar:
 * InceptionV3's first pool took 9.2 against 7.2 ms at batch 16 with
 * argmax). */
static inline void max_tap(float *yr, int32_t *ar, const float *row, int lo,
                           int hi, int sw, int off, int32_t base)
{
    if (!ar) {
#pragma omp simd
        for (int ow = lo; ow < hi; ow++) {
            float v = row[ow * sw + off], best = yr[ow];
            yr[ow] = v > best ? v : best;
        }
        return;
    }
#pragma omp simd
    for (int ow = lo; ow < hi; ow++) {
        float v = row[ow * sw + off], best = yr[ow];
        int32_t at = ar[ow];
        yr[ow] = v > best ? v : best;
        ar[ow] = v > best ? base + ow * sw : at;
    }
}

void cnn_maxpool_forward(const cnn_pool_shape *s, int n, const float *x,
                         float *y, int32_t *argmax)
{
    assert(s && n > 0 && x && y);
    const int planes = n * s->c;
    const size_t in_plane = (size_t)s->in_h * s->in_w;
    const size_t out_plane = (size_t)s->out_h * s->out_w;
    const int sw = s->stride_w;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        const float *xp = x + p * in_plane;
        for (int oh = 0; oh < s->out_h; oh++) {
            float *yr = y + p * out_plane + (size_t)oh * s->out_w;
            int32_t *ar = argmax ? argmax + p * out_plane + (size_t)oh * s->out_w
                                 : NULL;
            int h0, h1;
            clip_window(oh * s->stride_h - s->pad_top, s->kh, s->in_h, &h0, &h1);
            /* start from the window's first real pixel, as if it were -inf */
            for (int ow = 0; ow < s->out_w; ow++) {
                int w0 = ow * sw - s->pad_left;
                yr[ow] = -INFINITY;
                if (ar)
                    ar[ow] = h0 * s->in_w + (w0 < 0 ? 0 : w0);
            }
            for (int h = h0; h < h1; h++) {
                const float *row = xp + (size_t)h * s->in_w;
                for (int kx = 0; kx < s->kw; kx++) {
                    int lo, hi, off = kx - s->pad_left;
                    int32_t base = h * s->in_w + off;
                    columns_for_tap(s, kx, &lo, &hi);
                    if (sw == 1)
                        max_tap(yr, ar, row, lo, hi, 1, off, base);
                    else if (sw == 2)
                        max_tap(yr, ar, row, lo, hi, 2, off, base);
                    else
                        max_tap(yr, ar, row, lo, hi, sw, off, base);
                }
            }
        }
    }
}

void cnn_maxpool_backward(const cnn_pool_shape *s, int n, const float *dy,
                          const int32_t *argmax, float *dx)
{
    assert(s && n > 0 && dy && argmax && dx);
    const int planes = n * s->c;
    const size_t in_plane = (size_t)s->in_h * s->in_w;
    const size_t out_plane = (size_t)s->out_h * s->out_w;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        float *dxp = dx + p * in_plane;
        const float *dyp = dy + p * out_plane;
        const int32_t *ap = argmax + p * out_plane;
        memset(dxp, 0, in_plane * sizeof(float));
        /* overlapping windows may route several outputs to one pixel */
        for (size_t o = 0; o < out_plane; o++)
            dxp[ap[o]] += dyp[o];
    }
}

/* Average pooling takes the output columns of a row in spans [c0, c1). The
 * windows of a span cover the padded input columns [a, a + width) with
 * a = c0*stride - pad_left and width = (c1-1-c0)*stride + kw: the sums over
 * the window rows go to a stack buffer of that width first (padding is 0
 * there), then every column tap is one unchecked, vectorized sweep. */

typedef struct {
    int c0, c1;   /* output columns */
    int a, width; /* padded input columns [a, a + width) */
    int j0, j1;   /* the real ones among them, as offsets from a */
} column_span;

static column_span span_at(const cnn_pool_shape *s, int c0)
{
    column_span sp;
    int most = (AVGPOOL_SPAN_FLOATS - s->kw) / s->stride_w + 1;
    sp.c0 = c0;
    sp.c1 = c0 + most < s->out_w ? c0 + most : s->out_w;
    sp.a = c0 * s->stride_w - s->pad_left;
    sp.width = (sp.c1 - 1 - c0) * s->stride_w + s->kw;
    sp.j0 = sp.a < 0 ? -sp.a : 0;
    sp.j1 = s->in_w - sp.a < sp.width ? s->in_w - sp.a : sp.width;
    return sp;
}

void cnn_avgpool_forward(const cnn_pool_shape *s, int n, const float *x,
                         float *y)
{
    assert(s && n > 0 && x && y);
    assert(s->kw <= AVGPOOL_SPAN_FLOATS); /* cnn_pool_shape_init checks it */
    const int planes = n * s->c;
    const size_t in_plane = (size_t)s->in_h * s->in_w;
    const size_t out_plane = (size_t)s->out_h * s->out_w;
    const int sw = s->stride_w;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        const float *xp = x + p * in_plane;
        float col[AVGPOOL_SPAN_FLOATS];
        for (int oh = 0; oh < s->out_h; oh++) {
            float *yr = y + p * out_plane + (size_t)oh * s->out_w;
            int h0, h1;
            clip_window(oh * s->stride_h - s->pad_top, s->kh, s->in_h, &h0, &h1);
            for (int c0 = 0; c0 < s->out_w;) {
                column_span sp = span_at(s, c0);
                /* column sums over the window rows */
                for (int j = 0; j < sp.width; j++)
                    col[j] = 0.0f;
                for (int h = h0; h < h1; h++) {
                    const float *row = xp + (size_t)h * s->in_w;
#pragma omp simd
                    for (int j = sp.j0; j < sp.j1; j++)
                        col[j] += row[sp.a + j];
                }
                /* then the column taps */
                float *out = yr + sp.c0;
                const int count = sp.c1 - sp.c0;
                for (int k = 0; k < count; k++)
                    out[k] = 0.0f;
                for (int kx = 0; kx < s->kw; kx++) {
#pragma omp simd
                    for (int k = 0; k < count; k++)
                        out[k] += col[k * sw + kx];
                }
                for (int ow = sp.c0; ow < sp.c1; ow++)
                    yr[ow] /= (float)((h1 - h0) * window_width(s, ow));
                c0 = sp.c1;
            }
        }
    }
}

/* The transpose of the forward: per span, dy/count is spread over the column
 * taps into the stack buffer, which then goes to every window row. */
void cnn_avgpool_backward(const cnn_pool_shape *s, int n, const float *dy,
                          float *dx)
{
    assert(s && n > 0 && dy && dx);
    assert(s->kw <= AVGPOOL_SPAN_FLOATS); /* cnn_pool_shape_init checks it */
    const int planes = n * s->c;
    const size_t in_plane = (size_t)s->in_h * s->in_w;
    const size_t out_plane = (size_t)s->out_h * s->out_w;
    const int sw = s->stride_w;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        float *dxp = dx + p * in_plane;
        float col[AVGPOOL_SPAN_FLOATS], g[AVGPOOL_SPAN_FLOATS];
        memset(dxp, 0, in_plane * sizeof(float));
        for (int oh = 0; oh < s->out_h; oh++) {
            const float *dyr = dy + p * out_plane + (size_t)oh * s->out_w;
            int h0, h1;
            clip_window(oh * s->stride_h - s->pad_top, s->kh, s->in_h, &h0, &h1);
            for (int c0 = 0; c0 < s->out_w;) {
                column_span sp = span_at(s, c0);
                for (int ow = sp.c0; ow < sp.c1; ow++)
                    g[ow - sp.c0] = dyr[ow] / (float)((h1 - h0) * window_width(s, ow));
                for (int j = 0; j < sp.width; j++)
                    col[j] = 0.0f;
                /* within one tap every output column has its own slot */
                for (int kx = 0; kx < s->kw; kx++) {
#pragma omp simd
                    for (int k = 0; k < sp.c1 - sp.c0; k++)
                        col[k * sw + kx] += g[k];
                }
                for (int h = h0; h < h1; h++) {
                    float *row = dxp + (size_t)h * s->in_w;
#pragma omp simd
                    for (int j = sp.j0; j < sp.j1; j++)
                        row[sp.a + j] += col[j];
                }
                c0 = sp.c1;
            }
        }
    }
}
