/* winograd_large.c - F(6x6, 3x3) convolution, forward and backward (see
 * winograd_large.h).
 *
 * Its transforms run in winograd.c's drivers (cnn_wino_forward_2d,
 * cnn_wino_backward_2d, which adds the adjoints in reverse order): tiles
 * numbered (image, tile row, tile column) in chunks, each transforming its
 * inputs into V [64][in_c][chunk], running the 64 products into
 * M [64][out_c][chunk] and transforming M into the output tiles. The
 * transforms work on lane blocks of LANES tiles (inner loops over lanes
 * vectorize), with OpenMP over channels x blocks in shared chunks.
 *
 * The matrices, for the points 0, 1, -1, 2, -2, 1/2, -1/2 and infinity
 * (Toom-Cook; test/gen_winograd_line_tables.py derives them with
 * RUN, TAPS = 6, 3 and these points):
 *   B^T = [-1   0  21/4    0  -21/4    0  1 0]   G = [ -1     0     0  ]
 *         [ 0   1    1  -17/4 -17/4    1  1 0]       [-2/9  -2/9  -2/9 ]
 *         [ 0  -1    1   17/4 -17/4   -1  1 0]       [-2/9   2/9  -2/9 ]
 *         [ 0  1/2  1/4  -5/2  -5/4    2  1 0]       [1/90  1/45  2/45 ]
 *         [ 0 -1/2  1/4   5/2  -5/4   -2  1 0]       [1/90 -1/45  2/45 ]
 *         [ 0   2    4   -5/2   -5   1/2  1 0]       [32/45 16/45 8/45 ]
 *         [ 0  -2    4    5/2   -5  -1/2  1 0]       [32/45 -16/45 8/45]
 *         [ 0  -1    0   21/4    0  -21/4 0 1]       [  0     0     1  ]
 *   A^T = [1  1  1  1   1   1     1    0]
 *         [0  1 -1  2  -2  1/2  -1/2   0]
 *         [0  1  1  4   4  1/4   1/4   0]
 *         [0  1 -1  8  -8  1/8  -1/8   0]
 *         [0  1  1 16  16  1/16  1/16  0]
 *         [0  1 -1 32 -32  1/32 -1/32  1]
 * B^T and A^T are exact in float; the filter transform runs in double.
 */
#include <assert.h>
#include <string.h>

#include "winograd.h"
#include "winograd_lanes.h"
#include "winograd_large.h"

#define ALPHA 8 /* input tile side */
#define TILE 6  /* output tile side */
#define MAX_TAPS 5 /* F(4x4, 5x5)'s, which shares the filter's steps */
#define POINTS CNN_WINO_LARGE_POINTS
#define LANES CNN_WINO_LANES

static long long tiles_of(const cnn_conv_shape *s, int n)
{
    return cnn_wino_grid_tiles(s, TILE, n);
}

size_t cnn_wino_large_filter_floats(const cnn_conv_shape *s)
{
    return (size_t)POINTS * s->out_c * s->in_c;
}

/* The 1-D steps; o[k * stride] is output k. */

/* G g for one column g [taps] of a filter (g[k * gstride]): point xi's
 * row of G is its factor (-1, -2/9, 1/90, 32/45 for 0, +-1, +-2, +-1/2)
 * times its powers 0..taps-1, which pair up as (even part) +- (odd part);
 * infinity takes the last tap. */
static inline void filter_1d(const double *g, size_t gstride, int taps,
                             double *o, size_t stride)
{
    double e1 = 0, o1 = 0, e2 = 0, o2 = 0, e3 = 0, o3 = 0, p2 = 1, ph = 1;
    for (int k = 0; k < taps; k++, p2 *= 2, ph *= 0.5) {
        const double v = g[k * gstride];
        if (k & 1) {
            o1 += v, o2 += p2 * v, o3 += ph * v;
        } else {
            e1 += v, e2 += p2 * v, e3 += ph * v;
        }
    }
    o[0] = -g[0];
    o[stride] = -2.0 / 9 * (e1 + o1);
    o[2 * stride] = -2.0 / 9 * (e1 - o1);
    o[3 * stride] = (e2 + o2) / 90;
    o[4 * stride] = (e2 - o2) / 90;
    o[5 * stride] = 32.0 / 45 * (e3 + o3);
    o[6 * stride] = 32.0 / 45 * (e3 - o3);
    o[7 * stride] = g[(taps - 1) * gstride];
}

