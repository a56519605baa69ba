/* relu.h: the rectified linear unit, applied elementwise.
 *
 *   x, out, dout, dx: any shape, all the same
 *   forward:  out = max(0, x)
 *   backward: dx = dout where out > 0, else 0
 *
 * The derivative of max(0, x) is 1 for x > 0 and 0 for x < 0; at exactly 0
 * it is undefined and we take 0, as PyTorch does. A gradient check near 0
 * would straddle the kink, so checks draw inputs away from it.
 *
 * Backward asks "was the output positive?" rather than "was the input
 * positive?": the answer is the same (out > 0 exactly when x > 0), but it
 * means the layer never needs its input again. So it can work in place:
 * forward may overwrite x with out, and backward may overwrite dout with
 * dx. The network does both (see LayerOps.in_place), which saves the
 * memory of two copies of the largest activation of the emotion CNN. */
#ifndef RELU_H
#define RELU_H

#include "layer.h"

Layer *relu_create(void);

#endif
