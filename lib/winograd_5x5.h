/* winograd_5x5.h - (internal) 5x5 stride-1 convolution by Winograd's
 * F(4x4, 5x5): each 4x4 output tile is
 *   Y = A^T [ (G g G^T) . (B^T d B) ] A
 * from an 8x8 input tile d, summed over input channels as 64 matrix
 * products, one per transform point (cblas_sgemm):
 *   M_xi [out_c, tiles] = U_xi [out_c, in_c] x V_xi [in_c, tiles]
 * That is 64 multiplications per 16 outputs and channel pair instead of
 * 400: 6.25x less arithmetic than im2col + sgemm, whose column matrix
 * (25 rows per input channel) also goes through memory. The points (0,
 * +-1, +-2, +-1/2, infinity) and so the input transform are F(6x6, 3x3)'s
 * (winograd_large.h); its rounding error is of the same order, within
 * 1e-4 of the output's scale.
 *
 * The backward runs the forward's steps in reverse through their adjoints,
 * as F(4x4, 3x3)'s (winograd.h, whose 2-D driver both use). Shapes: 5x5
 * kernels, stride 1, pads in [0, 4].
 */
#ifndef CNN_WINOGRAD_5X5_H
#define CNN_WINOGRAD_5X5_H

#include "cnn.h"

/* Whether the shape can take it: 5x5, stride 1, pads <= 4. */
int cnn_wino_5x5_applicable(const cnn_conv_shape *s);

/* The rule the network uses (n images). */
int cnn_wino_5x5_preferred(const cnn_conv_shape *s, int n);

/* Floats of a transformed filter: 64 * out_c * in_c. */
size_t cnn_wino_5x5_filter_floats(const cnn_conv_shape *s);

/* weight [out_c][in_c][5][5] -> U [64][out_c][in_c]. */
void cnn_wino_5x5_filter(const cnn_conv_shape *s, const float *weight,
                         float *U);

/* Floats of workspace cnn_wino_5x5_forward_bn needs for n images. */
size_t cnn_wino_5x5_workspace_floats(const cnn_conv_shape *s, int n);

/* Floats of workspace cnn_wino_5x5_backward needs for n images. */
size_t cnn_wino_5x5_backward_workspace_floats(const cnn_conv_shape *s, int n);

/* As cnn_wino_backward (winograd.h): dx (overwritten) through U when not
 * NULL, the weight gradient added into dweight [out_c][in_c][5][5] from x
 * when not NULL. */
void cnn_wino_5x5_backward(const cnn_conv_shape *s, int n, const float *x,
                           const float *dy, const float *U, float *dx,
                           float *dweight, float *workspace);

/* As cnn_wino_forward_bn (winograd.h): y (overwritten) from x through U,
 * + bias, then a batch norm with running statistics when mean is not NULL,
 * then a ReLU when relu. */
void cnn_wino_5x5_forward_bn(const cnn_conv_shape *s, int n, const float *x,
                             const float *U, const float *bias,
                             const float *mean, const float *scale,
                             const float *beta, int relu, float *y,
                             float *workspace);

#endif
