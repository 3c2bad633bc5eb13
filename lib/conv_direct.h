/* conv_direct.h - (internal) the forward of a convolution with few taps per
 * output (input channels x kernel height x kernel width: VGG16's first
 * layer has 3 x 3 x 3), computed directly: im2col + sgemm would pass over
 * the output five times (bias, sgemm's read and write, ReLU's read and
 * write) for 27 multiply-adds per value; this writes it once, with the
 * bias and ReLU applied. Stride 1, any padding. */
#ifndef CNN_CONV_DIRECT_H
#define CNN_CONV_DIRECT_H

#include "cnn.h"

/* Whether cnn_conv_direct_forward takes the shape: stride 1, at most
 * CNN_CONV_DIRECT_TAPS taps, outputs at least 16 wide. */
#define CNN_CONV_DIRECT_TAPS 32
int cnn_conv_direct_applicable(const cnn_conv_shape *s);

/* Floats of workspace cnn_conv_direct_forward needs: the input rows of an
 * output row for each thread, and the weights rearranged. */
size_t cnn_conv_direct_workspace_floats(const cnn_conv_shape *s);

/* y [n, out_c, out_h, out_w] = the convolution of x [n, in_c, in_h, in_w]
 * with weight [out_c, in_c, kh, kw], + bias[o] (bias may be NULL), then
 * ReLU if relu. */
void cnn_conv_direct_forward(const cnn_conv_shape *s, int n, const float *x,
                             const float *weight, const float *bias, int relu,
                             float *y, float *workspace);

#endif
