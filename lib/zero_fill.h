/* zero_fill.h - (internal) zeroing large float buffers on all threads. */
#ifndef CNN_ZERO_FILL_H
#define CNN_ZERO_FILL_H

#include <stddef.h>

/* p[0, count) = 0, split over the threads when count is large: a gradient
 * buffer of tens of megabytes zeroed by one thread left the other idle. */
void cnn_zero_fill(float *p, size_t count);

#endif
