/* test_metrics.c - trainer metrics against hand-computed values and against
 * a brute-force pair count for AUC. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "../trainer/metrics.h"
#include "util/suite.h"

START_TEST(auc_with_ties_hand_computed)
{
    /* Pairs (pos, neg): (0.4,0.1)=1, (0.4,0.4)=0.5, (0.8,0.1)=1, (0.8,0.4)=1
     * -> 3.5 / 4. */
    const float p[] = {0.1f, 0.4f, 0.4f, 0.8f};
    const int y[] = {0, 0, 1, 1};
    ck_assert_double_eq_tol(metrics_auc(p, y, 4), 0.875, 1e-12);
}
END_TEST

START_TEST(auc_edge_cases)
{
    const float p[] = {0.2f, 0.3f, 0.7f, 0.9f};
    const int sorted[] = {0, 0, 1, 1}, inverted[] = {1, 1, 0, 0}, one[] = {1, 1, 1, 1};
    ck_assert_double_eq_tol(metrics_auc(p, sorted, 4), 1.0, 1e-12);
    ck_assert_double_eq_tol(metrics_auc(p, inverted, 4), 0.0, 1e-12);
    ck_assert(isnan(metrics_auc(p, one, 4)));
    const float same[] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    const int mixed[] = {0, 1, 0, 1, 1};
    ck_assert_double_eq_tol(metrics_auc(same, mixed, 5), 0.5, 1e-12);
}
END_TEST

/* P(pos > neg) + 0.5 P(pos == neg) by counting every pair. */
static double brute_force_auc(const float *p, const int *y, int n)
{
    double wins = 0, pairs = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (y[i] == 1 && y[j] == 0) {
                pairs++;
                wins += p[i] > p[j] ? 1.0 : p[i] == p[j] ? 0.5 : 0.0;
            }
    return wins / pairs;
}

START_TEST(auc_matches_pair_count_and_roc_area)
{
    enum { N = 300 };
    float p[N];
    int y[N];
    srand(7);
    for (int i = 0; i < N; i++) {
        y[i] = rand() % 3 != 0;
        /* few distinct values, so ties are common */
        p[i] = (float)(rand() % 20 + 5 * y[i]) / 25.0f;
    }
    double auc = metrics_auc(p, y, N);
    ck_assert_double_eq_tol(auc, brute_force_auc(p, y, N), 1e-12);
    roc_point pts[N + 1];
    size_t k = metrics_roc(p, y, N, pts);
    double area = 0;
    for (size_t i = 1; i < k; i++)
        area += (pts[i].fpr - pts[i - 1].fpr) * (pts[i].tpr + pts[i - 1].tpr) / 2;
    ck_assert_double_eq_tol(area, auc, 1e-12);
    ck_assert_double_eq(pts[k - 1].fpr, 1.0);
    ck_assert_double_eq(pts[k - 1].tpr, 1.0);
}
END_TEST

START_TEST(roc_points_hand_computed)
{
    const float p[] = {0.1f, 0.4f, 0.4f, 0.8f};
    const int y[] = {0, 0, 1, 1};
    roc_point pts[5];
    ck_assert_uint_eq(metrics_roc(p, y, 4, pts), 4);
    ck_assert(isinf(pts[0].threshold));
    ck_assert_double_eq(pts[0].fpr, 0.0);
    ck_assert_double_eq(pts[1].threshold, 0.8f);
    ck_assert_double_eq(pts[1].fpr, 0.0);
    ck_assert_double_eq(pts[1].tpr, 0.5);
    ck_assert_double_eq(pts[2].threshold, 0.4f);
    ck_assert_double_eq(pts[2].fpr, 0.5);
    ck_assert_double_eq(pts[2].tpr, 1.0);
    ck_assert_double_eq(pts[3].fpr, 1.0);
}
END_TEST

