/* winograd_products.c - the element-wise stage of every Winograd kind: per
 * transform point, a matrix product over channels (see winograd.h).
 *
 * Each point's product is one single-threaded sgemm, the points spread
 * over the threads (small products would not thread well in OpenBLAS;
 * inside a parallel region, for thread-private chunks, all run on the
 * calling thread, as nested regions get one thread).
 *
 * Except for the forward products of chunks of few tiles (VGG16's 14x14
 * layers at batch 1: 16 tiles): there OpenBLAS spends twice as long
 * packing the filter U_xi as multiplying, for U_xi is used by only 16
 * columns. Those run a kernel of our own that reads U_xi where it lies:
 * 16 rows of U_xi against 16 tiles, in 16 vector accumulators, each
 * row's element of channel c multiplying the channel's 16 tiles. */
#include <cblas.h>
#include <string.h>

#include "winograd.h"

/* Measured with 512 -> 512 channels, F(4x4) (VGG16's 14x14 layers), a
 * whole layer against the sgemm path: 16 tiles 33% less time, 32 tiles
 * 23%, 48 tiles 9%; 49 tiles (28x28 at batch 1, four vector blocks for
 * 3.06 blocks of work) 30% more. */
#define FEW_TILES_MIN VEC_FLOATS
#define FEW_TILES_MAX 48

#define VEC_FLOATS 16
#define ROW_BLOCK 16 /* rows of U_xi per kernel call: 16 accumulators */

typedef float vec __attribute__((vector_size(VEC_FLOATS * sizeof(float))));

int cnn_wino_few_tiles(int nt)
{
    return nt >= FEW_TILES_MIN && nt <= FEW_TILES_MAX;
}

/* m[o][t, t + VEC_FLOATS) = sum over c of u[o][c] v[c][t, t + VEC_FLOATS)
 * for the ROW_BLOCK rows o of u (rows of C), v and m rows of nt. */
static void row_block_product(int C, int nt, int t, const float *u,
                              const float *v, float *m)
{
    vec acc[ROW_BLOCK];
    for (int o = 0; o < ROW_BLOCK; o++)
        acc[o] = (vec){0};
    for (int c = 0; c < C; c++) {
        vec x;
        memcpy(&x, v + (size_t)c * nt + t, sizeof x);
        for (int o = 0; o < ROW_BLOCK; o++)
            acc[o] += x * u[(size_t)o * C + c];
    }
    for (int o = 0; o < ROW_BLOCK; o++)
        memcpy(m + (size_t)o * nt + t, &acc[o], sizeof acc[o]);
}

/* M = U V for one point (U [K][C], V [C][nt], M [K][nt]), nt >=
 * VEC_FLOATS. A last partial vector block is computed again from nt -
 * VEC_FLOATS: columns are independent, so the overlap stores the same
 * values twice. Rows past the last whole block of ROW_BLOCK go to sgemm. */
static void few_tiles_product(int K, int C, int nt, const float *U,
                              const float *V, float *M)
{
    const int rows = K - K % ROW_BLOCK;
    for (int o = 0; o < rows; o += ROW_BLOCK)
        for (int t = 0; t < nt; t += VEC_FLOATS)
            row_block_product(C, nt, nt - t < VEC_FLOATS ? nt - VEC_FLOATS : t,
                              U + (size_t)o * C, V, M + (size_t)o * nt);
    if (rows < K)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, K - rows, nt,
                    C, 1.0f, U + (size_t)rows * C, C, V, nt, 0.0f,
                    M + (size_t)rows * nt, nt);
}

void cnn_wino_products(int points, int K, int C, int nt, const float *U,
                       const float *V, float *M)
{
    const size_t vs = cnn_wino_point_stride(C, nt);
    const size_t ms = cnn_wino_point_stride(K, nt);
    const int few = cnn_wino_few_tiles(nt);
#pragma omp parallel for schedule(dynamic, 1)
    for (int xi = 0; xi < points; xi++) {
        const float *u = U + (size_t)xi * K * C;
        if (few)
            few_tiles_product(K, C, nt, u, V + xi * vs, M + xi * ms);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, K, nt, C,
                        1.0f, u, C, V + xi * vs, nt, 0.0f, M + xi * ms, nt);
    }
}

void cnn_wino_weight_products(int points, int K, int C, int nt,
                              const float *dM, const float *V, float beta,
                              float *dU)
{
    const size_t vs = cnn_wino_point_stride(C, nt);
    const size_t ms = cnn_wino_point_stride(K, nt);
#pragma omp parallel for schedule(dynamic, 1)
    for (int xi = 0; xi < points; xi++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, K, C, nt, 1.0f,
                    dM + xi * ms, nt, V + xi * vs, nt, beta,
                    dU + (size_t)xi * K * C, C);
}

void cnn_wino_input_products(int points, int K, int C, int nt, const float *U,
                             const float *dM, float *dV)
{
    const size_t vs = cnn_wino_point_stride(C, nt);
    const size_t ms = cnn_wino_point_stride(K, nt);
#pragma omp parallel for schedule(dynamic, 1)
    for (int xi = 0; xi < points; xi++)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, nt, K, 1.0f,
                    U + (size_t)xi * K * C, C, dM + xi * ms, nt, 0.0f,
                    dV + xi * vs, nt);
}
