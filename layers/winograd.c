/* winograd.c: the transforms of Winograd's F(4x4, 3x3); winograd.h has
 * the method, conv.c the products between them.
 *
 * The three matrices (Lavin and Gray, 2016, interpolation points 0, 1, -1,
 * 2, -2 and infinity):
 *
 *          | 4  0 -5  0  1  0 |          | 1/4    0     0   |
 *          | 0 -4 -4  1  1  0 |          | -1/6  -1/6  -1/6 |        | 1  1  1  1  1  0 |
 *    B^T = | 0  4 -4 -1  1  0 |     G =  | -1/6   1/6  -1/6 |  A^T = | 0  1 -1  2 -2  0 |
 *          | 0 -2 -1  2  1  0 |          | 1/24  1/12  1/6  |        | 0  1  1  4  4  0 |
 *          | 0  2 -1 -2  1  0 |          | 1/24 -1/12  1/6  |        | 0  1 -1  8 -8  1 |
 *          | 0  4  0 -5  0  1 |          | 0      0     1   |
 *
 * A 2-D transform X^T d X is the 1-D one applied down every column, then
 * along every row. Each 1-D step below is one of these matrices (or its
 * transpose, for the backward pass) written out as sums, and applied to
 * LANES blocks side by side (the tiles along a row of the map), so that
 * the compiler turns the lanes into vector instructions. Zero entries are
 * left out: in IEEE arithmetic 0 * x is not always 0 (x infinite or NaN),
 * so the compiler may not drop them itself. */
#include "winograd.h"

#include <assert.h>
#include <string.h>

enum { LANES = 16 };

/* Each 1-D step reads six (or four, or three) vectors of n lanes, the k-th
 * at in + k * in_step, and writes its results at out + k * out_step. */

/* out = B^T in: an input block's column (or row) */
static inline void input_1d(const real *in, size_t in_step, real *out, size_t out_step, int n)
{
    for (int l = 0; l < n; l++) {
        const real d0 = in[l], d1 = in[in_step + l], d2 = in[2 * in_step + l],
                   d3 = in[3 * in_step + l], d4 = in[4 * in_step + l], d5 = in[5 * in_step + l];
        out[l] = 4 * d0 - 5 * d2 + d4;
        out[out_step + l] = -4 * (d1 + d2) + d3 + d4;
        out[2 * out_step + l] = 4 * (d1 - d2) - d3 + d4;
        out[3 * out_step + l] = 2 * (d3 - d1) - d2 + d4;
        out[4 * out_step + l] = 2 * (d1 - d3) - d2 + d4;
        out[5 * out_step + l] = 4 * d1 - 5 * d3 + d5;
    }
}

/* out = B in: the adjoint of input_1d */
static inline void input_gradient_1d(const real *in, size_t in_step, real *out, size_t out_step,
                                     int n)
{
    for (int l = 0; l < n; l++) {
        const real v0 = in[l], v1 = in[in_step + l], v2 = in[2 * in_step + l],
                   v3 = in[3 * in_step + l], v4 = in[4 * in_step + l], v5 = in[5 * in_step + l];
        out[l] = 4 * v0;
        out[out_step + l] = 4 * (v2 - v1) + 2 * (v4 - v3) + 4 * v5;
        out[2 * out_step + l] = -5 * v0 - 4 * (v1 + v2) - v3 - v4;
        out[3 * out_step + l] = v1 - v2 + 2 * (v3 - v4) - 5 * v5;
        out[4 * out_step + l] = v0 + v1 + v2 + v3 + v4;
        out[5 * out_step + l] = v5;
    }
}

/* out (4) = A^T in (6): the 36 products back to 4 outputs */
static inline void output_1d(const real *in, size_t in_step, real *out, size_t out_step, int n)
{
    for (int l = 0; l < n; l++) {
        const real m0 = in[l], m1 = in[in_step + l], m2 = in[2 * in_step + l],
                   m3 = in[3 * in_step + l], m4 = in[4 * in_step + l], m5 = in[5 * in_step + l];
        out[l] = m0 + (m1 + m2) + (m3 + m4);
        out[out_step + l] = (m1 - m2) + 2 * (m3 - m4);
        out[2 * out_step + l] = (m1 + m2) + 4 * (m3 + m4);
        out[3 * out_step + l] = (m1 - m2) + 8 * (m3 - m4) + m5;
    }
}

