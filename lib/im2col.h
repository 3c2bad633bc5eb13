/* im2col.h - (internal) unrolls convolution windows into a matrix and back.
 *
 * For one image x [in_c, in_h, in_w] and the output rows
 * [row0, row0 + rows), the column matrix is
 *   col [K = in_c*kh*kw][rows*out_w]   (row stride ldcol >= rows*out_w)
 * with col[(c*kh + i)*kw + j][(oh - row0)*out_w + ow] =
 *   x[c][oh*stride_h - pad_top + i][ow*stride_w - pad_left + j]  (0 outside),
 * so that weight [out_c, K] x col is the convolution of those output rows.
 * Several whole images (x [images, in_c, in_h, in_w]) share one matrix side
 * by side: image j's columns start at column j * rows * out_w. Both
 * directions run in parallel with OpenMP, one region for all the images:
 * small maps (5x5, 12x12) give each image too little work for a region of
 * its own.
 */
#ifndef CNN_IM2COL_H
#define CNN_IM2COL_H

#include "cnn.h"

/* Fills col (see above); images > 1 only with whole images (row0 = 0,
 * rows = out_h). */
void cnn_im2col(const cnn_conv_shape *s, int images, const float *x, int row0,
                int rows, float *col, size_t ldcol);

/* The adjoint of cnn_im2col: each pixel of dx [images, in_c, in_h, in_w]
 * gets the sum of the col entries that were copied from it, added to its
 * value or, with overwrite, in place of it (the whole of dx, not only the
 * rows the chunk reaches). col is scratch: its entries that fall in the
 * padding may be zeroed. */
void cnn_col2im(const cnn_conv_shape *s, int images, float *col, int row0,
                int rows, size_t ldcol, int overwrite, float *dx);

#endif
