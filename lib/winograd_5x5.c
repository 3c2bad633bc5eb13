/* winograd_5x5.c - F(4x4, 5x5) convolution, forward and backward (see
 * winograd_5x5.h).
 *
 * Its passes are winograd.c's 2-D drivers (cnn_wino_forward_2d,
 * cnn_wino_backward_2d) with F(6x6, 3x3)'s 8-point input transform on
 * tiles 4 outputs apart, the output transform A^T below, and the filter
 * transform (G below) and adjoints that winograd_large.c writes for any
 * number of taps; the structure (chunks, lane blocks) is
 * winograd_large.c's. An 8x8 patch on tiles 4 apart reaches 4
 * rows into the next tile row, not into the one after: the backward
 * driver's thread-private chunks may add into dx side by side.
 *
 * For the points 0, 1, -1, 2, -2, 1/2, -1/2 and infinity (Toom-Cook;
 * test/gen_winograd_line_tables.py derives them with RUN, TAPS = 4, 5 and
 * these points; B^T is winograd_large.c's):
 *   G = [ -1     0     0     0     0  ]   A^T = [1 1  1 1  1  1    1   0]
 *       [-2/9  -2/9  -2/9  -2/9  -2/9 ]         [0 1 -1 2 -2 1/2 -1/2  0]
 *       [-2/9   2/9  -2/9   2/9  -2/9 ]         [0 1  1 4  4 1/4  1/4  0]
 *       [1/90  1/45  2/45  4/45  8/45 ]         [0 1 -1 8 -8 1/8 -1/8  1]
 *       [1/90 -1/45  2/45 -4/45  8/45 ]
 *       [32/45 16/45 8/45  4/45  2/45 ]
 *       [32/45 -16/45 8/45 -4/45 2/45 ]
 *       [  0     0     0     0     1  ]
 * A^T is exact in float.
 */
#include <assert.h>

#include "winograd.h"
#include "winograd_5x5.h"
#include "winograd_lanes.h"
#include "winograd_large.h"

#define ALPHA 8 /* input tile side */
#define TILE 4  /* output tile side */
#define TAPS 5
#define POINTS CNN_WINO_LARGE_POINTS
#define LANES CNN_WINO_LANES

int cnn_wino_5x5_applicable(const cnn_conv_shape *s)
{
    return s->kh == TAPS && s->kw == TAPS && s->stride_h == 1 &&
           s->stride_w == 1 && s->pad_top >= 0 && s->pad_top <= TAPS - 1 &&
           s->pad_left >= 0 && s->pad_left <= TAPS - 1 && s->out_h > 0 &&
           s->out_w > 0;
}

/* The 3x3 kind's thresholds (winograd.c): few channels make the transforms
 * as dear as the products. InceptionV3's 48->64 layers, the only 5x5 ones
 * here, ran their forward 2.4-4x faster than on im2col at batch 1 and 16,
 * and a batch-16 training step was 1-5% faster with their Winograd
 * backward than with im2col's. */
int cnn_wino_5x5_preferred(const cnn_conv_shape *s, int n)
{
    return cnn_wino_5x5_applicable(s) && s->in_c >= 16 && s->out_c >= 16 &&
           cnn_wino_grid_tiles(s, TILE, n) >= 16;
}

size_t cnn_wino_5x5_filter_floats(const cnn_conv_shape *s)
{
    return (size_t)POINTS * s->out_c * s->in_c;
}

void cnn_wino_5x5_filter(const cnn_conv_shape *s, const float *weight,
                         float *U)
{
    assert(cnn_wino_5x5_applicable(s));
    cnn_wino_large_filter(s, weight, U);
}

static void input_transform(const cnn_conv_shape *s, const float *x,
                            long long t0, int nt, float *V)
{
    cnn_wino_large_input(s, TILE, x, t0, nt, V);
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
    o[3 * stride] = s1 + 8.0f * s2 + 0.125f * s3 + m7;
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

/* The backward: each transform's adjoint (its matrix transposed), the
 * 8-point ones of winograd_large.c. */

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

static const cnn_wino_transforms F4X4_5X5 = {
    POINTS,             TILE,          input_transform,
    output_transform,   gradient_transform, input_adjoint,
    cnn_wino_large_filter_gradient,
};

size_t cnn_wino_5x5_workspace_floats(const cnn_conv_shape *s, int n)
{
    return cnn_wino_workspace_2d(&F4X4_5X5, s, n);
}

size_t cnn_wino_5x5_backward_workspace_floats(const cnn_conv_shape *s, int n)
{
    return cnn_wino_backward_workspace_2d(&F4X4_5X5, s, n);
}

void cnn_wino_5x5_backward(const cnn_conv_shape *s, int n, const float *x,
                           const float *dy, const float *U, float *dx,
                           float *dweight, float *workspace)
{
    assert(cnn_wino_5x5_applicable(s));
    cnn_wino_backward_2d(&F4X4_5X5, s, n, x, dy, U, dx, dweight, workspace);
}

void cnn_wino_5x5_forward_bn(const cnn_conv_shape *s, int n, const float *x,
                             const float *U, const float *bias,
                             const float *mean, const float *scale,
                             const float *beta, int relu, float *y,
                             float *workspace)
{
    assert(!mean == !scale && !mean == !beta);
    assert(cnn_wino_5x5_applicable(s) && n >= 0 && x && U && y && workspace);
    const cnn_wino_out_stage st = {bias, mean, scale, beta, relu};
    if (n > 0)
        cnn_wino_forward_2d(&F4X4_5X5, s, n, x, U, &st, y, workspace);
}
