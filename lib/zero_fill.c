/* zero_fill.c - zeroing large float buffers on all threads (zero_fill.h). */
#include "zero_fill.h"

#include <string.h>

/* Pieces of 64 KB: below one piece a thread costs more than it saves. */
#define PIECE_FLOATS ((size_t)1 << 14)

void cnn_zero_fill(float *p, size_t count)
{
    const long long pieces = (long long)((count + PIECE_FLOATS - 1) / PIECE_FLOATS);
#pragma omp parallel for schedule(static) if (pieces > 1)
    for (long long k = 0; k < pieces; k++) {
        size_t first = (size_t)k * PIECE_FLOATS;
        size_t len = count - first < PIECE_FLOATS ? count - first : PIECE_FLOATS;
        memset(p + first, 0, len * sizeof *p);
    }
}
