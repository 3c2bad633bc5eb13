/* mahalanobis.c - mean, Ledoit-Wolf shrunk covariance as a Cholesky factor,
 * and distances (see mahalanobis.h). */
#include "mahalanobis.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The Ledoit-Wolf shrinkage of the lower triangle of S = Xc^T Xc / n, from
 * the centred samples xc [n][p]: the squared error of S against its
 * expectation (beta) over the spread of S's eigenvalues around mu (delta);
 * sum_k |x_k x_k^T - S|_F^2 = sum_k |x_k|^4 - n |S|_F^2 saves forming the
 * outer products. */
static double ledoit_wolf(const double *xc, int n, int p, const double *s,
                          double mu)
{
    double frob2 = 0.0;
    for (int i = 0; i < p; i++) {
        for (int j = 0; j < i; j++)
            frob2 += 2.0 * s[(size_t)i * p + j] * s[(size_t)i * p + j];
        frob2 += s[(size_t)i * p + i] * s[(size_t)i * p + i];
    }
    double sum4 = 0.0;
    for (int k = 0; k < n; k++) {
        double sq = 0.0;
        for (int j = 0; j < p; j++)
            sq += xc[(size_t)k * p + j] * xc[(size_t)k * p + j];
        sum4 += sq * sq;
    }
    double delta = (frob2 - p * mu * mu) / p;
    double beta = (sum4 / n - frob2) / ((double)p * n);
    if (beta > delta)
        beta = delta;
    double shrink = delta > 0.0 ? beta / delta : 0.0;
    return shrink > CNN_MAHALANOBIS_MIN_SHRINKAGE ? shrink
                                                  : CNN_MAHALANOBIS_MIN_SHRINKAGE;
}

/* In place: the lower triangle of c [p][p] becomes L with L L^T = c.
 * Returns 0 when c is not positive definite. */
static int cholesky(double *c, int p)
{
    for (int j = 0; j < p; j++) {
        double *row_j = c + (size_t)j * p;
        double d = row_j[j];
        for (int k = 0; k < j; k++)
            d -= row_j[k] * row_j[k];
        if (!(d > 0.0))
            return 0;
        row_j[j] = sqrt(d);
        for (int i = j + 1; i < p; i++) {
            double *row_i = c + (size_t)i * p;
            double v = row_i[j];
            for (int k = 0; k < j; k++)
                v -= row_i[k] * row_j[k];
            row_i[j] = v / row_j[j];
        }
    }
    return 1;
}

cnn_status cnn_mahalanobis_fit(const float *x, int n, int dim,
                               cnn_mahalanobis *out, double *shrinkage,
                               cnn_error *err)
{
    memset(out, 0, sizeof *out);
    if (n < 2 || dim < 1)
        return cnn_fail(err, CNN_ERR_ARG, "a covariance needs at least 2 samples "
                        "of at least 1 value (got %d of %d)", n, dim);
    size_t p = (size_t)dim;
    double *mean = calloc(p, sizeof *mean);
    double *xc = malloc((size_t)n * p * sizeof *xc);
    double *c = calloc(p * p, sizeof *c);
    float *owned = malloc((p + p * p) * sizeof *owned);
    cnn_status st = mean && xc && c && owned
                        ? CNN_OK
                        : cnn_fail(err, CNN_ERR_NOMEM, "out of memory for a "
                                   "%d x %d covariance", dim, dim);
    if (st == CNN_OK) {
        for (int k = 0; k < n; k++)
            for (size_t j = 0; j < p; j++)
                mean[j] += x[(size_t)k * p + j];
        for (size_t j = 0; j < p; j++)
            mean[j] /= n;
        for (int k = 0; k < n; k++)
            for (size_t j = 0; j < p; j++)
                xc[(size_t)k * p + j] = x[(size_t)k * p + j] - mean[j];
        /* lower triangle of S = Xc^T Xc / n */
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, dim, n, 1.0 / n, xc,
                    dim, 0.0, c, dim);
        double trace = 0.0;
        for (size_t j = 0; j < p; j++)
            trace += c[j * p + j];
        double mu = trace / dim;
        double s = ledoit_wolf(xc, n, dim, c, mu);
        if (shrinkage)
            *shrinkage = s;
        for (size_t i = 0; i < p; i++) {
            for (size_t j = 0; j <= i; j++)
                c[i * p + j] *= 1.0 - s;
            c[i * p + i] += s * mu;
        }
        if (!(mu > 0.0) || !cholesky(c, dim))
            st = cnn_fail(err, CNN_ERR_ARG, "the %d samples do not vary: no "
                          "covariance to measure distances with", n);
    }
    if (st == CNN_OK) {
        for (size_t j = 0; j < p; j++)
            owned[j] = (float)mean[j];
        float *factor = owned + p;
        for (size_t i = 0; i < p; i++)
            for (size_t j = 0; j < p; j++)
                factor[i * p + j] = j <= i ? (float)c[i * p + j] : 0.0f;
        *out = (cnn_mahalanobis){dim, owned, factor};
        owned = NULL;
    }
    free(mean);
    free(xc);
    free(c);
    free(owned);
    return st;
}

cnn_status cnn_mahalanobis_copy(const float *mean, const float *factor,
                                int dim, cnn_mahalanobis *out, cnn_error *err)
{
    memset(out, 0, sizeof *out);
    size_t p = (size_t)dim;
    for (size_t j = 0; j < p; j++)
        if (!isfinite(mean[j]))
            return cnn_fail(err, CNN_ERR_FORMAT, "mean[%zu] is not a finite number", j);
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++) {
            float v = factor[i * p + j];
            if (!isfinite(v) || (j > i && v != 0.0f) || (j == i && !(v > 0.0f)))
                return cnn_fail(err, CNN_ERR_FORMAT, "factor[%zu][%zu] = %g: not a "
                                "Cholesky factor (finite, lower triangular, "
                                "positive diagonal)", i, j, (double)v);
        }
    float *owned = malloc((p + p * p) * sizeof *owned);
    if (!owned)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for a %d x %d "
                        "covariance", dim, dim);
    memcpy(owned, mean, p * sizeof *owned);
    memcpy(owned + p, factor, p * p * sizeof *owned);
    *out = (cnn_mahalanobis){dim, owned, owned + p};
    return CNN_OK;
}

cnn_status cnn_mahalanobis_distance(const cnn_mahalanobis *m, const float *x,
                                    double *out, cnn_error *err)
{
    /* |z|^2 with L z = x - mean, z solved row by row: z_i only needs the
     * z_k before it, so each is added to the sum as soon as it is known */
    size_t p = (size_t)m->dim;
    double sum = 0.0;
    double *z = malloc(p * sizeof *z);
    if (!z)
        return cnn_fail(err, CNN_ERR_NOMEM, "out of memory for a distance");
    for (size_t i = 0; i < p; i++) {
        const float *row = m->factor + i * p;
        double v = (double)x[i] - m->mean[i];
        for (size_t k = 0; k < i; k++)
            v -= row[k] * z[k];
        z[i] = v / row[i];
        sum += z[i] * z[i];
    }
    free(z);
    *out = sqrt(sum);
    return CNN_OK;
}

void cnn_mahalanobis_free(cnn_mahalanobis *m)
{
    free(m->mean);
    memset(m, 0, sizeof *m);
}
