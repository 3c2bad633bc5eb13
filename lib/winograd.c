/* winograd.c - F(4x4, 3x3) convolution (see winograd.h).
 *
 * The tiles of all n images are numbered t = (image, tile row, tile column)
 * and processed in chunks of `chunk` tiles, so that the transformed input
 * V [36][in_c][chunk] and the products M [36][out_c][chunk] stay within
 * WINO_FLOATS of workspace:
 *   1. input transform: V_xi[c][t] = (B^T d B)[xi] for the 6x6 patch d of
 *      tile t in channel c (zeros outside the image);
 *   2. 36 products M_xi = U_xi x V_xi, spread over the threads
 *      (winograd_products.c);
 *   3. output transform: the 4x4 tile A^T M A, + bias, ReLU, cut at the
 *      image's edge.
 * The transforms work on LANES tiles at once (the innermost loops run over
 * lanes and vectorize); their OpenMP loops run over channels x lane blocks.
 * Layers with few channels run their passes in smaller chunks instead,
 * each thread taking whole ones (PRIVATE_FLOATS below).
 *
 * Transform matrices for the points 0, 1, -1, 2, -2 and infinity:
 *   B^T = [4  0 -5  0 1 0]   G = [ 1/4     0    0 ]   A^T = [1 1  1 1  1 0]
 *         [0 -4 -4  1 1 0]       [-1/6 -1/6 -1/6 ]         [0 1 -1 2 -2 0]
 *         [0  4 -4 -1 1 0]       [-1/6  1/6 -1/6 ]         [0 1  1 4  4 0]
 *         [0 -2 -1  2 1 0]       [1/24 1/12  1/6 ]         [0 1 -1 8 -8 1]
 *         [0  2 -1 -2 1 0]       [1/24 -1/12 1/6 ]
 *         [0  4  0 -5 0 1]       [  0     0    1 ]
 * Filters are transformed in double.
 */
#include <assert.h>
#include <string.h>

#include "winograd.h"
#include "winograd_lanes.h"
#include "zero_fill.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define LANES CNN_WINO_LANES
#define WINO_FLOATS ((size_t)1 << 23) /* V + M per chunk: 32 MB */
#define MIN_TILES 64
/* Layers with few channels are bound by memory rather than arithmetic:
 * their chunks' V and M outgrow the caches, and every transformed tile
 * passes through DRAM twice. Their passes run instead in chunks of at
 * least PRIVATE_MIN_OUTPUTS outputs small enough for V and M to stay in
 * the cache, each taken whole by one thread (its transforms and products)
 * in its own PRIVATE_FLOATS of the workspace: VGG16's 224x224 64->64 layer took
 * 35-40% less time than with shared chunks at batch 1 and 4,
 * InceptionV3's 147x147 32->64 one 26-37%; layers with 256 channels or
 * more in all were as fast or slower (2026-12-01). */
#define PRIVATE_FLOATS ((size_t)1 << 20) /* 4 MB */
#define PRIVATE_SLOTS ((int)(WINO_FLOATS / PRIVATE_FLOATS))
#define PRIVATE_MIN_OUTPUTS 2048 /* F(4x4): 128 tiles, in + out channels
                                    <= 227 */
/* The transformed tiles of a chunk are [point][rows][tiles]; a lane block
 * of a transform reads or writes one 64-byte line per point. With a point
 * stride that is a multiple of 4 KB (rows x tiles often is) all those lines
 * fall in one set of the L1 cache and evict each other. Strides of an odd
 * number of lines put up to 64 points in distinct sets (the F(6x6) forward
 * of VGG16's 224x224 64->64 layer took 6.2 instead of 7.6 ms). */
#define LINE_FLOATS 16 /* 64 bytes */

int cnn_wino_applicable(const cnn_conv_shape *s)
{
    return s->kh == 3 && s->kw == 3 && s->stride_h == 1 && s->stride_w == 1 &&
           s->pad_top >= 0 && s->pad_top <= 2 && s->pad_left >= 0 &&
           s->pad_left <= 2 && s->out_h > 0 && s->out_w > 0;
}

int cnn_wino_preferred(const cnn_conv_shape *s, int n, int trained)
{
    if (!cnn_wino_applicable(s))
        return 0;
    /* Few input channels (VGG's first layer: 3) make the transforms as
     * dear as the products; few tiles make 36 small products slower than
     * one large one. */
    long long tiles = cnn_wino_grid_tiles(s, 4, n);
    if (s->in_c < 16 || s->out_c < 16 || tiles < 16)
        return 0;
    /* A layer being trained transforms its filter and its weight gradient
     * at every step: passes over memory of 36 floats per channel pair,
     * against 3 x 216 flops saved per pair and tile by its three passes;
     * so it needs more tiles (VGG16 batch-1 training stepped as fast with
     * 32 as with 64, 12% slower with 256). */
    return !trained || tiles >= 32;
}

