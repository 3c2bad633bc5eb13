/* test_batchnorm.c - batch normalization against PyTorch goldens
 * (test/gen_golden_ops.py) and central finite differences: training mode with
 * and without gamma, N > 1 and N = 1, running statistics after one update,
 * inference mode, results independent of the thread count, and a fused
 * ReLU exactly as batch norm then ReLU. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "util/golden.h"
#include "util/gradcheck.h"
#include "util/suite.h"

#define GOLDEN "test/golden/batchnorm.bin"

static float *copy_of(const golden_array *a)
{
    float *p = malloc(a->count * sizeof(float));
    memcpy(p, a->data, a->count * sizeof(float));
    return p;
}

static float *filled(size_t count, float value)
{
    float *p = malloc(count * sizeof(float));
    for (size_t i = 0; i < count; i++)
        p[i] = value;
    return p;
}

/* An optional array ("<case>/gamma" exists only with scale=True). */
static const golden_array *find(const golden_file *g, const char *name)
{
    for (int i = 0; i < g->count; i++)
        if (strcmp(g->arrays[i].name, name) == 0)
            return &g->arrays[i];
    return NULL;
}

static const golden_array *get(const golden_file *g, const char *c, const char *what)
{
    char name[128];
    snprintf(name, sizeof name, "%s/%s", c, what);
    return golden_get(g, name);
}

static const golden_array *find2(const golden_file *g, const char *c, const char *what)
{
    char name[128];
    snprintf(name, sizeof name, "%s/%s", c, what);
    return find(g, name);
}

/* Finite-difference context: L = sum(y * r) of one forward pass. */
typedef struct {
    int n, c, hw, training;
    float momentum, eps;
    float *x, *gamma, *beta;
    const float *running_mean, *running_var, *r;
    float *y, *scratch_mean, *scratch_var, *save_mean, *save_invstd;
} bn_ctx;

static double bn_loss(void *p)
{
    bn_ctx *t = p;
    size_t count = (size_t)t->n * t->c * t->hw;
    if (t->training) {
        /* the running statistics are outputs: update copies */
        memcpy(t->scratch_mean, t->running_mean, t->c * sizeof(float));
        memcpy(t->scratch_var, t->running_var, t->c * sizeof(float));
        cnn_batchnorm_forward_train(t->n, t->c, t->hw, t->x, t->gamma, t->beta,
                                    t->scratch_mean, t->scratch_var, t->momentum,
                                    t->eps, 0, t->y, t->save_mean, t->save_invstd);
    } else {
        cnn_batchnorm_forward_infer(t->n, t->c, t->hw, t->x, t->gamma, t->beta,
                                    t->running_mean, t->running_var, t->eps, 0, t->y);
    }
    return dot_double(t->y, t->r, count);
}

static void check_gradients(bn_ctx *t, const float *dx, const float *dgamma,
                            const float *dbeta, const char *name)
{
    char what[160];
    size_t count = (size_t)t->n * t->c * t->hw;
    snprintf(what, sizeof what, "%s dx", name);
    gradcheck(what, bn_loss, t, t->x, dx, count, 200, 1e-2, 2e-3, 2e-2);
    if (t->gamma) {
        snprintf(what, sizeof what, "%s dgamma", name);
        gradcheck(what, bn_loss, t, t->gamma, dgamma, t->c, 64, 1e-2, 2e-3, 2e-2);
    }
    snprintf(what, sizeof what, "%s dbeta", name);
    gradcheck(what, bn_loss, t, t->beta, dbeta, t->c, 64, 1e-2, 2e-3, 2e-2);
}

static const char *const TRAIN_CASES[] = {"train_n2", "train_n2_nogamma", "train_n1"};

