/* libFuzzer target for the FER2013 CSV reader (data/fer_csv.h): any bytes
 * must give either images or a message naming the line, never a crash, a
 * bad read or a huge allocation. Built by `make fuzz` (fuzz/fuzz.mk) with
 * ASan and UBSan.
 *
 * fer_csv_read takes a path, so the input is written to a file first
 * (fuzz_file.h). What reads must hold together: every row in one split,
 * labels 0..6, and everything in train when there is no Usage column. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "classes.h"
#include "fer_csv.h"
#include "fuzz_file.h"

static void check(int holds, const char *what)
{
    if (holds) return;
    fprintf(stderr, "fer_csv_read succeeded, but %s\n", what);
    abort();
}

/* where the pixels' sum goes, so that the compiler keeps the reads */
volatile unsigned pixel_sum_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file_write(data, size, ".csv");
    FerCsv csv;
    Error err;
    if (fer_csv_read(path, &csv, 0, &err) != 0) return 0;
    long images = 0;
    unsigned pixel_sum = 0; /* every pixel is read, so ASan sees a short buffer */
    for (int s = 0; s < NUM_SPLITS; s++) {
        const ImageSet *set = &csv.split[s];
        images += set->count;
        check(csv.has_usage || s == SPLIT_TRAIN || set->count == 0,
              "rows went to val or test without a Usage column");
        for (int i = 0; i < set->count; i++) {
            check(set->labels[i] >= 0 && set->labels[i] < NUM_CLASSES, "a label is outside 0..6");
            for (int k = 0; k < IMAGE_PIXELS; k++)
                pixel_sum += set->images[(size_t)i * IMAGE_PIXELS + k];
        }
    }
    check(images == csv.rows && images > 0, "the splits do not hold the rows it counted");
    pixel_sum_sink = pixel_sum;
    fer_csv_free(&csv);
    return 0;
}
