/* loss.c - binary and softmax cross-entropy computed from logits.
 *
 * Both return the weighted mean over the batch, sum_i(w_i * l_i) / n, with
 * w_i = class_weight[label_i] (1 without weights). Dividing by n rather than
 * by sum(w_i) is PyTorch's BCEWithLogitsLoss(weight=w, reduction='mean'):
 * class weights then scale the gradient of a class, as Keras' class_weight
 * does, instead of being renormalized away per batch.
 *
 * Shapes: logits, targets, dlogits [n] (binary); logits, dlogits
 * [n, classes], labels [n] (softmax).
 */
#include <assert.h>
#include <math.h>

#include "cnn.h"

/* -log(sigmoid(z)) for target 1 and -log(1 - sigmoid(z)) for target 0, as
 * max(z, 0) - z*t + log(1 + exp(-|z|)): exp never overflows and log1p keeps
 * precision when exp(-|z|) is tiny. */
static double bce_term(double z, double t)
{
    return fmax(z, 0.0) - z * t + log1p(exp(-fabs(z)));
}

static double sigmoid(double z)
{
    if (z >= 0)
        return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

float cnn_bce_logits(int n, const float *logits, const float *targets,
                     const float *class_weight, float *dlogits)
{
    assert(n > 0 && logits && targets);
    double total = 0;
    for (int i = 0; i < n; i++) {
        double t = targets[i];
        double w = class_weight ? class_weight[t > 0.5] : 1.0;
        total += w * bce_term(logits[i], t);
        if (dlogits)
            dlogits[i] = (float)(w * (sigmoid(logits[i]) - t) / n);
    }
    return (float)(total / n);
}

float cnn_softmax_cross_entropy(int n, int classes, const float *logits,
                                const int *labels, const float *class_weight,
                                float *dlogits)
{
    assert(n > 0 && classes > 0 && logits && labels);
    double total = 0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * classes;
        int label = labels[i];
        assert(label >= 0 && label < classes);
        double w = class_weight ? class_weight[label] : 1.0;
        /* log-sum-exp shifted by the maximum */
        double max = z[0];
        for (int k = 1; k < classes; k++)
            max = fmax(max, z[k]);
        double sum = 0;
        for (int k = 0; k < classes; k++)
            sum += exp(z[k] - max);
        double log_sum = max + log(sum);
        total += w * (log_sum - z[label]);
        if (dlogits) {
            float *d = dlogits + (size_t)i * classes;
            for (int k = 0; k < classes; k++) {
                double p = exp(z[k] - log_sum);
                d[k] = (float)(w * (p - (k == label)) / n);
            }
        }
    }
    return (float)(total / n);
}
