/* crop.h: a window cut out of each image: random in training, central in
 * evaluation.
 *
 *   x, dx:     (N, C, H, W)
 *   out, dout: (N, C, h, w),  h <= H, w <= W
 *   training:   image n's window starts at a random (top_n, left_n),
 *               0 <= top_n <= H - h, 0 <= left_n <= W - w, the same for all
 *               its channels:  out[n, c, i, j] = x[n, c, top_n + i, left_n + j]
 *   evaluation: every window is the central one, top = (H - h) / 2 and
 *               left = (W - w) / 2 (rounded down)
 *   backward:   dx = dout inside the window, 0 outside: each output is a copy
 *               of one input, so its gradient goes back to that input, and
 *               the inputs outside the window did not affect the loss.
 *
 * As the first layer of a network it is augmentation that also saves time:
 * trained on 40x40 windows of 48x48 faces, the network sees each face at
 * 81 different positions and does (40/48)^2 = 69% of the arithmetic, and in
 * evaluation it looks at the centre of the face, where it was trained to.
 * The checkpoint carries the layer, so evaluation and prediction crop the
 * same way without being told.
 *
 * The windows are a function of the layer's noise key (set by the network
 * before each training step) and of the image's position in the batch,
 * nothing else, as for dropout: the same for every thread count, and fixed
 * until the key changes, which lets the gradient checker hold them. */
#ifndef CROP_H
#define CROP_H

#include "layer.h"

typedef struct {
    Layer base;
    int height, width;   /* the window: h x w */
    int *corners;        /* (top, left) of each image's window in the last forward */
    size_t corners_capacity;
} CropLayer;

/* A height x width window; NULL with a message unless both are >= 1. */
Layer *crop_create(int height, int width, Error *err);

#endif
