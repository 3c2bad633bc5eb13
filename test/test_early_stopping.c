/* test_early_stopping.c - early stopping on scripted validation curves: it
 * stops at the epoch worked out by hand and puts back the best weights. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "../trainer/early_stopping.h"
#include "util/suite.h"

/* Runs a scripted curve; the "weights" at epoch e are all e. Returns the
 * epoch at which training stopped (curve length if it never did). */
static int run_curve(early_stopping *es, const double *curve, int epochs,
                     float *w, size_t count)
{
    for (int e = 1; e <= epochs; e++) {
        for (size_t i = 0; i < count; i++)
            w[i] = (float)e;
        if (es_update(es, e, curve[e - 1]))
            return e;
    }
    return epochs;
}

START_TEST(val_loss_stops_after_patience_and_restores_best)
{
    /* patience 3, min-delta 1e-3: epoch 3 (0.6) is the best; 0.5995 at
     * epoch 4 is better by less than min-delta, so epochs 4, 5, 6 count as
     * bad and training stops at 6 (0.4 at epoch 7 is never seen). */
    const double curve[] = {1.0, 0.8, 0.6, 0.5995, 0.65, 0.62, 0.4};
    early_stopping es;
    ck_assert_int_eq(es_init(&es, ES_MONITOR_VAL_LOSS, 3, 1e-3, NULL), CNN_OK);
    float a[5], b[3];
    ck_assert_int_eq(es_add_span(&es, a, 5, NULL), CNN_OK);
    ck_assert_int_eq(es_add_span(&es, b, 3, NULL), CNN_OK);
    int stopped = 0;
    for (int e = 1; e <= 7 && !stopped; e++) {
        for (int i = 0; i < 5; i++) a[i] = (float)e;
        for (int i = 0; i < 3; i++) b[i] = (float)(10 * e);
        if (es_update(&es, e, curve[e - 1]))
            stopped = e;
    }
    ck_assert_int_eq(stopped, 6);
    ck_assert_int_eq(es.stopped_epoch, 6);
    ck_assert_int_eq(es.best_epoch, 3);
    ck_assert_double_eq(es.best_value, 0.6);
    es_restore_best(&es);
    for (int i = 0; i < 5; i++) ck_assert_float_eq(a[i], 3.0f);
    for (int i = 0; i < 3; i++) ck_assert_float_eq(b[i], 30.0f);
    es_free(&es);
}
END_TEST

START_TEST(val_auc_higher_is_better)
{
    /* patience 2: best at epoch 2 (0.9); 0.9005 is within min-delta */
    const double curve[] = {0.7, 0.9, 0.9005, 0.85, 0.99};
    early_stopping es;
    ck_assert_int_eq(es_init(&es, ES_MONITOR_VAL_AUC, 2, 1e-3, NULL), CNN_OK);
    float w[4];
    ck_assert_int_eq(es_add_span(&es, w, 4, NULL), CNN_OK);
    ck_assert_int_eq(run_curve(&es, curve, 5, w, 4), 4);
    ck_assert_int_eq(es.best_epoch, 2);
    es_restore_best(&es);
    ck_assert_float_eq(w[0], 2.0f);
    es_free(&es);
}
END_TEST

START_TEST(improvement_resets_patience)
{
    /* patience 2, min-delta 0: single bad epochs (2, 4) are forgiven by the
     * next improvement; 6 and 7 are two in a row after the best (5). */
    const double curve[] = {1.0, 1.1, 0.9, 0.95, 0.8, 0.85, 0.86};
    early_stopping es;
    ck_assert_int_eq(es_init(&es, ES_MONITOR_VAL_LOSS, 2, 0.0, NULL), CNN_OK);
    float w[1];
    ck_assert_int_eq(es_add_span(&es, w, 1, NULL), CNN_OK);
    ck_assert_int_eq(run_curve(&es, curve, 7, w, 1), 7);
    ck_assert_int_eq(es.stopped_epoch, 7);
    ck_assert_int_eq(es.best_epoch, 5);
    es_restore_best(&es);
    ck_assert_float_eq(w[0], 5.0f);
    es_free(&es);
}
END_TEST

START_TEST(nan_never_improves_and_bad_options_are_refused)
{
    early_stopping es;
    ck_assert_int_eq(es_init(&es, ES_MONITOR_VAL_LOSS, 0, 0.0, NULL), CNN_ERR_ARG);
    ck_assert_int_eq(es_init(&es, ES_MONITOR_VAL_LOSS, 1, -1.0, NULL), CNN_ERR_ARG);
    ck_assert_int_eq(es_init(&es, ES_MONITOR_VAL_LOSS, 1, 0.0, NULL), CNN_OK);
    ck_assert_int_eq(es_update(&es, 1, NAN), 1);
    ck_assert_int_eq(es.best_epoch, 0);
    es_free(&es);
    es_monitor m;
    ck_assert_int_eq(es_monitor_parse("val_auc", &m, NULL), CNN_OK);
    ck_assert_int_eq(m, ES_MONITOR_VAL_AUC);
    ck_assert_int_eq(es_monitor_parse("accuracy", &m, NULL), CNN_ERR_ARG);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("early_stopping");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, val_loss_stops_after_patience_and_restores_best);
    tcase_add_test(tc, val_auc_higher_is_better);
    tcase_add_test(tc, improvement_resets_patience);
    tcase_add_test(tc, nan_never_improves_and_bad_options_are_refused);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