size_t cnn_wino_filter_floats(const cnn_conv_shape *s)
{
    return (size_t)CNN_WINO_POINTS * s->out_c * s->in_c;
}

/* The 1-D steps of the transforms, each written once; o[k * stride] is
 * output k (the callers' loops over lanes vectorize them inlined). */

/* G g for one column g of a filter (points 0, 1, -1, 2, -2, infinity). */
static inline void filter_1d(double g0, double g1, double g2, double *o,
                             size_t stride)
{
    const double q = 1.0 / 6, e = 1.0 / 12, t24 = 1.0 / 24;
    o[0] = 0.25 * g0;
    o[stride] = -q * (g0 + g1 + g2);
    o[2 * stride] = -q * (g0 - g1 + g2);
    o[3 * stride] = t24 * g0 + e * g1 + q * g2;
    o[4 * stride] = t24 * g0 - e * g1 + q * g2;
    o[5 * stride] = g2;
}

/* G^T u: the adjoint of filter_1d. */
static inline void filter_adjoint_1d(double u0, double u1, double u2,
                                     double u3, double u4, double u5,
                                     double *o, size_t stride)
{
    const double q = 1.0 / 6, e = 1.0 / 12, t24 = 1.0 / 24;
    o[0] = 0.25 * u0 - q * (u1 + u2) + t24 * (u3 + u4);
    o[stride] = q * (u2 - u1) + e * (u3 - u4);
    o[2 * stride] = q * (u3 + u4 - u1 - u2) + u5;
}

/* A d for one column d of a 4x4 output-gradient tile: the adjoint of the
 * output transform's A^T. */
static inline void output_adjoint_1d(float d0, float d1, float d2, float d3,
                                     float *o, size_t stride)
{
    float ev = d0 + d2, od = d1 + d3;
    float ev2 = d0 + 4.0f * d2, od2 = 2.0f * d1 + 8.0f * d3;
    o[0] = d0;
    o[stride] = ev + od;
    o[2 * stride] = ev - od;
    o[3 * stride] = ev2 + od2;
    o[4 * stride] = ev2 - od2;
    o[5 * stride] = d3;
}

/* B v for one line v of a 6x6 transformed tile: the adjoint of the input
 * transform's B^T (its columns). */
static inline void input_adjoint_1d(float v0, float v1, float v2, float v3,
                                    float v4, float v5, float *o, size_t stride)
{
    o[0] = 4.0f * v0;
    o[stride] = 4.0f * (v2 - v1 + v5) + 2.0f * (v4 - v3);
    o[2 * stride] = -5.0f * v0 - 4.0f * (v1 + v2) - (v3 + v4);
    o[3 * stride] = v1 - v2 + 2.0f * (v3 - v4) - 5.0f * v5;
    o[4 * stride] = v0 + v1 + v2 + v3 + v4;
    o[5 * stride] = v5;
}

/* Filters are transformed in runs of FLANES channel pairs (k, c), taken
 * in U's order (pair k * in_c + c), with the arithmetic vectorized over a
 * run: each run reads FLANES 3x3 filters and writes FLANES contiguous
 * floats of each point. In double: F(4x4, 3x3) amplifies rounding, and a
 * float transform doubled the error of the network's finite-difference
 * check. */
#define FLANES 128

