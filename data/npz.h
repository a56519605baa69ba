/* npz.h: numpy's .npy and .npz files, read and written with zlib.
 *
 * An .npz is a ZIP archive whose members are .npy files named "<array>.npy".
 * np.savez stores them (ZIP method 0), np.savez_compressed deflates them
 * (method 8). The reader walks the central directory, checks every member's
 * CRC-32 and converts each array to native byte order and C order.
 *
 * Failures return -1 with a message in err naming the file and the member. */
#ifndef NPZ_H
#define NPZ_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum {
    NPY_BOOL, NPY_INT8, NPY_UINT8, NPY_INT16, NPY_UINT16, NPY_INT32,
    NPY_UINT32, NPY_INT64, NPY_UINT64, NPY_FLOAT16, NPY_FLOAT32, NPY_FLOAT64,
    /* Strings, read-only (the writer refuses them). Every element has the
     * same length, string_length characters, padded with NULs:
     *   NPY_BYTES    descr '|S<n>', numpy's bytes_: n bytes per element;
     *   NPY_UNICODE  descr '<U<n>', numpy's str_: n UCS-4 code points per
     *                element (4 bytes each, kept in native byte order).
     * npy_string_element gives an element as a UTF-8 C string. */
    NPY_BYTES, NPY_UNICODE
} NpyDtype;

#define NPY_MAX_DIMS 8

typedef struct {
    char name[256];              /* member name without ".npy" */
    NpyDtype dtype;
    int ndim;                    /* 0 for a 0-d array */
    int64_t shape[NPY_MAX_DIMS];
    size_t count;                /* number of elements (1 for 0-d) */
    void *data;                  /* count elements, native endian, C order */
    size_t string_length;        /* NPY_BYTES, NPY_UNICODE: characters per element; else 0 */
} NpyArray;

typedef struct {
    int count;
    NpyArray *arrays;
} NpzFile;

const char *npy_dtype_name(NpyDtype dtype);  /* "uint8", "float32", ..., "bytes", "str" */
/* Bytes per element; for NPY_BYTES and NPY_UNICODE, bytes per character
 * (1 and 4), as their elements' length varies from array to array. */
size_t npy_dtype_size(NpyDtype dtype);
int npy_dtype_is_string(NpyDtype dtype);     /* NPY_BYTES or NPY_UNICODE */

/* Reads every member of an .npz fully. On failure *out is left empty. */
int npz_read(const char *path, NpzFile *out, Error *err);
void npz_free(NpzFile *npz);
const NpyArray *npz_find(const NpzFile *npz, const char *name);

/* Reads or writes a single .npy file. */
int npy_read(const char *path, NpyArray *out, Error *err);
void npy_array_free(NpyArray *a);

/* The same readers on bytes already in memory (used by the fuzzer and the
 * tests). label names the bytes in error messages, as a path would. */
int npz_read_memory(const void *bytes, size_t len, const char *label, NpzFile *out, Error *err);
int npy_read_memory(const void *bytes, size_t len, const char *label, NpyArray *out, Error *err);

/* Writes one array as a .npy file (version 1.0 header), atomically.
 * data holds the product of shape elements, native endian, C order. */
int npy_write(const char *path, NpyDtype dtype, int ndim, const int64_t *shape,
              const void *data, Error *err);

/* Bytes per element of the array (string_length characters for strings). */
size_t npy_item_size(const NpyArray *a);

/* The array's size in bytes: count * npy_item_size(a). */
size_t npy_array_bytes(const NpyArray *a);

/* Writes the shape as numpy prints it: "(N, 48, 48)", "(7,)", "()". */
const char *npy_shape_string(const NpyArray *a, char *buf, size_t len);

/* Element-wise conversion of any dtype to one the caller computes in.
 * out holds a->count elements. float16 is kept raw in NpyArray (as
 * uint16_t bit patterns) and decoded here; bool becomes 0 or 1.
 * Converting to float may round (int64, uint64 beyond 2^24 or 2^53); the
 * int64 conversion instead fails, naming the array and element, on a
 * float that is not a whole number (or NaN, inf, out of range) and on a
 * uint64 above INT64_MAX. Strings are not numbers: the float conversions
 * give NaN for every element of one, the int64 conversion fails. */
void npy_to_float32(const NpyArray *a, float *out);
void npy_to_float64(const NpyArray *a, double *out);
int npy_to_int64(const NpyArray *a, int64_t *out, Error *err);

/* Element i of an NPY_BYTES or NPY_UNICODE array as a UTF-8 C string in
 * out (cap bytes, the NUL included), without numpy's padding NULs. Fails,
 * naming the array and the element, if the array holds no strings, if a
 * NUL sits inside the text, if NPY_BYTES text is not valid UTF-8 or an
 * NPY_UNICODE code point is not a character, or if the text needs more
 * than cap - 1 bytes. */
int npy_string_element(const NpyArray *a, size_t i, char *out, size_t cap, Error *err);

/* Writing: members are added one by one to a temporary file beside path;
 * npz_writer_close renames it into place, so a failed or interrupted write
 * never leaves a half-written file under the final name.
 *
 * The file is a plain zip (no ZIP64: members and the whole file under
 * 4 GiB), stored or deflated (compress = 1), every member dated 1980-01-01
 * so that the same arrays always give byte-identical files. Each member is
 * "<name>.npy" with a version 1.0 header as numpy writes it. data holds the
 * product of shape elements of dtype, native byte order, C order.
 * npz_writer_add rejects a bad name, duplicate or shape before writing
 * anything (the writer stays usable); if writing itself fails, the writer
 * is spoiled and npz_writer_close fails without creating the file. Either
 * way the caller ends with npz_writer_close or npz_writer_abort. */
typedef struct NpzWriter NpzWriter;
NpzWriter *npz_writer_open(const char *path, int compress, Error *err);
int npz_writer_add(NpzWriter *w, const char *name, NpyDtype dtype, int ndim,
                   const int64_t *shape, const void *data, Error *err);
/* The same, taking name, dtype, shape and data from an array. */
int npz_writer_add_array(NpzWriter *w, const NpyArray *a, Error *err);
int npz_writer_close(NpzWriter *w, Error *err);  /* commits; frees w */
void npz_writer_abort(NpzWriter *w);             /* removes the temporary; frees w */

#endif
