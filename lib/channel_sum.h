/* channel_sum.h - (internal) the per-channel reduction that batch norm's
 * statistics and the convolution's bias gradient share. */
#ifndef CNN_CHANNEL_SUM_H
#define CNN_CHANNEL_SUM_H

#include <stddef.h>

/* Sum, in double and in a fixed order, of channel ch over the n planes of
 * x [n, c, hw]. */
double cnn_channel_sum(int n, int c, size_t hw, int ch, const float *x);

#endif
