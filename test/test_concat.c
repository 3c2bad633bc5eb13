/* test_concat.c - concatenation along channels of 3 and 4 branches with
 * different channel counts against torch.cat (test/gen_golden_ops.py); the
 * backward must route each slice of dy to its own branch. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "util/golden.h"
#include "util/suite.h"

#define GOLDEN "test/golden/concat.bin"
#define MAX_PARTS 4

static const char *const CASES[] = {"three", "four_n1", "four_n3"};

static const golden_array *get(const golden_file *g, const char *c, const char *what)
{
    char name[128];
    snprintf(name, sizeof name, "%s/%s", c, what);
    return golden_get(g, name);
}

START_TEST(concat_matches_torch_cat_and_routes_gradients)
{
    golden_file *g = golden_load(GOLDEN);
    const char *name = CASES[_i];
    const golden_array *shape = get(g, name, "shape");
    int n = (int)shape->data[0], hw = (int)shape->data[1];
    int parts = (int)shape->count - 2;
    ck_assert_int_le(parts, MAX_PARTS);
    int channels[MAX_PARTS];
    const float *x[MAX_PARTS];
    float *dx[MAX_PARTS];
    for (int p = 0; p < parts; p++) {
        char what[16];
        channels[p] = (int)shape->data[2 + p];
        snprintf(what, sizeof what, "x%d", p);
        x[p] = get(g, name, what)->data;
        dx[p] = malloc((size_t)n * channels[p] * hw * sizeof(float));
        /* garbage: backward must overwrite all of it */
        for (size_t i = 0; i < (size_t)n * channels[p] * hw; i++)
            dx[p][i] = -99.0f;
    }
    const golden_array *yg = get(g, name, "y");
    float *y = malloc(yg->count * sizeof(float));
    cnn_concat_forward(n, hw, parts, channels, x, y);
    /* a copy: exact */
    ck_assert(memcmp(y, yg->data, yg->count * sizeof(float)) == 0);

    cnn_concat_backward(n, hw, parts, channels, get(g, name, "r")->data, dx);
    for (int p = 0; p < parts; p++) {
        char what[16];
        snprintf(what, sizeof what, "dx%d", p);
        ck_assert_msg(memcmp(dx[p], get(g, name, what)->data,
                             (size_t)n * channels[p] * hw * sizeof(float)) == 0,
                      "%s: branch %d got the wrong slice", name, p);
    }

    /* a NULL branch gradient is skipped, the others still get theirs */
    float *kept = dx[1];
    dx[1] = NULL;
    memset(dx[0], 0, (size_t)n * channels[0] * hw * sizeof(float));
    cnn_concat_backward(n, hw, parts, channels, get(g, name, "r")->data, dx);
    ck_assert(memcmp(dx[0], get(g, name, "dx0")->data,
                     (size_t)n * channels[0] * hw * sizeof(float)) == 0);
    dx[1] = kept;

    for (int p = 0; p < parts; p++)
        free(dx[p]);
    free(y);
    golden_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("concat");
    TCase *tc = tcase_create("concat");
    tcase_add_loop_test(tc, concat_matches_torch_cat_and_routes_gradients, 0,
                        sizeof CASES / sizeof *CASES);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
