/* big_alloc.c - large buffers on transparent huge pages when possible. */
#include "big_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)
/* Huge pages are asked for up to this size only. They pay for one-shot runs
 * (batch-1 arenas of 19-23 MB), but with them batch-16 training ran about
 * 40% slower (make bench, InceptionV3@224: 9.3 -> 4.8-5.5 images/s; the
 * same binary with THP disabled by prctl was fast again). */
#define HUGE_PAGE_ADVICE_MAX ((size_t)64 << 20)

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
    if (rounded <= HUGE_PAGE_ADVICE_MAX) /* only advice: failure is harmless */
        (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
}
