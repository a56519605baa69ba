/* libFuzzer target for the .npy/.npz reader: any bytes at all must give
 * either arrays or an error message, never a crash, a bad read or a huge
 * allocation. Built by `make fuzz` (fuzz/fuzz.mk) with ASan and UBSan.
 *
 * npz.c is compiled here with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION,
 * which turns a CRC-32 mismatch into a pass: the fuzzer cannot forge
 * checksums, and without this it would never get a mutated member past
 * the zip layer into inflate and the .npy parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "npz.h"

/* Touches every element through the converters, so a wrong count or a
 * short buffer shows up as an out-of-bounds read under ASan. */
static void use_array(const NpyArray *a)
{
    size_t n = a->count ? a->count : 1;
    double *as_double = malloc(n * sizeof *as_double);
    int64_t *as_int = malloc(n * sizeof *as_int);
    Error err;
    npy_to_float64(a, as_double);
    (void)npy_to_int64(a, as_int, &err);
    char text[64];
    for (size_t i = 0; npy_dtype_is_string(a->dtype) && i < a->count; i++)
        (void)npy_string_element(a, i, text, sizeof text, &err);
    free(as_double);
    free(as_int);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Error err;
    NpzFile npz;
    if (npz_read_memory(data, size, "fuzz.npz", &npz, &err) == 0) {
        for (int i = 0; i < npz.count; i++) use_array(&npz.arrays[i]);
        npz_free(&npz);
    }
    NpyArray a;
    if (npy_read_memory(data, size, "fuzz.npy", &a, &err) == 0) {
        use_array(&a);
        npy_array_free(&a);
    }
    return 0;
}