/* out (6) = A in (4): the adjoint of output_1d */
static inline void output_gradient_1d(const real *in, size_t in_step, real *out, size_t out_step,
                                      int n)
{
    for (int l = 0; l < n; l++) {
        const real y0 = in[l], y1 = in[in_step + l], y2 = in[2 * in_step + l],
                   y3 = in[3 * in_step + l];
        out[l] = y0;
        out[out_step + l] = (y0 + y2) + (y1 + y3);
        out[2 * out_step + l] = (y0 + y2) - (y1 + y3);
        out[3 * out_step + l] = (y0 + 4 * y2) + 2 * (y1 + 4 * y3);
        out[4 * out_step + l] = (y0 + 4 * y2) - 2 * (y1 + 4 * y3);
        out[5 * out_step + l] = y3;
    }
}

/* out (6) = G in (3): a filter's column (or row) */
static inline void filter_1d(const real *in, size_t in_step, real *out, size_t out_step, int n)
{
    for (int l = 0; l < n; l++) {
        const real g0 = in[l], g1 = in[in_step + l], g2 = in[2 * in_step + l];
        out[l] = g0 / 4;
        out[out_step + l] = -(g0 + g1 + g2) / 6;
        out[2 * out_step + l] = -(g0 - g1 + g2) / 6;
        out[3 * out_step + l] = g0 / 24 + g1 / 12 + g2 / 6;
        out[4 * out_step + l] = g0 / 24 - g1 / 12 + g2 / 6;
        out[5 * out_step + l] = g2;
    }
}

/* out (3) = G^T in (6): the adjoint of filter_1d */
static inline void filter_gradient_1d(const real *in, size_t in_step, real *out, size_t out_step,
                                      int n)
{
    for (int l = 0; l < n; l++) {
        const real u0 = in[l], u1 = in[in_step + l], u2 = in[2 * in_step + l],
                   u3 = in[3 * in_step + l], u4 = in[4 * in_step + l], u5 = in[5 * in_step + l];
        out[l] = u0 / 4 - (u1 + u2) / 6 + (u3 + u4) / 24;
        out[out_step + l] = (u2 - u1) / 6 + (u3 - u4) / 12;
        out[2 * out_step + l] = (u3 + u4 - u1 - u2) / 6 + u5;
    }
}

int winograd_applies(const ConvGeometry *g)
{
    return g->kernel_h == 3 && g->kernel_w == 3 && g->stride == 1 && g->pad <= 2;
}

WinogradTiles winograd_tiles(const ConvGeometry *g)
{
    assert(winograd_applies(g));
    WinogradTiles t = {.g = *g, .tiles_h = (g->out_h + 3) / 4, .tiles_w = (g->out_w + 3) / 4};
    t.tiles = t.tiles_h * t.tiles_w;
    return t;
}

/* The filters, LANES at a time: pair p = f * C + c is w + 9 p, and U[e]'s
 * entry p (U[e] is F x C, row-major). */
void winograd_filters(int F, int C, const real *w, real *U)
{
    const size_t pairs = (size_t)F * C;
    for (size_t first = 0; first < pairs; first += LANES) {
        const int n = pairs - first < LANES ? (int)(pairs - first) : LANES;
        real g[3][3][LANES] = {{{0}}}, columns[6][3][LANES], u[6][6][LANES];
        for (int l = 0; l < n; l++)
            for (int k = 0; k < 9; k++) g[k / 3][k % 3][l] = w[(first + l) * 9 + k];
        for (int j = 0; j < 3; j++) filter_1d(g[0][j], 3 * LANES, columns[0][j], 3 * LANES, LANES);
        for (int p = 0; p < 6; p++) filter_1d(columns[p][0], LANES, u[p][0], LANES, LANES);
        for (int e = 0; e < 36; e++)
            memcpy(U + e * pairs + first, u[e / 6][e % 6], (size_t)n * sizeof(real));
    }
}

