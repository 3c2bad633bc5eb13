/* mahalanobis.h - how far a vector lies from a set of samples: the
 * Mahalanobis distance sqrt((x - mean)^T C^-1 (x - mean)) under the
 * samples' mean and a shrunk covariance C.
 *
 * With a few hundred dimensions and a few thousand samples the sample
 * covariance is poorly conditioned (or singular), and its inverse would
 * magnify the directions the samples happened not to vary in. C is
 * therefore the Ledoit-Wolf estimate (Ledoit and Wolf 2004, "A
 * well-conditioned estimator for large-dimensional covariance matrices"),
 * the sample covariance S (divided by n) pulled towards mu I, mu = tr(S)/dim:
 *   C = (1 - s) S + s mu I
 * with the shrinkage s that minimizes the expected squared error (the
 * formula of scikit-learn's ledoit_wolf_shrinkage), and at least
 * CNN_MAHALANOBIS_MIN_SHRINKAGE. The fit runs in double precision; C is
 * kept as its lower Cholesky factor L (C = L L^T) in float32, and a
 * distance is a forward substitution, also in double. */
#ifndef CNN_MAHALANOBIS_H
#define CNN_MAHALANOBIS_H

#include "cnn.h"

/* Directions in which no sample varies (for example the mean of a vector
 * that was standardized per sample) still get a variance of at least this
 * share of mu, so that float32 rounding in them is not magnified into a
 * distance. */
#define CNN_MAHALANOBIS_MIN_SHRINKAGE 1e-3

typedef struct {
    int dim;         /* 0: no statistics */
    float *mean;     /* [dim], followed in the same allocation by */
    float *factor;   /* [dim][dim] row-major: its lower triangle (with the
                        diagonal) is L, the rest is 0 */
} cnn_mahalanobis;

/* Fits mean and C to n samples x [n][dim] (n >= 2). *shrinkage (may be
 * NULL) receives s. Fails with CNN_ERR_ARG when C is not positive definite
 * (every sample equal) and CNN_ERR_NOMEM. */
cnn_status cnn_mahalanobis_fit(const float *x, int n, int dim,
                               cnn_mahalanobis *out, double *shrinkage,
                               cnn_error *err);

/* A copy of statistics stored elsewhere (e.g. in a model file), after
 * checking that every value is finite, that L's diagonal is positive and
 * that its upper triangle is 0 (CNN_ERR_FORMAT otherwise, naming what). */
cnn_status cnn_mahalanobis_copy(const float *mean, const float *factor,
                                int dim, cnn_mahalanobis *out, cnn_error *err);

/* The distance of x [dim] into *out (CNN_ERR_NOMEM for the dim doubles of
 * scratch it needs). */
cnn_status cnn_mahalanobis_distance(const cnn_mahalanobis *m, const float *x,
                                    double *out, cnn_error *err);

void cnn_mahalanobis_free(cnn_mahalanobis *m);

#endif
