/* winograd_line.c - F(4, 7) along one axis (see winograd_line.h).
 *
 * A line is one row of an image (1x7 kernel) or one column (7x1); each line
 * is cut into runs of 4 outputs, the tiles. Tiles are numbered so that
 * neighbouring tiles are neighbours in memory where that is possible:
 * (image, row, run) for rows, (image, run, column) for columns. As in
 * winograd.c they are processed in chunks whose transformed input
 * V [10][in_c][chunk] and products M [10][out_c][chunk] fit the same
 * budget (cnn_wino_chunk_tiles):
 *   1. input transform V_xi[c][t] = (B^T d)[xi], d the 10 inputs under
 *      tile t in channel c (zeros outside the image);
 *   2. 10 sgemm calls M_xi = U_xi x V_xi spread over the threads;
 *   3. output transform: A^T m, + bias, batch norm, ReLU, cut at the end of
 *      the line.
 * The backward transforms the output gradient by A (the adjoint of step 3)
 * once for both gradients: the weight gradient sums dM_xi x V_xi^T over the
 * chunks (10 sgemm calls each) and takes the result back through G^T; the
 * input gradient U_xi^T x dM_xi goes back through B (the adjoint of step 1)
 * and is added along the lines.
 * The matrices below are those of the Toom-Cook construction for the points
 * 0, 1, -1, 2, -2, 1/2, -1/2, 3/2, -3/2 and infinity (exact fractions,
 * checked by test/gen_winograd_line_tables.py, which derives them). B^T
 * and A^T are dyadic and exact in float; the filter transform G runs in
 * double.
 */
#include <assert.h>
#include <string.h>

#include "winograd.h"
#include "winograd_line.h"
#include "zero_fill.h"

#define ALPHA CNN_WINO_LINE_POINTS
#define RUN 4  /* outputs per tile */
#define TAPS 7 /* kernel length */
#define LANES CNN_WINO_LANES

static const float BT[ALPHA][ALPHA] = {
    {9.f / 4, 0, -205.f / 16, 0, 273.f / 16, 0, -15.f / 2, 0, 1, 0},
    {0, -9.f / 4, -9.f / 4, 169.f / 16, 169.f / 16, -13.f / 2, -13.f / 2, 1, 1, 0},
    {0, 9.f / 4, -9.f / 4, -169.f / 16, 169.f / 16, 13.f / 2, -13.f / 2, -1, 1, 0},
    {0, -9.f / 8, -9.f / 16, 49.f / 8, 49.f / 16, -7, -7.f / 2, 2, 1, 0},
    {0, 9.f / 8, -9.f / 16, -49.f / 8, 49.f / 16, 7, -7.f / 2, -2, 1, 0},
    {0, -9.f / 2, -9, 61.f / 8, 61.f / 4, -29.f / 8, -29.f / 4, 1.f / 2, 1, 0},
    {0, 9.f / 2, -9, -61.f / 8, 61.f / 4, 29.f / 8, -29.f / 4, -1.f / 2, 1, 0},
    {0, -3.f / 2, -1, 63.f / 8, 21.f / 4, -63.f / 8, -21.f / 4, 3.f / 2, 1, 0},
    {0, 3.f / 2, -1, -63.f / 8, 21.f / 4, 63.f / 8, -21.f / 4, -3.f / 2, 1, 0},
    {0, 9.f / 4, 0, -205.f / 16, 0, 273.f / 16, 0, -15.f / 2, 0, 1},
};

static const double G[ALPHA][TAPS] = {
    {4. / 9, 0, 0, 0, 0, 0, 0},
    {8. / 45, 8. / 45, 8. / 45, 8. / 45, 8. / 45, 8. / 45, 8. / 45},
    {8. / 45, -8. / 45, 8. / 45, -8. / 45, 8. / 45, -8. / 45, 8. / 45},
    {2. / 315, 4. / 315, 8. / 315, 16. / 315, 32. / 315, 64. / 315, 128. / 315},
    {2. / 315, -4. / 315, 8. / 315, -16. / 315, 32. / 315, -64. / 315, 128. / 315},
    {-16. / 45, -8. / 45, -4. / 45, -2. / 45, -1. / 45, -1. / 90, -1. / 180},
    {-16. / 45, 8. / 45, -4. / 45, 2. / 45, -1. / 45, 1. / 90, -1. / 180},
    {-16. / 315, -8. / 105, -4. / 35, -6. / 35, -9. / 35, -27. / 70, -81. / 140},
    {-16. / 315, 8. / 105, -4. / 35, 6. / 35, -9. / 35, 27. / 70, -81. / 140},
    {0, 0, 0, 0, 0, 0, 1},
};

