/* big_alloc.h - memory for large, long-lived buffers (the activation arena).
 *
 * A fresh 20 MB buffer costs about 5000 page faults on first touch, which is
 * a large share of a one-shot run (a CGI request). Backing it with 2 MB
 * transparent huge pages, where the kernel offers them, cuts that to a few
 * faults; above 64 MB (batched arenas) they are not asked for, as they made
 * those runs slower. Free the result with free(). */
#ifndef CNN_BIG_ALLOC_H
#define CNN_BIG_ALLOC_H

#include <stddef.h>

/* 64-byte aligned; NULL when out of memory. */
void *cnn_big_alloc(size_t bytes);

#endif