void cnn_wino_filter(const cnn_conv_shape *s, const float *weight,
                     const float *scale, float *U)
{
    assert(cnn_wino_applicable(s) && weight && U);
    const size_t plane = (size_t)s->out_c * s->in_c;
    const long long runs = (long long)((plane + FLANES - 1) / FLANES);
#pragma omp parallel for schedule(static) if (plane >= 4096)
    for (long long run = 0; run < runs; run++) {
        const size_t p0 = (size_t)run * FLANES;
        const int lanes = plane - p0 < FLANES ? (int)(plane - p0) : FLANES;
        double g[9][FLANES], t[6][3][FLANES], u[6][FLANES], sc[FLANES];
        float out[FLANES];
        for (int l = 0; l < FLANES; l++) {
            const int inside = l < lanes;
            const float *w = weight + (inside ? (p0 + l) * 9 : 0);
            for (int ij = 0; ij < 9; ij++)
                g[ij][l] = inside ? w[ij] : 0.0;
            sc[l] = scale && inside ? scale[(p0 + l) / s->in_c] : 1.0;
        }
        /* t = G g (over rows), then each row a of t G^T (over columns) */
        for (int j = 0; j < 3; j++)
#pragma omp simd
            for (int l = 0; l < FLANES; l++)
                filter_1d(g[j][l], g[3 + j][l], g[6 + j][l], &t[0][j][l],
                          3 * FLANES);
        for (int a = 0; a < 6; a++) {
#pragma omp simd
            for (int l = 0; l < FLANES; l++)
                filter_1d(t[a][0][l], t[a][1][l], t[a][2][l], &u[0][l], FLANES);
            for (int b = 0; b < 6; b++) {
#pragma omp simd
                for (int l = 0; l < FLANES; l++)
                    out[l] = (float)(u[b][l] * sc[l]);
                memcpy(U + (size_t)(a * 6 + b) * plane + p0, out,
                       sizeof(float) * lanes);
            }
        }
    }
}

size_t cnn_wino_point_stride(int rows, int nt)
{
    const size_t lines = ((size_t)rows * nt + LINE_FLOATS - 1) / LINE_FLOATS;
    return (lines | 1) * LINE_FLOATS;
}

size_t cnn_wino_chunk_floats(int points, int C, int K, int nt)
{
    return (size_t)points *
           (cnn_wino_point_stride(C, nt) + cnn_wino_point_stride(K, nt));
}

/* Tiles of V and M that fit budget floats. */
static long long tiles_within(size_t budget, int points, int C, int K)
{
    long long nt = (long long)(budget / ((size_t)points * ((size_t)C + K)));
    while (nt > 0 && cnn_wino_chunk_floats(points, C, K, (int)nt) > budget)
        nt--;
    return nt;
}

int cnn_wino_chunk_tiles(long long total, int points, int C, int K)
{
    long long budget = tiles_within(WINO_FLOATS, points, C, K);
    if (budget < MIN_TILES)
        budget = MIN_TILES;
    if (total <= budget)
        return (int)total;
    long long chunks = (total + budget - 1) / budget;
    return (int)((total + chunks - 1) / chunks);
}

int cnn_wino_private_tiles(long long total, int points, int tile_outputs,
                           int C, int K)
{
    const long long nt = tiles_within(PRIVATE_FLOATS, points, C, K);
    return nt * tile_outputs >= PRIVATE_MIN_OUTPUTS && total >= 4 * nt
               ? (int)nt : 0;
}

/* Threads that run thread-private chunks, one workspace slot each. */
static int private_threads(void)
{
    const int threads = cnn_get_threads();
    return threads < PRIVATE_SLOTS ? threads : PRIVATE_SLOTS;
}

static int thread_index(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* V [36][C][nt] for the tiles [t0, t0 + nt) of x. */
static void input_transform(const cnn_conv_shape *s, const float *x,
                            long long t0, int nt, float *V)
{
    const int C = s->in_c, H = s->in_h, W = s->in_w;
    const int blocks = (nt + LANES - 1) / LANES;
    const size_t point_stride = cnn_wino_point_stride(C, nt);
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)C * nt >= 2048)
    for (int c = 0; c < C; c++)
        for (int blk = 0; blk < blocks; blk++) {
            float d[6][6][LANES], u[6][6][LANES];
            float padded[LANES][6][8];
            const float *src[LANES];
            int stride[LANES];
            const int j0 = blk * LANES;
            const int lanes = nt - j0 < LANES ? nt - j0 : LANES;
            for (int l = 0; l < LANES; l++) {
                /* lanes past the chunk read a tile above the image: zeros */
                cnn_wino_tile p = l < lanes ? cnn_wino_locate(s, 4, t0 + j0 + l)
                                            : (cnn_wino_tile){0, -H - 6, 0};
                const float *plane = x + ((size_t)p.img * C + c) * H * W;
                const int y0 = p.oy - s->pad_top, x0 = p.ox - s->pad_left;
                src[l] = cnn_wino_patch_rows(plane, H, W, y0, x0, 6,
                                             &padded[l][0][0], &stride[l]);
            }
            cnn_wino_gather_patches(src, stride, 6, 6, &d[0][0][0]);
            /* u = B^T d (over rows), then d = u B (over columns) */
            for (int j = 0; j < 6; j++)
#pragma omp simd
                for (int l = 0; l < LANES; l++) {
                    float d0 = d[0][j][l], d1 = d[1][j][l], d2 = d[2][j][l],
                          d3 = d[3][j][l], d4 = d[4][j][l], d5 = d[5][j][l];
                    u[0][j][l] = 4.0f * d0 - 5.0f * d2 + d4;
                    u[1][j][l] = -4.0f * (d1 + d2) + d3 + d4;
                    u[2][j][l] = 4.0f * (d1 - d2) - d3 + d4;
                    u[3][j][l] = 2.0f * (d3 - d1) - d2 + d4;
                    u[4][j][l] = 2.0f * (d1 - d3) - d2 + d4;
                    u[5][j][l] = 4.0f * d1 - 5.0f * d3 + d5;
                }
            for (int i = 0; i < 6; i++)
#pragma omp simd
                for (int l = 0; l < LANES; l++) {
                    float d0 = u[i][0][l], d1 = u[i][1][l], d2 = u[i][2][l],
                          d3 = u[i][3][l], d4 = u[i][4][l], d5 = u[i][5][l];
                    d[i][0][l] = 4.0f * d0 - 5.0f * d2 + d4;
                    d[i][1][l] = -4.0f * (d1 + d2) + d3 + d4;
                    d[i][2][l] = 4.0f * (d1 - d2) - d3 + d4;
                    d[i][3][l] = 2.0f * (d3 - d1) - d2 + d4;
                    d[i][4][l] = 2.0f * (d1 - d3) - d2 + d4;
                    d[i][5][l] = 4.0f * d1 - 5.0f * d3 + d5;
                }
            cnn_wino_store_points(&d[0][0][0], CNN_WINO_POINTS, lanes,
                                  V + (size_t)c * nt + j0, point_stride);
        }
}

