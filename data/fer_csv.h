/* fer_csv.h: reading FER2013's CSV into train / val / test image sets.
 *
 * fer2013.csv has one face per line:
 *
 *     emotion,pixels,Usage
 *     0,70 80 82 72 58 58 60 63 54 58 60 48 89 ...,Training
 *
 * emotion is the class 0..6 (Angry, Disgust, Fear, Happy, Sad, Surprise,
 * Neutral), pixels are 2,304 space-separated grey levels 0..255 (48x48, row
 * by row) and Usage puts the row in a split: Training -> train,
 * PublicTest -> val, PrivateTest -> test.
 *
 * Columns are found by their header names, so the variants in circulation
 * all read: `emotion, Usage, pixels` (icml_face_data.csv: another order,
 * spaces after the commas), `emotion,pixels` (Kaggle's train.csv: no Usage,
 * so every row goes to train), CRLF or old Mac CR line endings, a UTF-8
 * byte-order mark,
 * fields in double quotes, extra columns (ignored). Names are matched
 * without regard to case. Blank lines are skipped, as pandas does.
 *
 * The file is streamed one line at a time, so memory holds only the
 * decoded images (2,304 bytes each), never the text; a line longer than
 * 1 MiB (a hundred FER2013 rows) is refused rather than read whole, and
 * only a regular file is read (a folder or a device is named as such).
 * Values in messages are quoted as given, cut with "..." when long. The first bad row
 * (wrong number of fields or pixels, a pixel that is not an integer in
 * 0..255, a label outside 0..6, an unknown Usage) stops the reading with a
 * message naming the file and the line. */
#ifndef FER_CSV_H
#define FER_CSV_H

#include "error.h"
#include "splits.h"

typedef struct {
    ImageSet split[NUM_SPLITS]; /* indexed by SplitId */
    int has_usage;              /* the header had a Usage column */
    long rows;                  /* data rows read */
} FerCsv;

/* Reads the whole CSV into out. With show_progress, a progress bar (bytes
 * read) is drawn on stderr when it is a terminal. On failure out is left
 * empty. */
int fer_csv_read(const char *path, FerCsv *out, int show_progress, Error *err);
void fer_csv_free(FerCsv *csv);

#endif
