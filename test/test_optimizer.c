/* test_optimizer.c - SGD (momentum, weight decay), Adam (with L2 weight
 * decay) and AdamW follow torch.optim's trajectories over several steps of
 * fixed gradients (test/gen_golden_ops.py). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "util/golden.h"
#include "util/suite.h"

#define GOLDEN "test/golden/optimizer.bin"

typedef enum { SGD, ADAM } kind;

typedef struct {
    const char *name;
    kind kind;
    float lr, momentum_or_beta1, beta2, eps, weight_decay;
    int decoupled;
} config;

/* The hyper-parameters of the configurations in gen_golden_ops.py. */
static const config CONFIGS[] = {
    {"sgd_momentum_wd", SGD, 0.1f, 0.9f, 0, 0, 0.01f, 0},
    {"sgd_plain", SGD, 0.05f, 0.0f, 0, 0, 0.0f, 0},
    {"adam", ADAM, 0.01f, 0.9f, 0.999f, 1e-8f, 0.0f, 0},
    {"adam_wd", ADAM, 0.01f, 0.8f, 0.99f, 1e-6f, 0.05f, 0},
    {"adamw", ADAM, 0.01f, 0.9f, 0.999f, 1e-8f, 0.1f, 1},
};

START_TEST(trajectory_matches_torch_optim)
{
    const config *c = &CONFIGS[_i];
    golden_file *g = golden_load(GOLDEN);
    const golden_array *p0 = golden_get(g, "param0"), *grads = golden_get(g, "grads");
    char key[64];
    snprintf(key, sizeof key, "%s/trajectory", c->name);
    const golden_array *want = golden_get(g, key);
    size_t count = p0->count;
    int steps = grads->dims[0];
    float *param = malloc(count * sizeof(float));
    float *m = calloc(count, sizeof(float)), *v = calloc(count, sizeof(float));
    memcpy(param, p0->data, count * sizeof(float));
    for (int k = 0; k < steps; k++) {
        const float *grad = grads->data + k * count;
        if (c->kind == SGD)
            /* without momentum no velocity is needed */
            cnn_sgd_update(count, param, grad, c->momentum_or_beta1 != 0 ? m : NULL, c->lr,
                           c->momentum_or_beta1, c->weight_decay);
        else
            cnn_adam_update(count, param, grad, m, v, k + 1, c->lr, c->momentum_or_beta1,
                            c->beta2, c->eps, c->weight_decay, c->decoupled);
        char what[96];
        snprintf(what, sizeof what, "%s step %d", c->name, k + 1);
        assert_close(what, param, want->data + k * count, count, 1e-6, 1e-5);
    }
    free(param);
    free(m);
    free(v);
    golden_free(g);
}
END_TEST

/* Large enough for the parallel path: each element follows the formulas. */
START_TEST(large_updates_follow_the_formulas)
{
    enum { COUNT = 100003 };
    float *p = malloc(COUNT * sizeof(float)), *g = malloc(COUNT * sizeof(float));
    float *vel = calloc(COUNT, sizeof(float));
    for (size_t i = 0; i < COUNT; i++) {
        p[i] = (float)(i % 7) - 3.0f;
        g[i] = (float)(i % 5) - 2.0f;
    }
    cnn_sgd_update(COUNT, p, g, vel, 0.5f, 0.9f, 0.1f);
    for (size_t i = 0; i < COUNT; i++) {
        float p0 = (float)(i % 7) - 3.0f, g0 = (float)(i % 5) - 2.0f;
        ck_assert_float_eq_tol(vel[i], g0 + 0.1f * p0, 1e-6f);
        ck_assert_float_eq_tol(p[i], p0 - 0.5f * (g0 + 0.1f * p0), 1e-6f);
    }
    free(p);
    free(g);
    free(vel);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("optimizer");
    TCase *tc = tcase_create("optimizer");
    tcase_add_loop_test(tc, trajectory_matches_torch_optim, 0,
                        sizeof CONFIGS / sizeof *CONFIGS);
    tcase_add_test(tc, large_updates_follow_the_formulas);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
