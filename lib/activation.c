/* activation.c - ReLU, sigmoid and softmax, forward and backward.
 *
 * Elementwise ops work on [count] floats (any shape); softmax works on the
 * last axis of [n, classes]. Backward passes use the forward OUTPUT y, so the
 * input can be overwritten in place.
 */
#include <assert.h>
#include <math.h>

#include "cnn.h"

/* Below this many floats a parallel region costs more than it saves. */
#define PARALLEL_MIN_COUNT 65536

void cnn_relu_forward(size_t count, const float *x, float *y)
{
    assert(x && y);
#pragma omp parallel for schedule(static) if (count >= PARALLEL_MIN_COUNT)
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void cnn_relu_backward(size_t count, const float *y, const float *dy, float *dx)
{
    assert(y && dy && dx);
#pragma omp parallel for schedule(static) if (count >= PARALLEL_MIN_COUNT)
    for (size_t i = 0; i < count; i++)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

/* exp of a non-positive argument only, so it never overflows. */
static float sigmoid(float x)
{
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

void cnn_sigmoid_forward(size_t count, const float *x, float *y)
{
    assert(x && y);
#pragma omp parallel for schedule(static) if (count >= PARALLEL_MIN_COUNT)
    for (size_t i = 0; i < count; i++)
        y[i] = sigmoid(x[i]);
}

void cnn_sigmoid_backward(size_t count, const float *y, const float *dy,
                          float *dx)
{
    assert(y && dy && dx);
#pragma omp parallel for schedule(static) if (count >= PARALLEL_MIN_COUNT)
    for (size_t i = 0; i < count; i++)
        dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

/* y = exp(x - max) / sum(exp(x - max)) per row; subtracting the row maximum
 * keeps exp() finite. */
void cnn_softmax_forward(int n, int classes, const float *x, float *y)
{
    assert(n > 0 && classes > 0 && x && y);
    for (int i = 0; i < n; i++) {
        const float *xr = x + (size_t)i * classes;
        float *yr = y + (size_t)i * classes;
        float max = xr[0];
        for (int k = 1; k < classes; k++)
            max = fmaxf(max, xr[k]);
        double sum = 0;
        for (int k = 0; k < classes; k++) {
            yr[k] = expf(xr[k] - max);
            sum += yr[k];
        }
        float inv = (float)(1.0 / sum);
        for (int k = 0; k < classes; k++)
            yr[k] *= inv;
    }
}

/* dx_k = y_k * (dy_k - sum_j dy_j y_j). */
void cnn_softmax_backward(int n, int classes, const float *y, const float *dy,
                          float *dx)
{
    assert(n > 0 && classes > 0 && y && dy && dx);
    for (int i = 0; i < n; i++) {
        const float *yr = y + (size_t)i * classes, *dyr = dy + (size_t)i * classes;
        float *dxr = dx + (size_t)i * classes;
        double dot = 0;
        for (int k = 0; k < classes; k++)
            dot += (double)dyr[k] * yr[k];
        for (int k = 0; k < classes; k++)
            dxr[k] = (float)(yr[k] * (dyr[k] - dot));
    }
}