/* y for the tiles [t0, t0 + nt) from M [36][K][nt]. */
static void output_transform(const cnn_conv_shape *s, const float *M,
                             long long t0, int nt,
                             const cnn_wino_out_stage *st, float *y)
{
    const float *bias = st->bias;
    const int relu = st->relu, bn = st->mean != NULL;
    const int K = s->out_c, OH = s->out_h, OW = s->out_w;
    const int blocks = (nt + LANES - 1) / LANES;
    const size_t point_stride = cnn_wino_point_stride(K, nt);
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)K * nt >= 2048)
    for (int k = 0; k < K; k++)
        for (int blk = 0; blk < blocks; blk++) {
            float m[6][6][LANES], u[4][6][LANES], o[4][4][LANES];
            const int j0 = blk * LANES;
            const int lanes = nt - j0 < LANES ? nt - j0 : LANES;
            cnn_wino_load_points(M + (size_t)k * nt + j0, point_stride,
                                 CNN_WINO_POINTS, lanes, &m[0][0][0]);
            /* u = A^T m (rows), o = u A (columns) */
            for (int j = 0; j < 6; j++)
#pragma omp simd
                for (int l = 0; l < LANES; l++) {
                    float m0 = m[0][j][l], m1 = m[1][j][l], m2 = m[2][j][l],
                          m3 = m[3][j][l], m4 = m[4][j][l], m5 = m[5][j][l];
                    float a = m1 + m2, b = m1 - m2, c = m3 + m4, d = m3 - m4;
                    u[0][j][l] = m0 + a + c;
                    u[1][j][l] = b + 2.0f * d;
                    u[2][j][l] = a + 4.0f * c;
                    u[3][j][l] = b + 8.0f * d + m5;
                }
            const float bk = bias ? bias[k] : 0.0f;
            const float mk = bn ? st->mean[k] : 0.0f;
            const float sk = bn ? st->scale[k] : 1.0f;
            const float ck = bn ? st->beta[k] : 0.0f;
            for (int i = 0; i < 4; i++)
#pragma omp simd
                for (int l = 0; l < LANES; l++) {
                    float m0 = u[i][0][l], m1 = u[i][1][l], m2 = u[i][2][l],
                          m3 = u[i][3][l], m4 = u[i][4][l], m5 = u[i][5][l];
                    float a = m1 + m2, b = m1 - m2, c = m3 + m4, d = m3 - m4;
                    float r0 = m0 + a + c + bk, r1 = b + 2.0f * d + bk;
                    float r2 = a + 4.0f * c + bk, r3 = b + 8.0f * d + m5 + bk;
                    if (bn) {
                        r0 = (r0 - mk) * sk + ck;
                        r1 = (r1 - mk) * sk + ck;
                        r2 = (r2 - mk) * sk + ck;
                        r3 = (r3 - mk) * sk + ck;
                    }
                    if (relu) {
                        r0 = r0 > 0.0f ? r0 : 0.0f;
                        r1 = r1 > 0.0f ? r1 : 0.0f;
                        r2 = r2 > 0.0f ? r2 : 0.0f;
                        r3 = r3 > 0.0f ? r3 : 0.0f;
                    }
                    o[i][0][l] = r0;
                    o[i][1][l] = r1;
                    o[i][2][l] = r2;
                    o[i][3][l] = r3;
                }
            for (int l = 0; l < lanes; l++) {
                cnn_wino_tile p = cnn_wino_locate(s, 4, t0 + j0 + l);
                float *plane = y + ((size_t)p.img * K + k) * OH * OW;
                const int rows = OH - p.oy < 4 ? OH - p.oy : 4;
                const int cols = OW - p.ox < 4 ? OW - p.ox : 4;
                for (int i = 0; i < rows; i++) {
                    float *row = plane + (size_t)(p.oy + i) * OW + p.ox;
                    for (int j = 0; j < cols; j++)
                        row[j] = o[i][j][l];
                }
            }
        }
}

