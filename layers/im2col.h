/* im2col.h: turning a convolution into a matrix multiply.
 *
 * A kH x kW convolution looks at one patch of C*kH*kW input values for every
 * output position. im2col copies each patch into one column of a matrix
 *
 *     cols (C*kH*kW, H_out*W_out),   row r = (c*kH + i)*kW + j,
 *                                    column p = oh*W_out + ow,
 *     cols[r][p] = x[c][oh*stride - pad + i][ow*stride - pad + j]
 *
 * (zero where that falls in the padding), so that the whole convolution of
 * one image is a single product  out (F, H_out*W_out) = w (F, C*kH*kW) * cols.
 *
 * col2im_add is the adjoint (the transpose) of im2col: every column entry is
 * added back onto the input pixel it was copied from. Where windows
 * overlap, a pixel receives the sum of its shares; that is exactly the
 * backward pass of the copy, and why col2im must add (+=), never assign. */
#ifndef IM2COL_H
#define IM2COL_H

#include "error.h"
#include "real.h"

typedef struct {
    int channels, height, width;  /* input image (C, H, W) */
    int kernel_h, kernel_w;
    int stride, pad;
    int out_h, out_w;             /* (H + 2*pad - kH) / stride + 1, same for W */
} ConvGeometry;

/* Fills g and checks it: kernel, stride >= 1, pad >= 0, and the kernel must
 * fit inside the padded input. Returns -1 with a message otherwise. */
int conv_geometry_init(ConvGeometry *g, int C, int H, int W, int kernel_h, int kernel_w,
                       int stride, int pad, Error *err);

/* Rows and columns of the cols matrix: C*kH*kW and H_out*W_out. */
int conv_geometry_rows(const ConvGeometry *g);
int conv_geometry_cols(const ConvGeometry *g);

/* x is one image (C, H, W); cols is (C*kH*kW, H_out*W_out), overwritten.
 * x and cols must not overlap. */
void im2col(const ConvGeometry *g, const real *restrict x, real *restrict cols);

/* The same with cols' rows ld >= H_out*W_out numbers apart: several images'
 * cols side by side in one matrix (conv.c does that for small images). */
void im2col_strided(const ConvGeometry *g, const real *restrict x, real *restrict cols, long ld);
void im2col_reference(const ConvGeometry *g, const real *x, real *cols);

/* x (C, H, W) += the adjoint of im2col applied to cols (C*kH*kW, H_out*W_out).
 * Accumulates: zero x first for a plain col2im. */
void col2im_add(const ConvGeometry *g, const real *restrict cols, real *restrict x);
void col2im_add_strided(const ConvGeometry *g, const real *restrict cols, long ld,
                        real *restrict x);
void col2im_add_reference(const ConvGeometry *g, const real *cols, real *x);

#endif
