/* metrics.h - binary classification metrics on predicted probabilities:
 * confusion matrix, accuracy, sensitivity, specificity, precision, F1,
 * ROC AUC (ties counted as half, the Mann-Whitney rank form), ROC points,
 * and the rule that picks the decision threshold on validation data. */
#ifndef TRAINER_METRICS_H
#define TRAINER_METRICS_H

#include <stddef.h>

/* Counts at one threshold: positive (PNEUMONIA, label 1) predicted when
 * prob >= threshold. */
typedef struct {
    long tp, fp, tn, fn;
} confusion;

typedef struct {
    confusion cm;
    double threshold;
    double accuracy;
    double sensitivity;  /* recall of positives: tp / (tp + fn) */
    double specificity;  /* recall of negatives: tn / (tn + fp) */
    double precision;    /* tp / (tp + fp); 0 when nothing is predicted positive */
    double f1;           /* harmonic mean of precision and sensitivity */
    double auc;          /* threshold-free */
} metrics_report;

/* One ROC point: the rates when predicting positive for prob >= threshold. */
typedef struct {
    double threshold;
    double fpr, tpr;
} roc_point;

confusion metrics_confusion(const float *prob, const int *label, size_t n,
                            double threshold);
/* Everything above at `threshold`. */
metrics_report metrics_compute(const float *prob, const int *label, size_t n,
                               double threshold);

/* Area under the ROC curve = P(score of a random positive > score of a random
 * negative) + 0.5 * P(equal), computed from average ranks in O(n log n).
 * Returns NAN when one class is absent. */
double metrics_auc(const float *prob, const int *label, size_t n);

/* ROC curve: one point per distinct score (highest first), preceded by
 * (0, 0) at threshold +inf. points must hold n + 1 entries; returns the
 * number written. */
size_t metrics_roc(const float *prob, const int *label, size_t n,
                   roc_point *points);

/* The decision rule used for the shipped model: among thresholds that keep
 * sensitivity >= min_sensitivity on these (validation) predictions, take the
 * one with the highest specificity. Candidate thresholds are the distinct
 * scores; the chosen one is then moved halfway down to the next lower
 * distinct score (same counts on this data, a margin for new data), or to 0
 * when it is the lowest score. Returns NAN when there are no positives. */
double metrics_choose_threshold(const float *prob, const int *label, size_t n,
                                double min_sensitivity);

#endif