size_t cnn_wino_workspace_2d(const cnn_wino_transforms *k,
                             const cnn_conv_shape *s, int n)
{
    const long long total = cnn_wino_grid_tiles(s, k->side, n);
    if (cnn_wino_private_tiles(total, k->points, k->side * k->side, s->in_c,
                               s->out_c))
        return WINO_FLOATS;
    return cnn_wino_chunk_floats(
        k->points, s->in_c, s->out_c,
        cnn_wino_chunk_tiles(total, k->points, s->in_c, s->out_c));
}

/* The tiles [t0, t0 + nt) of y from x, through V and M after V. */
static void forward_chunk(const cnn_wino_transforms *k,
                          const cnn_conv_shape *s, const float *x,
                          const float *U, const cnn_wino_out_stage *st,
                          long long t0, int nt, float *y, float *V)
{
    float *M = V + k->points * cnn_wino_point_stride(s->in_c, nt);
    k->input(s, x, t0, nt, V);
    cnn_wino_products(k->points, s->out_c, s->in_c, nt, U, V, M);
    k->output(s, M, t0, nt, st, y);
}

void cnn_wino_forward_2d(const cnn_wino_transforms *k,
                         const cnn_conv_shape *s, int n, const float *x,
                         const float *U, const cnn_wino_out_stage *st,
                         float *y, float *workspace)
{
    const long long total = cnn_wino_grid_tiles(s, k->side, n);
    const int private_tiles = cnn_wino_private_tiles(
        total, k->points, k->side * k->side, s->in_c, s->out_c);
    if (!private_tiles) {
        const int chunk =
            cnn_wino_chunk_tiles(total, k->points, s->in_c, s->out_c);
        for (long long t0 = 0; t0 < total; t0 += chunk)
            forward_chunk(k, s, x, U, st, t0,
                          total - t0 < chunk ? (int)(total - t0) : chunk, y,
                          workspace);
        return;
    }
    const long long chunks = (total + private_tiles - 1) / private_tiles;
#pragma omp parallel num_threads(private_threads())
    {
        float *V = workspace + (size_t)thread_index() * PRIVATE_FLOATS;
#pragma omp for schedule(dynamic, 1)
        for (long long ch = 0; ch < chunks; ch++) {
            const long long t0 = ch * private_tiles;
            forward_chunk(k, s, x, U, st, t0,
                          total - t0 < private_tiles ? (int)(total - t0)
                                                     : private_tiles,
                          y, V);
        }
    }
}

/* The adjoints, below with the backward. */
static void gradient_transform(const cnn_conv_shape *s, const float *dy,
                               long long t0, int nt, float *dM);
static void input_adjoint(const cnn_conv_shape *s, const float *dV,
                          long long t0, int nt, float *dx);
static void filter_gradient_transform(const cnn_conv_shape *s, const float *dU,
                                      float *dweight);

static const cnn_wino_transforms F4X4 = {
    CNN_WINO_POINTS,    4, input_transform, output_transform,
    gradient_transform, input_adjoint,     filter_gradient_transform,
};

size_t cnn_wino_workspace_floats(const cnn_conv_shape *s, int n)
{
    return cnn_wino_workspace_2d(&F4X4, s, n);
}

void cnn_wino_forward(const cnn_conv_shape *s, int n, const float *x,
                      const float *U, const float *bias, int relu, float *y,
                      float *workspace)
{
    cnn_wino_forward_bn(s, n, x, U, bias, NULL, NULL, NULL, relu, y,
                        workspace);
}

