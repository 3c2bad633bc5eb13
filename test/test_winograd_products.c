/* test_winograd_products.c - the element-wise stage of the Winograd kinds
 * (lib/winograd_products.c): the forward products, on both sides of the
 * few-tiles rule and with both of its kernels (one vector of tiles, two),
 * against a product summed in double; with tile counts that are and are
 * not whole blocks, rows past the last whole block, and the gaps between
 * points left as they were. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "cnn.h"
#include "util/gradcheck.h"
#include "util/suite.h"
#include "winograd.h"

#define SENTINEL 1234.5f

START_TEST(few_tiles_rule)
{
    /* VGG16's 14x14 and 28x28 layers at batch 1 (16 and 49 tiles, 256 or
     * 512 channels) take the kernels; chunks narrower than a vector, of
     * more than 64 tiles, or with filters of InceptionV3's sizes do not */
    ck_assert(cnn_wino_few_tiles(16, 512, 512));
    ck_assert(cnn_wino_few_tiles(49, 512, 256));
    ck_assert(cnn_wino_few_tiles(64, 512, 512));
    ck_assert(!cnn_wino_few_tiles(15, 512, 512));
    ck_assert(!cnn_wino_few_tiles(65, 512, 512));
    ck_assert(!cnn_wino_few_tiles(36, 192, 192));
    ck_assert(!cnn_wino_few_tiles(49, 256, 256));
}
END_TEST

/* points, K (rows of U), C (channels), nt (tiles); the kernels need
 * K x C >= 256 x 512 */
static const int SHAPES[][4] = {
    {3, 32, 4096, 16},  /* one vector: whole blocks of rows and tiles */
    {2, 40, 3300, 17},  /* 8 rows past the blocks of 16; tiles 16 + 1 */
    {2, 48, 2731, 31},  /* tiles 16 + 15 */
    {2, 7, 20000, 20},  /* fewer rows than a block: sgemm alone */
    {2, 16, 8192, 32},  /* two vectors: one block of 32 tiles */
    {2, 44, 2980, 49},  /* 4 rows past the blocks of 8; tiles 32 + 17 */
    {2, 24, 5462, 64},  /* two blocks */
    {2, 5, 26215, 40},  /* fewer rows than a block of 8 */
    {2, 24, 5462, 65},  /* past the rule: sgemm */
    {3, 64, 64, 16},    /* a small filter: sgemm */
    {4, 512, 512, 16},  /* VGG16's 14x14 layers */
};
#define NSHAPES ((int)(sizeof SHAPES / sizeof SHAPES[0]))

START_TEST(products_match_double_sums)
{
    const int points = SHAPES[_i][0], K = SHAPES[_i][1], C = SHAPES[_i][2],
              nt = SHAPES[_i][3];
    const size_t vs = cnn_wino_point_stride(C, nt);
    const size_t ms = cnn_wino_point_stride(K, nt);
    float *U = malloc(sizeof(float) * points * K * C);
    float *V = malloc(sizeof(float) * points * vs);
    float *M = malloc(sizeof(float) * points * ms);
    ck_assert(U && V && M);
    fill_uniform(U, (size_t)points * K * C, -1, 1, 11 + _i);
    fill_uniform(V, (size_t)points * vs, -1, 1, 29 + _i);
    for (size_t i = 0; i < (size_t)points * ms; i++)
        M[i] = SENTINEL;
    cnn_wino_products(points, K, C, nt, U, V, M);
    double worst = 0;
    for (int xi = 0; xi < points; xi++) {
        const float *u = U + (size_t)xi * K * C, *v = V + xi * vs;
        const float *m = M + xi * ms;
        for (int o = 0; o < K; o++)
            for (int t = 0; t < nt; t++) {
                double want = 0;
                for (int c = 0; c < C; c++)
                    want += (double)u[(size_t)o * C + c] * v[(size_t)c * nt + t];
                const double e = fabs(m[(size_t)o * nt + t] - want);
                worst = e > worst ? e : worst;
            }
        for (size_t i = (size_t)K * nt; i < ms; i++)
            ck_assert_msg(m[i] == SENTINEL, "point %d: gap written at %zu",
                          xi, i);
    }
    /* |terms| < 1, C of them: float sums are within C * 2^-23 (measured:
     * at most 5.6e-8 * C on these shapes); one channel or tile missed would
     * be off by up to 1 */
    ck_assert_msg(worst <= C * 0x1p-23, "shape %d: max error %g", _i, worst);
    free(U);
    free(V);
    free(M);
}
END_TEST

int main(void)
{
    cnn_set_threads(0);
    Suite *suite = suite_create("winograd_products");
    TCase *tc = tcase_create("products");
    tcase_add_test(tc, few_tiles_rule);
    tcase_add_loop_test(tc, products_match_double_sums, 0, NSHAPES);
    suite_add_tcase(suite, tc);
    return run_suite(suite);
}
