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
 * they come from, so that every lane is used on small maps too. Lanes that
 * hold neighbours along one row of blocks form a run: their pixels are one
 * stretch of each image row, 4 columns a block, copied in one piece. */
typedef struct {
    int n;
    int image[LANES], row[LANES], col[LANES];
    int run_end[LANES]; /* 1: the next lane does not continue this lane's run */
} Blocks;

static Blocks blocks_at(const WinogradTiles *t, int first, int T)
{
    Blocks b;
    b.n = T - first < LANES ? T - first : LANES;
    /* the first block's place, then step along the rows of blocks (the
     * lanes past n repeat the last block; nothing is stored from them) */
    int image = first / t->tiles, th = first % t->tiles / t->tiles_w, tw = first % t->tiles_w;
    for (int l = 0; l < LANES; l++) {
        b.image[l] = image;
        b.row[l] = 4 * th;
        b.col[l] = 4 * tw;
        if (l + 1 >= b.n) continue;
        if (++tw == t->tiles_w) {
            tw = 0;
            if (++th == t->tiles_h) {
                th = 0;
                image++;
            }
        }
    }
    for (int l = 0; l < LANES; l++)
        b.run_end[l] = l + 1 >= b.n || b.image[l + 1] != b.image[l] || b.row[l + 1] != b.row[l];
    return b;
}

/* to[0 .. len - 1] = map[row][col .. col + len - 1], 0 outside the H x W map */
static void read_span(const real *map, int H, int W, int row, int col, int len, real *to)
{
    if (row < 0 || row >= H) {
        memset(to, 0, (size_t)len * sizeof(real));
        return;
    }
    const int begin = col < 0 ? -col : 0, end = col + len > W ? W - col : len;
    if (end <= begin) {
        memset(to, 0, (size_t)len * sizeof(real));
        return;
    }
    const real *from = map + (size_t)row * W; /* col may be negative: index, not offset */
    for (int j = 0; j < begin; j++) to[j] = 0;
    for (int j = begin; j < end; j++) to[j] = from[col + j];
    for (int j = end; j < len; j++) to[j] = 0;
}

/* map[row][col .. col + len - 1] = (or +=) from[0 .. len - 1], what lies inside the map */
static void write_span(real *map, int H, int W, int row, int col, int len, const real *from,
                       int add)
{
    if (row < 0 || row >= H) return;
    const int begin = col < 0 ? -col : 0, end = col + len > W ? W - col : len;
    real *to = map + (size_t)row * W; /* col may be negative: index, not offset */
    if (add)
        for (int j = begin; j < end; j++) to[col + j] += from[j];
    else
        for (int j = begin; j < end; j++) to[col + j] = from[j];
}

/* For each run of lanes a .. b: its stretch of image row row_offset (4 columns
 * a block, from each block's column + shift) into line[4a ..], or back. */
static void read_runs(const Blocks *b, const real *maps, size_t image, int H, int W,
                      int row_offset, int shift, real *line)
{
    for (int a = 0; a < b->n;) {
        int e = a;
        while (!b->run_end[e]) e++;
        read_span(maps + b->image[a] * image, H, W, b->row[a] + row_offset, b->col[a] + shift,
                  4 * (e - a + 1), line + 4 * a);
        a = e + 1;
    }
    for (int j = 4 * b->n; j < 4 * LANES; j++) line[j] = 0;
}

static void write_runs(const Blocks *b, real *maps, size_t image, int H, int W, int row_offset,
                       int shift, const real *line, int add)
{
    for (int a = 0; a < b->n;) {
        int e = a;
        while (!b->run_end[e]) e++;
        write_span(maps + b->image[a] * image, H, W, b->row[a] + row_offset, b->col[a] + shift,
                   4 * (e - a + 1), line + 4 * a, add);
        a = e + 1;
    }
}

/* line holds 4 numbers a lane; d[j][l] = line[4 l + j], j = 0..3 */
static void deinterleave(const real *line, real (*d)[LANES])
{
    for (int l = 0; l < LANES; l++) {
        d[0][l] = line[4 * l];
        d[1][l] = line[4 * l + 1];
        d[2][l] = line[4 * l + 2];
        d[3][l] = line[4 * l + 3];
    }
}

