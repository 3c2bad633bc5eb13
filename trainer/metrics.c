/* metrics.c - confusion matrix, rates, ROC AUC (rank form), ROC points and
 * the validation threshold rule. */
#include <math.h>
#include <stdlib.h>

#include "metrics.h"

typedef struct {
    float score;
    int label;
} scored;

static int by_score_ascending(const void *a, const void *b)
{
    float x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return (x > y) - (x < y);
}

/* prob/label pairs sorted by score, ascending; NULL when out of memory. */
static scored *sorted_pairs(const float *prob, const int *label, size_t n)
{
    scored *s = malloc((n ? n : 1) * sizeof *s);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        s[i].score = prob[i];
        s[i].label = label[i] != 0;
    }
    qsort(s, n, sizeof *s, by_score_ascending);
    return s;
}

static double ratio(double num, double den) { return den > 0 ? num / den : 0.0; }

confusion metrics_confusion(const float *prob, const int *label, size_t n,
                            double threshold)
{
    confusion c = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        int predicted = prob[i] >= threshold;
        if (label[i])
            predicted ? c.tp++ : c.fn++;
        else
            predicted ? c.fp++ : c.tn++;
    }
    return c;
}

metrics_report metrics_compute(const float *prob, const int *label, size_t n,
                               double threshold)
{
    metrics_report r;
    r.cm = metrics_confusion(prob, label, n, threshold);
    r.threshold = threshold;
    double tp = r.cm.tp, fp = r.cm.fp, tn = r.cm.tn, fn = r.cm.fn;
    r.accuracy = ratio(tp + tn, tp + tn + fp + fn);
    r.sensitivity = ratio(tp, tp + fn);
    r.specificity = ratio(tn, tn + fp);
    r.precision = ratio(tp, tp + fp);
    r.f1 = ratio(2 * r.precision * r.sensitivity, r.precision + r.sensitivity);
    r.auc = metrics_auc(prob, label, n);
    return r;
}

double metrics_auc(const float *prob, const int *label, size_t n)
{
    scored *s = sorted_pairs(prob, label, n);
    if (!s)
        return NAN;
    double positives = 0, rank_sum = 0;
    /* Ranks start at 1; a run of equal scores shares its average rank. */
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j].score == s[i].score)
            j++;
        double average_rank = (double)(i + 1 + j) / 2.0;
        for (size_t k = i; k < j; k++)
            if (s[k].label) {
                positives++;
                rank_sum += average_rank;
            }
        i = j;
    }
    free(s);
    double negatives = (double)n - positives;
    if (positives == 0 || negatives == 0)
        return NAN;
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives);
}

size_t metrics_roc(const float *prob, const int *label, size_t n,
                   roc_point *points)
{
    scored *s = sorted_pairs(prob, label, n);
    if (!s)
        return 0;
    double positives = 0;
    for (size_t i = 0; i < n; i++)
        positives += s[i].label;
    double negatives = (double)n - positives;
    size_t count = 0;
    points[count++] = (roc_point){INFINITY, 0.0, 0.0};
    double tp = 0, fp = 0;
    /* Walk from the highest score down; each distinct score is a threshold. */
    for (size_t end = n; end > 0;) {
        size_t begin = end;
        while (begin > 0 && s[begin - 1].score == s[end - 1].score)
            begin--;
        for (size_t k = begin; k < end; k++)
            s[k].label ? tp++ : fp++;
        points[count++] = (roc_point){s[begin].score, ratio(fp, negatives),
                                      ratio(tp, positives)};
        end = begin;
    }
    free(s);
    return count;
}

double metrics_choose_threshold(const float *prob, const int *label, size_t n,
                                double min_sensitivity)
{
    scored *s = sorted_pairs(prob, label, n);
    if (!s)
        return NAN;
    double positives = 0;
    for (size_t i = 0; i < n; i++)
        positives += s[i].label;
    double chosen = NAN;
    double tp = 0;
    /* Lowering the threshold one distinct score at a time only adds
     * predicted positives, so specificity only falls: the first threshold
     * that reaches the sensitivity target has the highest specificity. */
    for (size_t end = n; positives > 0 && end > 0;) {
        size_t begin = end;
        while (begin > 0 && s[begin - 1].score == s[end - 1].score)
            begin--;
        for (size_t k = begin; k < end; k++)
            tp += s[k].label;
        if (tp / positives >= min_sensitivity) {
            float here = s[begin].score;
            if (begin == 0) {
                chosen = 0.0;
            } else {
                float below = s[begin - 1].score;
                float mid = below + (here - below) / 2;
                chosen = mid > below ? mid : here;
            }
            break;
        }
        end = begin;
    }
    free(s);
    return chosen;
}