static const float AT[RUN][ALPHA] = {
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 0},
    {0, 1, -1, 2, -2, 1.f / 2, -1.f / 2, 3.f / 2, -3.f / 2, 0},
    {0, 1, 1, 4, 4, 1.f / 4, 1.f / 4, 9.f / 4, 9.f / 4, 0},
    {0, 1, -1, 8, -8, 1.f / 8, -1.f / 8, 27.f / 8, -27.f / 8, 1},
};

/* Whether the kernel runs along rows (1x7) rather than columns (7x1). */
static int along_rows(const cnn_conv_shape *s) { return s->kh == 1; }

int cnn_wino_line_applicable(const cnn_conv_shape *s)
{
    if (s->stride_h != 1 || s->stride_w != 1 || s->out_h <= 0 || s->out_w <= 0)
        return 0;
    if (s->kh == 1 && s->kw == TAPS)
        return s->pad_top == 0 && s->out_h == s->in_h && s->pad_left >= 0 &&
               s->pad_left < TAPS;
    if (s->kh == TAPS && s->kw == 1)
        return s->pad_left == 0 && s->out_w == s->in_w && s->pad_top >= 0 &&
               s->pad_top < TAPS;
    return 0;
}

/* The lines of one image and how they are laid out. */
typedef struct {
    int along_in, along_out; /* line length in the input and the output */
    int lines;               /* per image */
    int runs;                /* tiles per line */
    int pad;                 /* zeros before the line */
    size_t in_step, in_line;   /* input: next along a line, next line */
    size_t out_step, out_line; /* output: the same */
} line_layout;

static line_layout layout_of(const cnn_conv_shape *s)
{
    line_layout g;
    if (along_rows(s)) {
        g = (line_layout){s->in_w, s->out_w, s->in_h, 0, s->pad_left,
                          1, (size_t)s->in_w, 1, (size_t)s->out_w};
    } else {
        g = (line_layout){s->in_h, s->out_h, s->in_w, 0, s->pad_top,
                          (size_t)s->in_w, 1, (size_t)s->out_w, 1};
    }
    g.runs = (g.along_out + RUN - 1) / RUN;
    return g;
}

static long long tiles_of(const cnn_conv_shape *s, int n)
{
    line_layout g = layout_of(s);
    return (long long)n * g.lines * g.runs;
}

int cnn_wino_line_preferred(const cnn_conv_shape *s, int n, int trained)
{
    /* Few channels make the transforms as dear as the products; few tiles
     * make 10 small products slower than one large one. A layer being
     * trained also transforms its filter and weight gradient at every step
     * (as winograd.c's rule counts), hence twice the tiles. */
    return cnn_wino_line_applicable(s) && s->in_c >= 16 && s->out_c >= 16 &&
           tiles_of(s, n) >= (trained ? 32 : 16);
}

size_t cnn_wino_line_filter_floats(const cnn_conv_shape *s)
{
    return (size_t)ALPHA * s->out_c * s->in_c;
}

/* Channel pairs per block of the filter transforms, whose inner loops
 * run over a block's pairs and vectorize. */
#define PAIRS 64

void cnn_wino_line_filter(const cnn_conv_shape *s, const float *weight,
                          float *U)
{
    assert(cnn_wino_line_applicable(s) && weight && U);
    const int K = s->out_c, C = s->in_c;
    const long long plane = (long long)K * C;
    const long long blocks = (plane + PAIRS - 1) / PAIRS;
#pragma omp parallel for schedule(static) if (plane >= 4096)
    for (long long blk = 0; blk < blocks; blk++) {
        const long long p0 = blk * PAIRS;
        const int pairs = plane - p0 < PAIRS ? (int)(plane - p0) : PAIRS;
        double w[TAPS][PAIRS], u[PAIRS];
        for (int j = 0; j < PAIRS; j++)
            for (int r = 0; r < TAPS; r++)
                w[r][j] = j < pairs ? weight[(p0 + j) * TAPS + r] : 0.0;
        for (int xi = 0; xi < ALPHA; xi++) {
#pragma omp simd
            for (int j = 0; j < PAIRS; j++) {
                double v = 0.0;
                for (int r = 0; r < TAPS; r++)
                    v += G[xi][r] * w[r][j];
                u[j] = v;
            }
            float *dst = U + xi * plane;
            for (int j = 0; j < pairs; j++)
                dst[p0 + j] = (float)u[j];
        }
    }
}

