/* shifted_rows.c: see shifted_rows.h for the idea; here, the layout, what
 * it costs, and the copies around the products. */
#include "shifted_rows.h"


#include "gemm.h"

Shifted shifted_layout(int C, int H, int W, int kH, int kW, int pad_h, int pad_w)
{
    Shifted s = {.channels = C, .image_h = H, .image_w = W, .kernel_h = kH, .kernel_w = kW,
                 .pad_h = pad_h, .pad_w = pad_w, .rows = H + 2 * pad_h, .row_length = W + pad_w};
    s.plane = (long)s.rows * s.row_length + pad_w;
    s.out_h = H + 2 * pad_h - kH + 1;
    s.out_w = W + 2 * pad_w - kW + 1;
    s.run = (s.out_h - 1) * s.row_length + s.out_w;
    return s;
}

size_t shifted_padded_size(const Shifted *s)
{
    return (size_t)s->channels * (size_t)s->plane;
}

/* Shifted rows pay when the products are long (at least 64 multiply-adds
 * per output: shorter ones cost less than copying the outputs out of the
 * grid) and the grid wastes at most 5%. Measured on the FER2013 network,
 * they win at 48x48 and 24x24 and lose at 12x12 and 6x6: at 12x12 the grid
 * is 155 positions long, and its last 11 take a whole fourth tile of the
 * matrix multiply's, where im2col's 144 columns fill three. */
int shifted_pays(const Shifted *s)
{
    const long depth = (long)s->channels * s->kernel_h * s->kernel_w;
    return depth >= 64 && 100L * s->run <= 105L * s->out_h * s->out_w;
}

/* x (C, H, W) into padded (C planes, see Shifted): zeros around x.
 * The rows are short (6 to 50 numbers): plain loops, which the compiler
 * turns into vector moves, cost less than as many calls to memcpy. */
static void pad_image(const Shifted *s, const real *restrict x, real *restrict padded)
{
    const int H = s->image_h, W = s->image_w, row_length = s->row_length;
    const int pad_h = s->pad_h, pad_w = s->pad_w;
    for (int c = 0; c < s->channels; c++) {
        real *restrict to = padded + c * s->plane;
        const real *restrict from = x + (long)c * H * W;
        for (long k = 0; k < (long)pad_h * row_length; k++) *to++ = 0;
        for (int h = 0; h < H; h++, from += W) {
            for (int w = 0; w < pad_w; w++) *to++ = 0;
            for (int w = 0; w < W; w++) *to++ = from[w];
        }
        for (long k = 0; k < (long)pad_h * row_length + pad_w; k++) *to++ = 0;
    }
}

/* out (F, out_h, out_w) = the first out_w positions of each grid row,
 * + bias[f] if bias is not NULL (in the same pass: one sweep less) */
static void take_outputs(const Shifted *s, int F, const real *restrict grid,
                         const real *restrict bias, real *restrict out)
{
    const int out_h = s->out_h, out_w = s->out_w, row_length = s->row_length;
    for (int f = 0; f < F; f++) {
        const real *restrict from = grid + (long)f * s->run;
        for (int oh = 0; oh < out_h; oh++, from += row_length) {
            if (bias)
                for (int ow = 0; ow < out_w; ow++) *out++ = from[ow] + bias[f];
            else
                for (int ow = 0; ow < out_w; ow++) *out++ = from[ow];
        }
    }
}

/* cols' row (c, i, j): the padded image from c*P + i*S + j on */
void shifted_convolve(const Shifted *s, const real *weights, const real *bias, int F,
                      const real *x, real *out, real *padded, real *grid, long *rows)
{
    const int kH = s->kernel_h, kW = s->kernel_w, depth = s->channels * kH * kW;
    pad_image(s, x, padded);
    for (int c = 0; c < s->channels; c++)
        for (int i = 0; i < kH; i++)
            for (int j = 0; j < kW; j++)
                rows[(c * kH + i) * kW + j] = c * s->plane + (long)i * s->row_length + j;
    gemm_rows(0, F, s->run, depth, 1, weights, depth, padded, rows, 0, grid, s->run);
    take_outputs(s, F, grid, bias, out);
}

