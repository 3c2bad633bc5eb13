/* test_pool.c - max, average and global average pooling against PyTorch
 * goldens (test/gen_golden_ops.py) and central finite differences.
 * Cases: 3x3 s1 'same', 3x3 s2 'valid' and 'same' on odd and even sizes,
 * 2x2 s2, a kernel larger than the image, N = 1 and N > 1. The reference for
 * 'same' average pooling divides by the number of real pixels (TensorFlow).
 * Inputs are permutations, so max pooling never meets a tie. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "util/golden.h"
#include "util/gradcheck.h"
#include "util/suite.h"

#define GOLDEN "test/golden/pool.bin"

static const char *const CASES[] = {
    "k3s1_same_odd", "k3s1_same_even_n1", "k3s2_valid_odd", "k3s2_valid_even_n1",
    "k2s2_valid", "k2s2_valid_odd", "k3s2_same_odd", "k3s2_same_even",
    "k2s2_same_odd", "k5s1_same_small", "k3s1_same_wide",
    "k3s2_same_wide"};

static const golden_array *get(const golden_file *g, const char *c, const char *what)
{
    char name[128];
    snprintf(name, sizeof name, "%s/%s", c, what);
    return golden_get(g, name);
}

typedef struct {
    const cnn_pool_shape *s;
    int n, max;
    float *x, *y;
    int32_t *argmax;
    const float *r;
} pool_ctx;

static double pool_loss(void *p)
{
    pool_ctx *t = p;
    if (t->max)
        cnn_maxpool_forward(t->s, t->n, t->x, t->y, t->argmax);
    else
        cnn_avgpool_forward(t->s, t->n, t->x, t->y);
    return dot_double(t->y, t->r, (size_t)t->n * t->s->c * t->s->out_h * t->s->out_w);
}

START_TEST(pooling_matches_pytorch_and_finite_differences)
{
    golden_file *g = golden_load(GOLDEN);
    const char *name = CASES[_i];
    const float *sh = get(g, name, "shape")->data;
    int n = (int)sh[0], c = (int)sh[1], h = (int)sh[2], w = (int)sh[3];
    cnn_pool_shape s;
    cnn_error err;
    ck_assert_int_eq(cnn_pool_shape_init(&s, c, h, w, (int)sh[4], (int)sh[5], (int)sh[6],
                                         (int)sh[7], sh[8] ? CNN_PAD_SAME : CNN_PAD_VALID,
                                         &err), CNN_OK);
    const golden_array *yg = get(g, name, "max_y");
    ck_assert_int_eq(s.out_h, yg->dims[2]);
    ck_assert_int_eq(s.out_w, yg->dims[3]);
    size_t in_count = (size_t)n * c * h * w, out_count = yg->count;
    float *x = malloc(in_count * sizeof(float)), *dx = malloc(in_count * sizeof(float));
    float *y = malloc(out_count * sizeof(float));
    int32_t *argmax = malloc(out_count * sizeof(int32_t));
    memcpy(x, get(g, name, "x")->data, in_count * sizeof(float));
    const float *r = get(g, name, "r")->data;

    for (int max = 1; max >= 0; max--) {
        char what[160];
        pool_ctx t = {&s, n, max, x, y, argmax, r};
        pool_loss(&t);
        snprintf(what, sizeof what, "%s %s y", name, max ? "max" : "avg");
        assert_close(what, y, get(g, name, max ? "max_y" : "avg_y")->data, out_count,
                     1e-6, 1e-5);
        if (max) { /* inference: the same maxima without the indices */
            cnn_maxpool_forward(&s, n, x, y, NULL);
            snprintf(what, sizeof what, "%s max y, no argmax", name);
            assert_close(what, y, get(g, name, "max_y")->data, out_count, 1e-6,
                         1e-5);
        }
        /* dx is overwritten: start from garbage */
        fill_uniform(dx, in_count, 5.0f, 6.0f, 1);
        if (max)
            cnn_maxpool_backward(&s, n, r, argmax, dx);
        else
            cnn_avgpool_backward(&s, n, r, dx);
        snprintf(what, sizeof what, "%s %s dx", name, max ? "max" : "avg");
        assert_close(what, dx, get(g, name, max ? "max_dx" : "avg_dx")->data, in_count,
                     1e-6, 1e-5);
        gradcheck(what, pool_loss, &t, x, dx, in_count, 300, 1e-3, 1e-4, 1e-2);
    }
    free(x); free(dx); free(y); free(argmax);
    golden_free(g);
}
END_TEST

static const char *const GLOBAL_CASES[] = {"global_n2", "global_n1"};

typedef struct {
    int n, c, hw;
    float *x, *y;
    const float *r;
} global_ctx;

static double global_loss(void *p)
{
    global_ctx *t = p;
    cnn_global_avgpool_forward(t->n, t->c, t->hw, t->x, t->y);
    return dot_double(t->y, t->r, (size_t)t->n * t->c);
}

