/* test_mahalanobis.c - the Ledoit-Wolf fit and the distances against numpy
 * and scipy (test/gen_golden_mahalanobis.py: the shrinkage from the paper's
 * per-sample formula, scipy's Cholesky factor and Mahalanobis distance with
 * an explicit inverse), including a singular sample covariance, fewer
 * samples than dimensions and the shrinkage floor; refused inputs. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "mahalanobis.h"
#include "util/golden.h"
#include "util/suite.h"

#define GOLDEN "test/golden/mahalanobis.bin"

static const char *const CASES[] = {"wide", "tall", "floor"};

static const golden_array *get(const golden_file *g, const char *c, const char *what)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", c, what);
    return golden_get(g, key);
}

START_TEST(fit_and_distances_match_scipy)
{
    const char *c = CASES[_i];
    golden_file *g = golden_load(GOLDEN);
    const golden_array *x = get(g, c, "x"), *q = get(g, c, "queries");
    int n = x->dims[0], p = x->dims[1];
    cnn_mahalanobis m;
    double shrinkage;
    cnn_error err;
    ck_assert_msg(cnn_mahalanobis_fit(x->data, n, p, &m, &shrinkage, &err) == CNN_OK,
                  "%s", err.message);
    ck_assert_int_eq(m.dim, p);
    assert_close("mean", m.mean, get(g, c, "mean")->data, (size_t)p, 1e-5, 1e-5);
    double want = get(g, c, "shrinkage")->data[0];
    ck_assert_msg(fabs(shrinkage - want) <= 1e-6 * want, "%s: shrinkage %.9g, "
                  "want %.9g", c, shrinkage, want);
    /* the whole matrix: the upper triangle must be 0 as scipy's */
    assert_close("factor", m.factor, get(g, c, "factor")->data, (size_t)p * p,
                 1e-5, 1e-4);
    const float *want_d = get(g, c, "distances")->data;
    for (int i = 0; i < q->dims[0]; i++) {
        double d;
        ck_assert(cnn_mahalanobis_distance(&m, q->data + (size_t)i * p, &d, &err) == CNN_OK);
        ck_assert_msg(fabs(d - want_d[i]) <= 1e-4 * want_d[i], "%s: distance %d "
                      "is %.7g, scipy says %.7g", c, i, d, (double)want_d[i]);
    }
    /* a copy (as from a file) gives the same distances */
    cnn_mahalanobis copy;
    ck_assert(cnn_mahalanobis_copy(m.mean, m.factor, p, &copy, &err) == CNN_OK);
    ck_assert_ptr_ne(copy.mean, m.mean);
    double a, b;
    ck_assert(cnn_mahalanobis_distance(&m, q->data, &a, &err) == CNN_OK);
    ck_assert(cnn_mahalanobis_distance(&copy, q->data, &b, &err) == CNN_OK);
    ck_assert(a == b);
    cnn_mahalanobis_free(&copy);
    cnn_mahalanobis_free(&m);
    ck_assert_ptr_null(m.mean);
    golden_free(g);
}
END_TEST

START_TEST(refuses_too_few_or_constant_samples)
{
    float x[3 * 2] = {1, 2, 1, 2, 1, 2};
    cnn_mahalanobis m;
    cnn_error err;
    ck_assert_int_eq(cnn_mahalanobis_fit(x, 1, 2, &m, NULL, &err), CNN_ERR_ARG);
    ck_assert_int_eq(cnn_mahalanobis_fit(x, 3, 2, &m, NULL, &err), CNN_ERR_ARG);
    ck_assert_msg(strstr(err.message, "do not vary") != NULL, "%s", err.message);
    ck_assert_int_eq(m.dim, 0);
}
END_TEST

START_TEST(copy_refuses_what_is_not_a_factor)
{
    float mean[2] = {0, 0};
    float good[4] = {1, 0, 0.5f, 2};
    cnn_mahalanobis m;
    cnn_error err;
    ck_assert(cnn_mahalanobis_copy(mean, good, 2, &m, &err) == CNN_OK);
    double d;
    float x[2] = {1, 1};
    ck_assert(cnn_mahalanobis_distance(&m, x, &d, &err) == CNN_OK);
    /* z = (1, (1 - 0.5) / 2): d = sqrt(1 + 1/16) */
    ck_assert_msg(fabs(d - sqrt(1.0625)) < 1e-12, "%.17g", d);
    cnn_mahalanobis_free(&m);

    const float bad[][4] = {
        {1, 0.1f, 0.5f, 2},     /* upper triangle not 0 */
        {1, 0, 0.5f, 0},        /* zero on the diagonal */
        {-1, 0, 0.5f, 2},       /* negative diagonal */
        {1, 0, NAN, 2},         /* not finite */
        {1, 0, 0.5f, INFINITY},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(cnn_mahalanobis_copy(mean, bad[i], 2, &m, &err), CNN_ERR_FORMAT);
        ck_assert_msg(strstr(err.message, "Cholesky") != NULL, "%s", err.message);
    }
    float nan_mean[2] = {0, NAN};
    ck_assert_int_eq(cnn_mahalanobis_copy(nan_mean, good, 2, &m, &err), CNN_ERR_FORMAT);
    ck_assert_msg(strstr(err.message, "mean[1]") != NULL, "%s", err.message);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mahalanobis");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, fit_and_distances_match_scipy, 0,
                        (int)(sizeof CASES / sizeof CASES[0]));
    tcase_add_test(tc, refuses_too_few_or_constant_samples);
    tcase_add_test(tc, copy_refuses_what_is_not_a_factor);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