START_TEST(training_mode_matches_pytorch_and_finite_differences)
{
    golden_file *g = golden_load(GOLDEN);
    const char *name = TRAIN_CASES[_i];
    const float *shape = get(g, name, "shape")->data;
    int n = (int)shape[0], c = (int)shape[1], hw = (int)shape[2];
    float momentum = shape[3], eps = shape[4];
    size_t count = (size_t)n * c * hw;
    const golden_array *gamma_g = find2(g, name, "gamma");
    float *x = copy_of(get(g, name, "x"));
    float *gamma = gamma_g ? copy_of(gamma_g) : NULL;
    float *beta = copy_of(get(g, name, "beta"));
    float *rmean = copy_of(get(g, name, "running_mean_in"));
    float *rvar = copy_of(get(g, name, "running_var_in"));
    float *y = malloc(count * sizeof(float)), *dx = malloc(count * sizeof(float));
    float *save_mean = malloc(c * sizeof(float)), *save_invstd = malloc(c * sizeof(float));

    cnn_batchnorm_forward_train(n, c, hw, x, gamma, beta, rmean, rvar, momentum,
                                eps, 0, y, save_mean, save_invstd);
    assert_close("y", y, get(g, name, "y")->data, count, 1e-5, 1e-4);
    assert_close("running_mean", rmean, get(g, name, "running_mean")->data, c, 1e-6, 1e-5);
    assert_close("running_var", rvar, get(g, name, "running_var")->data, c, 1e-6, 1e-5);

    /* parameter gradients accumulate onto what is there */
    float *dgamma = filled(c, 1.0f), *dbeta = filled(c, 1.0f);
    const float *r = get(g, name, "r")->data;
    cnn_batchnorm_backward_train(n, c, hw, x, gamma, save_mean, save_invstd, r, dx,
                                 dgamma, dbeta);
    assert_close("dx", dx, get(g, name, "dx")->data, count, 1e-5, 1e-4);
    float *want = copy_of(get(g, name, "dbeta"));
    for (int k = 0; k < c; k++)
        want[k] += 1.0f;
    assert_close("dbeta", dbeta, want, c, 1e-5, 1e-5);
    free(want);
    if (gamma) {
        want = copy_of(get(g, name, "dgamma"));
        for (int k = 0; k < c; k++)
            want[k] += 1.0f;
        assert_close("dgamma", dgamma, want, c, 1e-5, 1e-5);
        free(want);
    } else {
        for (int k = 0; k < c; k++) /* scale=False produces no dgamma */
            ck_assert_float_eq(dgamma[k], 1.0f);
    }

    /* finite differences, from zeroed parameter gradients */
    memset(dgamma, 0, c * sizeof(float));
    memset(dbeta, 0, c * sizeof(float));
    cnn_batchnorm_backward_train(n, c, hw, x, gamma, save_mean, save_invstd, r, dx,
                                 dgamma, dbeta);
    float *scratch_mean = malloc(c * sizeof(float)), *scratch_var = malloc(c * sizeof(float));
    bn_ctx t = {n, c, hw, 1, momentum, eps, x, gamma, beta,
                get(g, name, "running_mean_in")->data, get(g, name, "running_var_in")->data,
                r, y, scratch_mean, scratch_var, save_mean, save_invstd};
    check_gradients(&t, dx, dgamma, dbeta, name);

    /* NULL gradients are skipped */
    cnn_batchnorm_backward_train(n, c, hw, x, gamma, save_mean, save_invstd, r, NULL,
                                 NULL, NULL);

    free(scratch_mean); free(scratch_var);
    free(x); free(gamma); free(beta); free(rmean); free(rvar); free(y); free(dx);
    free(save_mean); free(save_invstd); free(dgamma); free(dbeta);
    golden_free(g);
}
END_TEST

static const char *const INFER_CASES[] = {"infer", "infer_nogamma"};

START_TEST(inference_mode_matches_pytorch_and_finite_differences)
{
    golden_file *g = golden_load(GOLDEN);
    const char *name = INFER_CASES[_i];
    const float *shape = get(g, name, "shape")->data;
    int n = (int)shape[0], c = (int)shape[1], hw = (int)shape[2];
    float eps = shape[4];
    size_t count = (size_t)n * c * hw;
    const golden_array *gamma_g = find2(g, name, "gamma");
    float *x = copy_of(get(g, name, "x"));
    float *gamma = gamma_g ? copy_of(gamma_g) : NULL;
    float *beta = copy_of(get(g, name, "beta"));
    const float *rmean = get(g, name, "running_mean")->data;
    const float *rvar = get(g, name, "running_var")->data;
    const float *r = get(g, name, "r")->data;
    float *y = malloc(count * sizeof(float)), *dx = malloc(count * sizeof(float));
    float *dgamma = filled(c, 0.0f), *dbeta = filled(c, 0.0f);

    cnn_batchnorm_forward_infer(n, c, hw, x, gamma, beta, rmean, rvar, eps, 0, y);
    assert_close("y", y, get(g, name, "y")->data, count, 1e-5, 1e-4);
    cnn_batchnorm_backward_infer(n, c, hw, x, gamma, rmean, rvar, eps, r, dx, dgamma,
                                 dbeta);
    assert_close("dx", dx, get(g, name, "dx")->data, count, 1e-5, 1e-4);
    assert_close("dbeta", dbeta, get(g, name, "dbeta")->data, c, 1e-5, 1e-5);
    if (gamma)
        assert_close("dgamma", dgamma, get(g, name, "dgamma")->data, c, 1e-5, 1e-5);

    bn_ctx t = {n, c, hw, 0, 0.0f, eps, x, gamma, beta, rmean, rvar, r, y,
                NULL, NULL, NULL, NULL};
    check_gradients(&t, dx, dgamma, dbeta, name);

    free(x); free(gamma); free(beta); free(y); free(dx); free(dgamma); free(dbeta);
    golden_free(g);
}
END_TEST

