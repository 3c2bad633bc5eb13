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

/* Floats from one transform point to the next in a chunk's transformed
 * tiles [point][rows][nt] (V: rows = in_c, M: out_c): rows x nt, padded so
 * that the points of one tile do not share a cache set (also the other
 * kinds'). */
size_t cnn_wino_point_stride(int rows, int nt);

/* Floats of V and M for a chunk of nt tiles with points transform points,
 * C input and K output channels. */
size_t cnn_wino_chunk_floats(int points, int C, int K, int nt);

/* Tiles per chunk of a pass over total tiles (also the other kinds'):
 * equal chunks whose V and M fit 32 MB of workspace, at least 64 tiles. */
int cnn_wino_chunk_tiles(long long total, int points, int C, int K);

/* Tiles per thread-private chunk for a pass over total tiles of
 * tile_outputs outputs each (also winograd_large.c's): when chunks that
 * stay in the cache still hold enough outputs for efficient products, and
 * there are enough of them to keep the threads busy; else 0 (shared
 * chunks). */
int cnn_wino_private_tiles(long long total, int points, int tile_outputs,
                           int C, int K);

/* Tiles of side x side outputs covering n images' outputs. */
static inline long long cnn_wino_grid_tiles(const cnn_conv_shape *s,
                                            int side, int n)
{
    return (long long)n * ((s->out_h + side - 1) / side) *
           ((s->out_w + side - 1) / side);
}

/* Where a tile starts (image, top-left output pixel) when tiles of side x
 * side outputs are numbered (image, tile row, tile column). */
typedef struct {
    int img, oy, ox;
} cnn_wino_tile;

static inline cnn_wino_tile cnn_wino_locate(const cnn_conv_shape *s, int side,
                                            long long t)
{
    const int tw = (s->out_w + side - 1) / side;
    const int per_image = (s->out_h + side - 1) / side * tw;
    const int r = (int)(t % per_image);
    return (cnn_wino_tile){(int)(t / per_image), r / tw * side, r % tw * side};
}

/* The transforms of every kind work on lane blocks of CNN_WINO_LANES
 * tiles, as pts [points][CNN_WINO_LANES] (inner loops over lanes
 * vectorize); a chunk keeps point xi of its tiles point_stride floats after
 * point xi - 1 (cnn_wino_point_stride). */
#define CNN_WINO_LANES 16

/* The first lanes values of each point of pts to dst + xi * point_stride. */
static inline void cnn_wino_store_points(const float *pts, int points,
                                         int lanes, float *dst,
                                         size_t point_stride)
{
    for (int xi = 0; xi < points; xi++) {
        const float *p = pts + xi * CNN_WINO_LANES;
        float *v = dst + xi * point_stride;
        if (lanes == CNN_WINO_LANES) {
#pragma omp simd
            for (int l = 0; l < CNN_WINO_LANES; l++)
                v[l] = p[l];
        } else {
            for (int l = 0; l < lanes; l++)
                v[l] = p[l];
        }
    }
}

/* pts [points][CNN_WINO_LANES] = the lanes values of each point at
 * src + xi * point_stride, zeros after them. */
static inline void cnn_wino_load_points(const float *src, size_t point_stride,
                                        int points, int lanes, float *pts)
{
    for (int xi = 0; xi < points; xi++) {
        float *p = pts + xi * CNN_WINO_LANES;
        const float *v = src + xi * point_stride;
        if (lanes == CNN_WINO_LANES) {
#pragma omp simd
            for (int l = 0; l < CNN_WINO_LANES; l++)
                p[l] = v[l];
        } else {
            for (int l = 0; l < CNN_WINO_LANES; l++)
                p[l] = l < lanes ? v[l] : 0.0f;
        }
    }
}

/* What an output stage applies per output channel k after the sum:
 * + bias[k], then batch norm (v - mean[k]) * scale[k] + beta[k] (the
 * library op's cancellation-free form), then ReLU; bias, mean (and with
 * it scale, beta) may be NULL. */
typedef struct {
    const float *bias, *mean, *scale, *beta;
    int relu;
} cnn_wino_out_stage;

/* A 2-D kind's transforms (F(4x4) here, F(6x6) in winograd_large.c,
 * F(4x4, 5x5) in winograd_5x5.c), for the tiles [t0, t0 + nt): input
 * x -> V [points][in_c][nt] and products M [points][out_c][nt] -> output
 * y, points cnn_wino_point_stride apart; and for the backward their
 * adjoints: of the output transform (dy -> dM [points][out_c][nt]), of
 * the input transform (dV [points][in_c][nt] added into dx) and of the
 * filter transform (dU [points][out_c][in_c] added into dweight). */
typedef struct {
    int points, side; /* transform points, output tile side */
    void (*input)(const cnn_conv_shape *s, const float *x, long long t0,
                  int nt, float *V);
    void (*output)(const cnn_conv_shape *s, const float *M, long long t0,
                   int nt, const cnn_wino_out_stage *st, float *y);
    void (*gradient)(const cnn_conv_shape *s, const float *dy, long long t0,
                     int nt, float *dM);
    void (*input_adjoint)(const cnn_conv_shape *s, const float *dV,
                          long long t0, int nt, float *dx);
    void (*filter_gradient)(const cnn_conv_shape *s, const float *dU,
                            float *dweight);
} cnn_wino_transforms;

/* Floats of workspace cnn_wino_forward_2d needs for n images. */
size_t cnn_wino_workspace_2d(const cnn_wino_transforms *k,
                             const cnn_conv_shape *s, int n);

/* y from x through U with the kind's transforms, in chunks: thread-private
 * ones for layers with few channels (cnn_wino_private_tiles), each thread
 * taking whole chunks; shared ones, one after another, otherwise. */
void cnn_wino_forward_2d(const cnn_wino_transforms *k,
                         const cnn_conv_shape *s, int n, const float *x,
                         const float *U, const cnn_wino_out_stage *st,
                         float *y, float *workspace);

/* Floats of workspace cnn_wino_backward_2d needs for n images. */
size_t cnn_wino_backward_workspace_2d(const cnn_wino_transforms *k,
                                      const cnn_conv_shape *s, int n);

/* The gradients with the kind's adjoints, as cnn_wino_backward below. The
 * input patches of tiles two tile rows apart must not overlap (patch side
 * at most twice the tile side): thread-private chunks of one parity add
 * into dx side by side. */
void cnn_wino_backward_2d(const cnn_wino_transforms *k,
                          const cnn_conv_shape *s, int n, const float *x,
                          const float *dy, const float *U, float *dx,
                          float *dweight, float *workspace);

/* The products of one chunk of nt tiles for each of points
 * transform points (also the other kinds'), one single-threaded call per
 * point spread over the threads; per point xi, with U_xi [K][C],
 * V_xi [C][nt] and M_xi [K][nt] cnn_wino_point_stride apart:
 *   products:        M_xi = U_xi x V_xi
 *   weight_products: dU_xi = beta dU_xi + dM_xi x V_xi^T
 *   input_products:  dV_xi = U_xi^T x dM_xi
 * (winograd_products.c; forward products of few tiles with large filters,
 * where cnn_wino_few_tiles(nt, K, C), by kernels of its own instead of
 * sgemm). */
int cnn_wino_few_tiles(int nt, int K, int C);
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