/* Tiles per chunk for n images. */
static int chunk_tiles(const cnn_conv_shape *s, int n)
{
    return cnn_wino_chunk_tiles(tiles_of(s, n), ALPHA, s->in_c, s->out_c);
}

size_t cnn_wino_line_workspace_floats(const cnn_conv_shape *s, int n)
{
    return cnn_wino_chunk_floats(ALPHA, s->in_c, s->out_c, chunk_tiles(s, n));
}

/* Where tile t is: image, line, first output along the line. */
typedef struct {
    int img, line, start;
} tile_pos;

static tile_pos locate(const cnn_conv_shape *s, const line_layout *g, long long t)
{
    const long long per_image = (long long)g->lines * g->runs;
    tile_pos p;
    p.img = (int)(t / per_image);
    const int r = (int)(t % per_image);
    if (along_rows(s)) { /* (image, row, run) */
        p.line = r / g->runs;
        p.start = r % g->runs * RUN;
    } else { /* (image, run, column) */
        p.line = r % g->lines;
        p.start = r / g->lines * RUN;
    }
    return p;
}

/* V [10][C][nt] for the tiles [t0, t0 + nt) of x. */
static void input_transform(const cnn_conv_shape *s, const line_layout *g,
                            const float *x, long long t0, int nt, float *V)
{
    const int C = s->in_c;
    const size_t plane = (size_t)s->in_h * s->in_w;
    const int blocks = (nt + LANES - 1) / LANES;
    const size_t point_stride = cnn_wino_point_stride(C, nt);
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)C * nt >= 2048)
    for (int c = 0; c < C; c++)
        for (int blk = 0; blk < blocks; blk++) {
            float d[ALPHA][LANES], v[ALPHA][LANES];
            const int j0 = blk * LANES;
            const int lanes = nt - j0 < LANES ? nt - j0 : LANES;
            for (int l = 0; l < LANES; l++) {
                if (l >= lanes) {
                    for (int i = 0; i < ALPHA; i++)
                        d[i][l] = 0.0f;
                    continue;
                }
                tile_pos p = locate(s, g, t0 + j0 + l);
                const float *line = x + ((size_t)p.img * C + c) * plane +
                                    (size_t)p.line * g->in_line;
                const int first = p.start - g->pad;
                if (first >= 0 && first + ALPHA <= g->along_in) {
                    const float *at = line + (size_t)first * g->in_step;
                    for (int i = 0; i < ALPHA; i++)
                        d[i][l] = at[(size_t)i * g->in_step];
                    continue;
                }
                for (int i = 0; i < ALPHA; i++) {
                    const int at = first + i;
                    d[i][l] = at >= 0 && at < g->along_in
                                  ? line[(size_t)at * g->in_step]
                                  : 0.0f;
                }
            }
            for (int xi = 0; xi < ALPHA; xi++)
#pragma omp simd
                for (int l = 0; l < LANES; l++) {
                    float u = 0.0f;
                    for (int i = 0; i < ALPHA; i++)
                        u += BT[xi][i] * d[i][l];
                    v[xi][l] = u;
                }
            cnn_wino_store_points(&v[0][0], ALPHA, lanes, V + (size_t)c * nt + j0,
                                  point_stride);
        }
}

/* What the output stage applies per output channel after the sum. */
typedef struct {
    const float *bias, *mean, *scale, *beta;
    int relu;
} out_stage;

