/* concat.c - concatenation along channels (the join of Inception branches).
 *
 * parts[i] [n, channels[i], hw] <-> y [n, sum(channels), hw]. For each image
 * a part is one contiguous block of channels[i]*hw floats, so both
 * directions are block copies.
 */
#include <assert.h>
#include <string.h>

#include "cnn.h"

static int total_channels(int parts, const int *channels)
{
    int total = 0;
    for (int i = 0; i < parts; i++) {
        assert(channels[i] > 0);
        total += channels[i];
    }
    return total;
}

void cnn_concat_forward(int n, int hw, int parts, const int *channels,
                        const float *const *x, float *y)
{
    assert(n > 0 && hw > 0 && parts > 0 && channels && x && y);
    const size_t out_image = (size_t)total_channels(parts, channels) * hw;
    for (int i = 0; i < n; i++) {
        float *dst = y + i * out_image;
        for (int p = 0; p < parts; p++) {
            size_t block = (size_t)channels[p] * hw;
            memcpy(dst, x[p] + i * block, block * sizeof(float));
            dst += block;
        }
    }
}

void cnn_concat_backward(int n, int hw, int parts, const int *channels,
                         const float *dy, float *const *dx)
{
    assert(n > 0 && hw > 0 && parts > 0 && channels && dy && dx);
    const size_t out_image = (size_t)total_channels(parts, channels) * hw;
    for (int i = 0; i < n; i++) {
        const float *src = dy + i * out_image;
        for (int p = 0; p < parts; p++) {
            size_t block = (size_t)channels[p] * hw;
            if (dx[p])
                memcpy(dx[p] + i * block, src, block * sizeof(float));
            src += block;
        }
    }
}