/* B^T d for one line d of an input tile: the rows of B^T pair up as
 * (even part) +- (odd part). */
static inline void input_1d(float d0, float d1, float d2, float d3, float d4,
                            float d5, float d6, float d7, float *o,
                            size_t stride)
{
    const float e1 = d2 + d6 - 4.25f * d4, o1 = d1 + d5 - 4.25f * d3;
    const float e3 = 0.25f * d2 + d6 - 1.25f * d4;
    const float o3 = 0.5f * d1 - 2.5f * d3 + 2.0f * d5;
    const float e5 = 4.0f * d2 + d6 - 5.0f * d4;
    const float o5 = 2.0f * d1 - 2.5f * d3 + 0.5f * d5;
    o[0] = d6 - d0 + 5.25f * (d2 - d4);
    o[stride] = e1 + o1;
    o[2 * stride] = e1 - o1;
    o[3 * stride] = e3 + o3;
    o[4 * stride] = e3 - o3;
    o[5 * stride] = e5 + o5;
    o[6 * stride] = e5 - o5;
    o[7 * stride] = d7 - d1 + 5.25f * (d3 - d5);
}

/* Channel pairs per run of the filter transform. */
#define PAIRS 128

/* One run of cnn_wino_large_filter: channel pairs [p0, p0 + pairs),
 * inlined with literal taps (as gradient_block below). */
static inline __attribute__((always_inline)) void
filter_run(const cnn_conv_shape *s, int taps, const float *weight, size_t p0,
           int pairs, float *U)
{
    const size_t plane = (size_t)s->out_c * s->in_c;
    double g[MAX_TAPS * MAX_TAPS][PAIRS], t[ALPHA][MAX_TAPS][PAIRS];
    double u[ALPHA][PAIRS];
    float out[PAIRS];
    for (int p = 0; p < PAIRS; p++)
        for (int ij = 0; ij < taps * taps; ij++)
            g[ij][p] = p < pairs ? weight[(p0 + p) * taps * taps + ij] : 0.0;
    /* t = G g (over rows), then each row a of t G^T (over columns) */
    for (int j = 0; j < taps; j++)
#pragma omp simd
        for (int p = 0; p < PAIRS; p++)
            filter_1d(&g[j][p], taps * PAIRS, taps, &t[0][j][p],
                      MAX_TAPS * PAIRS);
    for (int a = 0; a < ALPHA; a++) {
#pragma omp simd
        for (int p = 0; p < PAIRS; p++)
            filter_1d(&t[a][0][p], PAIRS, taps, &u[0][p], PAIRS);
        for (int b = 0; b < ALPHA; b++) {
#pragma omp simd
            for (int p = 0; p < PAIRS; p++)
                out[p] = (float)u[b][p];
            memcpy(U + (size_t)(a * ALPHA + b) * plane + p0, out,
                   sizeof(float) * pairs);
        }
    }
}

void cnn_wino_large_filter(const cnn_conv_shape *s, const float *weight,
                           float *U)
{
    assert(s->kh == s->kw && (s->kh == 3 || s->kh == 5) && weight && U);
    const size_t plane = (size_t)s->out_c * s->in_c;
    const long long runs = (long long)((plane + PAIRS - 1) / PAIRS);
#pragma omp parallel for schedule(static) if (plane >= 4096)
    for (long long run = 0; run < runs; run++) {
        const size_t p0 = (size_t)run * PAIRS;
        const int pairs = plane - p0 < PAIRS ? (int)(plane - p0) : PAIRS;
        if (s->kh == 3)
            filter_run(s, 3, weight, p0, pairs, U);
        else
            filter_run(s, 5, weight, p0, pairs, U);
    }
}