/* y for the tiles [t0, t0 + nt) from M [10][K][nt]. */
static void output_transform(const cnn_conv_shape *s, const line_layout *g,
                             const float *M, long long t0, int nt,
                             const out_stage *st, float *y)
{
    const int K = s->out_c, bn = st->mean != NULL;
    const size_t plane = (size_t)s->out_h * s->out_w;
    const int blocks = (nt + LANES - 1) / LANES;
    const size_t point_stride = cnn_wino_point_stride(K, nt);
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)K * nt >= 2048)
    for (int k = 0; k < K; k++)
        for (int blk = 0; blk < blocks; blk++) {
            float m[ALPHA][LANES], o[RUN][LANES];
            const int j0 = blk * LANES;
            const int lanes = nt - j0 < LANES ? nt - j0 : LANES;
            cnn_wino_load_points(M + (size_t)k * nt + j0, point_stride, ALPHA,
                                 lanes, &m[0][0]);
            const float bk = st->bias ? st->bias[k] : 0.0f;
            const float mk = bn ? st->mean[k] : 0.0f;
            const float sk = bn ? st->scale[k] : 1.0f;
            const float ck = bn ? st->beta[k] : 0.0f;
            for (int i = 0; i < RUN; i++)
#pragma omp simd
                for (int l = 0; l < LANES; l++) {
                    float r = bk;
                    for (int xi = 0; xi < ALPHA; xi++)
                        r += AT[i][xi] * m[xi][l];
                    if (bn)
                        r = (r - mk) * sk + ck;
                    o[i][l] = st->relu && r < 0.0f ? 0.0f : r;
                }
            for (int l = 0; l < lanes; l++) {
                tile_pos p = locate(s, g, t0 + j0 + l);
                float *line = y + ((size_t)p.img * K + k) * plane +
                              (size_t)p.line * g->out_line;
                const int count = g->along_out - p.start < RUN ? g->along_out - p.start : RUN;
                for (int i = 0; i < count; i++)
                    line[(size_t)(p.start + i) * g->out_step] = o[i][l];
            }
        }
}

void cnn_wino_line_forward_bn(const cnn_conv_shape *s, int n, const float *x,
                              const float *U, const float *bias,
                              const float *mean, const float *scale,
                              const float *beta, int relu, float *y,
                              float *workspace)
{
    assert(!mean == !scale && !mean == !beta);
    assert(cnn_wino_line_applicable(s) && n >= 0 && x && U && y && workspace);
    if (n == 0)
        return;
    const out_stage st = {bias, mean, scale, beta, relu};
    const line_layout g = layout_of(s);
    const int K = s->out_c, C = s->in_c;
    const long long total = tiles_of(s, n);
    const int chunk = chunk_tiles(s, n);
    for (long long t0 = 0; t0 < total; t0 += chunk) {
        const int nt = total - t0 < chunk ? (int)(total - t0) : chunk;
        float *V = workspace;
        float *M = workspace + ALPHA * cnn_wino_point_stride(C, nt);
        input_transform(s, &g, x, t0, nt, V);
        cnn_wino_products(ALPHA, K, C, nt, U, V, M);
        output_transform(s, &g, M, t0, nt, &st, y);
    }
}

/* dM [10][K][nt] = A dY for the tiles [t0, t0 + nt) of dy (zeros beyond
 * the end of the line): the adjoint of the output transform. */
static void gradient_transform(const cnn_conv_shape *s, const line_layout *g,
                               const float *dy, long long t0, int nt, float *dM)
{
    const int K = s->out_c;
    const size_t plane = (size_t)s->out_h * s->out_w;
    const int blocks = (nt + LANES - 1) / LANES;
    const size_t point_stride = cnn_wino_point_stride(K, nt);
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)K * nt >= 2048)
    for (int k = 0; k < K; k++)
        for (int blk = 0; blk < blocks; blk++) {
            float d[RUN][LANES], m[ALPHA][LANES];
            const int j0 = blk * LANES;
            const int lanes = nt - j0 < LANES ? nt - j0 : LANES;
            for (int l = 0; l < LANES; l++) {
                int count = 0;
                const float *line = NULL;
                tile_pos p = {0, 0, 0};
                if (l < lanes) {
                    p = locate(s, g, t0 + j0 + l);
                    line = dy + ((size_t)p.img * K + k) * plane +
                           (size_t)p.line * g->out_line;
                    count = g->along_out - p.start < RUN ? g->along_out - p.start : RUN;
                }
                for (int i = 0; i < RUN; i++)
                    d[i][l] = i < count ? line[(size_t)(p.start + i) * g->out_step] : 0.0f;
            }
            for (int xi = 0; xi < ALPHA; xi++)
#pragma omp simd
                for (int l = 0; l < LANES; l++) {
                    float u = 0.0f;
                    for (int i = 0; i < RUN; i++)
                        u += AT[i][xi] * d[i][l];
                    m[xi][l] = u;
                }
            cnn_wino_store_points(&m[0][0], ALPHA, lanes, dM + (size_t)k * nt + j0,
                                  point_stride);
        }
}

