#include "im2col.h"

#include <string.h>

int conv_geometry_init(ConvGeometry *g, int C, int H, int W, int kernel_h, int kernel_w,
                       int stride, int pad, Error *err)
{
    if (C < 1 || H < 1 || W < 1)
        return error_set(err, "input (C, H, W) = (%d, %d, %d) must be at least 1 in every dimension", C, H, W);
    if (kernel_h < 1 || kernel_w < 1)
        return error_set(err, "kernel %dx%d must be at least 1x1", kernel_h, kernel_w);
    if (stride < 1)
        return error_set(err, "stride %d must be at least 1", stride);
    if (pad < 0)
        return error_set(err, "padding %d must not be negative", pad);
    if (kernel_h > H + 2 * pad || kernel_w > W + 2 * pad)
        return error_set(err, "kernel %dx%d is larger than the padded input %dx%d (input %dx%d, pad %d)",
                         kernel_h, kernel_w, H + 2 * pad, W + 2 * pad, H, W, pad);
    g->channels = C;
    g->height = H;
    g->width = W;
    g->kernel_h = kernel_h;
    g->kernel_w = kernel_w;
    g->stride = stride;
    g->pad = pad;
    g->out_h = (H + 2 * pad - kernel_h) / stride + 1;
    g->out_w = (W + 2 * pad - kernel_w) / stride + 1;
    return 0;
}

int conv_geometry_rows(const ConvGeometry *g) { return g->channels * g->kernel_h * g->kernel_w; }
int conv_geometry_cols(const ConvGeometry *g) { return g->out_h * g->out_w; }

/* ---- the definitions, one element at a time ---------------------------- */

void im2col_reference(const ConvGeometry *g, const real *x, real *cols)
{
    int n_cols = conv_geometry_cols(g);
    for (int c = 0; c < g->channels; c++)
        for (int i = 0; i < g->kernel_h; i++)
            for (int j = 0; j < g->kernel_w; j++) {
                int row = (c * g->kernel_h + i) * g->kernel_w + j;
                for (int oh = 0; oh < g->out_h; oh++)
                    for (int ow = 0; ow < g->out_w; ow++) {
                        int h = oh * g->stride - g->pad + i;
                        int w = ow * g->stride - g->pad + j;
                        int inside = h >= 0 && h < g->height && w >= 0 && w < g->width;
                        cols[(long)row * n_cols + oh * g->out_w + ow] =
                            inside ? x[((long)c * g->height + h) * g->width + w] : 0;
                    }
            }
}

void col2im_add_reference(const ConvGeometry *g, const real *cols, real *x)
{
    int n_cols = conv_geometry_cols(g);
    for (int c = 0; c < g->channels; c++)
        for (int i = 0; i < g->kernel_h; i++)
            for (int j = 0; j < g->kernel_w; j++) {
                int row = (c * g->kernel_h + i) * g->kernel_w + j;
                for (int oh = 0; oh < g->out_h; oh++)
                    for (int ow = 0; ow < g->out_w; ow++) {
                        int h = oh * g->stride - g->pad + i;
                        int w = ow * g->stride - g->pad + j;
                        if (h >= 0 && h < g->height && w >= 0 && w < g->width)
                            x[((long)c * g->height + h) * g->width + w] +=
                                cols[(long)row * n_cols + oh * g->out_w + ow];
                    }
            }
}

/* ---- the versions the layers use --------------------------------------- */

/* For kernel offset j, the output columns ow whose input column
 * w = ow*stride - pad + j lies inside [0, W): ow in [*first, *last). Working
 * out this range once per row lets the inner loop run without bounds tests. */
static void valid_range(int out_size, int in_size, int stride, int offset, int *first, int *last)
{
    /* need 0 <= ow*stride + offset < in_size, offset = j - pad */
    int lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    int hi = in_size - offset <= 0 ? 0 : (in_size - offset + stride - 1) / stride;
    if (hi > out_size) hi = out_size;
    if (lo > hi) lo = hi;
    *first = lo;
    *last = hi;
}