void cnn_wino_large_input(const cnn_conv_shape *s, int side, const float *x,
                          long long t0, int nt, float *V)
{
    const int C = s->in_c, H = s->in_h, W = s->in_w;
    const int blocks = (nt + LANES - 1) / LANES;
    const size_t point_stride = cnn_wino_point_stride(C, nt);
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)C * nt >= 2048)
    for (int c = 0; c < C; c++)
        for (int blk = 0; blk < blocks; blk++) {
            float d[ALPHA][ALPHA][LANES], u[ALPHA][ALPHA][LANES];
            float padded[LANES][ALPHA][ALPHA];
            const float *src[LANES];
            int stride[LANES];
            const int j0 = blk * LANES;
            const int lanes = nt - j0 < LANES ? nt - j0 : LANES;
            for (int l = 0; l < LANES; l++) {
                /* lanes past the chunk read a tile above the image: zeros */
                cnn_wino_tile p = l < lanes
                                      ? cnn_wino_locate(s, side, t0 + j0 + l)
                                      : (cnn_wino_tile){0, -H - ALPHA, 0};
                const float *plane = x + ((size_t)p.img * C + c) * H * W;
                const int y0 = p.oy - s->pad_top, x0 = p.ox - s->pad_left;
                src[l] = cnn_wino_patch_rows(plane, H, W, y0, x0, ALPHA,
                                             &padded[l][0][0], &stride[l]);
            }
            cnn_wino_gather_patches(src, stride, ALPHA, ALPHA, &d[0][0][0]);
            /* u = B^T d (over rows), then d = u B (over columns) */
            for (int j = 0; j < ALPHA; j++)
#pragma omp simd
                for (int l = 0; l < LANES; l++)
                    input_1d(d[0][j][l], d[1][j][l], d[2][j][l], d[3][j][l],
                             d[4][j][l], d[5][j][l], d[6][j][l], d[7][j][l],
                             &u[0][j][l], ALPHA * LANES);
            for (int i = 0; i < ALPHA; i++)
#pragma omp simd
                for (int l = 0; l < LANES; l++)
                    input_1d(u[i][0][l], u[i][1][l], u[i][2][l], u[i][3][l],
                             u[i][4][l], u[i][5][l], u[i][6][l], u[i][7][l],
                             &d[i][0][l], LANES);
            cnn_wino_store_points(&d[0][0][0], POINTS, lanes,
                                  V + (size_t)c * nt + j0, point_stride);
        }
}

static void input_transform(const cnn_conv_shape *s, const float *x,
                            long long t0, int nt, float *V)
{
    cnn_wino_large_input(s, TILE, x, t0, nt, V);
}

/* B v for one line v of an 8x8 transformed tile (B^T's columns, which
 * pair up like its rows). */
static inline void input_adjoint_1d(float v0, float v1, float v2, float v3,
                                    float v4, float v5, float v6, float v7,
                                    float *o, size_t stride)
{
    const float a1 = v1 + v2, s1 = v1 - v2, a2 = v3 + v4, s2 = v3 - v4;
    const float a3 = v5 + v6, s3 = v5 - v6;
    o[0] = -v0;
    o[stride] = s1 + 0.5f * s2 + 2.0f * s3 - v7;
    o[2 * stride] = 5.25f * v0 + a1 + 0.25f * a2 + 4.0f * a3;
    o[3 * stride] = 5.25f * v7 - 4.25f * s1 - 2.5f * (s2 + s3);
    o[4 * stride] = -5.25f * v0 - 4.25f * a1 - 1.25f * a2 - 5.0f * a3;
    o[5 * stride] = s1 + 2.0f * s2 + 0.5f * s3 - 5.25f * v7;
    o[6 * stride] = v0 + a1 + a2 + a3;
    o[7 * stride] = v7;
}

/* Neighbouring patches overlap, so each channel's planes belong to one
 * thread. */
