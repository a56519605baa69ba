/* shifted_rows.h: a stride-1 convolution without im2col's copies.
 *
 * With stride 1, row (c, i, j) of cols is channel c of the zero-padded
 * image moved i rows up and j columns left. Lay the padded image out flat,
 * S = W + pad numbers per row: pad zeros, then the image row. The pad zeros
 * that start a row also end the row before (the padding on the right of
 * one row and on the left of the next are the same zeros), and pad rows of
 * zeros lie above and below. Compute the output on the same grid, output
 * (oh, ow) at position q = oh*S + ow. Then
 *     cols[(c, i, j)][q] = padded[c][oh + i][ow + j] = padded_flat[c*P + i*S + j + q]
 * (P the length of one channel's plane): row (c, i, j) of cols is the run
 * of the flat padded image that starts at c*P + i*S + j. gemm_rows
 * multiplies by a matrix given by where its rows start, so out = w * cols
 * reads the padded image where it lies, and the kH*kW copies of the image
 * that im2col makes are never made. The grid's last S - W_out positions of
 * each row are not outputs (their windows wrap round into the next row):
 * they are computed and dropped, 2% more multiply-adds for a 3x3 kernel
 * at 48x48, 4% at 24x24, 8% at 12x12, 14% at 6x6; so the small images
 * keep im2col (shifted_pays). Every output is the same sum, in the
 * same order, as through im2col.
 *
 * dx is such a convolution too. Input pixel (c, h, w) gathers
 * w[f][c][i][j] * dout[f][h + pad - i][w + pad - j] over f, i, j: that is
 * the stride-1 convolution of dout, zero-padded by kH - 1 - pad rows and
 * kW - 1 - pad columns, with the filters turned half a turn and their input
 * and output channels exchanged,
 *     turned[c][f][i][j] = w[f][c][kH - 1 - i][kW - 1 - j].
 * So dx needs neither dcols nor col2im either; it needs pad < kH and kW.
 *
 * dw = dout * cols^T: dw[f][c][i][j] = sum over q of dout[f][q] *
 * padded[c][q + i*S + j], with dout laid out on the same grid (zeros at
 * the positions that are not outputs). Here cols is transposed, and its
 * rows would have to be packed. Instead, store the padded image channels
 * last (padded_cl[p*C + c], p the flat position): then, for kernel row i,
 * the kW*C numbers (j, c) that dw's row block i multiplies at grid
 * position q lie side by side, from padded_cl + (q + i*S)*C on. So
 *     dw_i (F, kW*C) = dout_grid (F, run) * B_i (run, kW*C),
 *     row q of B_i at padded_cl + (q + i*S)*C,
 * rows that overlap (each starts C numbers after the one before), which
 * gemm_rows reads where they lie. dw comes out in (i, j, c) order
 * (shifted_dw_in_filter_order puts it back).
 *
 * layers/conv.c chooses, layer by layer, between this and im2col. */
#ifndef SHIFTED_ROWS_H
#define SHIFTED_ROWS_H

#include <stddef.h>

#include "real.h"

/* One image's padded layout, pad_h rows above and below, pad_w zeros
 * between rows (and before the first, after the last), and the grid of
 * its stride-1 convolution by kH x kW. */
typedef struct {
    int channels, image_h, image_w, kernel_h, kernel_w, pad_h, pad_w;
    int rows;           /* of the padded image: image_h + 2*pad_h */
    int row_length;     /* S: image_w + pad_w numbers from one padded row to the next */
    long plane;         /* one channel: rows * stride, and pad_w zeros after */
    int out_h, out_w;   /* image_h + 2*pad_h - kH + 1, image_w + 2*pad_w - kW + 1 */
    int run;            /* grid positions from the first output to the last */
} Shifted;

/* The layout of C channels of H x W, padded by pad_h rows and pad_w columns
 * (each at most kernel - 1), for a kH x kW kernel */
Shifted shifted_layout(int C, int H, int W, int kH, int kW, int pad_h, int pad_w);

/* The padded image's length: C planes */
size_t shifted_padded_size(const Shifted *s);

/* Whether this layout is worth it (see shifted_rows.c): 1 or 0 */
int shifted_pays(const Shifted *s);

/* out (F, out_h, out_w) = weights (F, C*kH*kW) * cols(x), + bias[f] if bias
 * is not NULL, for one image x (C, H, W). Work space: padded
 * (shifted_padded_size reals), grid (F * run reals), rows (C*kH*kW). */
void shifted_convolve(const Shifted *s, const real *weights, const real *bias, int F,
                      const real *x, real *out, real *padded, real *grid, long *rows);

/* dw (F, kH*kW*C, in (i, j, c) order) = dout (F, out_h, out_w) * cols(x)^T
 * for one image x (C, H, W), beta = 0, or += with beta = 1. Work space:
 * work (shifted_padded_size + F * run reals), rows (run entries). */
void shifted_dw(const Shifted *s, int F, const real *x, const real *dout, real beta, real *dw,
                real *work, long *rows);

/* turned[c][f][i][j] = w[f][c][kH - 1 - i][kW - 1 - j]: the filters for dx */
void shifted_turn_filters(int F, int C, int kH, int kW, const real *w, real *turned);

/* dw[f][c][i][j] = from[f][i][j][c]: shifted_dw's order put back */
void shifted_dw_in_filter_order(int F, int C, int kH, int kW, const real *from, real *dw);

#endif