void cnn_wino_forward_bn(const cnn_conv_shape *s, int n, const float *x,
                         const float *U, const float *bias, const float *mean,
                         const float *scale, const float *beta, int relu,
                         float *y, float *workspace)
{
    assert(!mean == !scale && !mean == !beta);
    const cnn_wino_out_stage st = {bias, mean, scale, beta, relu};
    assert(cnn_wino_applicable(s) && n >= 0 && x && U && y && workspace);
    if (n == 0)
        return;
    cnn_wino_forward_2d(&F4X4, s, n, x, U, &st, y, workspace);
}

/* dM [36][K][nt] = A dY A^T for the 4x4 tiles [t0, t0 + nt) of dy (zeros
 * beyond the output's edge): the adjoint of the output transform. */
static void gradient_transform(const cnn_conv_shape *s, const float *dy,
                               long long t0, int nt, float *dM)
{
    const int K = s->out_c, OH = s->out_h, OW = s->out_w;
    const int blocks = (nt + LANES - 1) / LANES;
    const size_t point_stride = cnn_wino_point_stride(K, nt);
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)K * nt >= 2048)
    for (int k = 0; k < K; k++)
        for (int blk = 0; blk < blocks; blk++) {
            float d[4][4][LANES], u[6][4][LANES], m[6][6][LANES];
            const int j0 = blk * LANES;
            const int lanes = nt - j0 < LANES ? nt - j0 : LANES;
            for (int l = 0; l < LANES; l++) {
                cnn_wino_tile p = l < lanes ? cnn_wino_locate(s, 4, t0 + j0 + l)
                                         : (cnn_wino_tile){0, OH, OW};
                const float *plane = dy + ((size_t)p.img * K + k) * OH * OW;
                if (p.oy + 4 <= OH && p.ox + 4 <= OW) {
                    for (int i = 0; i < 4; i++) {
                        const float *row =
                            plane + (size_t)(p.oy + i) * OW + p.ox;
                        for (int j = 0; j < 4; j++)
                            d[i][j][l] = row[j];
                    }
                    continue;
                }
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) {
                        const int yy = p.oy + i, xx = p.ox + j;
                        d[i][j][l] = yy < OH && xx < OW ? plane[(size_t)yy * OW + xx] : 0.0f;
                    }
            }
            /* u = A d (over rows), m = u A^T (over columns) */
            for (int j = 0; j < 4; j++)
#pragma omp simd
                for (int l = 0; l < LANES; l++)
                    output_adjoint_1d(d[0][j][l], d[1][j][l], d[2][j][l],
                                      d[3][j][l], &u[0][j][l], 4 * LANES);
            for (int i = 0; i < 6; i++)
#pragma omp simd
                for (int l = 0; l < LANES; l++)
                    output_adjoint_1d(u[i][0][l], u[i][1][l], u[i][2][l],
                                      u[i][3][l], &m[i][0][l], LANES);
            cnn_wino_store_points(&m[0][0][0], CNN_WINO_POINTS, lanes,
                                  dM + (size_t)k * nt + j0, point_stride);
        }
}

/* dweight [K][C][3][3] += G^T dU G: the adjoint of the filter transform,
 * in double like it, vectorized over runs of FLANES channel pairs. */
static void filter_gradient_transform(const cnn_conv_shape *s, const float *dU,
                                      float *dweight)
{
    const size_t plane = (size_t)s->out_c * s->in_c;
    const long long runs = (long long)((plane + FLANES - 1) / FLANES);
#pragma omp parallel for schedule(static) if (plane >= 4096)
    for (long long run = 0; run < runs; run++) {
        const size_t p0 = (size_t)run * FLANES;
        const int lanes = plane - p0 < FLANES ? (int)(plane - p0) : FLANES;
        double t[3][6][FLANES], g[9][FLANES];
        /* t[i][b] = sum_a G[a][i] dU[a][b] (G's columns over the rows a) */
        for (int b = 0; b < 6; b++) {
            double u[6][FLANES];
            for (int a = 0; a < 6; a++) {
                const float *src = dU + (size_t)(a * 6 + b) * plane + p0;
                if (lanes == FLANES) {
#pragma omp simd
                    for (int l = 0; l < FLANES; l++)
                        u[a][l] = src[l];
                } else {
                    for (int l = 0; l < FLANES; l++)
                        u[a][l] = l < lanes ? src[l] : 0.0;
                }
            }
#pragma omp simd
            for (int l = 0; l < FLANES; l++)
                filter_adjoint_1d(u[0][l], u[1][l], u[2][l], u[3][l], u[4][l],
                                  u[5][l], &t[0][b][l], 6 * FLANES);
        }
        /* g[i][j] = sum_b t[i][b] G[b][j] */
        for (int i = 0; i < 3; i++)
#pragma omp simd
            for (int l = 0; l < FLANES; l++)
                filter_adjoint_1d(t[i][0][l], t[i][1][l], t[i][2][l],
                                  t[i][3][l], t[i][4][l], t[i][5][l],
                                  &g[i * 3][l], FLANES);
        for (int l = 0; l < lanes; l++) {
            float *dw = dweight + (p0 + l) * 9;
            for (int ij = 0; ij < 9; ij++)
                dw[ij] += (float)g[ij][l];
        }
    }
}

