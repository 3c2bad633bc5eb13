/* im2col.h - (internal) unrolls convolution windows into a matrix and back.
 *
 * For one image x [in_c, in_h, in_w] and the output rows
 * [row0, row0 + rows), the column matrix is
 *   col [K = in_c*kh*kw][rows*out_w]   (row stride ldcol >= rows*out_w)
 * with col[(c*kh + i)*kw + j][(oh - row0)*out_w + ow] =
 *   x[c][oh*stride_h - pad_top + i][ow*stride_w - pad_left + j]  (0 outside),
 * so that weight [out_c, K] x col is the convolution of those output rows.
 * A row stride larger than the chunk lets several images share one matrix.
 * Both directions run in parallel with OpenMP.
 */
#ifndef CNN_IM2COL_H
#define CNN_IM2COL_H

#include "cnn.h"

/* Fills col (see above). */
void cnn_im2col(const cnn_conv_shape *s, const float *x, int row0, int rows,
                float *col, size_t ldcol);

/* The adjoint of cnn_im2col: dx [in_c, in_h, in_w] += the sum of the col
 * entries that were copied from each input pixel. col is scratch: its
 * entries that fall in the padding may be zeroed. */
void cnn_col2im_add(const cnn_conv_shape *s, float *col, int row0, int rows,
                    size_t ldcol, float *dx);

#endif
