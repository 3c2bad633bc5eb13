/* test_dense.c - dense forward/backward against PyTorch goldens (made by
 * test/gen_golden_conv.py) and backward against central finite differences. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "util/golden.h"
#include "util/gradcheck.h"
#include "util/suite.h"

#define GOLDEN "test/golden/dense.bin"

static const char *const CASES[] = {"n3_bias", "n4_nobias", "n1_bias"};
#define NCASES ((int)(sizeof CASES / sizeof CASES[0]))

typedef struct {
    golden_file *g;
    const char *name;
    int n, in, out;
    float *x, *w, *b; /* b NULL without bias */
    const float *r;   /* dL/dy */
    float *y;
} dense_case;

static const golden_array *get(const dense_case *c, const char *what)
{
    char key[128];
    snprintf(key, sizeof key, "%s/%s", c->name, what);
    return golden_get(c->g, key);
}

static float *copy_floats(const float *src, size_t count)
{
    float *p = malloc(count * sizeof(float));
    ck_assert_ptr_nonnull(p);
    memcpy(p, src, count * sizeof(float));
    return p;
}

static void load_case(dense_case *c, const char *name)
{
    memset(c, 0, sizeof *c);
    c->g = golden_load(GOLDEN);
    c->name = name;
    const float *shape = get(c, "shape")->data;
    c->n = (int)shape[0];
    c->in = (int)shape[1];
    c->out = (int)shape[2];
    c->x = copy_floats(get(c, "x")->data, (size_t)c->n * c->in);
    c->w = copy_floats(get(c, "w")->data, (size_t)c->out * c->in);
    c->b = shape[3] != 0 ? copy_floats(get(c, "b")->data, c->out) : NULL;
    c->r = get(c, "r")->data;
    c->y = malloc((size_t)c->n * c->out * sizeof(float));
    ck_assert_ptr_nonnull(c->y);
}

static void free_case(dense_case *c)
{
    free(c->x);
    free(c->w);
    free(c->b);
    free(c->y);
    golden_free(c->g);
}

START_TEST(forward_matches_pytorch)
{
    dense_case c;
    load_case(&c, CASES[_i]);
    cnn_dense_forward(c.n, c.in, c.out, c.x, c.w, c.b, c.y);
    assert_close("y", c.y, get(&c, "y")->data, (size_t)c.n * c.out, 1e-5, 1e-5);
    free_case(&c);
}
END_TEST

START_TEST(backward_matches_pytorch)
{
    dense_case c;
    load_case(&c, CASES[_i]);
    size_t xc = (size_t)c.n * c.in, wc = (size_t)c.out * c.in;
    float *dx = malloc(xc * sizeof(float)), *dw = malloc(wc * sizeof(float));
    float *db = malloc(c.out * sizeof(float));
    ck_assert(dx && dw && db);
    /* dx is overwritten, dweight and dbias accumulate */
    for (size_t i = 0; i < xc; i++)
        dx[i] = 1e30f;
    for (size_t i = 0; i < wc; i++)
        dw[i] = 0.5f;
    for (int i = 0; i < c.out; i++)
        db[i] = -0.25f;
    cnn_dense_backward(c.n, c.in, c.out, c.x, c.w, c.r, dx, dw, c.b ? db : NULL);
    assert_close("dx", dx, get(&c, "dx")->data, xc, 1e-5, 1e-5);
    for (size_t i = 0; i < wc; i++)
        dw[i] -= 0.5f;
    assert_close("dweight", dw, get(&c, "dw")->data, wc, 1e-5, 1e-5);
    if (c.b) {
        for (int i = 0; i < c.out; i++)
            db[i] += 0.25f;
        assert_close("dbias", db, get(&c, "db")->data, c.out, 1e-5, 1e-5);
    }
    free(dx);
    free(dw);
    free(db);
    free_case(&c);
}
END_TEST

static double dense_loss(void *ctx)
{
    dense_case *c = ctx;
    cnn_dense_forward(c->n, c->in, c->out, c->x, c->w, c->b, c->y);
    return dot_double(c->y, c->r, (size_t)c->n * c->out);
}

START_TEST(backward_matches_finite_differences)
{
    dense_case c;
    load_case(&c, CASES[_i]);
    size_t xc = (size_t)c.n * c.in, wc = (size_t)c.out * c.in;
    float *dx = malloc(xc * sizeof(float)), *dw = calloc(wc, sizeof(float));
    float *db = calloc(c.out, sizeof(float));
    ck_assert(dx && dw && db);
    cnn_dense_backward(c.n, c.in, c.out, c.x, c.w, c.r, dx, dw, db);
    /* L is linear in each value: a large step only fights rounding */
    gradcheck("dx", dense_loss, &c, c.x, dx, xc, 200, 0.05, 1e-4, 1e-3);
    gradcheck("dweight", dense_loss, &c, c.w, dw, wc, 200, 0.05, 1e-4, 1e-3);
    if (c.b)
        gradcheck("dbias", dense_loss, &c, c.b, db, c.out, 200, 0.05, 1e-4,
                  1e-3);
    free(dx);
    free(dw);
    free(db);
    free_case(&c);
}
END_TEST

int main(void)
{
    cnn_set_threads(0);
    Suite *suite = suite_create("dense");
    TCase *tc = tcase_create("dense");
    tcase_add_loop_test(tc, forward_matches_pytorch, 0, NCASES);
    tcase_add_loop_test(tc, backward_matches_pytorch, 0, NCASES);
    tcase_add_loop_test(tc, backward_matches_finite_differences, 0, NCASES);
    suite_add_tcase(suite, tc);
    return run_suite(suite);
}
