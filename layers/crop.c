#include "crop.h"

#include <stdlib.h>
#include <string.h>

static int crop_output_shape(const Layer *layer, int ndim, const int *in, int *out_ndim,
                             int *out, Error *err)
{
    const CropLayer *crop = (const CropLayer *)layer;
    if (ndim != 4)
        return error_set(err, "crop needs images (N, C, H, W), got %d dimensions", ndim);
    if (crop->height > in[2] || crop->width > in[3])
        return error_set(err, "a %dx%d crop does not fit in a %dx%d image", crop->height,
                         crop->width, in[2], in[3]);
    *out_ndim = 4;
    out[0] = in[0];
    out[1] = in[1];
    out[2] = crop->height;
    out[3] = crop->width;
    return 0;
}

/* no arithmetic: copies */
static double crop_flops(const Layer *layer, int ndim, const int *in)
{
    (void)layer;
    (void)ndim;
    (void)in;
    return 0;
}

static void crop_forward(Layer *layer, const Tensor *x, Tensor *out)
{
    CropLayer *crop = (CropLayer *)layer;
    layer->input = x;
    layer_resize_output(layer, x, out);
    const int N = x->dim[0], C = x->dim[1], H = x->dim[2], W = x->dim[3];
    const int h = crop->height, w = crop->width;
    if ((size_t)N * 2 > crop->corners_capacity) {
        free(crop->corners);
        crop->corners = xmalloc((size_t)N * 2 * sizeof *crop->corners);
        crop->corners_capacity = (size_t)N * 2;
    }
    for (int n = 0; n < N; n++) {
        int top = (H - h) / 2, left = (W - w) / 2;
        if (layer->mode == LAYER_TRAIN) {
            /* two 32-bit halves of one draw; taking the remainder by P
             * positions favours some by at most P / 2^32 (a window's side
             * is at most 1024, so below 3e-7), far below anything measurable */
            const uint64_t draw = layer_noise(layer->noise_key, (uint64_t)n);
            top = (int)((draw & 0xffffffffu) % (uint64_t)(H - h + 1));
            left = (int)((draw >> 32) % (uint64_t)(W - w + 1));
        }
        crop->corners[2 * n] = top;
        crop->corners[2 * n + 1] = left;
    }
    #pragma omp parallel for schedule(static) if ((long)N * C * h * w > 65536)
    for (long plane = 0; plane < (long)N * C; plane++) {
        const int n = (int)(plane / C);
        const real *from = x->data + plane * H * W + (long)crop->corners[2 * n] * W +
                           crop->corners[2 * n + 1];
        real *to = out->data + plane * h * w;
        for (int i = 0; i < h; i++) memcpy(to + i * w, from + (long)i * W, w * sizeof(real));
    }
}

static void crop_backward(Layer *layer, const Tensor *dout, Tensor *dx)
{
    CropLayer *crop = (CropLayer *)layer;
    if (!dx) return;
    const Tensor *x = layer->input;
    tensor_resize(dx, x->ndim, x->dim);
    const int N = x->dim[0], C = x->dim[1], H = x->dim[2], W = x->dim[3];
    const int h = crop->height, w = crop->width;
    #pragma omp parallel for schedule(static) if ((long)N * C * H * W > 65536)
    for (long plane = 0; plane < (long)N * C; plane++) {
        const int n = (int)(plane / C);
        real *to = dx->data + plane * H * W;
        memset(to, 0, (size_t)H * W * sizeof(real));
        to += (long)crop->corners[2 * n] * W + crop->corners[2 * n + 1];
        const real *from = dout->data + plane * h * w;
        for (int i = 0; i < h; i++) memcpy(to + (long)i * W, from + i * w, w * sizeof(real));
    }
}

static void crop_destroy(Layer *layer)
{
    CropLayer *crop = (CropLayer *)layer;
    free(crop->corners);
    free(crop);
}

static const LayerOps crop_ops = {
    .kind = "crop",
    .output_shape = crop_output_shape,
    .flops = crop_flops,
    .forward = crop_forward,
    .backward = crop_backward,
    .destroy = crop_destroy,
};

Layer *crop_create(int height, int width, Error *err)
{
    if (height < 1 || width < 1) {
        error_set(err, "a crop needs a window of at least 1x1, not %dx%d", height, width);
        return NULL;
    }
    CropLayer *crop = xcalloc(1, sizeof *crop);
    crop->base.ops = &crop_ops;
    crop->height = height;
    crop->width = width;
    return &crop->base;
}
