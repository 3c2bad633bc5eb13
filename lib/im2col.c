/* im2col.c - convolution windows to a column matrix and back (layout in
 * im2col.h). Rows of the column matrix (one per input channel and kernel
 * tap) are independent, so im2col is parallel over them; col2im is parallel
 * over input planes, each of which only receives from its own rows. For
 * stride 1 every output row is one contiguous run of an input row: a memcpy
 * (im2col) or a vector add (col2im), with zeros at the padded ends; with
 * 'same' padding too, a whole chunk is one run (the *_flat functions). */
#include <stddef.h>
#include <string.h>

#include "im2col.h"

/* Below this many floats of column matrix, threads cost more than they save. */
#define PARALLEL_MIN_FLOATS 32768

/* The outputs o in [0, out) whose input o*stride + offset lies in [0, in):
 * [*lo, *hi). */
static void inside_range(int out, int in, int stride, int offset, int *lo,
                         int *hi)
{
    int first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    int end = in - 1 - offset >= 0 ? (in - 1 - offset) / stride + 1 : 0;
    if (first > out)
        first = out;
    if (end > out)
        end = out;
    if (end < first)
        end = first;
    *lo = first;
    *hi = end;
}

/* One row of col (channel plane xc, tap i, j), row by row. */
static void im2col_tap(const cnn_conv_shape *s, const float *xc, int i, int j,
                       int row0, int rows, float *dst)
{
    const int ow_n = s->out_w;
    int lo, hi;
    inside_range(ow_n, s->in_w, s->stride_w, j - s->pad_left, &lo, &hi);
    for (int r = 0; r < rows; r++, dst += ow_n) {
        const int ih = (row0 + r) * s->stride_h - s->pad_top + i;
        if (ih < 0 || ih >= s->in_h) {
            memset(dst, 0, ow_n * sizeof(float));
            continue;
        }
        /* output ow reads xc[base + ow*stride_w] (base may be < 0) */
        const ptrdiff_t base = (ptrdiff_t)ih * s->in_w + j - s->pad_left;
        memset(dst, 0, lo * sizeof(float));
        if (s->stride_w == 1) {
            memcpy(dst + lo, xc + (base + lo), (hi - lo) * sizeof(float));
        } else {
            for (int ow = lo; ow < hi; ow++)
                dst[ow] = xc[base + (ptrdiff_t)ow * s->stride_w];
        }
        memset(dst + hi, 0, (ow_n - hi) * sizeof(float));
    }
}

/* The same for stride 1 with out_w == in_w ('same' padding): the rows of
 * the chunk that fall inside the image are one contiguous run of the plane,
 * shifted by j - pad_left, so one memcpy does them all; the few values that
 * wrapped around from the neighbouring row are then zeroed. Short rows
 * (17x17, 8x8) are much cheaper this way than row by row. */
static void im2col_tap_flat(const cnn_conv_shape *s, const float *xc, int i,
                            int j, int row0, int rows, float *dst)
{
    const int ow_n = s->out_w;
    int lo, hi, r_lo, r_hi;
    inside_range(ow_n, s->in_w, 1, j - s->pad_left, &lo, &hi);
    inside_range(rows, s->in_h, 1, row0 - s->pad_top + i, &r_lo, &r_hi);
    if (lo == hi)
        r_hi = r_lo; /* the tap misses the image entirely */
    memset(dst, 0, (size_t)r_lo * ow_n * sizeof(float));
    memset(dst + (size_t)r_hi * ow_n, 0,
           (size_t)(rows - r_hi) * ow_n * sizeof(float));
    if (r_lo == r_hi)
        return;
    /* dst[d] for d = r*ow_n + ow reads xc[shift + d] */
    const ptrdiff_t shift =
        (ptrdiff_t)(row0 - s->pad_top + i) * s->in_w + j - s->pad_left;
    const size_t first = (size_t)r_lo * ow_n + lo;
    const size_t end = (size_t)(r_hi - 1) * ow_n + hi;
    memcpy(dst + first, xc + (shift + (ptrdiff_t)first),
           (end - first) * sizeof(float));
    for (int r = r_lo; r < r_hi; r++) {
        float *row = dst + (size_t)r * ow_n;
        for (int ow = 0; ow < lo; ow++)
            row[ow] = 0.0f;
        for (int ow = hi; ow < ow_n; ow++)
            row[ow] = 0.0f;
    }
}

