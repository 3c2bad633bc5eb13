/* global_pool.c - global average pooling: x [n, c, hw] -> y [n, c]. */
#include <assert.h>

#include "cnn.h"

void cnn_global_avgpool_forward(int n, int c, int hw, const float *x, float *y)
{
    assert(n > 0 && c > 0 && hw > 0 && x && y);
    const int planes = n * c;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        const float *xp = x + (size_t)p * hw;
        double sum = 0;
        for (int k = 0; k < hw; k++)
            sum += xp[k];
        y[p] = (float)(sum / hw);
    }
}

/* dy [n, c] -> dx [n, c, hw]: every pixel gets dy / hw. */
void cnn_global_avgpool_backward(int n, int c, int hw, const float *dy,
                                 float *dx)
{
    assert(n > 0 && c > 0 && hw > 0 && dy && dx);
    const int planes = n * c;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < planes; p++) {
        float g = dy[p] / (float)hw;
        float *dxp = dx + (size_t)p * hw;
        for (int k = 0; k < hw; k++)
            dxp[k] = g;
    }
}
