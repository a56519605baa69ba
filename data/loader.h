/* loader.h: from an .npz dataset to float mini-batches for training.
 *
 * A Dataset is one split (train, val or test) held in memory as it is on
 * disk: one byte per pixel, so all of FER2013 (35,887 faces of 48x48) takes
 * 83 MB. The network sees floats: a Loader cuts the split into mini-batches
 * and converts each on the fly to an (N, C, H, W) Tensor with values
 * pixel / 255 in [0, 1].
 *
 * What files are accepted (members x_<split> and y_<split>):
 *   - images shaped (N, H, W) (grey, C = 1) or (N, C, H, W) with C = 1 or
 *     3 (colour, channels first), any H and W from 1 to DATASET_MAX_SIDE;
 *     and (N, 2304), the flat rows of older files, read as (N, 48, 48);
 *   - images uint8 0..255 (or any integer type holding 0..255), or float
 *     (float16/32/64) already scaled to [0, 1]. Float images are rounded to
 *     the nearest 1/255 step and kept as uint8, like every other dataset:
 *     photographs' levels are 8-bit to begin with, and one byte per pixel
 *     keeps memory and batch building the same for every file.
 *   - labels (N,) of any integer type (int8..int64, uint8..uint64) with
 *     values 0..K-1.
 * The class count K and the class names are the file's, the same for
 * every split of it:
 *   - from a member class_names when there is one: K = its length. It is
 *     a 1-D numpy string array (np.array(names), dtype '<U..', or bytes,
 *     '|S..'), or uint8 bytes of UTF-8 text with one name per line;
 *   - otherwise K = the largest label in any y_* member, plus one, so a
 *     validation split that happens to lack the last class still agrees
 *     with the training split. The names are then FER2013's seven when
 *     K = 7 and every x_* member holds 48x48 grey images (FER2013's
 *     shape), else "class 0", "class 1", ...
 * Names are 1 to CLASS_NAME_MAX bytes of UTF-8 without control characters
 * and all different; K is 1 to DATASET_MAX_CLASSES.
 * Anything else (a missing member, lengths that differ, another image
 * shape, a label outside 0..K-1, float pixels outside [0, 1], a bad name)
 * is an error naming the file and the member.
 *
 * Augmentation lives here and nowhere else (the converter writes the images
 * untouched). What it does is an Augment recipe; by default a random
 * horizontal flip and a random shift of up to AUGMENT_MAX_SHIFT pixels in
 * each direction, with the border pixels replicated into the uncovered
 * strip. A recipe may add a small rotation, a change of scale (both about
 * the image's centre, read back by bilinear interpolation) and random
 * erasing (a rectangle of random grey levels). All keep the label: a face
 * mirrored, moved by two pixels, tilted by 10 degrees or with a cheek
 * hidden shows the same emotion. (A digit or a letter mirrored does not:
 * LoaderOptions.no_flip keeps the rest.) It is applied only to the "train"
 * split; a Loader over "val" or "test" ignores the augment option, so
 * evaluation always sees the real images. */
#ifndef LOADER_H
#define LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "npz.h"
#include "rng.h"
#include "tensor.h"

#define AUGMENT_MAX_SHIFT 2

#define DATASET_MAX_SIDE 1024    /* images up to 1024x1024 */
#define DATASET_MAX_CLASSES 1000
#define CLASS_NAME_MAX 64        /* bytes of UTF-8 in one class name */

/* A class name must be 1..CLASS_NAME_MAX bytes of UTF-8 without control
 * characters (C0, DEL and C1: they would garble every table and chart the
 * name is printed in, or drive the terminal). Returns 0, or -1 with a
 * message naming path and what (the entry, e.g. "class_names[3]"). The
 * loader and the checkpoint reader both hold names to it. */
int class_name_check(const char *name, const char *path, const char *what, Error *err);

typedef struct {
    int count;
    int channels, height, width; /* every image is (channels, height, width) */
    int classes;                 /* K */
    char **class_names;          /* (classes,) UTF-8 names; one allocation */
    int names_given;             /* 1: the file has class_names; 0: names by default */
    uint8_t *images;             /* (count, channels, height, width) levels 0..255 */
    int *labels;                 /* (count,) classes 0..K-1 */
    char split[256];             /* "train", "val", "test": any name an npz member allows */
} Dataset;

/* Reads members x_<split> and y_<split> of an .npz (split is "train",
 * "val" or "test"), and the file's classes. On failure *out is left empty. */
