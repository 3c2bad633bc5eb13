/* test_winograd_lanes.c - moving tiles between image rows and lane blocks
 * (lib/winograd_lanes.h), element by element against the layouts they
 * promise: the in-register transpose, where a patch's rows come from (in
 * place or a zero-padded copy), the patch gather (image rows and padded
 * copies, 6 and 8 columns) and the tile scatter (tiles cut at the
 * image's edge, partial lane blocks, nothing written outside the tiles). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "util/gradcheck.h"
#include "util/suite.h"
#include "winograd_lanes.h"

#define LANES CNN_WINO_LANES
#define SENTINEL 1234.5f

START_TEST(transpose_swaps_rows_and_columns_in_each_half)
{
    float in[8][16];
    fill_uniform(&in[0][0], sizeof in / sizeof(float), -1, 1, 3);
    cnn_wino_lanes16 r[8];
    memcpy(r, in, sizeof r);
    cnn_wino_transpose(r);
    for (int j = 0; j < 8; j++)
        for (int h = 0; h < 2; h++)
            for (int m = 0; m < 8; m++)
                ck_assert_msg(r[j][8 * h + m] == in[m][8 * h + j],
                              "r[%d][%d]", j, 8 * h + m);
    cnn_wino_transpose(r);
    ck_assert(memcmp(r, in, sizeof r) == 0);
}
END_TEST

START_TEST(patch_rows_read_in_place_or_zero_padded)
{
    enum { H = 7, W = 11 };
    float plane[H * W], padded[8 * 8];
    fill_uniform(plane, H * W, -1, 1, 13);
    /* corners in and out of the plane, up to whole patches outside it */
    static const int corners[] = {-9, -2, -1, 0, 1, 3, 6, 12};
    const int n = (int)(sizeof corners / sizeof corners[0]);
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++)
            for (int rows = 6; rows <= 8; rows += 2) {
                const int y0 = corners[a], x0 = corners[b];
                int stride = -1;
                const float *r = cnn_wino_patch_rows(plane, H, W, y0, x0, rows,
                                                     padded, &stride);
                const int inside = y0 >= 0 && y0 + rows <= H && x0 >= 0 &&
                                   x0 + 8 <= W;
                ck_assert(inside ? r == plane + y0 * W + x0 && stride == W
                                 : r == padded && stride == 8);
                for (int i = 0; i < rows; i++)
                    for (int j = 0; j < 8; j++) {
                        const int yy = y0 + i, xx = x0 + j;
                        const float want =
                            yy >= 0 && yy < H && xx >= 0 && xx < W
                                ? plane[yy * W + xx]
                                : 0.0f;
                        ck_assert_msg(r[i * stride + j] == want,
                                      "(%d, %d) + (%d, %d)", y0, x0, i, j);
                    }
            }
}
END_TEST

/* rows x cols of each lane's patch; lanes alternate between a window of a
 * wide image (stride 40) and a patch of their own (stride 8) */
static const int GATHER[][2] = {{6, 6}, {8, 8}, {3, 5}};

START_TEST(gather_takes_each_lanes_rows)
{
    const int rows = GATHER[_i][0], cols = GATHER[_i][1];
    enum { W = 40 };
    float image[8 + LANES][W], own[LANES][8][8];
    fill_uniform(&image[0][0], sizeof image / sizeof(float), -1, 1, 5);
    fill_uniform(&own[0][0][0], sizeof own / sizeof(float), -1, 1, 7);
    const float *src[LANES];
    int stride[LANES];
    for (int l = 0; l < LANES; l++) {
        if (l % 3 == 1) {
            src[l] = &own[l][0][0];
            stride[l] = 8;
        } else {
            src[l] = &image[l % 7][2 * l]; /* 2 * 15 + 8 <= W */
            stride[l] = W;
        }
    }
    float d[8 * 8 * LANES];
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        d[i] = SENTINEL;
    cnn_wino_gather_patches(src, stride, rows, cols, d);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            for (int l = 0; l < LANES; l++)
                ck_assert_msg(d[(i * cols + j) * LANES + l] ==
                                  src[l][i * stride[l] + j],
                              "d[%d][%d][%d]", i, j, l);
    for (int i = rows * cols * LANES; i < 8 * 8 * LANES; i++)
        ck_assert_msg(d[i] == SENTINEL, "written past the patches at %d", i);
}
END_TEST

/* side, out_h, out_w, first tile, lanes: tiles cut at the right and
 * bottom edges, blocks that cross into the next row and the next image */
static const int SCATTER[][5] = {
    {6, 13, 13, 0, 16}, {6, 13, 13, 3, 11}, {4, 9, 14, 2, 16},
    {4, 8, 8, 1, 7},    {6, 6, 6, 0, 2},
};

START_TEST(scatter_writes_each_tile_within_the_image)
{
    const int side = SCATTER[_i][0], t0 = SCATTER[_i][3],
              lanes = SCATTER[_i][4];
    cnn_conv_shape s = {0};
    s.out_c = 3;
    s.out_h = SCATTER[_i][1];
    s.out_w = SCATTER[_i][2];
    const int k = 1, n = 3;
    const size_t count = (size_t)n * s.out_c * s.out_h * s.out_w;
    float *y = malloc(sizeof(float) * count);
    ck_assert(y != NULL);
    for (size_t i = 0; i < count; i++)
        y[i] = SENTINEL;
    float o[8 * 8 * LANES];
    fill_uniform(o, sizeof o / sizeof o[0], -1, 1, 9 + _i);
    cnn_wino_scatter_tiles(&s, side, o, k, t0, lanes, y);

    /* the expected y: each tile's outputs at its place, cut at the edge */
    float *want = malloc(sizeof(float) * count);
    ck_assert(want != NULL);
    for (size_t i = 0; i < count; i++)
        want[i] = SENTINEL;
    const int tw = (s.out_w + side - 1) / side;
    const int per_image = (s.out_h + side - 1) / side * tw;
    for (int l = 0; l < lanes; l++) {
        const int t = t0 + l, img = t / per_image;
        const int oy = t % per_image / tw * side, ox = t % tw * side;
        for (int i = 0; i < side && oy + i < s.out_h; i++)
            for (int j = 0; j < side && ox + j < s.out_w; j++)
                want[(((size_t)img * s.out_c + k) * s.out_h + oy + i) *
                         s.out_w +
                     ox + j] = o[(i * side + j) * LANES + l];
    }
    for (size_t i = 0; i < count; i++)
        ck_assert_msg(y[i] == want[i], "case %d: y[%zu] %g, want %g", _i, i,
                      y[i], want[i]);
    free(want);
    free(y);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("winograd_lanes");
    TCase *tc = tcase_create("lanes");
    tcase_add_test(tc, transpose_swaps_rows_and_columns_in_each_half);
    tcase_add_test(tc, patch_rows_read_in_place_or_zero_padded);
    tcase_add_loop_test(tc, gather_takes_each_lanes_rows, 0,
                        (int)(sizeof GATHER / sizeof GATHER[0]));
    tcase_add_loop_test(tc, scatter_writes_each_tile_within_the_image, 0,
                        (int)(sizeof SCATTER / sizeof SCATTER[0]));
    suite_add_tcase(suite, tc);
    return run_suite(suite);
}
