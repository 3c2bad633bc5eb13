/* dense.c - fully connected layer on cblas_sgemm.
 *   forward   y [n, out]   = x [n, in] x weight^T [in, out] + bias
 *   backward  dx [n, in]   = dy [n, out] x weight [out, in]
 *             dweight     += dy^T [out, n] x x [n, in]
 *             dbias       += sum over n of dy
 */
#include <assert.h>
#include <cblas.h>

#include "cnn.h"

void cnn_dense_forward(int n, int in, int out, const float *x,
                       const float *weight, const float *bias, float *y)
{
    assert(n >= 0 && in > 0 && out > 0 && x && weight && y);
    if (bias)
        for (int i = 0; i < n; i++)
            for (int o = 0; o < out; o++)
                y[(size_t)i * out + o] = bias[o];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x,
                in, weight, in, bias ? 1.0f : 0.0f, y, out);
}

void cnn_dense_backward(int n, int in, int out, const float *x,
                        const float *weight, const float *dy, float *dx,
                        float *dweight, float *dbias)
{
    assert(n >= 0 && in > 0 && out > 0 && dy);
    if (dx) {
        assert(weight);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out,
                    1.0f, dy, out, weight, in, 0.0f, dx, in);
    }
    if (dweight) {
        assert(x);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f,
                    dy, out, x, in, 1.0f, dweight, in);
    }
    if (dbias)
        for (int o = 0; o < out; o++) {
            double sum = 0;
            for (int i = 0; i < n; i++)
                sum += dy[(size_t)i * out + o];
            dbias[o] += (float)sum;
        }
}
