/* test_loss.c - binary cross-entropy on logits and softmax cross-entropy,
 * with and without class weights, against PyTorch in double
 * (test/gen_golden_ops.py), and their gradients against finite differences.
 * Logits of +-1e4 must give finite values (the correct ones), never inf/NaN. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "util/golden.h"
#include "util/gradcheck.h"
#include "util/suite.h"

#define GOLDEN "test/golden/loss.bin"

typedef struct {
    int n, classes; /* classes 0: binary */
    float *logits;
    const float *targets;
    const int *labels;
    const float *class_weight;
} loss_ctx;

static double loss_value(void *p)
{
    loss_ctx *t = p;
    if (t->classes == 0)
        return cnn_bce_logits(t->n, t->logits, t->targets, t->class_weight, NULL);
    return cnn_softmax_cross_entropy(t->n, t->classes, t->logits, t->labels,
                                     t->class_weight, NULL);
}

/* Finite differences on the batch from row `first` on, which holds only
 * moderate logits: a float step on 1e4 would be lost in the rounding of an
 * astronomically large loss. */
static void check_gradients(const loss_ctx *full, int first)
{
    int per_row = full->classes ? full->classes : 1;
    loss_ctx t = *full;
    t.n -= first;
    t.logits += first * per_row;
    if (t.targets)
        t.targets += first;
    if (t.labels)
        t.labels += first;
    size_t count = (size_t)t.n * per_row;
    for (size_t i = 0; i < count; i++)
        ck_assert_float_le(fabsf(t.logits[i]), 100.0f);
    float *d = malloc(count * sizeof(float));
    if (t.classes == 0)
        cnn_bce_logits(t.n, t.logits, t.targets, t.class_weight, d);
    else
        cnn_softmax_cross_entropy(t.n, t.classes, t.logits, t.labels, t.class_weight, d);
    gradcheck("dlogits", loss_value, &t, t.logits, d, count, count, 1e-2, 1e-5, 1e-2);
    free(d);
}

START_TEST(binary_cross_entropy_matches_pytorch)
{
    golden_file *g = golden_load(GOLDEN);
    const golden_array *z = golden_get(g, "bce/logits");
    int n = (int)z->count;
    float *logits = malloc(n * sizeof(float)), *d = malloc(n * sizeof(float));
    memcpy(logits, z->data, n * sizeof(float));
    const float *targets = golden_get(g, "bce/targets")->data;
    const float *weights = golden_get(g, "bce/class_weight")->data;
    for (int weighted = 1; weighted >= 0; weighted--) {
        const char *name = weighted ? "bce" : "bce_unweighted";
        char key[64];
        const float *w = weighted ? weights : NULL;
        float value = cnn_bce_logits(n, logits, targets, w, d);
        ck_assert(isfinite(value));
        snprintf(key, sizeof key, "%s/loss", name);
        assert_close(name, &value, golden_get(g, key)->data, 1, 1e-6, 1e-6);
        snprintf(key, sizeof key, "%s/dlogits", name);
        assert_close("bce dlogits", d, golden_get(g, key)->data, n, 1e-8, 1e-5);
        loss_ctx t = {n, 0, logits, targets, NULL, w};
        check_gradients(&t, 7); /* the first 7 logits are the extreme ones */
        /* the value without a gradient is the same */
        ck_assert_float_eq(cnn_bce_logits(n, logits, targets, w, NULL), value);
    }
    free(logits);
    free(d);
    golden_free(g);
}
END_TEST

START_TEST(extreme_logits_are_finite_and_exact)
{
    /* target matches the sign: loss ~ exp(-|z|); mismatch: loss ~ |z| */
    const float z[] = {1e30f, -1e30f, 1e30f, 88.0f, -90.0f};
    const float t[] = {1, 0, 0, 1, 1};
    float d[5];
    float value = cnn_bce_logits(5, z, t, NULL, d);
    ck_assert(isfinite(value));
    ck_assert_float_eq_tol(value, (1e30f + 90.0f) / 5, 1e24f);
    ck_assert_float_eq_tol(d[2], 0.2f, 1e-7f);
    ck_assert_float_eq_tol(d[4], -0.2f, 1e-7f);
    ck_assert_float_eq_tol(d[0], 0.0f, 1e-30f);
    ck_assert_float_eq_tol(cnn_bce_logits(1, z + 3, t + 3, NULL, NULL), expf(-88.0f),
                           1e-6f * expf(-88.0f));
}
END_TEST

START_TEST(softmax_cross_entropy_matches_pytorch)
{
    golden_file *g = golden_load(GOLDEN);
    const golden_array *z = golden_get(g, "ce/logits");
    int n = z->dims[0], classes = z->dims[1];
    float *logits = malloc(z->count * sizeof(float)), *d = malloc(z->count * sizeof(float));
    memcpy(logits, z->data, z->count * sizeof(float));
    int *labels = malloc(n * sizeof(int));
    for (int i = 0; i < n; i++)
        labels[i] = (int)golden_get(g, "ce/labels")->data[i];
    const float *weights = golden_get(g, "ce/class_weight")->data;
    for (int weighted = 1; weighted >= 0; weighted--) {
        const char *name = weighted ? "ce" : "ce_unweighted";
        char key[64];
        const float *w = weighted ? weights : NULL;
        float value = cnn_softmax_cross_entropy(n, classes, logits, labels, w, d);
        snprintf(key, sizeof key, "%s/loss", name);
        assert_close(name, &value, golden_get(g, key)->data, 1, 1e-6, 1e-6);
        snprintf(key, sizeof key, "%s/dlogits", name);
        assert_close("ce dlogits", d, golden_get(g, key)->data, z->count, 1e-8, 1e-5);
        loss_ctx t = {n, classes, logits, NULL, labels, w};
        check_gradients(&t, 2); /* rows 0 and 1 hold +-1000 and +-500 */
    }
    free(labels);
    free(logits);
    free(d);
    golden_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("loss");
    tcase_add_test(tc, binary_cross_entropy_matches_pytorch);
    tcase_add_test(tc, extreme_logits_are_finite_and_exact);
    tcase_add_test(tc, softmax_cross_entropy_matches_pytorch);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