static void interleave(real (*d)[LANES], real *line)
{
    for (int l = 0; l < LANES; l++) {
        line[4 * l] = d[0][l];
        line[4 * l + 1] = d[1][l];
        line[4 * l + 2] = d[2][l];
        line[4 * l + 3] = d[3][l];
    }
}

/* The 36 entries of LANES blocks from (or to) rows of a (36, rows, T)
 * array: entry e of block first + l at position e * rows * T + row * T.
 * (A full set of lanes is copied by a loop of fixed length, which the
 * compiler makes one vector move: a call to memcpy for 16 numbers costs
 * more than the copy.) */
static void load_lanes(const real *from, size_t position_step, int n, real *d)
{
    for (int e = 0; e < 36; e++) {
        const real *row = from + e * position_step;
        if (n == LANES) {
            for (int l = 0; l < LANES; l++) d[e * LANES + l] = row[l];
        } else {
            for (int l = 0; l < LANES; l++) d[e * LANES + l] = l < n ? row[l] : 0;
        }
    }
}

static void store_lanes(const real *d, int n, size_t position_step, real *to)
{
    for (int e = 0; e < 36; e++) {
        real *row = to + e * position_step;
        if (n == LANES) {
            for (int l = 0; l < LANES; l++) row[l] = d[e * LANES + l];
        } else {
            for (int l = 0; l < n; l++) row[l] = d[e * LANES + l];
        }
    }
}

/* A 6x6 block's columns 4 and 5 are its right neighbour's 0 and 1: taken
 * from the next lane within a run, read from the image at a run's end. */
static void gather_inputs(const Blocks *b, const real *maps, size_t image, int H, int W, int pad,
                          real d[6][6][LANES])
{
    real line[4 * LANES];
    for (int i = 0; i < 6; i++) {
        read_runs(b, maps, image, H, W, i - pad, -pad, line);
        deinterleave(line, d[i]);
        real right[2][LANES];
        for (int l = 0; l < LANES; l++) {
            real two[2] = {0, 0};
            if (b->run_end[l] && l < b->n)
                read_span(maps + b->image[l] * image, H, W, b->row[l] + i - pad,
                          b->col[l] + 4 - pad, 2, two);
            right[0][l] = two[0];
            right[1][l] = two[1];
        }
        for (int l = 0; l < LANES; l++) {
            const int next = l + 1 < LANES ? l + 1 : l;
            d[i][4][l] = b->run_end[l] ? right[0][l] : d[i][0][next];
            d[i][5][l] = b->run_end[l] ? right[1][l] : d[i][1][next];
        }
    }
}

/* The adjoint: columns 4 and 5 add into the next lane's 0 and 1 within a
 * run, into the image at a run's end; then the runs add into the image. */
static void scatter_add_inputs(const Blocks *b, real *maps, size_t image, int H, int W, int pad,
                               real d[6][6][LANES])
{
    real line[4 * LANES];
    for (int i = 0; i < 6; i++) {
        for (int l = LANES - 1; l > 0; l--) {
            d[i][0][l] += b->run_end[l - 1] ? 0 : d[i][4][l - 1];
            d[i][1][l] += b->run_end[l - 1] ? 0 : d[i][5][l - 1];
        }
        interleave(d[i], line);
        write_runs(b, maps, image, H, W, i - pad, -pad, line, 1);
        for (int l = 0; l < b->n; l++) {
            const int row = b->row[l] + i - pad, col = b->col[l] + 4 - pad;
            if (!b->run_end[l] || row < 0 || row >= H) continue;
            real *at = maps + b->image[l] * image + (size_t)row * W;
            for (int j = 0; j < 2; j++)
                if (col + j >= 0 && col + j < W) at[col + j] += d[i][4 + j][l];
        }
    }
}