/* dx += B dV for the tiles [t0, t0 + nt): the 10 inputs under each tile
 * (cut at the end of the line) from dV [10][C][nt], the adjoint of the
 * input transform. Neighbouring tiles share inputs, so each channel's
 * planes belong to one thread. */
static void input_adjoint(const cnn_conv_shape *s, const line_layout *g,
                          const float *dV, long long t0, int nt, float *dx)
{
    const int C = s->in_c;
    const size_t plane = (size_t)s->in_h * s->in_w;
    const int blocks = (nt + LANES - 1) / LANES;
    const size_t point_stride = cnn_wino_point_stride(C, nt);
#pragma omp parallel for schedule(static) if ((size_t)C * nt >= 2048)
    for (int c = 0; c < C; c++)
        for (int blk = 0; blk < blocks; blk++) {
            float v[ALPHA][LANES], d[ALPHA][LANES];
            const int j0 = blk * LANES;
            const int lanes = nt - j0 < LANES ? nt - j0 : LANES;
            cnn_wino_load_points(dV + (size_t)c * nt + j0, point_stride, ALPHA,
                                 lanes, &v[0][0]);
            for (int i = 0; i < ALPHA; i++)
#pragma omp simd
                for (int l = 0; l < LANES; l++) {
                    float u = 0.0f;
                    for (int xi = 0; xi < ALPHA; xi++)
                        u += BT[xi][i] * v[xi][l];
                    d[i][l] = u;
                }
            for (int l = 0; l < lanes; l++) {
                tile_pos p = locate(s, g, t0 + j0 + l);
                float *line = dx + ((size_t)p.img * C + c) * plane +
                              (size_t)p.line * g->in_line;
                const int first = p.start - g->pad;
                for (int i = 0; i < ALPHA; i++) {
                    const int at = first + i;
                    if (at >= 0 && at < g->along_in)
                        line[(size_t)at * g->in_step] += d[i][l];
                }
            }
        }
}

size_t cnn_wino_line_backward_workspace_floats(const cnn_conv_shape *s, int n)
{
    return cnn_wino_line_filter_floats(s) + cnn_wino_line_workspace_floats(s, n);
}

void cnn_wino_line_backward(const cnn_conv_shape *s, int n, const float *x,
                            const float *dy, const float *U, float *dx,
                            float *dweight, float *workspace)
{
    assert(cnn_wino_line_applicable(s) && n >= 0 && dy && workspace);
    assert((!dx || U) && (!dweight || x));
    if (n == 0 || (!dx && !dweight))
        return;
    const line_layout g = layout_of(s);
    const int K = s->out_c, C = s->in_c;
    const long long total = tiles_of(s, n);
    const int chunk = chunk_tiles(s, n);
    float *dU = workspace;
    float *V = dU + cnn_wino_line_filter_floats(s);
    if (dx)
        cnn_zero_fill(dx, (size_t)n * C * s->in_h * s->in_w);
    for (long long t0 = 0; t0 < total; t0 += chunk) {
        const int nt = total - t0 < chunk ? (int)(total - t0) : chunk;
        float *dM = V + ALPHA * cnn_wino_point_stride(C, nt);
        gradient_transform(s, &g, dy, t0, nt, dM);
        if (dweight) {
            input_transform(s, &g, x, t0, nt, V);
            cnn_wino_weight_products(ALPHA, K, C, nt, dM, V,
                                     t0 == 0 ? 0.0f : 1.0f, dU);
        }
        if (dx) {
            /* V, free again: the transformed input gradient U^T dM */
            cnn_wino_input_products(ALPHA, K, C, nt, U, dM, V);
            input_adjoint(s, &g, V, t0, nt, dx);
        }
    }
    if (!dweight)
        return;
    /* dweight += G^T dU, the adjoint of the filter transform, in double */
    const long long plane = (long long)K * C;
#pragma omp parallel for schedule(static) if (plane >= 4096)
    for (long long kc = 0; kc < plane; kc++) {
        double w[TAPS] = {0};
        for (int xi = 0; xi < ALPHA; xi++) {
            const double u = dU[xi * plane + kc];
            for (int r = 0; r < TAPS; r++)
                w[r] += G[xi][r] * u;
        }
        float *dw = dweight + kc * TAPS;
        for (int r = 0; r < TAPS; r++)
            dw[r] += (float)w[r];
    }
}