/* Per-channel sums are taken in a fixed order by one thread each, so one
 * thread and two threads give bit-identical results. */
START_TEST(results_do_not_depend_on_thread_count)
{
    enum { N = 3, C = 17, HW = 29 * 31 };
    const size_t count = (size_t)N * C * HW;
    float *x = malloc(count * sizeof(float)), *dy = malloc(count * sizeof(float));
    float gamma[C], beta[C];
    fill_uniform(x, count, -3.0f, 5.0f, 11);
    fill_uniform(dy, count, -1.0f, 1.0f, 12);
    fill_uniform(gamma, C, 0.5f, 1.5f, 13);
    fill_uniform(beta, C, -1.0f, 1.0f, 14);
    float *y[2], *dx[2], stats[2][4][C];
    for (int run = 0; run < 2; run++) {
        cnn_set_threads(run + 1);
        y[run] = malloc(count * sizeof(float));
        dx[run] = malloc(count * sizeof(float));
        for (int k = 0; k < C; k++) {
            stats[run][0][k] = 0.0f;
            stats[run][1][k] = 1.0f;
        }
        float save_mean[C], save_invstd[C];
        cnn_batchnorm_forward_train(N, C, HW, x, gamma, beta, stats[run][0],
                                    stats[run][1], 0.99f, 1e-3f, 0, y[run],
                                    save_mean, save_invstd);
        memset(stats[run][2], 0, sizeof stats[run][2]);
        memset(stats[run][3], 0, sizeof stats[run][3]);
        cnn_batchnorm_backward_train(N, C, HW, x, gamma, save_mean, save_invstd, dy,
                                     dx[run], stats[run][2], stats[run][3]);
    }
    cnn_set_threads(0);
    ck_assert(memcmp(y[0], y[1], count * sizeof(float)) == 0);
    ck_assert(memcmp(dx[0], dx[1], count * sizeof(float)) == 0);
    ck_assert(memcmp(stats[0], stats[1], sizeof stats[0]) == 0);
    for (int run = 0; run < 2; run++) {
        free(y[run]);
        free(dx[run]);
    }
    free(x);
    free(dy);
}
END_TEST

/* With a ReLU fused, both modes write bit for bit what batch norm followed
 * by cnn_relu_forward writes, and the same statistics. */
START_TEST(fused_relu_equals_batchnorm_then_relu)
{
    enum { N = 2, C = 5, HW = 7 * 9 };
    const size_t count = (size_t)N * C * HW;
    float *x = malloc(count * sizeof(float)), *y[2];
    float gamma[C], beta[C], stats[2][4][C];
    fill_uniform(x, count, -3.0f, 5.0f, 21);
    fill_uniform(gamma, C, 0.5f, 1.5f, 23);
    fill_uniform(beta, C, -1.0f, 1.0f, 24); /* about half the outputs < 0 */
    for (int training = 0; training < 2; training++) {
        for (int fused = 0; fused < 2; fused++) {
            float *s = &stats[fused][0][0];
            fill_uniform(s, C, -0.5f, 0.5f, 25);         /* running mean */
            fill_uniform(s + C, C, 0.5f, 2.0f, 26);      /* running variance */
            y[fused] = malloc(count * sizeof(float));
            if (training)
                cnn_batchnorm_forward_train(N, C, HW, x, gamma, beta, s, s + C, 0.9f,
                                            1e-3f, fused, y[fused], s + 2 * C,
                                            s + 3 * C);
            else
                cnn_batchnorm_forward_infer(N, C, HW, x, gamma, beta, s, s + C, 1e-3f,
                                            fused, y[fused]);
            if (!fused)
                cnn_relu_forward(count, y[0], y[0]);
        }
        int zeros = 0;
        for (size_t i = 0; i < count; i++)
            zeros += y[1][i] == 0.0f;
        ck_assert_int_gt(zeros, (int)count / 5);
        ck_assert(memcmp(y[0], y[1], count * sizeof(float)) == 0);
        if (training)
            ck_assert(memcmp(stats[0], stats[1], sizeof stats[0]) == 0);
        free(y[0]);
        free(y[1]);
    }
    free(x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("batchnorm");
    TCase *tc = tcase_create("batchnorm");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, training_mode_matches_pytorch_and_finite_differences, 0,
                        sizeof TRAIN_CASES / sizeof *TRAIN_CASES);
    tcase_add_loop_test(tc, inference_mode_matches_pytorch_and_finite_differences, 0,
                        sizeof INFER_CASES / sizeof *INFER_CASES);
    tcase_add_test(tc, results_do_not_depend_on_thread_count);
    tcase_add_test(tc, fused_relu_equals_batchnorm_then_relu);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
