/* big_alloc.c - large buffers on transparent huge pages when possible. */
#include "big_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

void *cnn_big_alloc(size_t bytes)
{
    void *p = NULL;
    if (bytes < HUGE_PAGE) {
        if (posix_memalign(&p, 64, bytes ? bytes : 1))
            return NULL;
        return p;
    }
    if (bytes > SIZE_MAX - HUGE_PAGE)
        return NULL;
    /* whole huge pages, so that madvise covers all of the buffer */
    size_t rounded = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    if (posix_memalign(&p, HUGE_PAGE, rounded))
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, rounded, MADV_HUGEPAGE); /* only advice: failure is harmless */
#endif
    return p;
}
