/* winograd_lanes.h - (internal) moving tiles between image rows and the
 * transforms' lane blocks [..][CNN_WINO_LANES] (winograd.h).
 *
 * A lane block holds one value of 16 tiles per vector, while the image
 * holds a tile's row as consecutive floats. Rows of up to 8 floats move
 * as vectors and are transposed in registers, instead of one float at a
 * time (GCC vector extensions; with AVX-512 each swap is one permute):
 * at batch 1, VGG16's 224x224 64->64 F(6x6) layer took 7.1-7.4 -> 6.0-6.2
 * ms, its 112x112 128->128 F(4x4) one 6.2-6.3 -> 5.8-6.0 ms. */
#ifndef CNN_WINOGRAD_LANES_H
#define CNN_WINOGRAD_LANES_H

#include <string.h>

#include "winograd.h"

_Static_assert(CNN_WINO_LANES == 16, "the transpose moves 2 x 8 lanes");

/* a row of 8 floats, read from any float's address */
typedef float cnn_wino_row8
    __attribute__((vector_size(8 * sizeof(float)), aligned(4)));
typedef float cnn_wino_lanes16
    __attribute__((vector_size(16 * sizeof(float))));

/* One stage of cnn_wino_transpose: the elements of a whose column (index
 * mod 8) has bit `bit` set trade places with those of b that do not.
 * The two index lists say where each result element comes from (16 + e
 * is b's element e); __builtin_shufflevector, which GCC and clang (the
 * fuzzers) both know, takes them only as constants. */
#define CNN_WINO_SWAP(a, b, bit)                                               \
    do {                                                                       \
        const cnn_wino_lanes16 a_ = CNN_WINO_KEEP_A##bit(a, b);                \
        b = CNN_WINO_KEEP_B##bit(a, b);                                        \
        a = a_;                                                                \
    } while (0)
#define CNN_WINO_KEEP_A1(a, b)                                                 \
    __builtin_shufflevector(a, b, 0, 16, 2, 18, 4, 20, 6, 22,                  \
                            8, 24, 10, 26, 12, 28, 14, 30)
#define CNN_WINO_KEEP_B1(a, b)                                                 \
    __builtin_shufflevector(a, b, 1, 17, 3, 19, 5, 21, 7, 23,                  \
                            9, 25, 11, 27, 13, 29, 15, 31)
#define CNN_WINO_KEEP_A2(a, b)                                                 \
    __builtin_shufflevector(a, b, 0, 1, 16, 17, 4, 5, 20, 21,                  \
                            8, 9, 24, 25, 12, 13, 28, 29)
#define CNN_WINO_KEEP_B2(a, b)                                                 \
    __builtin_shufflevector(a, b, 2, 3, 18, 19, 6, 7, 22, 23,                  \
                            10, 11, 26, 27, 14, 15, 30, 31)
#define CNN_WINO_KEEP_A4(a, b)                                                 \
    __builtin_shufflevector(a, b, 0, 1, 2, 3, 16, 17, 18, 19,                  \
                            8, 9, 10, 11, 24, 25, 26, 27)
#define CNN_WINO_KEEP_B4(a, b)                                                 \
    __builtin_shufflevector(a, b, 4, 5, 6, 7, 20, 21, 22, 23,                  \
                            12, 13, 14, 15, 28, 29, 30, 31)

/* r[m][8 h + j] -> r[j][8 h + m] for m, j < 8 and h < 2: each half of the
 * 8 vectors transposed as an 8 x 8 matrix (its own inverse), in three
 * stages of swaps between rows 1, 2 and 4 apart. */
static inline __attribute__((always_inline)) void
cnn_wino_transpose(cnn_wino_lanes16 r[8])
{
    CNN_WINO_SWAP(r[0], r[1], 1);
    CNN_WINO_SWAP(r[2], r[3], 1);
    CNN_WINO_SWAP(r[4], r[5], 1);
    CNN_WINO_SWAP(r[6], r[7], 1);
    CNN_WINO_SWAP(r[0], r[2], 2);
    CNN_WINO_SWAP(r[1], r[3], 2);
    CNN_WINO_SWAP(r[4], r[6], 2);
    CNN_WINO_SWAP(r[5], r[7], 2);
    CNN_WINO_SWAP(r[0], r[4], 4);
    CNN_WINO_SWAP(r[1], r[5], 4);
    CNN_WINO_SWAP(r[2], r[6], 4);
    CNN_WINO_SWAP(r[3], r[7], 4);
}

/* Where a patch's rows of 8 floats come from, its top left at (y0, x0)
 * of an H x W plane: the plane itself when they lie inside it, else a copy
 * in padded [rows][8] with zeros outside. Returns the first row and sets
 * *stride to the floats from one row to the next. */