/* dx += B dV B^T for the tiles [t0, t0 + nt): each tile's 6x6 input patch
 * (cut at the image's edge) from dV [36][C][nt], the adjoint of the input
 * transform. Neighbouring patches overlap, so each channel's planes belong
 * to one thread. */
static void input_adjoint(const cnn_conv_shape *s, const float *dV,
                          long long t0, int nt, float *dx)
{
    const int C = s->in_c, H = s->in_h, W = s->in_w;
    const int blocks = (nt + LANES - 1) / LANES;
    const size_t point_stride = cnn_wino_point_stride(C, nt);
#pragma omp parallel for schedule(static) if ((size_t)C * nt >= 2048)
    for (int c = 0; c < C; c++)
        for (int blk = 0; blk < blocks; blk++) {
            float v[6][6][LANES], u[6][6][LANES];
            const int j0 = blk * LANES;
            const int lanes = nt - j0 < LANES ? nt - j0 : LANES;
            cnn_wino_load_points(dV + (size_t)c * nt + j0, point_stride,
                                 CNN_WINO_POINTS, lanes, &v[0][0][0]);
            /* u = B v (over rows), then v = u B^T (over columns) */
            for (int b = 0; b < 6; b++)
#pragma omp simd
                for (int l = 0; l < LANES; l++)
                    input_adjoint_1d(v[0][b][l], v[1][b][l], v[2][b][l],
                                     v[3][b][l], v[4][b][l], v[5][b][l],
                                     &u[0][b][l], 6 * LANES);
            for (int i = 0; i < 6; i++)
#pragma omp simd
                for (int l = 0; l < LANES; l++)
                    input_adjoint_1d(u[i][0][l], u[i][1][l], u[i][2][l],
                                     u[i][3][l], u[i][4][l], u[i][5][l],
                                     &v[i][0][l], LANES);
            for (int l = 0; l < lanes; l++) {
                cnn_wino_tile p = cnn_wino_locate(s, 4, t0 + j0 + l);
                float *plane = dx + ((size_t)p.img * C + c) * H * W;
                const int y0 = p.oy - s->pad_top, x0 = p.ox - s->pad_left;
                if (y0 >= 0 && y0 + 6 <= H && x0 >= 0 && x0 + 6 <= W) {
                    for (int i = 0; i < 6; i++) {
                        float *row = plane + (size_t)(y0 + i) * W + x0;
                        for (int j = 0; j < 6; j++)
                            row[j] += v[i][j][l];
                    }
                    continue;
                }
                for (int i = 0; i < 6; i++) {
                    const int yy = y0 + i;
                    if (yy < 0 || yy >= H)
                        continue;
                    float *row = plane + (size_t)yy * W;
                    for (int j = 0; j < 6; j++) {
                        const int xx = x0 + j;
                        if (xx >= 0 && xx < W)
                            row[xx] += v[i][j][l];
                    }
                }
            }
        }
}

/* Tiles per chunk when the backward runs thread-private chunks too, else
 * 0: as the forward, and with chunks of at least two tile rows, so that
 * the input patches of chunks two apart never overlap (chunks of one
 * parity then add into dx side by side). */
static int private_backward_tiles(const cnn_wino_transforms *k,
                                  const cnn_conv_shape *s, int n)
{
    const int side = k->side;
    const int tiles = cnn_wino_private_tiles(cnn_wino_grid_tiles(s, side, n),
                                             k->points, side * side, s->in_c,
                                             s->out_c);
    return tiles >= 2 * ((s->out_w + side - 1) / side) ? tiles : 0;
}

static size_t transformed_filter_floats(const cnn_wino_transforms *k,
                                        const cnn_conv_shape *s)
{
    return (size_t)k->points * s->out_c * s->in_c;
}

