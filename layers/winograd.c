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
 * LANES blocks side by side (LANES consecutive tiles, from whatever rows
 * and images), so that the compiler turns the lanes into vector
 * instructions. Zero entries are left out: in IEEE arithmetic 0 * x is not
 * always 0 (x infinite or NaN), so the compiler may not drop them itself.
 *
 * Around the arithmetic, the data movement: each lane's 6x6 input block is
 * read from a copy of the maps inside a border of zeros (no tests at the
 * edges), with offsets held in ints, which the compiler turns into vector
 * gathers; the rows of V, M and dM are a whole number of LANES long
 * (winograd_width), so lanes move in and out as whole vectors. Written
 * first with a test at every pixel and a copy per run of blocks, the
 * transforms took longer than the products between them: the version here
 * made a 64-channel layer at 24x24 twice as fast (emotion bench). */
#include "winograd.h"

#include <assert.h>
#include <string.h>

enum { LANES = WINOGRAD_LANES };

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
 * they come from, so that every lane is used on small maps too; the lanes
 * past n repeat the last block (nothing is stored from them). The blocks
 * do not depend on the channel: each group of lanes is found once and
 * used for every channel (or filter). */
typedef struct {
    int n;
    int image[LANES], row[LANES], col[LANES];
} Blocks;

static Blocks blocks_at(const WinogradTiles *t, int first, int T)
{
    Blocks b;
    b.n = T - first < LANES ? T - first : LANES;
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
    return b;
}

/* The input maps of a group of images inside a border of zeros, (count, C,
 * rows, cols): pixel (r, q) of a map at (r + pad, q + pad), and rows =
 * 4 tiles_h + 2, cols = 4 tiles_w + 2, so that every block's 6x6 input
 * (output block (4 th, 4 tw) reads input rows 4 th - pad .. 4 th - pad + 5)
 * lies inside, at rows 4 th .. 4 th + 5, columns 4 tw .. 4 tw + 5: read
 * (and, in the backward pass, added to) with no tests at the edges. */
typedef struct {
    int rows, cols;
    size_t map, image; /* reals in one padded map, and in one image's C maps */
} Padded;

static Padded padded_of(const WinogradTiles *t)
{
    Padded p = {.rows = 4 * t->tiles_h + 2, .cols = 4 * t->tiles_w + 2};
    p.map = (size_t)p.rows * p.cols;
    p.image = p.map * t->g.channels;
    return p;
}

size_t winograd_work_size(const WinogradTiles *t, int count)
{
    return padded_of(t).image * count;
}

/* P (count, C, rows, cols) = x (count, C, H, W) inside its border of zeros */
static void pad_maps(const WinogradTiles *t, const Padded *p, const real *x, int count, real *P)
{
    const int H = t->g.height, W = t->g.width, pad = t->g.pad;
    for (size_t map = 0; map < (size_t)count * t->g.channels; map++) {
        real *to = P + map * p->map;
        memset(to, 0, (size_t)pad * p->cols * sizeof(real));
        for (int r = 0; r < H; r++) {
            real *row = to + (size_t)(r + pad) * p->cols;
            memset(row, 0, (size_t)pad * sizeof(real));
            memcpy(row + pad, x + (map * H + r) * W, (size_t)W * sizeof(real));
            memset(row + pad + W, 0, (size_t)(p->cols - pad - W) * sizeof(real));
        }
        memset(to + (size_t)(H + pad) * p->cols, 0,
               (size_t)(p->rows - H - pad) * p->cols * sizeof(real));
    }
}

/* dx (count, C, H, W) = what lies inside the border of P (count, C, rows, cols) */
static void unpad_maps(const WinogradTiles *t, const Padded *p, const real *P, int count, real *dx)
{
    const int H = t->g.height, W = t->g.width, pad = t->g.pad;
    for (size_t map = 0; map < (size_t)count * t->g.channels; map++)
        for (int r = 0; r < H; r++)
            memcpy(dx + (map * H + r) * W, P + map * p->map + (size_t)(r + pad) * p->cols + pad,
                   (size_t)W * sizeof(real));
}