static inline const float *cnn_wino_patch_rows(const float *plane, int H,
                                               int W, int y0, int x0,
                                               int rows, float *padded,
                                               int *stride)
{
    if (y0 >= 0 && y0 + rows <= H && x0 >= 0 && x0 + 8 <= W) {
        *stride = W;
        return plane + (size_t)y0 * W + x0;
    }
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < 8; j++) {
            const int yy = y0 + i, xx = x0 + j;
            padded[i * 8 + j] = yy >= 0 && yy < H && xx >= 0 && xx < W
                                    ? plane[(size_t)yy * W + xx]
                                    : 0.0f;
        }
    *stride = 8;
    return padded;
}

/* d [rows][cols][CNN_WINO_LANES] (cols <= 8) from the lanes' patches:
 * row i of lane l's patch is the 8 floats at src[l] + i * stride[l], of
 * which the first cols are kept. */
static inline __attribute__((always_inline)) void
cnn_wino_gather_patches(const float *const src[CNN_WINO_LANES],
                        const int stride[CNN_WINO_LANES], int rows, int cols,
                        float *d)
{
    for (int i = 0; i < rows; i++) {
        cnn_wino_lanes16 r[8];
        for (int m = 0; m < 8; m++) {
            const cnn_wino_row8 a =
                *(const cnn_wino_row8 *)(src[m] + (size_t)i * stride[m]);
            const cnn_wino_row8 b = *(const cnn_wino_row8 *)(
                src[m + 8] + (size_t)i * stride[m + 8]);
            r[m] = __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
                                           10, 11, 12, 13, 14, 15);
        }
        cnn_wino_transpose(r);
        for (int j = 0; j < cols; j++)
            memcpy(d + (size_t)(i * cols + j) * CNN_WINO_LANES, &r[j],
                   sizeof r[j]);
    }
}

/* The tiles t, t + 1, ... (lanes of them) from o [side][side][LANES]
 * (side <= 8) into output channel k of y, cut at the image's edge. */
static inline __attribute__((always_inline)) void
cnn_wino_scatter_tiles(const cnn_conv_shape *s, int side, const float *o,
                       int k, long long t, int lanes, float *y)
{
    const int OH = s->out_h, OW = s->out_w;
    float *dst[CNN_WINO_LANES];
    int rows[CNN_WINO_LANES], cols[CNN_WINO_LANES];
    for (int l = 0; l < lanes; l++) {
        cnn_wino_tile p = cnn_wino_locate(s, side, t + l);
        dst[l] = y + ((size_t)p.img * s->out_c + k) * OH * OW +
                 (size_t)p.oy * OW + p.ox;
        rows[l] = OH - p.oy < side ? OH - p.oy : side;
        cols[l] = OW - p.ox < side ? OW - p.ox : side;
    }
    for (int i = 0; i < side; i++) {
        /* then r[l % 8] holds row i of lane l's tile, in its half l / 8 */
        cnn_wino_lanes16 r[8] = {0};
        for (int j = 0; j < side; j++)
            memcpy(&r[j], o + (size_t)(i * side + j) * CNN_WINO_LANES,
                   sizeof r[j]);
        cnn_wino_transpose(r);
        for (int l = 0; l < lanes; l++) {
            if (i >= rows[l])
                continue;
            const float *row = (const float *)&r[l % 8] + l / 8 * 8;
            float *out = dst[l] + (size_t)i * OW;
            if (cols[l] == side) /* a size known at compile time */
                memcpy(out, row, sizeof(float) * side);
            else
                memcpy(out, row, sizeof(float) * cols[l]);
        }
    }
}

/* The output stage over channel k's tiles of a lane block, then the tiles
 * into y (cnn_wino_scatter_tiles). */
static inline __attribute__((always_inline)) void
cnn_wino_store_tiles(const cnn_conv_shape *s, int side, float *o, int k,
                     long long t, int lanes, const cnn_wino_out_stage *st,
                     float *y)
{
    const int bn = st->mean != NULL;
    const float bk = st->bias ? st->bias[k] : 0.0f;
    const float mk = bn ? st->mean[k] : 0.0f;
    const float sk = bn ? st->scale[k] : 1.0f;
    const float ck = bn ? st->beta[k] : 0.0f;
    for (int i = 0; i < side * side; i++)
#pragma omp simd
        for (int l = 0; l < CNN_WINO_LANES; l++) {
            float v = o[i * CNN_WINO_LANES + l] + bk;
            if (bn)
                v = (v - mk) * sk + ck;
            o[i * CNN_WINO_LANES + l] = st->relu && v < 0.0f ? 0.0f : v;
        }
    cnn_wino_scatter_tiles(s, side, o, k, t, lanes, y);
}

#endif