/* Stride 1 with "same" padding (out_h = H, out_w = W, as in both of the
 * emotion CNN's convolutions): row (c, i, j) of cols is channel c's plane
 * moved by di = i - pad rows and dj = j - pad columns,
 *     row[oh*W + ow] = plane[(oh + di)*W + ow + dj]  =  plane[k + di*W + dj],  k = oh*W + ow.
 * Seen flat, that is one contiguous copy: the plane shifted by di*W + dj.
 * Where ow + dj leaves [0, W) the flat copy has run on into the next (or
 * previous) image row, and where oh + di leaves [0, H), past the plane;
 * those entries are padding and are zeroed after the copy. One long copy
 * and a few stores replace H short copies per row of cols. */
static void im2col_same_stride_1(const ConvGeometry *g, const real *restrict x,
                                 real *restrict cols, long ld)
{
    const int C = g->channels, H = g->height, W = g->width, kH = g->kernel_h, kW = g->kernel_w;
    const long plane = (long)H * W;
    for (int c = 0; c < C; c++)
        for (int i = 0; i < kH; i++)
            for (int j = 0; j < kW; j++) {
                real *row = cols + ((long)(c * kH + i) * kW + j) * ld;
                const real *image = x + c * plane;
                const int di = i - g->pad, dj = j - g->pad;
                const long shift = (long)di * W + dj;
                /* k in [first, last) reads inside the plane: 0 <= k + shift < plane */
                long first = shift < 0 ? -shift : 0, last = shift > 0 ? plane - shift : plane;
                if (first > plane) first = plane;
                if (last < first) last = first;
                memset(row, 0, (size_t)first * sizeof(real));
                memcpy(row + first, image + first + shift, (size_t)(last - first) * sizeof(real));
                memset(row + last, 0, (size_t)(plane - last) * sizeof(real));
                /* columns that ran on into the neighbouring image row */
                const int lo = dj < 0 ? 0 : W - dj, hi = dj < 0 ? -dj : W;
                for (int oh = 0; oh < H; oh++)
                    for (int ow = lo < 0 ? 0 : lo; ow < (hi > W ? W : hi); ow++) row[(long)oh * W + ow] = 0;
            }
}

/* The geometry is copied into locals and the arrays are declared restrict
 * (x and cols never overlap): then the compiler knows that no store can
 * change a loop bound or an input value, and turns the copies into vector
 * moves without testing for overlap at run time on every row. */
void im2col(const ConvGeometry *g, const real *restrict x, real *restrict cols)
{
    im2col_strided(g, x, cols, conv_geometry_cols(g));
}

void im2col_strided(const ConvGeometry *g, const real *restrict x, real *restrict cols, long ld)
{
    if (g->stride == 1 && g->out_h == g->height && g->out_w == g->width) {
        im2col_same_stride_1(g, x, cols, ld);
        return;
    }
    const int C = g->channels, H = g->height, W = g->width, kH = g->kernel_h, kW = g->kernel_w;
    const int s = g->stride, pad = g->pad, out_h = g->out_h, out_w = g->out_w;
    for (int c = 0; c < C; c++) {
        const real *image = x + (long)c * H * W;
        for (int i = 0; i < kH; i++)
            for (int j = 0; j < kW; j++) {
                real *row = cols + (long)((c * kH + i) * kW + j) * ld;
                int ow_first, ow_last;
                valid_range(out_w, W, s, j - pad, &ow_first, &ow_last);
                for (int oh = 0; oh < out_h; oh++) {
                    real *out = row + oh * out_w;
                    int h = oh * s - pad + i;
                    if (h < 0 || h >= H) {
                        for (int ow = 0; ow < out_w; ow++) out[ow] = 0;
                        continue;
                    }
                    const long base = (long)h * W + (j - pad); /* input index at ow = 0 */
                    for (int ow = 0; ow < ow_first; ow++) out[ow] = 0;
                    if (s == 1)
                        for (int ow = ow_first; ow < ow_last; ow++) out[ow] = image[base + ow];
                    else
                        for (int ow = ow_first; ow < ow_last; ow++) out[ow] = image[base + (long)ow * s];
                    for (int ow = ow_last; ow < out_w; ow++) out[ow] = 0;
                }
            }
    }
}

