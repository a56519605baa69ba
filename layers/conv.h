/* conv.h: the convolution layer.
 *
 *   x   (N, C, H, W)        input images
 *   w   (F, C, kH, kW)      F filters, each looking at all C input channels
 *   b   (F,)                one bias per filter
 *   out (N, F, H_out, W_out),  H_out = (H + 2*pad - kH) / stride + 1
 *
 *   out[n][f][oh][ow] = b[f] + sum_{c,i,j} w[f][c][i][j]
 *                              * x[n][c][oh*stride - pad + i][ow*stride - pad + j]
 *
 * (x is zero outside the image: that is the padding). */
#ifndef CONV_H
#define CONV_H

#include "layer.h"

typedef struct {
    Layer base;                 /* first member: a ConvLayer* is a Layer* */
    int in_channels, filters;
    int kernel_h, kernel_w, stride, pad;
    Tensor *w, *b;              /* parameters */
    Tensor *dw, *db;            /* their gradients, written by backward */
    /* Grown on demand and kept between calls, so training steps do not
     * allocate: each thread's work space (cols, or padded images and the
     * tables of where cols' rows start), the partial sums of dw and db (one
     * per group of images), and the filters turned for dx (see conv.c). */
    real *workspace, *partials, *turned;
    int winograd;               /* 3x3 stride 1 through winograd.h (a description's 'winograd') */
    real *winograd_U;           /* the filters turned for it: (36, F, C) */
    long *row_tables;
    size_t workspace_size, partials_size, row_tables_size;
} ConvLayer;

/* A convolution with zero weights and biases (the network initialises them).
 * params[0] is w and params[1] is b; a network may list w alone, leaving
 * b at 0 (a description's 'nobias').
 * Returns NULL with a message for a kernel or channel count < 1, stride < 1
 * or pad < 0. */
Layer *conv_create(int in_channels, int filters, int kernel_h, int kernel_w,
                   int stride, int pad, Error *err);

/* From now on, compute through winograd.h: fewer multiplications, the same
 * result to about 1e-5 of its size in float (a description's 'winograd').
 * For 3x3 kernels with stride 1; other geometries ignore it. */
void conv_use_winograd(Layer *layer);

/* How the layer computes for (C, H, W) inputs, H x W large enough to hold
 * the kernel (conv.c explains the two ways): *forward is 1 when the forward
 * and dw read the padded image through shifted rows, *dx when dx reads the
 * padded dout so; 0 when they go through im2col. For the tests. */
void conv_paths(const Layer *layer, int H, int W, int *forward, int *dx);

/* The definition above as six nested loops: no im2col, no matrix multiply.
 * Tests and lessons compare the layer against it. out must be sized. */
void conv_forward_direct(const Tensor *x, const Tensor *w, const Tensor *b,
                         int stride, int pad, Tensor *out);

#endif