/* d[i][j][l] = the 6x6 input block of lane l, from one channel's padded
 * maps (P: the group's first image's map of that channel) */
static void gather_inputs(const Blocks *b, const Padded *p, const real *P, real d[6][6][LANES])
{
    int at[LANES];
    for (int l = 0; l < LANES; l++)
        at[l] = (int)(b->image[l] * p->image) + b->row[l] * p->cols + b->col[l];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            for (int l = 0; l < LANES; l++) d[i][j][l] = P[at[l] + i * p->cols + j];
}

/* The adjoint: each lane's 6x6 block added into the padded maps, lane
 * after lane (neighbouring blocks overlap by two rows or columns; the
 * order is fixed, so the sums are the same on any number of threads). */
static void scatter_add_inputs(const Blocks *b, const Padded *p, real *P, real d[6][6][LANES])
{
    for (int l = 0; l < b->n; l++) {
        real *at = P + b->image[l] * p->image + (size_t)b->row[l] * p->cols + b->col[l];
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++) at[(size_t)i * p->cols + j] += d[i][j][l];
    }
}

/* An output block's 4 x 4 at (row, col) of an H x W map: how many of its
 * rows and columns lie inside (the last blocks of a map whose size is not
 * a multiple of 4 stick out). */
static int inside(int at, int size)
{
    return size - at < 4 ? size - at : 4;
}

/* out: each lane's y[k][r] + bias at row + k, col + r of its map (maps: one
 * filter's map in the group's first image), what lies inside */
static void write_outputs(const Blocks *b, real *maps, size_t image, int H, int W,
                          real y[4][4][LANES], real bias)
{
    for (int l = 0; l < b->n; l++) {
        real *at = maps + b->image[l] * image + (size_t)b->row[l] * W + b->col[l];
        const int rows = inside(b->row[l], H), cols = inside(b->col[l], W);
        for (int k = 0; k < rows; k++)
            for (int r = 0; r < cols; r++) at[(size_t)k * W + r] = y[k][r][l] + bias;
    }
}

/* The adjoint's input: y[k][r][l] = each lane's 4x4 block of dout, zero
 * past the map's edge, and zero in the lanes past n */
static void gather_outputs(const Blocks *b, const real *maps, size_t image, int H, int W,
                           real y[4][4][LANES])
{
    for (int l = 0; l < LANES; l++) {
        const real *at = maps + b->image[l] * image + (size_t)b->row[l] * W + b->col[l];
        const int rows = l < b->n ? inside(b->row[l], H) : 0, cols = inside(b->col[l], W);
        if (rows == 4 && cols == 4) {
            for (int k = 0; k < 4; k++)
                for (int r = 0; r < 4; r++) y[k][r][l] = at[(size_t)k * W + r];
            continue;
        }
        for (int k = 0; k < 4; k++)
            for (int r = 0; r < 4; r++)
                y[k][r][l] = k < rows && r < cols ? at[(size_t)k * W + r] : 0;
    }
}

/* The 36 entries of LANES blocks from (or to) rows of a (36, rows, Tw)
 * array: entry e of blocks first .. first + LANES - 1 at e * rows * Tw +
 * row * Tw + first. (A copy of a fixed size the compiler makes vector
 * moves.) */
static void load_lanes(const real *from, size_t position_step, real *d)
{
    for (int e = 0; e < 36; e++) memcpy(d + e * LANES, from + e * position_step, sizeof(real[LANES]));
}

static void store_lanes(const real *d, size_t position_step, real *to)
{
    for (int e = 0; e < 36; e++) memcpy(to + e * position_step, d + e * LANES, sizeof(real[LANES]));
}

int winograd_width(const WinogradTiles *t, int count)
{
    const int T = count * t->tiles;
    return (T + LANES - 1) / LANES * LANES;
}