/* The adjoint of im2col_same_stride_1: row (c, i, j) of cols is added onto
 * channel c's plane shifted by di*W + dj, again as one flat run, except
 * that the entries which fell into the padding must not be added: those
 * past the plane are left out of the run, and those that ran on into the
 * neighbouring image row are zeroed in a copy of the run (adding 0 changes
 * nothing). The copy goes through a small buffer, SEGMENT numbers at a time. */
enum { SEGMENT = 1024 };

static void col2im_add_same_stride_1(const ConvGeometry *g, const real *restrict cols, long ld,
                                     real *restrict x)
{
    const int C = g->channels, H = g->height, W = g->width, kH = g->kernel_h, kW = g->kernel_w;
    const long plane = (long)H * W;
    real segment[SEGMENT];
    for (int c = 0; c < C; c++)
        for (int i = 0; i < kH; i++)
            for (int j = 0; j < kW; j++) {
                const real *row = cols + ((long)(c * kH + i) * kW + j) * ld;
                real *image = x + c * plane;
                const int di = i - g->pad, dj = j - g->pad;
                const long shift = (long)di * W + dj;
                long first = shift < 0 ? -shift : 0, last = shift > 0 ? plane - shift : plane;
                if (first > plane) first = plane;
                if (last < first) last = first;
                /* columns ow in [lo, hi) ran on into the neighbouring row */
                const int lo = dj < 0 ? 0 : W - dj, hi = dj < 0 ? -dj : W;
                for (long k0 = first; k0 < last; k0 += SEGMENT) {
                    const int n = (int)(last - k0 < SEGMENT ? last - k0 : SEGMENT);
                    memcpy(segment, row + k0, (size_t)n * sizeof(real));
                    const int ow0 = (int)(k0 % W); /* column of segment[0] */
                    for (int start = -ow0; start < n; start += W) /* segment index of ow = 0 */
                        for (int ow = lo < 0 ? 0 : lo; ow < (hi > W ? W : hi); ow++)
                            if (start + ow >= 0 && start + ow < n) segment[start + ow] = 0;
                    real *pixels = image + k0 + shift;
                    for (int k = 0; k < n; k++) pixels[k] += segment[k];
                }
            }
}

void col2im_add(const ConvGeometry *g, const real *restrict cols, real *restrict x)
{
    col2im_add_strided(g, cols, conv_geometry_cols(g), x);
}

void col2im_add_strided(const ConvGeometry *g, const real *restrict cols, long ld,
                        real *restrict x)
{
    if (g->stride == 1 && g->out_h == g->height && g->out_w == g->width) {
        col2im_add_same_stride_1(g, cols, ld, x);
        return;
    }
    const int C = g->channels, H = g->height, W = g->width, kH = g->kernel_h, kW = g->kernel_w;
    const int s = g->stride, pad = g->pad, out_h = g->out_h, out_w = g->out_w;
    for (int c = 0; c < C; c++) {
        real *image = x + (long)c * H * W;
        for (int i = 0; i < kH; i++)
            for (int j = 0; j < kW; j++) {
                const real *row = cols + (long)((c * kH + i) * kW + j) * ld;
                int ow_first, ow_last;
                valid_range(out_w, W, s, j - pad, &ow_first, &ow_last);
                for (int oh = 0; oh < out_h; oh++) {
                    int h = oh * s - pad + i;
                    if (h < 0 || h >= H) continue;
                    const real *in = row + oh * out_w;
                    const long base = (long)h * W + (j - pad); /* pixel index at ow = 0 */
                    if (s == 1)
                        for (int ow = ow_first; ow < ow_last; ow++) image[base + ow] += in[ow];
                    else
                        for (int ow = ow_first; ow < ow_last; ow++) image[base + (long)ow * s] += in[ow];
                }
            }
    }
}
