/* winograd_large.h - (internal) 3x3 stride-1 convolution by Winograd's
 * F(6x6, 3x3), for large layers with few channels: each 6x6 output tile is
 *   Y = A^T [ (G g G^T) . (B^T d B) ] A
 * from an 8x8 input tile d, summed over input channels as 64 matrix
 * products, one per transform point (cblas_sgemm):
 *   M_xi [out_c, tiles] = U_xi [out_c, in_c] x V_xi [in_c, tiles]
 * That is 64 multiplications per 36 outputs and channel pair, against 36
 * per 16 for F(4x4, 3x3) (winograd.h): 21% fewer, and as much less
 * transformed data going through memory, on maps whose width 6-wide tiles
 * cut with little waste. Its rounding error is about twice F(4x4)'s (points
 * 0, +-1, +-2, +-1/2 and infinity), still within 1e-4 of the output's scale.
 *
 * The backward runs the forward's steps in reverse through their adjoints,
 * as F(4x4)'s (winograd.h, whose 2-D drivers it uses). Shapes are
 * cnn_wino_applicable's (winograd.h).
 */
#ifndef CNN_WINOGRAD_LARGE_H
#define CNN_WINOGRAD_LARGE_H

#include "cnn.h"

#define CNN_WINO_LARGE_POINTS 64

/* The rule the network uses (n images), trained or not. */
int cnn_wino_large_preferred(const cnn_conv_shape *s, int n);

/* Floats of a transformed filter: 64 * out_c * in_c. */
size_t cnn_wino_large_filter_floats(const cnn_conv_shape *s);

/* weight [out_c][in_c][3][3] -> U [64][out_c][in_c] (also the 5x5
 * filters of F(4x4, 5x5), which has the same points), in double. */
void cnn_wino_large_filter(const cnn_conv_shape *s, const float *weight,
                           float *U);

/* The input transform, V [64][in_c][nt] = B^T d B for the 8x8 patches d
 * of the tiles [t0, t0 + nt) of x, tiles of side x side outputs (6 here;
 * 4 for F(4x4, 5x5), winograd_5x5.h, which has the same points and so the
 * same B^T). V's points are cnn_wino_point_stride apart. */
void cnn_wino_large_input(const cnn_conv_shape *s, int side, const float *x,
                          long long t0, int nt, float *V);
/* dx += B dV B^T for the tiles [t0, t0 + nt), tiles of side x side
 * outputs: each tile's 8x8 input patch (cut at the image's edge) from
 * dV [64][in_c][nt], the adjoint of cnn_wino_large_input. */
void cnn_wino_large_input_adjoint(const cnn_conv_shape *s, int side,
                                  const float *dV, long long t0, int nt,
                                  float *dx);
/* dM [64][out_c][nt] = A dY A^T for the tiles [t0, t0 + nt) of dy, tiles
 * of side x side outputs (zeros past the image's edge): the adjoint of the
 * output transform of F(6x6, 3x3) (side 6) or F(4x4, 5x5) (side 4). */
void cnn_wino_large_gradient(const cnn_conv_shape *s, int side,
                             const float *dy, long long t0, int nt, float *dM);
/* dweight [out_c][in_c][kh][kw] += G^T dU G, the adjoint of the filter
 * transform of either kind (kh = kw = 3 or 5 taps), in double like it. */
void cnn_wino_large_filter_gradient(const cnn_conv_shape *s, const float *dU,
                                    float *dweight);
/* Floats of workspace cnn_wino_large_forward_bn needs for n images. */
size_t cnn_wino_large_workspace_floats(const cnn_conv_shape *s, int n);

/* As cnn_wino_forward_bn (winograd.h): y (overwritten) from x through U,
 * + bias, then a batch norm with running statistics when mean is not NULL,
 * then a ReLU when relu. */
void cnn_wino_large_forward_bn(const cnn_conv_shape *s, int n, const float *x,
                               const float *U, const float *bias,
                               const float *mean, const float *scale,
                               const float *beta, int relu, float *y,
                               float *workspace);

/* Floats of workspace cnn_wino_large_backward needs for n images. */
size_t cnn_wino_large_backward_workspace_floats(const cnn_conv_shape *s,
                                                int n);
/* As cnn_wino_backward (winograd.h), through the adjoints of F(6x6)'s
 * transforms: dx (overwritten) through U when not NULL, the weight
 * gradient added into dweight [out_c][in_c][3][3] from x when not NULL. */
void cnn_wino_large_backward(const cnn_conv_shape *s, int n, const float *x,
                             const float *dy, const float *U, float *dx,
                             float *dweight, float *workspace);
#endif