void winograd_inputs(const WinogradTiles *t, const real *x, int count, real *V)
{
    const ConvGeometry *g = &t->g;
    const int C = g->channels, H = g->height, W = g->width;
    const int T = count * t->tiles;
    const size_t position_step = (size_t)C * T, image = (size_t)C * H * W;
    for (int c = 0; c < C; c++) {
        for (int first = 0; first < T; first += LANES) {
            const Blocks b = blocks_at(t, first, T);
            real d[6][6][LANES], columns[6][6][LANES], v[6][6][LANES];
            gather_inputs(&b, x + (size_t)c * H * W, image, H, W, g->pad, d);
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
    const int C = g->channels, H = g->height, W = g->width;
    const int T = count * t->tiles;
    const size_t position_step = (size_t)C * T, image = (size_t)C * H * W;
    for (int c = 0; c < C; c++) {
        for (int first = 0; first < T; first += LANES) {
            const Blocks b = blocks_at(t, first, T);
            real v[6][6][LANES], columns[6][6][LANES], d[6][6][LANES];
            load_lanes(dV + (size_t)c * T + first, position_step, b.n, v[0][0]);
            for (int q = 0; q < 6; q++)
                input_gradient_1d(v[0][q], 6 * LANES, columns[0][q], 6 * LANES, LANES);
            for (int i = 0; i < 6; i++)
                input_gradient_1d(columns[i][0], LANES, d[i][0], LANES, LANES);
            /* neighbouring blocks overlap by two rows or columns: each
             * adds its share, in a fixed order */
            scatter_add_inputs(&b, dx + (size_t)c * H * W, image, H, W, g->pad, d);
        }
    }
}

void winograd_outputs(const WinogradTiles *t, int F, const real *M, int count, const real *b,
                      real *out)
{
    const ConvGeometry *g = &t->g;
    const int H_out = g->out_h, W_out = g->out_w, T = count * t->tiles;
    const size_t position_step = (size_t)F * T, image = (size_t)F * H_out * W_out;
    for (int f = 0; f < F; f++) {
        for (int first = 0; first < T; first += LANES) {
            const Blocks blocks = blocks_at(t, first, T);
            real products[6][6][LANES], columns[4][6][LANES], y[4][4][LANES], line[4 * LANES];
            load_lanes(M + (size_t)f * T + first, position_step, blocks.n, products[0][0]);
            for (int q = 0; q < 6; q++)
                output_1d(products[0][q], 6 * LANES, columns[0][q], 6 * LANES, LANES);
            for (int k = 0; k < 4; k++) output_1d(columns[k][0], LANES, y[k][0], LANES, LANES);
            const real bias = b ? b[f] : 0;
            for (int k = 0; k < 4; k++) {
                for (int r = 0; r < 4; r++)
                    for (int l = 0; l < LANES; l++) y[k][r][l] += bias;
                interleave(y[k], line);
                write_runs(&blocks, out + (size_t)f * H_out * W_out, image, H_out, W_out, k, 0,
                           line, 0);
            }
        }
    }
}

void winograd_output_gradients(const WinogradTiles *t, int F, const real *dout, int count,
                               real *dM)
{
    const ConvGeometry *g = &t->g;
    const int H_out = g->out_h, W_out = g->out_w, T = count * t->tiles;
    const size_t position_step = (size_t)F * T, image = (size_t)F * H_out * W_out;
    for (int f = 0; f < F; f++) {
        for (int first = 0; first < T; first += LANES) {
            const Blocks b = blocks_at(t, first, T);
            real y[4][4][LANES], columns[6][4][LANES], products[6][6][LANES], line[4 * LANES];
            for (int k = 0; k < 4; k++) {
                read_runs(&b, dout + (size_t)f * H_out * W_out, image, H_out, W_out, k, 0, line);
                deinterleave(line, y[k]);
            }
            for (int r = 0; r < 4; r++)
                output_gradient_1d(y[0][r], 4 * LANES, columns[0][r], 4 * LANES, LANES);
            for (int p = 0; p < 6; p++)
                output_gradient_1d(columns[p][0], LANES, products[p][0], LANES, LANES);
            store_lanes(products[0][0], b.n, position_step, dM + (size_t)f * T + first);
        }
    }
}
