/* fc.h: the fully connected (affine) layer.
 *
 *   x   (N, D) or (N, C, H, W): each item is flattened to D = C*H*W values
 *       in (C, H, W) order, which for NCHW data is just the memory order
 *   w   (D, M)
 *   b   (M,)
 *   out (N, M)
 *
 *   forward:  out = x w + b
 *   backward: dw = x^T dout       (D, M)
 *             db = sum over the batch of dout   (M,)
 *             dx = dout w^T       (N, D), reshaped to x's shape */
#ifndef FC_H
#define FC_H

#include "layer.h"

typedef struct {
    Layer base;
    int in_features, out_features;
    Tensor *w, *b, *dw, *db;
} FcLayer;

/* params[0] is w and params[1] is b; a network may list w alone, leaving b
 * at 0 (a description's 'nobias'). */
Layer *fc_create(int in_features, int out_features, Error *err);

#endif
