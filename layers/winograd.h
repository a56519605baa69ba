/* winograd.h: 3x3 convolutions with fewer multiplications, Winograd's
 * F(4x4, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2016).
 *
 * A 3x3 convolution with stride 1 computes each 4x4 block of an output map
 * from a 6x6 block of the input: 16 outputs x 9 multiply-adds = 144 per
 * filter and channel. Winograd's minimal filtering computes the same 16
 * numbers with 36 multiplications, after turning the input block and the
 * filter into 6x6 blocks of another kind, and turning the 36 products back:
 *
 *     Y (4x4) = A^T [ (G g G^T) .* (B^T d B) ] A
 *
 * g the 3x3 filter, d the 6x6 input block, .* the element-wise product,
 * and A (6x4), B (6x6), G (6x3) small fixed matrices of 0, +-1, +-2, +-4,
 * +-5, +-8 and fractions (winograd.c). Over C channels the products are
 * summed before the last step, so for each of the 36 positions e of the
 * 6x6 block the sum over channels is a matrix product:
 *
 *     M[e] (F, T) = U[e] (F, C) * V[e] (C, T)
 *     U[e] = entry e of G g G^T for every filter and channel
 *     V[e] = entry e of B^T d B for every channel and tile
 *
 * T the tiles (4x4 output blocks) of a batch of images. 36 products of
 * F x C x T multiply-adds replace one of F x 9C x 16T: 4 times fewer (on a
 * map that is not a multiple of 4, the last tiles are partly wasted). The
 * price is the transforms (additions, linear in the data) and rounding:
 * the products are the same sums in another form, and in float they agree
 * with im2col's to about 1e-5 of their size, not to the last bit.
 *
 * The backward pass is the same steps transposed: every step is linear,
 * so its adjoint takes the gradient back through it:
 *
 *     dM[e] (F, T)  = entry e of A dY A^T       (winograd_output_gradients)
 *     dU[e] (F, C)  = dM[e] * V[e]^T            summed over the tiles
 *     dw            = G^T dU G                  (winograd_filter_gradients)
 *     dV[e] (C, T)  = U[e]^T * dM[e]
 *     dx            = B dV B^T, block by block  (winograd_input_gradients)
 *
 * These are the exact gradients of the function the forward computes, so
 * the gradient checker holds them to the same 1e-7 as any layer, where
 * rounding lets a centred difference resolve them (WINOGRAD_ROUNDINGS).
 *
 * Layouts: U (36, F, C), V (36, C, Tw), M and dM (36, F, Tw), all
 * row-major; tile t = m * tiles + th * tiles_w + tw for image m of the
 * batch, and Tw = T rounded up to a multiple of WINOGRAD_LANES
 * (winograd_width: the transforms take the tiles that many at a time, and
 * always fill the rows' last columns: past T with copies of the last tile
 * in V, with zeros in dM, so that products over all Tw columns give the
 * same numbers in the first T). */
#ifndef WINOGRAD_H
#define WINOGRAD_H

#include <stddef.h>

#include "im2col.h"
#include "real.h"

enum {
    WINOGRAD_POSITIONS = 36, /* a 6x6 block */
    WINOGRAD_LANES = 16      /* tiles transformed side by side */
};

/* How much more rounding an output carries than im2col's sum of products:
 * the transforms' coefficients (up to 8 and down to 1/24) make terms larger
 * than the output and cancel them. Measured in double on random filters and
 * inputs, against the definition summed in long double: 4.6 to 7.3 times
 * im2col's rms error (tests/test_conv.c holds it under this). The gradient
 * checker weighs a Winograd layer's outputs by it (layer.h,
 * output_roundings). */
#define WINOGRAD_ROUNDINGS 8.0

/* The 4x4 output blocks that cover one image's output map. */
typedef struct {
    ConvGeometry g;     /* 3x3 kernel, stride 1 */
    int tiles_h, tiles_w, tiles;
} WinogradTiles;

/* Whether the geometry is one Winograd F(4x4, 3x3) computes: a 3x3
 * kernel, stride 1, pad 0..2 (which every valid 3x3 geometry has). */
int winograd_applies(const ConvGeometry *g);

WinogradTiles winograd_tiles(const ConvGeometry *g);

/* Tw: the columns of V, M and dM for `count` images (see Layouts above) */
int winograd_width(const WinogradTiles *t, int count);

/* U (36, F, C) from w (F, C, 3, 3): U[e][f][c] = (G w[f][c] G^T)[e]. */
void winograd_filters(int F, int C, const real *w, real *U);

/* Reals of work space winograd_inputs and winograd_input_gradients
 * need for `count` images: their maps inside a border of zeros, so that
 * every 6x6 block is read (or added to) with no tests at the edges. */
size_t winograd_work_size(const WinogradTiles *t, int count);

/* V (36, C, Tw) from `count` images x (count, C, H, W): each
 * 6x6 input block (zero outside the image) turned into B^T d B. work:
 * winograd_work_size reals. */
void winograd_inputs(const WinogradTiles *t, const real *x, int count, real *V, real *work);

/* out (count, F, H_out, W_out) from M (36, F, Tw): each block
 * A^T m A, the parts past the map's edge dropped; + b[f] unless b is NULL. */
void winograd_outputs(const WinogradTiles *t, int F, const real *M, int count, const real *b,
                      real *out);

/* dM (36, F, Tw) from dout (count, F, H_out, W_out): each 4x4
 * block (zero past the map's edge) turned into A dY A^T. The adjoint of
 * winograd_outputs. */
void winograd_output_gradients(const WinogradTiles *t, int F, const real *dout, int count,
                               real *dM);

/* dw (F, C, 3, 3) = G^T dU[f][c] G from dU (36, F, C), overwritten. The
 * adjoint of winograd_filters. */
void winograd_filter_gradients(int F, int C, const real *dU, real *dw);

/* dx (count, C, H, W) = B dV B^T of each block, where the blocks overlap
 * summed, the parts in the padding dropped. The adjoint of
 * winograd_inputs. work: winograd_work_size reals. */
void winograd_input_gradients(const WinogradTiles *t, const real *dV, int count, real *dx,
                              real *work);

#endif