int dataset_load(const char *path, const char *split, Dataset *out, Error *err);

/* The same from an .npz already in memory, so several splits can be taken
 * from one read; path is used in messages only. */
int dataset_from_npz(const NpzFile *npz, const char *path, const char *split, Dataset *out,
                     Error *err);

/* The class count and names of an .npz, decided as described above (and
 * as dataset_from_npz decides them). *names is (*classes,) strings in one
 * allocation: free(*names) releases them. */
int dataset_classes_from_npz(const NpzFile *npz, const char *path, int *classes, char ***names,
                             Error *err);

/* An empty (zero-filled) dataset of count 48x48 grey images in FER2013's
 * seven classes, for building one in code. */
void dataset_alloc(Dataset *d, int count, const char *split);

/* The same for count images of (channels, height, width) in `classes`
 * classes, named as a file of such images without class_names would have
 * them. */
void dataset_alloc_shape(Dataset *d, int count, int channels, int height, int width, int classes,
                         const char *split);
void dataset_free(Dataset *d);

/* Whether a split whose file names its classes (names_given) names them
 * as `names` does, index by index, for its d->classes classes (names holds
 * at least that many: dataset_check_fits first). The same classes in
 * another order would count every figure against the wrong class. Returns
 * 0 (also for a file without class_names: nothing to compare), or -1 with
 * a message naming the first class that differs. */
int dataset_check_names(const Dataset *d, const char *path, const char *const *names,
                        Error *err);

/* Bytes per image: channels * height * width. */
size_t dataset_image_bytes(const Dataset *d);

/* Refuses, naming path and the split, a dataset that a network built for
 * (channels, height, width) images and `classes` outputs cannot take: other
 * image shapes, or more classes than outputs. */
int dataset_check_fits(const Dataset *d, const char *path, int channels, int height, int width,
                       int classes, Error *err);

/* What a Loader does to each training image, drawn afresh every time the
 * image is used. An all-zero recipe means the default one (augment_default). */
typedef struct {
    int flip;      /* mirror left-right with probability 1/2 */
    int shift;     /* move by up to this many pixels down/up and right/left */
    double rotate; /* rotate by a uniform angle in [-rotate, rotate] degrees */
    double scale;  /* zoom by a uniform factor in [1 - scale, 1 + scale] */
    double erase;  /* with this probability, erase one random rectangle */
} Augment;

#define AUGMENT_MAX_ROTATE 45.0 /* degrees */
#define AUGMENT_MAX_SCALE 0.5
#define AUGMENT_ERASE_MIN_AREA 0.02 /* an erased rectangle covers 2% to 33% of the image */
#define AUGMENT_ERASE_MAX_AREA 0.33
#define AUGMENT_ERASE_MAX_ASPECT 3.3 /* height / width from 1/3.3 to 3.3 */

/* The default recipe: a flip and a shift of up to AUGMENT_MAX_SHIFT. */
Augment augment_default(void);

/* Whether a recipe moves pixels off the integer grid (rotate or scale). */
int augment_warps(const Augment *a);

typedef struct {
    int shuffle;   /* visit the images in a new random order each epoch */
    int augment;   /* augment the images; honoured for split "train" only */
    uint64_t seed; /* the order and the augmentation follow from (seed, epoch) */
    int no_flip;   /* with augment: never mirror (for images that mirroring changes) */
    Augment recipe; /* with augment: what to do; all zero: augment_default() */
    int min_batch;  /* a last batch of fewer images is left out (0, 1: never); for
                     * batchnorm, which one image of a feature cannot normalise */
} LoaderOptions;

/* A batch iterator over a dataset. */
typedef struct {
    const Dataset *data;
    int batch_size;
    int min_batch;      /* options.min_batch */
    int shuffle;
    int augmenting;     /* options.augment, for split "train" */
    Augment recipe;     /* what augmenting does (no_flip applied) */
    uint64_t seed;
    int epoch;
    int position;       /* next entry of order to hand out */
    int *order;         /* (data->count,) dataset indices in this epoch's order */
    int *batch_indices; /* (batch_size,) dataset index of each image of the last batch */
    int batch_count;    /* images in the last batch */
    Rng augment_rng;    /* this epoch's flips and shifts */
} Loader;

void loader_init(Loader *loader, const Dataset *data, int batch_size, LoaderOptions options);
void loader_free(Loader *loader);