void cnn_wino_large_input_adjoint(const cnn_conv_shape *s, int side,
                                  const float *dV, long long t0, int nt,
                                  float *dx)
{
    const int C = s->in_c, H = s->in_h, W = s->in_w;
    const int blocks = (nt + LANES - 1) / LANES;
    const size_t point_stride = cnn_wino_point_stride(C, nt);
#pragma omp parallel for schedule(static) if ((size_t)C * nt >= 2048)
    for (int c = 0; c < C; c++)
        for (int blk = 0; blk < blocks; blk++) {
            float v[ALPHA][ALPHA][LANES], u[ALPHA][ALPHA][LANES];
            const int j0 = blk * LANES;
            const int lanes = nt - j0 < LANES ? nt - j0 : LANES;
            cnn_wino_load_points(dV + (size_t)c * nt + j0, point_stride,
                                 POINTS, lanes, &v[0][0][0]);
            /* u = B v (over rows), then v = u B^T (over columns) */
            for (int b = 0; b < ALPHA; b++)
#pragma omp simd
                for (int l = 0; l < LANES; l++)
                    input_adjoint_1d(v[0][b][l], v[1][b][l], v[2][b][l],
                                     v[3][b][l], v[4][b][l], v[5][b][l],
                                     v[6][b][l], v[7][b][l], &u[0][b][l],
                                     ALPHA * LANES);
            for (int i = 0; i < ALPHA; i++)
#pragma omp simd
                for (int l = 0; l < LANES; l++)
                    input_adjoint_1d(u[i][0][l], u[i][1][l], u[i][2][l],
                                     u[i][3][l], u[i][4][l], u[i][5][l],
                                     u[i][6][l], u[i][7][l], &v[i][0][l],
                                     LANES);
            for (int l = 0; l < lanes; l++) {
                cnn_wino_tile p = cnn_wino_locate(s, side, t0 + j0 + l);
                float *plane = dx + ((size_t)p.img * C + c) * H * W;
                const int y0 = p.oy - s->pad_top, x0 = p.ox - s->pad_left;
                for (int i = 0; i < ALPHA; i++) {
                    const int yy = y0 + i;
                    if (yy < 0 || yy >= H)
                        continue;
                    float *row = plane + (size_t)yy * W;
                    for (int j = 0; j < ALPHA; j++) {
                        const int xx = x0 + j;
                        if (xx >= 0 && xx < W)
                            row[xx] += v[i][j][l];
                    }
                }
            }
        }
}

/* A^T m for one line m of a transformed tile. */
static inline void output_1d(float m0, float m1, float m2, float m3, float m4,
                             float m5, float m6, float m7, float *o,
                             size_t stride)
{
    const float a1 = m1 + m2, s1 = m1 - m2, a2 = m3 + m4, s2 = m3 - m4;
    const float a3 = m5 + m6, s3 = m5 - m6;
    o[0] = m0 + a1 + a2 + a3;
    o[stride] = s1 + 2.0f * s2 + 0.5f * s3;
    o[2 * stride] = a1 + 4.0f * a2 + 0.25f * a3;
    o[3 * stride] = s1 + 8.0f * s2 + 0.125f * s3;
    o[4 * stride] = a1 + 16.0f * a2 + 0.0625f * a3;
    o[5 * stride] = s1 + 32.0f * s2 + 0.03125f * s3 + m7;
}

/* y for the tiles [t0, t0 + nt) from M [64][K][nt]. */
static void output_transform(const cnn_conv_shape *s, const float *M,
                             long long t0, int nt, const cnn_wino_out_stage *st,
                             float *y)
{
    const int K = s->out_c;
    const int blocks = (nt + LANES - 1) / LANES;
    const size_t point_stride = cnn_wino_point_stride(K, nt);
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)K * nt >= 2048)
    for (int k = 0; k < K; k++)
        for (int blk = 0; blk < blocks; blk++) {
            float m[ALPHA][ALPHA][LANES], u[TILE][ALPHA][LANES];
            float o[TILE][TILE][LANES];
            const int j0 = blk * LANES;
            const int lanes = nt - j0 < LANES ? nt - j0 : LANES;
            cnn_wino_load_points(M + (size_t)k * nt + j0, point_stride, POINTS,
                                 lanes, &m[0][0][0]);
            /* u = A^T m (rows), o = u A (columns) */
            for (int j = 0; j < ALPHA; j++)
#pragma omp simd
                for (int l = 0; l < LANES; l++)
                    output_1d(m[0][j][l], m[1][j][l], m[2][j][l], m[3][j][l],
                              m[4][j][l], m[5][j][l], m[6][j][l], m[7][j][l],
                              &u[0][j][l], ALPHA * LANES);
            for (int i = 0; i < TILE; i++)
#pragma omp simd
                for (int l = 0; l < LANES; l++)
                    output_1d(u[i][0][l], u[i][1][l], u[i][2][l], u[i][3][l],
                              u[i][4][l], u[i][5][l], u[i][6][l], u[i][7][l],
                              &o[i][0][l], LANES);
            cnn_wino_store_tiles(s, TILE, &o[0][0][0], k, t0 + j0, lanes, st, y);
        }
}

