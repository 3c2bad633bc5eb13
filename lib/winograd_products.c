/* winograd_products.c - the element-wise stage of every Winograd kind: per
 * transform point, a matrix product over channels (see winograd.h).
 *
 * Each point's product is one single-threaded sgemm, the points spread
 * over the threads (small products would not thread well in OpenBLAS;
 * inside a parallel region, for thread-private chunks, all run on the
 * calling thread, as nested regions get one thread).
 *
 * Except for the forward products of chunks of few tiles with large
 * filters (VGG16's 14x14 layers at batch 1: 16 tiles; its 28x28 ones: 49;
 * 256 or 512 channels): there OpenBLAS spends longer packing the filter
 * U_xi from memory than multiplying (16 tiles: twice as long), for U_xi
 * is used by only nt columns. Those run kernels of our own that read
 * U_xi where it lies: 16 rows of U_xi against a vector of 16 tiles, or
 * from 32 tiles 8 rows against two vectors, in 16 vector accumulators,
 * each row's element of channel c multiplying the channel's tiles. */
#include <cblas.h>
#include <string.h>

#include "winograd.h"

/* Measured with 512 -> 512 channels, F(4x4) (VGG16's 14x14 and 28x28
 * layers), a whole layer against the sgemm path: 16 tiles 33% less time,
 * 32 tiles 40%, 49 tiles 17% (256 -> 512: 9%), 64 tiles 25%; past 64 as
 * often slower as faster (98 tiles 8% less, 196 tiles 5% more). Two
 * vectors of tiles against one: 23% less time at 32 tiles, 12% at 64
 * (twice the multiply-adds per load of a row element). Small filters
 * stay in the caches while OpenBLAS packs them: InceptionV3@224's batch-1
 * forward, whose layers have at most 192 x 192 channels, took 1.3 ms
 * longer with the kernels on its 25-49 tile chunks. */
#define VEC_FLOATS 16
#define FEW_TILES_MIN VEC_FLOATS
#define FEW_TILES_MAX 64
#define FEW_TILES_FILTER (256 * 512) /* channel pairs: a 512 KB U_xi */
#define NARROW_ROWS 16 /* rows of U_xi against one vector of tiles */
#define WIDE_ROWS 8    /* rows against two vectors, from 32 tiles */

typedef float vec __attribute__((vector_size(VEC_FLOATS * sizeof(float))));

int cnn_wino_few_tiles(int nt, int K, int C)
{
    return nt >= FEW_TILES_MIN && nt <= FEW_TILES_MAX &&
           (long long)K * C >= FEW_TILES_FILTER;
}

/* m[o][t, t + 16) = sum over c of u[o][c] v[c][t, t + 16) for the
 * NARROW_ROWS rows o of u (rows of C), v and m rows of nt. */
static void narrow_block(int C, int nt, int t, const float *u, const float *v,
                         float *m)
{
    vec acc[NARROW_ROWS];
    for (int o = 0; o < NARROW_ROWS; o++)
        acc[o] = (vec){0};
    for (int c = 0; c < C; c++) {
        vec x;
        memcpy(&x, v + (size_t)c * nt + t, sizeof x);
        for (int o = 0; o < NARROW_ROWS; o++)
            acc[o] += x * u[(size_t)o * C + c];
    }
    for (int o = 0; o < NARROW_ROWS; o++)
        memcpy(m + (size_t)o * nt + t, &acc[o], sizeof acc[o]);
}

/* The same for WIDE_ROWS rows and the tiles [t, t + 32): two vectors,
 * named apiece so that GCC keeps all 16 sums in registers (as an array
 * indexed in a loop they went to the stack: 3x slower). */
static void wide_block(int C, int nt, int t, const float *u, const float *v,
                       float *m)
{
    vec lo[WIDE_ROWS], hi[WIDE_ROWS];
    for (int o = 0; o < WIDE_ROWS; o++)
        lo[o] = hi[o] = (vec){0};
    for (int c = 0; c < C; c++) {
        vec x0, x1;
        memcpy(&x0, v + (size_t)c * nt + t, sizeof x0);
        memcpy(&x1, v + (size_t)c * nt + t + VEC_FLOATS, sizeof x1);
        for (int o = 0; o < WIDE_ROWS; o++) {
            const float w = u[(size_t)o * C + c];
            lo[o] += x0 * w;
            hi[o] += x1 * w;
        }
    }
    for (int o = 0; o < WIDE_ROWS; o++) {
        memcpy(m + (size_t)o * nt + t, &lo[o], sizeof lo[o]);
        memcpy(m + (size_t)o * nt + t + VEC_FLOATS, &hi[o], sizeof hi[o]);
    }
}

/* M = U V for one point (U [K][C], V [C][nt], M [K][nt]), nt >= 16. A
 * last partial block of tiles is computed again from its end: columns are
 * independent, so the overlap stores the same values twice. Rows past the
 * last whole block go to sgemm. */
static void few_tiles_product(int K, int C, int nt, const float *U,
                              const float *V, float *M)
{
    const int wide = nt >= 2 * VEC_FLOATS;
    const int block_rows = wide ? WIDE_ROWS : NARROW_ROWS;
    const int block_tiles = wide ? 2 * VEC_FLOATS : VEC_FLOATS;
    const int rows = K - K % block_rows;
    for (int o = 0; o < rows; o += block_rows)
        for (int t = 0; t < nt; t += block_tiles) {
            const int from = nt - t < block_tiles ? nt - block_tiles : t;
            const float *u = U + (size_t)o * C;
            float *m = M + (size_t)o * nt;
            if (wide)
                wide_block(C, nt, from, u, V, m);
            else
                narrow_block(C, nt, from, u, V, m);
        }
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
    const int few = cnn_wino_few_tiles(nt, K, C);
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