size_t cnn_wino_backward_workspace_2d(const cnn_wino_transforms *k,
                                      const cnn_conv_shape *s, int n)
{
    /* one weight gradient per thread, each thread's chunks after them */
    const size_t filter = transformed_filter_floats(k, s);
    if (private_backward_tiles(k, s, n))
        return (size_t)PRIVATE_SLOTS * filter + WINO_FLOATS;
    return filter + cnn_wino_workspace_2d(k, s, n);
}

/* The tiles [t0, t0 + nt) of dy: dU += (beta = 1) or = (beta = 0) their
 * weight gradient when dU is not NULL, dx += their input gradient when dx
 * is not NULL; through V and dM after V. Single-threaded inside a parallel
 * region, as forward_chunk. */
static void backward_chunk(const cnn_wino_transforms *k,
                           const cnn_conv_shape *s, const float *x,
                           const float *dy, const float *U, long long t0,
                           int nt, float *dx, float *dU, float beta, float *V)
{
    const int K = s->out_c, C = s->in_c;
    float *dM = V + k->points * cnn_wino_point_stride(C, nt);
    k->gradient(s, dy, t0, nt, dM);
    if (dU) {
        k->input(s, x, t0, nt, V);
        cnn_wino_weight_products(k->points, K, C, nt, dM, V, beta, dU);
    }
    if (dx) {
        /* V, free again: the transformed input gradient U^T dM */
        cnn_wino_input_products(k->points, K, C, nt, U, dM, V);
        k->input_adjoint(s, V, t0, nt, dx);
    }
}

void cnn_wino_backward_2d(const cnn_wino_transforms *k,
                          const cnn_conv_shape *s, int n, const float *x,
                          const float *dy, const float *U, float *dx,
                          float *dweight, float *workspace)
{
    assert(k->gradient && n >= 0 && dy && workspace);
    assert((!dx || U) && (!dweight || x));
    if (n == 0 || (!dx && !dweight))
        return;
    const long long total = cnn_wino_grid_tiles(s, k->side, n);
    const size_t filter = transformed_filter_floats(k, s);
    float *dU = dweight ? workspace : NULL;
    if (dx)
        cnn_zero_fill(dx, (size_t)n * s->in_c * s->in_h * s->in_w);
    const int tiles = private_backward_tiles(k, s, n);
    if (tiles) {
        const int threads = private_threads();
        const long long chunks = (total + tiles - 1) / tiles;
        float *slots = workspace + (size_t)PRIVATE_SLOTS * filter;
        if (dU)
            memset(dU, 0, (size_t)threads * filter * sizeof *dU);
#pragma omp parallel num_threads(threads)
        {
            const int me = thread_index();
            float *V = slots + (size_t)me * PRIVATE_FLOATS;
            float *mine = dU ? dU + (size_t)me * filter : NULL;
            for (int parity = 0; parity < 2; parity++) {
#pragma omp for schedule(dynamic, 1)
                for (long long ch = parity; ch < chunks; ch += 2) {
                    const long long t0 = ch * tiles;
                    backward_chunk(k, s, x, dy, U, t0,
                                   total - t0 < tiles ? (int)(total - t0) : tiles,
                                   dx, mine, 1.0f, V);
                }
            }
        }
        /* the threads' weight gradients summed into the first */
        if (dU)
            for (int t = 1; t < threads; t++) {
                const float *other = dU + (size_t)t * filter;
#pragma omp parallel for schedule(static)
                for (size_t i = 0; i < filter; i++)
                    dU[i] += other[i];
            }
    } else {
        const int chunk = cnn_wino_chunk_tiles(total, k->points, s->in_c,
                                               s->out_c);
        for (long long t0 = 0; t0 < total; t0 += chunk)
            backward_chunk(k, s, x, dy, U, t0,
                           total - t0 < chunk ? (int)(total - t0) : chunk, dx,
                           dU, t0 == 0 ? 0.0f : 1.0f, workspace + filter);
    }
    if (dweight)
        k->filter_gradient(s, dU, dweight);
}

size_t cnn_wino_backward_workspace_floats(const cnn_conv_shape *s, int n)
{
    return cnn_wino_backward_workspace_2d(&F4X4, s, n);
}

void cnn_wino_backward(const cnn_conv_shape *s, int n, const float *x,
                       const float *dy, const float *U, float *dx,
                       float *dweight, float *workspace)
{
    assert(cnn_wino_applicable(s));
    cnn_wino_backward_2d(&F4X4, s, n, x, dy, U, dx, dweight, workspace);
}
