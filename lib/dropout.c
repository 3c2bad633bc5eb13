/* dropout.c - inverted dropout: x, y, dx, dy, mask [count].
 *
 * Each value is kept with probability 1-rate and scaled by 1/(1-rate), so the
 * expected output equals the input and inference needs no rescaling. The
 * mask comes from the caller's generator in index order: the same seed gives
 * the same mask, whatever the thread count.
 */
#include <assert.h>
#include <string.h>

#include "cnn.h"

void cnn_dropout_forward(size_t count, float rate, cnn_rng *rng,
                         const float *x, float *y, uint8_t *mask)
{
    assert(rate >= 0.0f && rate < 1.0f && x && y && mask);
    if (rate == 0.0f) {
        memmove(y, x, count * sizeof(float));
        memset(mask, 1, count);
        return;
    }
    assert(rng);
    const float scale = 1.0f / (1.0f - rate);
    for (size_t i = 0; i < count; i++) {
        mask[i] = cnn_rng_uniform(rng) >= rate;
        y[i] = mask[i] ? x[i] * scale : 0.0f;
    }
}

void cnn_dropout_backward(size_t count, float rate, const uint8_t *mask,
                          const float *dy, float *dx)
{
    assert(rate >= 0.0f && rate < 1.0f && mask && dy && dx);
    const float scale = 1.0f / (1.0f - rate);
    for (size_t i = 0; i < count; i++)
        dx[i] = mask[i] ? dy[i] * scale : 0.0f;
}