START_TEST(global_average_pooling_matches_pytorch)
{
    golden_file *g = golden_load(GOLDEN);
    const char *name = GLOBAL_CASES[_i];
    const float *sh = get(g, name, "shape")->data;
    int n = (int)sh[0], c = (int)sh[1], hw = (int)sh[2];
    size_t count = (size_t)n * c * hw;
    float *x = malloc(count * sizeof(float)), *dx = malloc(count * sizeof(float));
    float *y = malloc((size_t)n * c * sizeof(float));
    memcpy(x, get(g, name, "x")->data, count * sizeof(float));
    const float *r = get(g, name, "r")->data;
    global_ctx t = {n, c, hw, x, y, r};
    global_loss(&t);
    assert_close("global y", y, get(g, name, "y")->data, (size_t)n * c, 1e-6, 1e-5);
    cnn_global_avgpool_backward(n, c, hw, r, dx);
    assert_close("global dx", dx, get(g, name, "dx")->data, count, 1e-7, 1e-5);
    gradcheck("global dx", global_loss, &t, x, dx, count, count, 1e-3, 1e-4, 1e-2);
    free(x); free(dx); free(y);
    golden_free(g);
}
END_TEST

START_TEST(bad_windows_are_reported)
{
    cnn_pool_shape s;
    cnn_error err = {0};
    ck_assert_int_eq(cnn_pool_shape_init(&s, 3, 2, 5, 3, 3, 2, 2, CNN_PAD_VALID, &err),
                     CNN_ERR_SHAPE);
    ck_assert(err.message[0] != '\0');
    ck_assert_int_eq(cnn_pool_shape_init(&s, 0, 5, 5, 3, 3, 1, 1, CNN_PAD_SAME, &err),
                     CNN_ERR_SHAPE);
    ck_assert_int_eq(cnn_pool_shape_init(&s, 3, 5, 5, 3, 3, 0, 1, CNN_PAD_SAME, NULL),
                     CNN_ERR_SHAPE);
    ck_assert_int_eq(cnn_pool_shape_init(&s, 1, 5, 2000, 1, 1000, 1, 1, CNN_PAD_VALID, &err),
                     CNN_ERR_UNSUPPORTED);
    /* a kernel larger than the image is fine with 'same' */
    ck_assert_int_eq(cnn_pool_shape_init(&s, 3, 2, 5, 3, 3, 2, 2, CNN_PAD_SAME, &err),
                     CNN_OK);
    ck_assert_int_eq(s.out_h, 1);
    ck_assert_int_eq(s.out_w, 3);
}
END_TEST

/* Planes are independent and each is done by one thread: one thread and two
 * threads give bit-identical results. */
START_TEST(results_do_not_depend_on_thread_count)
{
    enum { N = 3, C = 5, H = 37, W = 41 };
    const size_t in_count = (size_t)N * C * H * W;
    cnn_pool_shape s;
    ck_assert_int_eq(cnn_pool_shape_init(&s, C, H, W, 3, 3, 2, 2, CNN_PAD_SAME, NULL),
                     CNN_OK);
    const size_t out_count = (size_t)N * C * s.out_h * s.out_w;
    float *x = malloc(in_count * sizeof(float)), *dy = malloc(out_count * sizeof(float));
    fill_uniform(x, in_count, -1.0f, 1.0f, 21);
    fill_uniform(dy, out_count, -1.0f, 1.0f, 22);
    float *out[2][4];
    int32_t *argmax = malloc(out_count * sizeof(int32_t));
    for (int run = 0; run < 2; run++) {
        cnn_set_threads(run + 1);
        out[run][0] = malloc(out_count * sizeof(float));
        out[run][1] = malloc(out_count * sizeof(float));
        out[run][2] = malloc(in_count * sizeof(float));
        out[run][3] = malloc(in_count * sizeof(float));
        cnn_maxpool_forward(&s, N, x, out[run][0], argmax);
        cnn_maxpool_backward(&s, N, dy, argmax, out[run][2]);
        cnn_avgpool_forward(&s, N, x, out[run][1]);
        cnn_avgpool_backward(&s, N, dy, out[run][3]);
    }
    cnn_set_threads(0);
    for (int k = 0; k < 4; k++) {
        size_t count = k < 2 ? out_count : in_count;
        ck_assert(memcmp(out[0][k], out[1][k], count * sizeof(float)) == 0);
        free(out[0][k]);
        free(out[1][k]);
    }
    free(argmax);
    free(x);
    free(dy);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("pool");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, pooling_matches_pytorch_and_finite_differences, 0,
                        sizeof CASES / sizeof *CASES);
    tcase_add_loop_test(tc, global_average_pooling_matches_pytorch, 0,
                        sizeof GLOBAL_CASES / sizeof *GLOBAL_CASES);
    tcase_add_test(tc, bad_windows_are_reported);
    tcase_add_test(tc, results_do_not_depend_on_thread_count);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
