/* pool.h: max-pooling and average-pooling layers.
 *
 *   x   (N, C, H, W)
 *   out (N, C, H_out, W_out),  H_out = (H + 2*pad - kH) / stride + 1
 *
 * Each output value summarises one kH x kW window of one channel:
 *   max-pool:  out = the largest value in the window
 *   avg-pool:  out = the window's sum / (kH*kW)
 *
 * Backward:
 *   max-pool:  the whole dout of a window goes to the one input that was the
 *              max (out = x[argmax], so d out / d x is 1 there, 0 elsewhere);
 *              with ties, to the first max in row-major window order.
 *   avg-pool:  each input in the window gets dout / (kH*kW).
 * Overlapping windows (stride < kernel) add their shares.
 *
 * Padding, as in PyTorch: max-pool ignores padded positions; avg-pool
 * counts them as zeros (divides by kH*kW). pad may be at most half the
 * kernel, so every window holds at least one real input. */
#ifndef POOL_H
#define POOL_H

#include "layer.h"

typedef enum { POOL_MAX, POOL_AVERAGE } PoolKind;

typedef struct {
    Layer base;
    PoolKind kind;
    int kernel_h, kernel_w, stride, pad;
    int *argmax;            /* max-pool: for each output, the input index of its max */
    size_t argmax_capacity;
} PoolLayer;

/* Returns NULL with a message for a kernel < 1, stride < 1, pad < 0 or a
 * pad larger than half the kernel. */
Layer *maxpool_create(int kernel_h, int kernel_w, int stride, int pad, Error *err);
Layer *avgpool_create(int kernel_h, int kernel_w, int stride, int pad, Error *err);

#endif
