/* test_dropout.c - inverted dropout: identity at rate 0, a kept fraction near
 * 1-rate on many values, kept values scaled by 1/(1-rate), the same seed
 * giving the same mask, and a backward that uses the mask (checked against
 * finite differences with the mask held fixed by reseeding). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "util/gradcheck.h"
#include "util/suite.h"

START_TEST(rate_zero_is_the_identity)
{
    enum { COUNT = 1000 };
    float x[COUNT], y[COUNT], dy[COUNT], dx[COUNT];
    uint8_t mask[COUNT];
    cnn_rng rng;
    cnn_rng_seed(&rng, 1);
    fill_uniform(x, COUNT, -2.0f, 2.0f, 1);
    fill_uniform(dy, COUNT, -2.0f, 2.0f, 2);
    cnn_dropout_forward(COUNT, 0.0f, &rng, x, y, mask);
    ck_assert(memcmp(x, y, sizeof x) == 0);
    cnn_dropout_backward(COUNT, 0.0f, mask, dy, dx);
    ck_assert(memcmp(dx, dy, sizeof dx) == 0);
}
END_TEST

START_TEST(keeps_about_one_minus_rate_and_rescales)
{
    enum { COUNT = 200000 };
    const float rates[] = {0.2f, 0.5f, 0.8f};
    float *x = malloc(COUNT * sizeof(float)), *y = malloc(COUNT * sizeof(float));
    uint8_t *mask = malloc(COUNT);
    fill_uniform(x, COUNT, 0.5f, 2.0f, 3); /* no zeros: dropped ones are visible */
    for (int k = 0; k < 3; k++) {
        float rate = rates[k];
        cnn_rng rng;
        cnn_rng_seed(&rng, 42 + k);
        cnn_dropout_forward(COUNT, rate, &rng, x, y, mask);
        size_t kept = 0;
        for (size_t i = 0; i < COUNT; i++) {
            if (mask[i]) {
                kept++;
                ck_assert_float_eq_tol(y[i], x[i] / (1.0f - rate), 1e-6f * y[i]);
            } else {
                ck_assert_float_eq(y[i], 0.0f);
            }
        }
        /* binomial: 5 standard deviations */
        double p = 1.0 - rate, sd = sqrt(p * (1 - p) / COUNT);
        ck_assert_double_eq_tol((double)kept / COUNT, p, 5 * sd);
    }
    free(x);
    free(y);
    free(mask);
}
END_TEST

START_TEST(same_seed_gives_the_same_mask)
{
    enum { COUNT = 5000 };
    float x[COUNT], y[COUNT];
    uint8_t a[COUNT], b[COUNT], c[COUNT];
    fill_uniform(x, COUNT, -1.0f, 1.0f, 4);
    cnn_rng rng;
    cnn_rng_seed(&rng, 7);
    cnn_dropout_forward(COUNT, 0.5f, &rng, x, y, a);
    cnn_rng_seed(&rng, 7);
    cnn_dropout_forward(COUNT, 0.5f, &rng, x, y, b);
    ck_assert(memcmp(a, b, COUNT) == 0);
    cnn_rng_seed(&rng, 8);
    cnn_dropout_forward(COUNT, 0.5f, &rng, x, y, c);
    ck_assert(memcmp(a, c, COUNT) != 0);
}
END_TEST

typedef struct {
    size_t count;
    float rate;
    float *x, *y;
    uint8_t *mask;
    const float *r;
} dropout_ctx;

static double dropout_loss(void *p)
{
    dropout_ctx *t = p;
    cnn_rng rng;
    cnn_rng_seed(&rng, 99); /* the same mask every time */
    cnn_dropout_forward(t->count, t->rate, &rng, t->x, t->y, t->mask);
    return dot_double(t->y, t->r, t->count);
}

START_TEST(backward_uses_the_mask)
{
    enum { COUNT = 300 };
    float x[COUNT], y[COUNT], r[COUNT], dx[COUNT];
    uint8_t mask[COUNT];
    fill_uniform(x, COUNT, -1.0f, 1.0f, 5);
    fill_uniform(r, COUNT, -1.0f, 1.0f, 6);
    dropout_ctx t = {COUNT, 0.4f, x, y, mask, r};
    dropout_loss(&t);
    cnn_dropout_backward(COUNT, 0.4f, mask, r, dx);
    for (size_t i = 0; i < COUNT; i++)
        ck_assert_float_eq_tol(dx[i], (mask[i] ? r[i] / 0.6f : 0.0f), 1e-6f);
    gradcheck("dropout dx", dropout_loss, &t, x, dx, COUNT, COUNT, 1e-3, 1e-4, 1e-2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dropout");
    TCase *tc = tcase_create("dropout");
    tcase_add_test(tc, rate_zero_is_the_identity);
    tcase_add_test(tc, keeps_about_one_minus_rate_and_rescales);
    tcase_add_test(tc, same_seed_gives_the_same_mask);
    tcase_add_test(tc, backward_uses_the_mask);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
