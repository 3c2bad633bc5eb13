/* winograd.h - (internal) 3x3 stride-1 convolution by Winograd's minimal
 * filtering F(4x4, 3x3) (Lavin & Gray 2015, "Fast Algorithms for
 * Convolutional Neural Networks"): each 4x4 output tile is
 *   Y = A^T [ (G g G^T) . (B^T d B) ] A
 * from a 6x6 input tile d; summed over input channels, the element-wise
 * product becomes 36 matrix products, one per transform point xi:
 *   M_xi [out_c, tiles] = U_xi [out_c, in_c] x V_xi [in_c, tiles]
 * (cblas_sgemm). That is 36 multiplications per 16 outputs and channel pair
 * instead of 144: 4x less arithmetic than im2col + sgemm, paid for by the
 * transforms (memory passes over the input and output) and a filter that
 * takes 4x the memory once transformed.
 *
 * Shapes are cnn_conv_shape's with kh = kw = 3, stride 1 and any padding
 * pad_top, pad_left in [0, 2] (values outside the image are zero; bottom and
 * right padding follow from the sizes).
 *
 * The backward pass runs the forward's steps in reverse, each by its
 * adjoint: dM = A dY A^T for the output gradient's tiles, then
 *   dU_xi = sum over tiles of dM_xi x V_xi^T   (weight gradient, G^T dU G)
 *   dV_xi = U_xi^T x dM_xi                    (input gradient, B dV B^T
 *                                              added over overlapping tiles)
 * so that the input gradient needs no filter of its own.
 *
 * Transformed filters U [36][out_c][in_c] are made by cnn_wino_filter, once
 * per weight version: the caller caches them (network_run.c).
 */
#ifndef CNN_WINOGRAD_H
#define CNN_WINOGRAD_H

#include "cnn.h"

#define CNN_WINO_POINTS 36

/* Whether the shape can take Winograd at all: 3x3, stride 1, pads <= 2,
 * outputs as tall and wide as the padded input allows. */
int cnn_wino_applicable(const cnn_conv_shape *s);

/* The rule the network uses: Winograd for applicable shapes with enough
 * channels and tiles (n images) that its cheaper arithmetic pays for the
 * transforms, counting, when the layer is trained, the filter transforms
 * of every step; im2col + sgemm otherwise. */
int cnn_wino_preferred(const cnn_conv_shape *s, int n, int trained);

/* Floats of a transformed filter: 36 * out_c * in_c. */
size_t cnn_wino_filter_floats(const cnn_conv_shape *s);

/* weight [out_c][in_c][3][3] (scaled per output channel by scale[out_c]
 * when scale is not NULL) -> U [36][out_c][in_c]. */
void cnn_wino_filter(const cnn_conv_shape *s, const float *weight,
                     const float *scale, float *U);

/* Tiles per chunk of a pass over total tiles with floats_per_tile of
 * transformed data each (also winograd_line.c's): equal chunks within
 * 32 MB of workspace, at least 64 tiles. */
int cnn_wino_chunk_tiles(long long total, size_t floats_per_tile);

/* Tiles per chunk when the passes for n images run in thread-private
 * chunks (layers with few channels, enough tiles to keep the threads
 * busy), else 0. */
int cnn_wino_private_chunk_tiles(const cnn_conv_shape *s, int n);

/* The sgemm products of one chunk of nt tiles for each of points
 * transform points (also winograd_line.c's), one single-threaded call per
 * point spread over the threads; per point xi, with U_xi [K][C],
 * V_xi [C][nt] and M_xi [K][nt] one after another:
 *   products:        M_xi = U_xi x V_xi
 *   weight_products: dU_xi = beta dU_xi + dM_xi x V_xi^T
 *   input_products:  dV_xi = U_xi^T x dM_xi */
void cnn_wino_products(int points, int K, int C, int nt, const float *U,
                       const float *V, float *M);
void cnn_wino_weight_products(int points, int K, int C, int nt,
                              const float *dM, const float *V, float beta,
                              float *dU);
void cnn_wino_input_products(int points, int K, int C, int nt, const float *U,
                             const float *dM, float *dV);

/* Floats of workspace cnn_wino_forward needs for n images. */
size_t cnn_wino_workspace_floats(const cnn_conv_shape *s, int n);

/* x [n, in_c, in_h, in_w], U from cnn_wino_filter, bias [out_c] or NULL
 * -> y [n, out_c, out_h, out_w] (overwritten), ReLU applied when relu. */
void cnn_wino_forward(const cnn_conv_shape *s, int n, const float *x,
                      const float *U, const float *bias, int relu, float *y,
                      float *workspace);

/* The same with a batch norm in the output stage (inference: running
 * statistics), after the bias and before the ReLU:
 *   y = (conv + bias - mean[k]) * scale[k] + beta[k],
 * scale = gamma / sqrt(var + eps); mean, scale, beta all NULL or none. */
void cnn_wino_forward_bn(const cnn_conv_shape *s, int n, const float *x,
                         const float *U, const float *bias, const float *mean,
                         const float *scale, const float *beta, int relu,
                         float *y, float *workspace);

/* Floats of workspace cnn_wino_backward needs for n images: the
 * transformed weight gradient [36][out_c][in_c] and a forward's workspace. */
size_t cnn_wino_backward_workspace_floats(const cnn_conv_shape *s, int n);

/* Gradients from dy [n, out_c, out_h, out_w]: when dx is not NULL, the
 * input gradient dx [n, in_c, in_h, in_w] (overwritten) through U, the
 * filter of the forward (cnn_wino_filter without a scale); when dweight is
 * not NULL, the weight gradient, accumulated into dweight
 * [out_c][in_c][3][3], from x [n, in_c, in_h, in_w]. */
void cnn_wino_backward(const cnn_conv_shape *s, int n, const float *x,
                       const float *dy, const float *U, float *dx,
                       float *dweight, float *workspace);

#endif