/* The backward: each transform's adjoint (its matrix transposed). */

/* A d for one line d [side] of an output-gradient tile (d[i * dstride]):
 * A^T's columns are the powers 0..side-1 of each point, so that each pair
 * of points +-p shares its even and odd sums; the last point (infinity)
 * takes the last value. Powers of 2 and 1/2 are exact. */
static inline void output_adjoint_1d(const float *d, size_t dstride, int side,
                                     float *o, size_t stride)
{
    float e1 = 0, o1 = 0, e2 = 0, o2 = 0, e3 = 0, o3 = 0, p2 = 1, ph = 1;
    for (int i = 0; i < side; i++, p2 *= 2.0f, ph *= 0.5f) {
        const float v = d[i * dstride];
        if (i & 1) {
            o1 += v, o2 += p2 * v, o3 += ph * v;
        } else {
            e1 += v, e2 += p2 * v, e3 += ph * v;
        }
    }
    o[0] = d[0];
    o[stride] = e1 + o1;
    o[2 * stride] = e1 - o1;
    o[3 * stride] = e2 + o2;
    o[4 * stride] = e2 - o2;
    o[5 * stride] = e3 + o3;
    o[6 * stride] = e3 - o3;
    o[7 * stride] = d[(side - 1) * dstride];
}

/* One lane block of cnn_wino_large_gradient: channel k's tiles [t, t +
 * lanes), inlined with a literal side (a side known only at run time left
 * the transform twice as slow). */
static inline __attribute__((always_inline)) void
gradient_block(const cnn_conv_shape *s, int side, const float *dy, int k,
               long long t, int lanes, float *dst, size_t point_stride)
{
    const int K = s->out_c, OH = s->out_h, OW = s->out_w;
    float d[TILE][TILE][LANES], u[ALPHA][TILE][LANES], m[ALPHA][ALPHA][LANES];
    for (int l = 0; l < LANES; l++) {
        cnn_wino_tile p = l < lanes ? cnn_wino_locate(s, side, t + l)
                                    : (cnn_wino_tile){0, OH, OW};
        const float *plane = dy + ((size_t)p.img * K + k) * OH * OW;
        for (int i = 0; i < side; i++)
            for (int j = 0; j < side; j++) {
                const int yy = p.oy + i, xx = p.ox + j;
                d[i][j][l] =
                    yy < OH && xx < OW ? plane[(size_t)yy * OW + xx] : 0.0f;
            }
    }
    /* u = A d (over rows), m = u A^T (over columns) */
    for (int j = 0; j < side; j++)
#pragma omp simd
        for (int l = 0; l < LANES; l++)
            output_adjoint_1d(&d[0][j][l], TILE * LANES, side, &u[0][j][l],
                              TILE * LANES);
    for (int i = 0; i < ALPHA; i++)
#pragma omp simd
        for (int l = 0; l < LANES; l++)
            output_adjoint_1d(&u[i][0][l], LANES, side, &m[i][0][l], LANES);
    cnn_wino_store_points(&m[0][0][0], POINTS, lanes, dst, point_stride);
}

void cnn_wino_large_gradient(const cnn_conv_shape *s, int side,
                             const float *dy, long long t0, int nt, float *dM)
{
    assert(side == 4 || side == 6);
    const int K = s->out_c;
    const int blocks = (nt + LANES - 1) / LANES;
    const size_t point_stride = cnn_wino_point_stride(K, nt);
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)K * nt >= 2048)
    for (int k = 0; k < K; k++)
        for (int blk = 0; blk < blocks; blk++) {
            const int j0 = blk * LANES;
            const int lanes = nt - j0 < LANES ? nt - j0 : LANES;
            float *dst = dM + (size_t)k * nt + j0;
            if (side == 4)
                gradient_block(s, 4, dy, k, t0 + j0, lanes, dst, point_stride);
            else
                gradient_block(s, 6, dy, k, t0 + j0, lanes, dst, point_stride);
        }
}