void winograd_filter_gradients(int F, int C, const real *dU, real *dw)
{
    const size_t pairs = (size_t)F * C;
    for (size_t first = 0; first < pairs; first += LANES) {
        const int n = pairs - first < LANES ? (int)(pairs - first) : LANES;
        real du[6][6][LANES], rows[3][6][LANES], g[3][3][LANES];
        for (int e = 0; e < 36; e++) {
            memcpy(du[e / 6][e % 6], dU + e * pairs + first, (size_t)n * sizeof(real));
            memset(du[e / 6][e % 6] + n, 0, (size_t)(LANES - n) * sizeof(real));
        }
        for (int q = 0; q < 6; q++)
            filter_gradient_1d(du[0][q], 6 * LANES, rows[0][q], 6 * LANES, LANES);
        for (int i = 0; i < 3; i++) filter_gradient_1d(rows[i][0], LANES, g[i][0], LANES, LANES);
        for (int l = 0; l < n; l++)
            for (int k = 0; k < 9; k++) dw[(first + l) * 9 + k] = g[k / 3][k % 3][l];
    }
}

/* Blocks t .. t + n - 1 of a batch (n <= LANES): for each, its image and
 * the top left corner of its 4x4 output block. The four functions below
 * take the blocks LANES at a time in this order, whatever rows and images
 * they come from, so that every lane is used on small maps too. */
typedef struct {
    int n;
    int image[LANES], row[LANES], col[LANES];
} Blocks;

static Blocks blocks_at(const WinogradTiles *t, int first, int T)
{
    Blocks b = {.n = T - first < LANES ? T - first : LANES};
    for (int l = 0; l < b.n; l++) {
        const int block = first + l, within = block % t->tiles;
        b.image[l] = block / t->tiles;
        b.row[l] = 4 * (within / t->tiles_w);
        b.col[l] = 4 * (within % t->tiles_w);
    }
    return b;
}

/* d[i][j][l] = map[row + i][col + j] for the size x size block of lane l at
 * (row, col), 0 outside the H x W map (the padding, or past the edge). */
static void gather(const real *map, int H, int W, int row, int col, int size, int l, real *d)
{
    if (row >= 0 && col >= 0 && row + size <= H && col + size <= W) {
        for (int i = 0; i < size; i++)
            for (int j = 0; j < size; j++)
                d[(i * size + j) * LANES + l] = map[(size_t)(row + i) * W + col + j];
        return;
    }
    for (int i = 0; i < size; i++)
        for (int j = 0; j < size; j++) {
            const int r = row + i, c = col + j;
            d[(i * size + j) * LANES + l] =
                r >= 0 && r < H && c >= 0 && c < W ? map[(size_t)r * W + c] : 0;
        }
}

/* map[row + i][col + j] (+)= d[i][j][l] for the parts of the block inside the map */
static void scatter(real *map, int H, int W, int row, int col, int size, int l, const real *d,
                    int add)
{
    for (int i = 0; i < size; i++) {
        const int r = row + i;
        if (r < 0 || r >= H) continue;
        for (int j = 0; j < size; j++) {
            const int c = col + j;
            if (c < 0 || c >= W) continue;
            real *to = map + (size_t)r * W + c;
            *to = add ? *to + d[(i * size + j) * LANES + l] : d[(i * size + j) * LANES + l];
        }
    }
}

/* The 36 entries of LANES blocks from (or to) rows of a (36, rows, T)
 * array: entry e of block first + l at position e * rows * T + row * T. */
static void load_lanes(const real *from, size_t position_step, int n, real *d)
{
    for (int e = 0; e < 36; e++) {
        memcpy(d + e * LANES, from + e * position_step, (size_t)n * sizeof(real));
        memset(d + e * LANES + n, 0, (size_t)(LANES - n) * sizeof(real));
    }
}

static void store_lanes(const real *d, int n, size_t position_step, real *to)
{
    for (int e = 0; e < 36; e++)
        memcpy(to + e * position_step, d + e * LANES, (size_t)n * sizeof(real));
}

void winograd_inputs(const WinogradTiles *t, const real *x, int count, real *V)
{
    const ConvGeometry *g = &t->g;
    const int C = g->channels, H = g->height, W = g->width, pad = g->pad;
    const int T = count * t->tiles;
    const size_t position_step = (size_t)C * T, image = (size_t)C * H * W;
    for (int first = 0; first < T; first += LANES) {
        const Blocks b = blocks_at(t, first, T);
        for (int c = 0; c < C; c++) {
            real d[6][6][LANES] = {{{0}}}, columns[6][6][LANES], v[6][6][LANES];
            for (int l = 0; l < b.n; l++)
                gather(x + b.image[l] * image + (size_t)c * H * W, H, W, b.row[l] - pad,
                       b.col[l] - pad, 6, l, d[0][0]);
            for (int j = 0; j < 6; j++)
                input_1d(d[0][j], 6 * LANES, columns[0][j], 6 * LANES, LANES);
            for (int k = 0; k < 6; k++) input_1d(columns[k][0], LANES, v[k][0], LANES, LANES);
            store_lanes(v[0][0], b.n, position_step, V + (size_t)c * T + first);
        }
    }
}