void winograd_inputs(const WinogradTiles *t, const real *x, int count, real *V, real *work)
{
    const int C = t->g.channels, T = count * t->tiles, Tw = winograd_width(t, count);
    const size_t position_step = (size_t)C * Tw;
    const Padded p = padded_of(t);
    pad_maps(t, &p, x, count, work);
    for (int first = 0; first < T; first += LANES) {
        const Blocks b = blocks_at(t, first, T);
        for (int c = 0; c < C; c++) {
            real d[6][6][LANES], columns[6][6][LANES], v[6][6][LANES];
            gather_inputs(&b, &p, work + c * p.map, d);
            for (int j = 0; j < 6; j++)
                input_1d(d[0][j], 6 * LANES, columns[0][j], 6 * LANES, LANES);
            for (int k = 0; k < 6; k++) input_1d(columns[k][0], LANES, v[k][0], LANES, LANES);
            store_lanes(v[0][0], position_step, V + (size_t)c * Tw + first);
        }
    }
}

void winograd_input_gradients(const WinogradTiles *t, const real *dV, int count, real *dx,
                              real *work)
{
    const int C = t->g.channels, T = count * t->tiles, Tw = winograd_width(t, count);
    const size_t position_step = (size_t)C * Tw;
    const Padded p = padded_of(t);
    memset(work, 0, p.image * count * sizeof(real));
    for (int first = 0; first < T; first += LANES) {
        const Blocks b = blocks_at(t, first, T);
        for (int c = 0; c < C; c++) {
            real v[6][6][LANES], columns[6][6][LANES], d[6][6][LANES];
            load_lanes(dV + (size_t)c * Tw + first, position_step, v[0][0]);
            for (int q = 0; q < 6; q++)
                input_gradient_1d(v[0][q], 6 * LANES, columns[0][q], 6 * LANES, LANES);
            for (int i = 0; i < 6; i++)
                input_gradient_1d(columns[i][0], LANES, d[i][0], LANES, LANES);
            scatter_add_inputs(&b, &p, work + c * p.map, d);
        }
    }
    unpad_maps(t, &p, work, count, dx);
}

void winograd_outputs(const WinogradTiles *t, int F, const real *M, int count, const real *b,
                      real *out)
{
    const int H_out = t->g.out_h, W_out = t->g.out_w, T = count * t->tiles;
    const int Tw = winograd_width(t, count);
    const size_t position_step = (size_t)F * Tw, map = (size_t)H_out * W_out, image = F * map;
    for (int first = 0; first < T; first += LANES) {
        const Blocks blocks = blocks_at(t, first, T);
        for (int f = 0; f < F; f++) {
            real products[6][6][LANES], columns[4][6][LANES], y[4][4][LANES];
            load_lanes(M + (size_t)f * Tw + first, position_step, products[0][0]);
            for (int q = 0; q < 6; q++)
                output_1d(products[0][q], 6 * LANES, columns[0][q], 6 * LANES, LANES);
            for (int k = 0; k < 4; k++) output_1d(columns[k][0], LANES, y[k][0], LANES, LANES);
            write_outputs(&blocks, out + f * map, image, H_out, W_out, y, b ? b[f] : 0);
        }
    }
}

void winograd_output_gradients(const WinogradTiles *t, int F, const real *dout, int count,
                               real *dM)
{
    const int H_out = t->g.out_h, W_out = t->g.out_w, T = count * t->tiles;
    const int Tw = winograd_width(t, count);
    const size_t position_step = (size_t)F * Tw, map = (size_t)H_out * W_out, image = F * map;
    for (int first = 0; first < T; first += LANES) {
        const Blocks b = blocks_at(t, first, T);
        for (int f = 0; f < F; f++) {
            real y[4][4][LANES], columns[6][4][LANES], products[6][6][LANES];
            gather_outputs(&b, dout + f * map, image, H_out, W_out, y);
            for (int r = 0; r < 4; r++)
                output_gradient_1d(y[0][r], 4 * LANES, columns[0][r], 4 * LANES, LANES);
            for (int p = 0; p < 6; p++)
                output_gradient_1d(columns[p][0], LANES, products[p][0], LANES, LANES);
            store_lanes(products[0][0], position_step, dM + (size_t)f * Tw + first);
        }
    }
}