static void gradient_transform(const cnn_conv_shape *s, const float *dy,
                               long long t0, int nt, float *dM)
{
    cnn_wino_large_gradient(s, TILE, dy, t0, nt, dM);
}

static void input_adjoint(const cnn_conv_shape *s, const float *dV,
                          long long t0, int nt, float *dx)
{
    cnn_wino_large_input_adjoint(s, TILE, dV, t0, nt, dx);
}

/* G^T u for one line u of 8 points (u[xi * ustride]) into taps outputs:
 * G's rows are the powers 0..taps-1 of each point times its factor (-1,
 * -2/9, 1/90, 32/45 for 0, +-1, +-2, +-1/2), the last (infinity) only the
 * last tap. */
static inline void filter_adjoint_1d(const double *u, size_t ustride,
                                     int taps, double *o, size_t stride)
{
    const double a1 = u[ustride] + u[2 * ustride];
    const double s1 = u[ustride] - u[2 * ustride];
    const double a2 = u[3 * ustride] + u[4 * ustride];
    const double s2 = u[3 * ustride] - u[4 * ustride];
    const double a3 = u[5 * ustride] + u[6 * ustride];
    const double s3 = u[5 * ustride] - u[6 * ustride];
    double p2 = 1, ph = 1;
    for (int k = 0; k < taps; k++, p2 *= 2, ph *= 0.5) {
        const int odd = k & 1;
        o[k * stride] = -2.0 / 9 * (odd ? s1 : a1) +
                        p2 / 90 * (odd ? s2 : a2) +
                        32.0 / 45 * ph * (odd ? s3 : a3) - (k == 0) * u[0] +
                        (k == taps - 1) * u[7 * ustride];
    }
}

/* One run of cnn_wino_large_filter_gradient: channel pairs [p0, p0 +
 * pairs), inlined with literal taps (as gradient_block). */
static inline __attribute__((always_inline)) void
filter_gradient_run(const cnn_conv_shape *s, int taps, const float *dU,
                    size_t p0, int pairs, float *dweight)
{
    const size_t plane = (size_t)s->out_c * s->in_c;
    double t[MAX_TAPS][ALPHA][PAIRS], g[MAX_TAPS * MAX_TAPS][PAIRS];
    /* t[i][b] = sum_a G[a][i] dU[a][b] (G's columns over the rows a) */
    for (int b = 0; b < ALPHA; b++) {
        double u[ALPHA][PAIRS];
        for (int a = 0; a < ALPHA; a++) {
            const float *src = dU + (size_t)(a * ALPHA + b) * plane + p0;
            for (int p = 0; p < PAIRS; p++)
                u[a][p] = p < pairs ? src[p] : 0.0;
        }
#pragma omp simd
        for (int p = 0; p < PAIRS; p++)
            filter_adjoint_1d(&u[0][p], PAIRS, taps, &t[0][b][p],
                              ALPHA * PAIRS);
    }
    /* g[i][j] = sum_b t[i][b] G[b][j] */
    for (int i = 0; i < taps; i++)
#pragma omp simd
        for (int p = 0; p < PAIRS; p++)
            filter_adjoint_1d(&t[i][0][p], PAIRS, taps, &g[i * taps][p], PAIRS);
    for (int p = 0; p < pairs; p++) {
        float *dw = dweight + (p0 + p) * taps * taps;
        for (int ij = 0; ij < taps * taps; ij++)
            dw[ij] += (float)g[ij][p];
    }
}

void cnn_wino_large_filter_gradient(const cnn_conv_shape *s, const float *dU,
                                    float *dweight)
{
    assert(s->kh == s->kw && (s->kh == 3 || s->kh == 5));
    const size_t plane = (size_t)s->out_c * s->in_c;
    const long long runs = (long long)((plane + PAIRS - 1) / PAIRS);
#pragma omp parallel for schedule(static) if (plane >= 4096)
    for (long long run = 0; run < runs; run++) {
        const size_t p0 = (size_t)run * PAIRS;
        const int pairs = plane - p0 < PAIRS ? (int)(plane - p0) : PAIRS;
        if (s->kh == 3)
            filter_gradient_run(s, 3, dU, p0, pairs, dweight);
        else
            filter_gradient_run(s, 5, dU, p0, pairs, dweight);
    }
}