void winograd_input_gradients_add(const WinogradTiles *t, const real *dV, int count, real *dx)
{
    const ConvGeometry *g = &t->g;
    const int C = g->channels, H = g->height, W = g->width, pad = g->pad;
    const int T = count * t->tiles;
    const size_t position_step = (size_t)C * T, image = (size_t)C * H * W;
    for (int first = 0; first < T; first += LANES) {
        const Blocks b = blocks_at(t, first, T);
        for (int c = 0; c < C; c++) {
            real v[6][6][LANES], columns[6][6][LANES], d[6][6][LANES];
            load_lanes(dV + (size_t)c * T + first, position_step, b.n, v[0][0]);
            for (int q = 0; q < 6; q++)
                input_gradient_1d(v[0][q], 6 * LANES, columns[0][q], 6 * LANES, LANES);
            for (int i = 0; i < 6; i++)
                input_gradient_1d(columns[i][0], LANES, d[i][0], LANES, LANES);
            /* neighbouring blocks overlap by two rows or columns: each
             * adds its share, in a fixed order */
            for (int l = 0; l < b.n; l++)
                scatter(dx + b.image[l] * image + (size_t)c * H * W, H, W, b.row[l] - pad,
                        b.col[l] - pad, 6, l, d[0][0], 1);
        }
    }
}

void winograd_outputs(const WinogradTiles *t, int F, const real *M, int count, const real *b,
                      real *out)
{
    const ConvGeometry *g = &t->g;
    const int H_out = g->out_h, W_out = g->out_w, T = count * t->tiles;
    const size_t position_step = (size_t)F * T, image = (size_t)F * H_out * W_out;
    for (int first = 0; first < T; first += LANES) {
        const Blocks blocks = blocks_at(t, first, T);
        for (int f = 0; f < F; f++) {
            real products[6][6][LANES], columns[4][6][LANES], y[4][4][LANES];
            load_lanes(M + (size_t)f * T + first, position_step, blocks.n, products[0][0]);
            for (int q = 0; q < 6; q++)
                output_1d(products[0][q], 6 * LANES, columns[0][q], 6 * LANES, LANES);
            for (int k = 0; k < 4; k++) output_1d(columns[k][0], LANES, y[k][0], LANES, LANES);
            const real bias = b ? b[f] : 0;
            for (int k = 0; k < 4; k++)
                for (int r = 0; r < 4; r++)
                    for (int l = 0; l < LANES; l++) y[k][r][l] += bias;
            for (int l = 0; l < blocks.n; l++)
                scatter(out + blocks.image[l] * image + (size_t)f * H_out * W_out, H_out, W_out,
                        blocks.row[l], blocks.col[l], 4, l, y[0][0], 0);
        }
    }
}

void winograd_output_gradients(const WinogradTiles *t, int F, const real *dout, int count,
                               real *dM)
{
    const ConvGeometry *g = &t->g;
    const int H_out = g->out_h, W_out = g->out_w, T = count * t->tiles;
    const size_t position_step = (size_t)F * T, image = (size_t)F * H_out * W_out;
    for (int first = 0; first < T; first += LANES) {
        const Blocks b = blocks_at(t, first, T);
        for (int f = 0; f < F; f++) {
            real y[4][4][LANES] = {{{0}}}, columns[6][4][LANES], products[6][6][LANES];
            for (int l = 0; l < b.n; l++)
                gather(dout + b.image[l] * image + (size_t)f * H_out * W_out, H_out, W_out,
                       b.row[l], b.col[l], 4, l, y[0][0]);
            for (int r = 0; r < 4; r++)
                output_gradient_1d(y[0][r], 4 * LANES, columns[0][r], 4 * LANES, LANES);
            for (int p = 0; p < 6; p++)
                output_gradient_1d(columns[p][0], LANES, products[p][0], LANES, LANES);
            store_lanes(products[0][0], b.n, position_step, dM + (size_t)f * T + first);
        }
    }
}
