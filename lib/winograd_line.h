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
 * Backward-data is the same forward with the rotated, channel-transposed
 * filter (cnn_wino_line_backward_shape), as in winograd.h; the weight
 * gradient uses the same transforms. Shapes are cnn_conv_shape's with a
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

/* The shape of the backward-data pass of s as a forward convolution:
 * dy [out_c, out_h, out_w] -> dx [in_c, in_h, in_w], padding 6 - pad. */
cnn_conv_shape cnn_wino_line_backward_shape(const cnn_conv_shape *s);

/* Floats of a transformed filter: 10 * out_c * in_c. */
size_t cnn_wino_line_filter_floats(const cnn_conv_shape *s);

/* weight [out_c][in_c][7] (either orientation) -> U [10][out_c][in_c];
 * with rotate = 1 the filter of the backward-data shape: U [10][in_c][out_c]
 * from the taps reversed. */
void cnn_wino_line_filter(const cnn_conv_shape *s, const float *weight,
                          int rotate, float *U);

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

/* Floats of workspace cnn_wino_line_backward_filter needs for n images. */
size_t cnn_wino_line_filter_grad_workspace_floats(const cnn_conv_shape *s, int n);

/* The weight gradient by the same transforms: with V the transformed input
 * tiles and dM = A dY the transformed output gradient tiles,
 *   dU_xi [out_c, in_c] = sum over tiles of dM_xi x V_xi^T   (sgemm)
 * and dweight += G^T dU (accumulated). */
void cnn_wino_line_backward_filter(const cnn_conv_shape *s, int n, const float *x,
                                   const float *dy, float *dweight,
                                   float *workspace);

#endif