static const cnn_wino_transforms F6X6 = {
    POINTS,             TILE,          input_transform,
    output_transform,   gradient_transform, input_adjoint,
    cnn_wino_large_filter_gradient,
};

size_t cnn_wino_large_workspace_floats(const cnn_conv_shape *s, int n)
{
    return cnn_wino_workspace_2d(&F6X6, s, n);
}

size_t cnn_wino_large_backward_workspace_floats(const cnn_conv_shape *s,
                                                int n)
{
    return cnn_wino_backward_workspace_2d(&F6X6, s, n);
}

void cnn_wino_large_backward(const cnn_conv_shape *s, int n, const float *x,
                             const float *dy, const float *U, float *dx,
                             float *dweight, float *workspace)
{
    assert(cnn_wino_applicable(s));
    cnn_wino_backward_2d(&F6X6, s, n, x, dy, U, dx, dweight, workspace);
}

void cnn_wino_large_forward_bn(const cnn_conv_shape *s, int n, const float *x,
                               const float *U, const float *bias,
                               const float *mean, const float *scale,
                               const float *beta, int relu, float *y,
                               float *workspace)
{
    assert(!mean == !scale && !mean == !beta);
    assert(cnn_wino_applicable(s) && n >= 0 && x && U && y && workspace);
    const cnn_wino_out_stage st = {bias, mean, scale, beta, relu};
    if (n > 0)
        cnn_wino_forward_2d(&F6X6, s, n, x, U, &st, y, workspace);
}

/* Measured against F(4x4) (2026-12-01): in a VGG16 batch-1 forward its
 * 64->64 224x224 layer took 7.6 against 8.3 ms and 64->128 112x112 3.4
 * against 4.3 ms, but 128->128 112x112 7.2 against 6.7 ms; alone,
 * InceptionV3's 35x35 64->96 and 96->96 layers 25-28% less time at batch
 * 16 and 8-12% at batch 1, its 32->64 147x147 layer more (its transforms,
 * not its products, dominate); 384-512 channels in all at 56x56 equal,
 * 28x28 and 14x14 maps far slower (the 64-point filter, 7x the weights,
 * read for few tiles). Layers that widen to at least twice their inputs
 * on large maps gain more than the sum of channels suggests (later that
 * day, alone, medians of interleaved runs): InceptionV3's 80->192 layer
 * at 71x71 took 33 against 40 ms at batch 16 and 1.9-2.0 against 2.4-3.0
 * ms at batch 1, at 52x52 20 against 25 ms at batch 16 (equal at batch 1),
 * though 6-wide tiles cut 52 with 8% waste. Trained (filter transform,
 * forward and backward), the layers it takes were as fast or faster:
 * 80->192 at 52x52 and 71x71 batch 16 19-24% less time, 64->128 112x112
 * batch 1 9%, the 35x35 ones batch 16 10-13%, VGG16's 64->64 224x224
 * equal at batch 1 and 3% less at 16. */
int cnn_wino_large_preferred(const cnn_conv_shape *s, int n)
{
    if (!cnn_wino_applicable(s) || s->in_c < 64 || tiles_of(s, n) < 32)
        return 0;
    const int widening = s->out_c >= 2 * s->in_c && s->in_c <= 128 &&
                         s->out_h >= 48 && s->out_w >= 48;
    if (s->in_c + s->out_c > 192 && !widening)
        return 0;
    /* Maps that 6-wide tiles cut with more waste than 4-wide ones lose what
     * the tiles save: InceptionV3's 25x25 (30x30 computed against 28x28)
     * 64->96 layer took 10% more time at batch 16, its 96->96 one 12% less. */
    const long long area6 = cnn_wino_grid_tiles(s, TILE, 1) * TILE * TILE;
    const long long area4 = cnn_wino_grid_tiles(s, 4, 1) * 16;
    return widening ? 10 * area6 <= 11 * area4 : 20 * area6 <= 21 * area4;
}