/* x (C, H, W) into padded_cl, channels last: padded_cl[p*C + c] =
 * padded_flat[c*P + p]. A transpose, row by row of the image: eight
 * channels at a time, each of their rows read along, eight numbers written
 * side by side per position. (Reading all C channels per position instead
 * jumps between C planes for every number: 1.6 times as slow.) Only the
 * padding is zeroed. */
static void pad_channels_last(const Shifted *s, const real *restrict x, real *restrict padded_cl)
{
    const int C = s->channels, H = s->image_h, W = s->image_w, pad_w = s->pad_w;
    const long image = (long)H * W, C_pad = (long)C * pad_w;
    real *restrict to = padded_cl;
    for (long k = 0; k < (long)s->pad_h * s->row_length * C; k++) *to++ = 0;
    for (int h = 0; h < H; h++, to += (long)W * C) {
        for (long k = 0; k < C_pad; k++) *to++ = 0;
        const real *restrict row = x + (long)h * W;
        int c = 0;
        for (; c + 8 <= C; c += 8)
            for (int w = 0; w < W; w++)
                for (int k = 0; k < 8; k++) to[(long)w * C + c + k] = row[(c + k) * image + w];
        for (; c < C; c++)
            for (int w = 0; w < W; w++) to[(long)w * C + c] = row[c * image + w];
    }
    for (long k = 0; k < ((long)s->pad_h * s->row_length + pad_w) * C; k++) *to++ = 0;
}

/* dout (F, out_h, out_w) onto the grid (F x run): 0 where no output is */
static void put_on_grid(const Shifted *s, int F, const real *restrict dout, real *restrict grid)
{
    const int out_h = s->out_h, out_w = s->out_w, row_length = s->row_length;
    for (int f = 0; f < F; f++)
        for (int oh = 0; oh < out_h; oh++) {
            real *restrict to = grid + (long)f * s->run + (long)oh * row_length;
            for (int ow = 0; ow < out_w; ow++) to[ow] = *dout++;
            for (int ow = out_w; ow < row_length && oh + 1 < out_h; ow++) to[ow] = 0;
        }
}

/* kernel row i's block of dw: B_i's row q at padded_cl + (q + i*S)*C */
void shifted_dw(const Shifted *s, int F, const real *x, const real *dout, real beta, real *dw,
                real *work, long *rows)
{
    const int C = s->channels, width_C = s->kernel_w * C, depth = s->kernel_h * width_C;
    real *padded_cl = work, *grid = work + shifted_padded_size(s);
    pad_channels_last(s, x, padded_cl);
    put_on_grid(s, F, dout, grid);
    for (int q = 0; q < s->run; q++) rows[q] = (long)q * C;
    for (int i = 0; i < s->kernel_h; i++)
        gemm_rows(0, F, width_C, s->run, 1, grid, s->run,
                  padded_cl + (long)i * s->row_length * C, rows, beta, dw + i * width_C, depth);
}

void shifted_dw_in_filter_order(int F, int C, int kH, int kW, const real *from, real *dw)
{
    for (int f = 0; f < F; f++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < kH; i++)
                for (int j = 0; j < kW; j++)
                    dw[((f * C + c) * kH + i) * kW + j] = from[((f * kH + i) * kW + j) * C + c];
}

void shifted_turn_filters(int F, int C, int kH, int kW, const real *w, real *turned)
{
    for (int c = 0; c < C; c++)
        for (int f = 0; f < F; f++)
            for (int i = 0; i < kH; i++)
                for (int j = 0; j < kW; j++)
                    turned[((c * F + f) * kH + i) * kW + j] =
                        w[((f * C + c) * kH + (kH - 1 - i)) * kW + (kW - 1 - j)];
}