/* Starts an epoch: the order is a shuffle drawn from (seed, epoch) alone,
 * so epoch 3 is the same whether or not epochs 0..2 ran first.
 * loader_init starts epoch 0. */
void loader_begin_epoch(Loader *loader, int epoch);

/* The next mini-batch: resizes x to (n, C, H, W), fills it with pixel/255
 * and labels[0..n) with the classes (labels has room for batch_size).
 * Returns n: batch_size, less for the last batch, 0 when the epoch is done
 * (or when what is left is fewer than options.min_batch images). */
int loader_next(Loader *loader, Tensor *x, int *labels);

/* Dataset index of each image of the last batch: (batch_count,). Lets an
 * evaluation relate predictions back to images (e.g. to show the most
 * confidently wrong ones). */
const int *loader_batch_indices(const Loader *loader);

/* Batches per epoch: ceil(count / batch_size), less a last batch too small
 * for options.min_batch. */
int loader_batches_per_epoch(const Loader *loader);

/* Images per epoch: count, less a last batch too small for min_batch. */
int loader_images_per_epoch(const Loader *loader);

/* --- the pieces, usable on their own --- */

/* Copies an image of (channels, height, width), mirrored left-right if
 * flip, then moved by (shift_y, shift_x) pixels (positive: down, right),
 * every channel alike:
 *     out[c][y][x] = in[c][clamp_H(y - shift_y)][f(clamp_W(x - shift_x))]
 * with f(x) = width - 1 - x when flipping, and clamp_H, clamp_W to
 * 0..height-1 and 0..width-1, which replicates the edge rows and columns
 * into the strip the shift uncovers. in and out must not overlap. */
void augment_image(const uint8_t *in, int channels, int height, int width, int flip, int shift_y,
                   int shift_x, uint8_t *out);

/* The same with a rotation by `degrees` (counter-clockwise as the image is
 * shown, rows growing downwards) and a zoom by `zoom` (> 1 enlarges), both
 * about the image's centre, after the flip and before the shift. Each output
 * pixel is read from the input at
 *     centre + R(-degrees) * ((y, x) - shift - centre) / zoom
 * by bilinear interpolation between the four nearest pixels (coordinates
 * clamped to the image, which replicates the edges), rounded to the nearest
 * level. With degrees 0, zoom 1 and integer shifts it equals augment_image. */
void augment_warp(const uint8_t *in, int channels, int height, int width, int flip,
                  double degrees, double zoom, int shift_y, int shift_x, uint8_t *out);

/* Random erasing: fills the rectangle of `rows` x `cols` pixels whose top
 * left corner is (top, left), in every channel, with levels drawn by
 * rng_below(rng, 256), row by row. */
void augment_erase(uint8_t *image, int channels, int height, int width, int top, int left,
                   int rows, int cols, Rng *rng);

/* Fills x (resized to (count, C, H, W)) with images indices[0..count) of
 * data as pixel / 255, and labels[0..count) with their classes. With a
 * recipe (NULL: none), each image takes these draws from rng, in order:
 *   - a flip: rng_below(rng, 2), probability 1/2; drawn even when the
 *     recipe does not flip, so that the other draws do not depend on it;
 *   - a shift down, then one right: each rng_below(rng, 2 * shift + 1) - shift;
 *   - with rotate: an angle, rng_range(rng, -rotate, rotate);
 *   - with scale: a zoom, rng_range(rng, 1 - scale, 1 + scale);
 *   - with erase: u = rng_uniform(rng); when u < erase, up to 10 tries of
 *     an area fraction rng_range(AUGMENT_ERASE_MIN_AREA, ..MAX_AREA) and
 *     an aspect exp(rng_range(-ln 3.3, ln 3.3)), giving rows = round(
 *     sqrt(area * H * W * aspect)), cols = round(sqrt(area * H * W / aspect));
 *     the first that fits gets top = rng_below(H - rows + 1), left =
 *     rng_below(W - cols + 1) and is erased (augment_erase).
 * Flip and shift alone use augment_image; with rotate or scale, augment_warp. */
void loader_fill_batch(const Dataset *data, const int *indices, int count, const Augment *recipe,
                       Rng *rng, Tensor *x, int *labels);

/* The same images all seen one fixed way: mirrored if flip, moved by
 * (shift_y, shift_x) (augment_image). For test-time augmentation, where
 * every image is shown in the same few views and the predictions averaged. */
void loader_fill_view(const Dataset *data, const int *indices, int count, int flip, int shift_y,
                      int shift_x, Tensor *x, int *labels);

#endif