void cnn_im2col(const cnn_conv_shape *s, int images, const float *x, int row0,
                int rows, float *col, size_t ldcol)
{
    const int taps = s->kh * s->kw, K = s->in_c * taps;
    const size_t plane = (size_t)s->in_h * s->in_w;
    const size_t cols = (size_t)rows * s->out_w;
    const int parallel = (size_t)images * K * cols >= PARALLEL_MIN_FLOATS;
    const int flat =
        s->stride_h == 1 && s->stride_w == 1 && s->out_w == s->in_w;

#pragma omp parallel for schedule(static) if (parallel)
    for (long long q = 0; q < (long long)images * K; q++) {
        const int img = (int)(q / K), k = (int)(q % K);
        const int c = k / taps, i = k % taps / s->kw, j = k % s->kw;
        const float *xc = x + ((size_t)img * s->in_c + c) * plane;
        float *dst = col + k * ldcol + img * cols;
        if (flat)
            im2col_tap_flat(s, xc, i, j, row0, rows, dst);
        else
            im2col_tap(s, xc, i, j, row0, rows, dst);
    }
}

/* dxc += one row of col, row by row (any stride). */
static void col2im_tap(const cnn_conv_shape *s, const float *src, int i, int j,
                       int row0, int rows, float *dxc)
{
    const int ow_n = s->out_w;
    int lo, hi;
    inside_range(ow_n, s->in_w, s->stride_w, j - s->pad_left, &lo, &hi);
    for (int r = 0; r < rows; r++, src += ow_n) {
        const int ih = (row0 + r) * s->stride_h - s->pad_top + i;
        if (ih < 0 || ih >= s->in_h)
            continue;
        const ptrdiff_t base = (ptrdiff_t)ih * s->in_w + j - s->pad_left;
        if (s->stride_w == 1) {
            float *dst = dxc + (base + lo);
#pragma omp simd
            for (int ow = 0; ow < hi - lo; ow++)
                dst[ow] += src[lo + ow];
        } else {
            for (int ow = lo; ow < hi; ow++)
                dxc[base + (ptrdiff_t)ow * s->stride_w] += src[ow];
        }
    }
}

/* The flat form of col2im_tap (conditions as for im2col_tap_flat): the
 * entries that belong to the padding are zeroed in src first, so that one
 * vector add over the whole run adds nothing to the neighbouring rows. */
static void col2im_tap_flat(const cnn_conv_shape *s, float *src, int i, int j,
                            int row0, int rows, float *dxc)
{
    const int ow_n = s->out_w;
    int lo, hi, r_lo, r_hi;
    inside_range(ow_n, s->in_w, 1, j - s->pad_left, &lo, &hi);
    inside_range(rows, s->in_h, 1, row0 - s->pad_top + i, &r_lo, &r_hi);
    if (lo == hi || r_lo == r_hi)
        return;
    for (int r = r_lo; r < r_hi; r++) {
        float *row = src + (size_t)r * ow_n;
        for (int ow = 0; ow < lo; ow++)
            row[ow] = 0.0f;
        for (int ow = hi; ow < ow_n; ow++)
            row[ow] = 0.0f;
    }
    const ptrdiff_t shift =
        (ptrdiff_t)(row0 - s->pad_top + i) * s->in_w + j - s->pad_left;
    const size_t first = (size_t)r_lo * ow_n + lo;
    const size_t end = (size_t)(r_hi - 1) * ow_n + hi;
    float *dst = dxc + (shift + (ptrdiff_t)first);
    const float *from = src + first;
#pragma omp simd
    for (size_t d = 0; d < end - first; d++)
        dst[d] += from[d];
}

void cnn_col2im(const cnn_conv_shape *s, int images, float *col, int row0,
                int rows, size_t ldcol, int overwrite, float *dx)
{
    const int taps = s->kh * s->kw;
    const size_t plane = (size_t)s->in_h * s->in_w;
    const size_t cols = (size_t)rows * s->out_w;
    const int parallel =
        (size_t)images * s->in_c * taps * cols >= PARALLEL_MIN_FLOATS;
    const int flat =
        s->stride_h == 1 && s->stride_w == 1 && s->out_w == s->in_w;

    /* each plane is zeroed by the thread that then adds into it */
#pragma omp parallel for schedule(static) if (parallel)
    for (long long q = 0; q < (long long)images * s->in_c; q++) {
        const int img = (int)(q / s->in_c), c = (int)(q % s->in_c);
        float *dxc = dx + q * plane;
        if (overwrite)
            memset(dxc, 0, plane * sizeof(float));
        for (int t = 0; t < taps; t++) {
            float *src = col + (size_t)(c * taps + t) * ldcol + img * cols;
            if (flat)
                col2im_tap_flat(s, src, t / s->kw, t % s->kw, row0, rows, dxc);
            else
                col2im_tap(s, src, t / s->kw, t % s->kw, row0, rows, dxc);
        }
    }
}