START_TEST(confusion_and_rates_hand_computed)
{
    /* threshold 0.5: predictions 0 0 1 1 1 0 1 0 1 0
     * labels               0 1 1 1 0 0 1 1 1 0
     * tp = 4 (idx 2,3,6,8), fp = 1 (4), fn = 2 (1,7), tn = 3 (0,5,9). */
    const float p[] = {0.1f, 0.3f, 0.5f, 0.9f, 0.6f, 0.2f, 0.7f, 0.49f, 0.8f, 0.0f};
    const int y[] = {0, 1, 1, 1, 0, 0, 1, 1, 1, 0};
    metrics_report r = metrics_compute(p, y, 10, 0.5);
    ck_assert_int_eq(r.cm.tp, 4);
    ck_assert_int_eq(r.cm.fp, 1);
    ck_assert_int_eq(r.cm.fn, 2);
    ck_assert_int_eq(r.cm.tn, 3);
    ck_assert_double_eq_tol(r.accuracy, 0.7, 1e-12);
    ck_assert_double_eq_tol(r.sensitivity, 4.0 / 6.0, 1e-12);
    ck_assert_double_eq_tol(r.specificity, 0.75, 1e-12);
    ck_assert_double_eq_tol(r.precision, 0.8, 1e-12);
    /* 2 * 0.8 * 2/3 / (0.8 + 2/3) = 16/22 */
    ck_assert_double_eq_tol(r.f1, 16.0 / 22.0, 1e-12);
}
END_TEST

START_TEST(nothing_predicted_positive_gives_zero_precision)
{
    const float p[] = {0.1f, 0.2f};
    const int y[] = {0, 1};
    metrics_report r = metrics_compute(p, y, 2, 0.9);
    ck_assert_double_eq(r.precision, 0.0);
    ck_assert_double_eq(r.f1, 0.0);
    ck_assert_double_eq(r.specificity, 1.0);
}
END_TEST

START_TEST(threshold_rule_hand_computed)
{
    /* positives at 0.2, 0.6, 0.7, 0.8; negatives at 0.1, 0.3, 0.35, 0.9 */
    const float p[] = {0.1f, 0.2f, 0.3f, 0.35f, 0.6f, 0.7f, 0.8f, 0.9f};
    const int y[] = {0, 1, 0, 0, 1, 1, 1, 0};
    /* 3 of 4 positives first reached at 0.6; halfway to 0.35 */
    double t = metrics_choose_threshold(p, y, 8, 0.75);
    ck_assert_double_eq_tol(t, 0.475, 1e-6);
    metrics_report r = metrics_compute(p, y, 8, t);
    ck_assert_double_eq(r.sensitivity, 0.75);
    ck_assert_double_eq(r.specificity, 0.75);
    /* all positives needed: down to 0.2, halfway to 0.1 */
    ck_assert_double_eq_tol(metrics_choose_threshold(p, y, 8, 0.95), 0.15, 1e-6);
    /* a positive at the lowest score: everything positive, threshold 0 */
    const int low[] = {1, 0, 0, 0, 1, 1, 1, 0};
    ck_assert_double_eq(metrics_choose_threshold(p, low, 8, 1.0), 0.0);
    const int none[] = {0, 0, 0, 0, 0, 0, 0, 0};
    ck_assert(isnan(metrics_choose_threshold(p, none, 8, 0.95)));
}
END_TEST

START_TEST(threshold_rule_with_tied_scores)
{
    /* A tie group is taken whole: 0.5 holds one positive and one negative. */
    const float p[] = {0.2f, 0.5f, 0.5f, 0.9f};
    const int y[] = {0, 1, 0, 1};
    double t = metrics_choose_threshold(p, y, 4, 0.95);
    ck_assert_double_eq_tol(t, 0.35, 1e-6);
    metrics_report r = metrics_compute(p, y, 4, t);
    ck_assert_double_eq(r.sensitivity, 1.0);
    ck_assert_double_eq(r.specificity, 0.5);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, auc_with_ties_hand_computed);
    tcase_add_test(tc, auc_edge_cases);
    tcase_add_test(tc, auc_matches_pair_count_and_roc_area);
    tcase_add_test(tc, roc_points_hand_computed);
    tcase_add_test(tc, confusion_and_rates_hand_computed);
    tcase_add_test(tc, nothing_predicted_positive_gives_zero_precision);
    tcase_add_test(tc, threshold_rule_hand_computed);
    tcase_add_test(tc, threshold_rule_with_tied_scores);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
