/* test_activation.c - ReLU, sigmoid and softmax against PyTorch goldens
 * (test/gen_golden_ops.py) and central finite differences. Inputs keep away
 * from ReLU's kink; sigmoid is also fed +-100 and softmax a spread of 2000
 * (no inf/NaN allowed). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "util/golden.h"
#include "util/gradcheck.h"
#include "util/suite.h"

#define GOLDEN "test/golden/activation.bin"

typedef enum { RELU, SIGMOID, SOFTMAX } act_kind;
static const char *const NAMES[] = {"relu", "sigmoid", "softmax"};

typedef struct {
    act_kind kind;
    int n, classes;
    float *x, *y;
    const float *r;
} act_ctx;

static void forward(const act_ctx *t)
{
    size_t count = (size_t)t->n * t->classes;
    if (t->kind == RELU)
        cnn_relu_forward(count, t->x, t->y);
    else if (t->kind == SIGMOID)
        cnn_sigmoid_forward(count, t->x, t->y);
    else
        cnn_softmax_forward(t->n, t->classes, t->x, t->y);
}

static double act_loss(void *p)
{
    act_ctx *t = p;
    forward(t);
    return dot_double(t->y, t->r, (size_t)t->n * t->classes);
}

static const golden_array *get(const golden_file *g, const char *c, const char *what)
{
    char name[128];
    snprintf(name, sizeof name, "%s/%s", c, what);
    return golden_get(g, name);
}

START_TEST(forward_and_backward_match_pytorch_and_finite_differences)
{
    golden_file *g = golden_load(GOLDEN);
    const golden_array *xg = golden_get(g, "x");
    const char *name = NAMES[_i];
    int n = xg->dims[0], classes = xg->dims[1];
    size_t count = xg->count;
    float *x = malloc(count * sizeof(float)), *y = malloc(count * sizeof(float));
    float *dx = malloc(count * sizeof(float));
    memcpy(x, xg->data, count * sizeof(float));
    const float *r = get(g, name, "r")->data;
    act_ctx t = {(act_kind)_i, n, classes, x, y, r};

    forward(&t);
    assert_close(name, y, get(g, name, "y")->data, count, 1e-7, 1e-6);
    if (t.kind == RELU)
        cnn_relu_backward(count, y, r, dx);
    else if (t.kind == SIGMOID)
        cnn_sigmoid_backward(count, y, r, dx);
    else
        cnn_softmax_backward(n, classes, y, r, dx);
    assert_close("dx", dx, get(g, name, "dx")->data, count, 1e-7, 1e-5);
    gradcheck(name, act_loss, &t, x, dx, count, count, 1e-3, 1e-4, 1e-2);

    /* in place: y may be x, and dx may be dy */
    memcpy(x, xg->data, count * sizeof(float));
    float *buf = malloc(count * sizeof(float));
    memcpy(buf, r, count * sizeof(float));
    if (t.kind == RELU) {
        cnn_relu_forward(count, x, x);
        cnn_relu_backward(count, x, buf, buf);
    } else if (t.kind == SIGMOID) {
        cnn_sigmoid_forward(count, x, x);
        cnn_sigmoid_backward(count, x, buf, buf);
    } else {
        cnn_softmax_forward(n, classes, x, x);
        cnn_softmax_backward(n, classes, x, buf, buf);
    }
    assert_close("in-place y", x, get(g, name, "y")->data, count, 1e-7, 1e-6);
    assert_close("in-place dx", buf, get(g, name, "dx")->data, count, 1e-7, 1e-5);

    free(buf); free(x); free(y); free(dx);
    golden_free(g);
}
END_TEST

START_TEST(softmax_with_huge_logits_stays_finite)
{
    golden_file *g = golden_load(GOLDEN);
    const golden_array *xg = golden_get(g, "softmax_big/x");
    float y[6];
    cnn_softmax_forward(xg->dims[0], xg->dims[1], xg->data, y);
    for (int i = 0; i < 6; i++)
        ck_assert(isfinite(y[i]));
    assert_close("softmax_big", y, golden_get(g, "softmax_big/y")->data, 6, 1e-7, 1e-6);
    golden_free(g);
}
END_TEST

/* Large enough to take the parallel path. */
START_TEST(large_arrays_match_scalar_formulas)
{
    enum { COUNT = 200003 };
    float *x = malloc(COUNT * sizeof(float)), *y = malloc(COUNT * sizeof(float));
    fill_uniform(x, COUNT, -8.0f, 8.0f, 3);
    cnn_relu_forward(COUNT, x, y);
    for (size_t i = 0; i < COUNT; i++)
        ck_assert_float_eq(y[i], x[i] > 0 ? x[i] : 0.0f);
    cnn_sigmoid_forward(COUNT, x, y);
    for (size_t i = 0; i < COUNT; i += 97)
        ck_assert_double_eq_tol(y[i], 1.0 / (1.0 + exp(-(double)x[i])), 1e-6);
    free(x);
    free(y);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("activation");
    TCase *tc = tcase_create("activation");
    tcase_add_loop_test(tc, forward_and_backward_match_pytorch_and_finite_differences,
                        RELU, SOFTMAX + 1);
    tcase_add_test(tc, softmax_with_huge_logits_stays_finite);
    tcase_add_test(tc, large_arrays_match_scalar_formulas);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
