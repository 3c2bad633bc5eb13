/* winograd_kinds.h - (internal) the network's Winograd kinds behind one set
 * of calls, so that the plan (network_plan.c) and the passes
 * (network_run.c) need not ask which: F(4x4,3x3) for 3x3 layers
 * (winograd.h), F(6x6,3x3) for large 3x3 layers (winograd_large.h), F(4x4,5x5) for 5x5 layers (winograd_5x5.h) and
 * F(4,7) along a line for 1x7 and 7x1 layers (winograd_line.h). */
#ifndef CNN_WINOGRAD_KINDS_H
#define CNN_WINOGRAD_KINDS_H

#include "cnn.h"

typedef enum { WINO_3X3 = 1, WINO_LINE, WINO_LARGE, WINO_5X5 } wino_kind;

typedef struct {
    size_t (*filter_floats)(const cnn_conv_shape *s);
    size_t (*workspace_floats)(const cnn_conv_shape *s, int n);
    size_t (*backward_workspace_floats)(const cnn_conv_shape *s, int n);
    void (*filter)(const cnn_conv_shape *s, const float *weight, float *U);
    /* mean, scale, beta: a batch norm in the output stage, or all NULL */
    void (*forward_bn)(const cnn_conv_shape *s, int n, const float *x,
                       const float *U, const float *bias, const float *mean,
                       const float *scale, const float *beta, int relu,
                       float *y, float *workspace);
    /* dx (overwritten) through the forward's filter U, dweight
     * (accumulated) from x; either may be NULL. */
    void (*backward)(const cnn_conv_shape *s, int n, const float *x,
                     const float *dy, const float *U, float *dx,
                     float *dweight, float *workspace);
} wino_ops;

const wino_ops *wino_ops_of(wino_kind kind);

/* The kind the network's rule picks for a layer (n images; trained: its
 * weights are trained), or 0 for im2col; all = 1 takes every layer
 * Winograd applies to, 3x3 ones on F(4x4,3x3) ($CNN_WINOGRAD=all). */
int wino_kind_for(const cnn_conv_shape *s, int n, int trained, int all);

#endif
