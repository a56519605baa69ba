/* relu.h: the rectified linear unit, applied elementwise.
 *
 *   x, out, dout, dx: any shape, all the same
 *   forward:  out = max(0, x)
 *   backward: dx = dout where x > 0, else 0
 *
 * The derivative of max(0, x) is 1 for x > 0 and 0 for x < 0; at exactly 0
 * it is undefined and we take 0, as PyTorch does. A gradient check near 0
 * would straddle the kink, so checks draw inputs away from it. */
#ifndef RELU_H
#define RELU_H

#include "layer.h"

Layer *relu_create(void);

#endif
