/* channel_sum.c - see channel_sum.h. */
#include "channel_sum.h"

double cnn_channel_sum(int n, int c, size_t hw, int ch, const float *x)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        const float *p = x + ((size_t)i * c + ch) * hw;
#pragma omp simd reduction(+ : sum)
        for (size_t k = 0; k < hw; k++)
            sum += p[k];
    }
    return sum;
}
