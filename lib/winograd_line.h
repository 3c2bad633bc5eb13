/* winograd_line.h - (internal) 1x7 and 7x1 stride-1 convolutions by 1-D
 * Winograd minimal filtering F(4, 7) along the kernel's long axis: each run
 * of 4 outputs along that axis is
 *   y = A^T [ (G g) . (B^T d) ]
 * from the 10 inputs d under it, with the points 0, +-1, +-2, +-1/2, +-3/2
 * and infinity. Summed over input channels, the element-wise product
 * becomes 10 matrix products, one per point xi:
 *   M_xi [out_c, tiles] = U_xi [out_c, in_c] x V_xi [in_c, tiles]
 * That is 10 multiplications per 4 outputs and channel pair instead of 28:
 * 2.8x less arithmetic than im2col + sgemm (2.4x on InceptionV3's 17-wide
 * maps, whose lines take 5 runs of 4), for a filter 10/7 as large.
 *
 * The backward pass takes the steps in reverse by their adjoints, as in
 * winograd.h: dM = A dY, then dU = dM V^T for the weight gradient and
 * dV = U^T dM for the input gradient, added back along the lines by B. Shapes are cnn_conv_shape's with a
 * 1x7 or 7x1 kernel, stride 1, padding 0-6 along the long axis and none
 * across it.
 */
#ifndef CNN_WINOGRAD_LINE_H
#define CNN_WINOGRAD_LINE_H

#include "cnn.h"

#define CNN_WINO_LINE_POINTS 10

int cnn_wino_line_applicable(const cnn_conv_shape *s);

/* The rule the network uses: enough channels and runs of 4 outputs (n
 * images) for the transforms to pay, counting, when the layer is trained,
 * the filter transforms of every step. */
int cnn_wino_line_preferred(const cnn_conv_shape *s, int n, int trained);

/* Floats of a transformed filter: 10 * out_c * in_c. */
size_t cnn_wino_line_filter_floats(const cnn_conv_shape *s);

/* weight [out_c][in_c][7] (either orientation) -> U [10][out_c][in_c]. */
void cnn_wino_line_filter(const cnn_conv_shape *s, const float *weight,
                          float *U);

/* Floats of workspace cnn_wino_line_forward_bn needs for n images. */
size_t cnn_wino_line_workspace_floats(const cnn_conv_shape *s, int n);

/* x [n, in_c, in_h, in_w], U from cnn_wino_line_filter, bias [out_c] or
 * NULL -> y [n, out_c, out_h, out_w] (overwritten); then, when mean is not
 * NULL, a batch norm with running statistics
 *   y = (conv + bias - mean[k]) * scale[k] + beta[k]
 * and, when relu, a ReLU. */
void cnn_wino_line_forward_bn(const cnn_conv_shape *s, int n, const float *x,
                              const float *U, const float *bias,
                              const float *mean, const float *scale,
                              const float *beta, int relu, float *y,
                              float *workspace);

/* Floats of workspace cnn_wino_line_backward needs for n images. */
size_t cnn_wino_line_backward_workspace_floats(const cnn_conv_shape *s, int n);

/* Gradients from dy, as cnn_wino_backward (winograd.h): dx (overwritten)
 * through the forward's filter U when dx is not NULL, dweight
 * [out_c][in_c][7] accumulated from x when dweight is not NULL. */
void cnn_wino_line_backward(const cnn_conv_shape *s, int n, const float *x,
                            const float *dy, const float *U, float *dx,
                            float *dweight, float *workspace);

#endif
