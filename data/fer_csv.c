#include "fer_csv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classes.h"
#include "files.h"
#include "utf8.h"
#include "progress.h"

/* A FER2013 row is under 10 kB (2,304 values of at most 4 characters);
 * anything a hundred times longer is not one, and is not read whole. */
#define LINE_MAX_BYTES (1L << 20)

/* Quotes shown in messages keep at most this many bytes of a field. */
#define SHOWN_MAX 48

/* Where the needed columns sit in a row, found from the header. */
typedef struct {
    int field_count; /* fields in the header: every row must have as many */
    int emotion;     /* column indices; usage is -1 without a Usage column */
    int pixels;
    int usage;
} Columns;

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Splits one line (no line terminator) into comma-separated fields, in
 * place: each field is NUL-terminated, trimmed of spaces and tabs, and
 * unquoted ("a ""b""" -> a "b", as in RFC 4180). Stores up to max_fields
 * pointers in fields and returns the total number of fields (which may be
 * more than max_fields), or -1 if a quote is left open or text follows a
 * closing quote. */
static int split_fields(char *line, char **fields, int max_fields)
{
    int count = 0;
    char *read = line;
    for (;;) {
        while (is_blank(*read)) read++;
        char *start = read, *end;
        if (*read == '"') {
            /* Quoted field: copy down over the opening quote and any
             * doubled quotes, so the value ends up contiguous. */
            char *write = start;
            read++;
            for (;;) {
                if (*read == '\0') return -1;
                if (*read == '"') {
                    if (read[1] != '"') break;
                    read++;
                }
                *write++ = *read++;
            }
            end = write;
            read++; /* the closing quote */
            while (is_blank(*read)) read++;
            if (*read != ',' && *read != '\0') return -1;
        } else {
            while (*read != ',' && *read != '\0') read++;
            end = read;
            while (end > start && is_blank(end[-1])) end--;
        }
        int last = *read == '\0';
        *end = '\0';
        if (count < max_fields) fields[count] = start;
        count++;
        if (last) return count;
        read++; /* past the comma */
    }
}

/* Reads one line into *line (grown as needed, up to LINE_MAX_BYTES)
 * without its end: "\n", "\r\n", or a lone "\r" as old Mac files end
 * their lines. Returns its length; -1 at the end of the file; -2 if the
 * line is longer than the limit. *consumed grows by the bytes read. */
static long read_line(FILE *file, char **line, size_t *capacity, long *consumed)
{
    size_t n = 0;
    int c;
    while ((c = getc_unlocked(file)) != EOF && c != '\n' && c != '\r') {
        if (n + 1 >= *capacity) {
            if (*capacity >= (size_t)LINE_MAX_BYTES) return -2;
            *capacity *= 2;
            *line = xrealloc(*line, *capacity);
        }
        (*line)[n++] = (char)c;
    }
    *consumed += (long)n + (c != EOF);
    if (c == '\r') {
        int next = getc_unlocked(file);
        if (next == '\n')
            (*consumed)++;
        else if (next != EOF)
            ungetc(next, file);
    }
    if (c == EOF && n == 0) return -1;
    (*line)[n] = '\0';
    return (long)n;
}

static int find_columns(char *header, const char *path, Columns *columns, Error *err)
{
    /* A UTF-8 byte-order mark (EF BB BF), as some editors save CSV files. */
    if ((unsigned char)header[0] == 0xEF && (unsigned char)header[1] == 0xBB &&
        (unsigned char)header[2] == 0xBF)
        header += 3;
    char *names[64];
    int count = split_fields(header, names, 64);
    if (count < 0) return error_set(err, "%s line 1: unbalanced quotes in the header", path);
    if (count > 64) return error_set(err, "%s line 1: the header has %d columns, more than "
                                          "a FER2013 file (at most 64 are read)", path, count);
    columns->field_count = count;
    columns->emotion = columns->pixels = columns->usage = -1;
    for (int i = 0; i < count; i++) {
        int *slot = !strcasecmp(names[i], "emotion") ? &columns->emotion
                  : !strcasecmp(names[i], "pixels")  ? &columns->pixels
                  : !strcasecmp(names[i], "Usage")   ? &columns->usage
                  : NULL;
        if (!slot) continue; /* other columns are ignored */
        if (*slot >= 0)
            return error_set(err, "%s line 1: the header names column '%s' twice", path, names[i]);
        *slot = i;
    }
    if (columns->emotion < 0 || columns->pixels < 0) {
        char found[256] = "";
        for (int i = 0; i < count; i++) {
            size_t used = strlen(found);
            snprintf(found + used, sizeof found - used, "%s'%s'", i ? ", " : "", names[i]);
        }
        return error_set(err, "%s line 1: the header needs columns 'emotion' and 'pixels' "
                              "(it has %s)", path, found);
    }
    return 0;
}

/* What a user with other images or classes in this CSV layout can do. */
#define OTHER_DATA "; this converter reads FER2013's 48x48 faces in 7 classes only: other " \
                   "data goes into an .npz written with numpy (README, section Data)"

/* Parses the emotion field: a plain decimal integer 0..6. */
static int parse_label(const char *text, const char *path, long line, int64_t *label,
                       Error *err)
{
    if (*text == '\0') return error_set(err, "%s line %ld: the emotion field is empty", path, line);
    char shown[SHOWN_MAX];
    text_excerpt(text, strlen(text), shown, sizeof shown);
    const char *c = text + (*text == '-');
    long value = 0;
    for (; *c; c++) {
        if (*c < '0' || *c > '9')
            return error_set(err, "%s line %ld: emotion '%s' is not an integer", path, line, shown);
        if (value < 1000) value = 10 * value + (*c - '0'); /* only 0..6 matter */
    }
    if (c == text + 1 && *text == '-')
        return error_set(err, "%s line %ld: emotion '%s' is not an integer", path, line, shown);
    if (*text == '-' || value >= NUM_CLASSES)
        return error_set(err, "%s line %ld: emotion %s is outside 0..%d%s", path, line, shown,
                         NUM_CLASSES - 1, OTHER_DATA);
    *label = value;
    return 0;
}

static int parse_usage(const char *text, const char *path, long line, SplitId *split,
                       Error *err)
{
    if (!strcasecmp(text, "Training"))
        *split = SPLIT_TRAIN;
    else if (!strcasecmp(text, "PublicTest"))
        *split = SPLIT_VAL;
    else if (!strcasecmp(text, "PrivateTest"))
        *split = SPLIT_TEST;
    else
        return error_set(err, "%s line %ld: unknown Usage '%s' (expected Training, "
                              "PublicTest or PrivateTest)", path, line, text);
    return 0;
}

/* Parses the pixels field, whitespace-separated integers 0..255, into
 * image (48*48). Counts every value, so a wrong count is reported exactly. */
static int parse_pixels(const char *text, const char *path, long line, uint8_t *image,
                        Error *err)
{
    long count = 0;
    const char *c = text;
    for (;;) {
        while (is_blank(*c)) c++;
        if (*c == '\0') break;
        const char *start = c;
        int negative = *c == '-';
        if (negative) c++;
        long value = 0;
        int digits = 0;
        for (; *c >= '0' && *c <= '9'; c++, digits++)
            if (value <= 255) value = 10 * value + (*c - '0'); /* stops once out of range */
        char shown[SHOWN_MAX];
        if (digits == 0 || (*c != '\0' && !is_blank(*c))) {
            size_t length = strcspn(start, " \t");
            return error_set(err, "%s line %ld: pixel %ld is '%s', not an integer", path, line,
                             count + 1, text_excerpt(start, length, shown, sizeof shown));
        }
        if (negative || value > 255)
            return error_set(err, "%s line %ld: pixel %ld is %s, outside 0..255", path, line,
                             count + 1, text_excerpt(start, (size_t)(c - start), shown, sizeof shown));
        /* Values past the 2,304th are counted, never stored: the image
         * ends at 2,304 bytes. */
        if (count < IMAGE_PIXELS) image[count] = (uint8_t)value;
        count++;
    }
    if (count != IMAGE_PIXELS)
        return error_set(err, "%s line %ld: %ld pixel values, expected %d (48x48)%s", path,
                         line, count, IMAGE_PIXELS, OTHER_DATA);
    return 0;
}

/* Decodes one data row into its split. */
static int read_row(char *line, const Columns *columns, const char *path, long line_number,
                    FerCsv *out, Error *err)
{
    char *fields[64];
    int count = split_fields(line, fields, 64);
    if (count < 0)
        return error_set(err, "%s line %ld: unbalanced quotes", path, line_number);
    if (count != columns->field_count)
        return error_set(err, "%s line %ld: %d fields, but the header has %d", path, line_number,
                         count, columns->field_count);
    int64_t label = 0;
    SplitId split = SPLIT_TRAIN;
    if (parse_label(fields[columns->emotion], path, line_number, &label, err)) return -1;
    if (columns->usage >= 0 &&
        parse_usage(fields[columns->usage], path, line_number, &split, err))
        return -1;
    ImageSet *set = &out->split[split];
    uint8_t *image = image_set_append(set, label);
    if (parse_pixels(fields[columns->pixels], path, line_number, image, err)) {
        set->count--; /* drop the half-filled image */
        return -1;
    }
    out->rows++;
    return 0;
}

int fer_csv_read(const char *path, FerCsv *out, int show_progress, Error *err)
{
    memset(out, 0, sizeof *out);
    uint64_t size;
    FILE *file = fopen_regular(path, &size, err);
    if (!file) return -1;

    Progress bar;
    progress_begin(&bar, "reading CSV", (long)size);
    bar.unit = "B";
    bar.enabled = bar.enabled && show_progress;

    size_t line_capacity = 16384;
    char *line = xmalloc(line_capacity);
    long length, line_number = 0, bytes_read = 0;
    int status = 0, have_header = 0;
    Columns columns;
    while ((length = read_line(file, &line, &line_capacity, &bytes_read)) != -1) {
        line_number++;
        if (length == -2) {
            status = error_set(err, "%s line %ld: longer than %ld bytes, far more than a FER2013 "
                                    "row (not a FER2013 CSV?)", path, line_number, LINE_MAX_BYTES);
            break;
        }
        if ((size_t)length != strlen(line)) {
            status = error_set(err, "%s line %ld: contains a NUL byte (not a text file?)",
                               path, line_number);
            break;
        }
        /* fields are quoted in messages: no terminal control */
        uint32_t code;
        long at = utf8_find_unprintable((const uint8_t *)line, (size_t)length, "\t\r\n", &code);
        if (at >= 0) {
            status = code == UTF8_NOT_UTF8
                         ? error_set(err, "%s line %ld: not UTF-8 text (at byte %ld; not a "
                                          "FER2013 CSV?)", path, line_number, at)
                         : error_set(err, "%s line %ld: the control character U+%04X (at byte "
                                          "%ld; not a FER2013 CSV?)", path, line_number,
                                     (unsigned)code, at);
            break;
        }
        if (!have_header) {
            if ((status = find_columns(line, path, &columns, err))) break;
            out->has_usage = columns.usage >= 0;
            have_header = 1;
            continue;
        }
        int blank = 1;
        for (char *c = line; *c && blank; c++) blank = is_blank(*c);
        if (blank) continue;
        if ((status = read_row(line, &columns, path, line_number, out, err))) break;
        if ((out->rows & 255) == 0) {
            char rows[48];
            snprintf(rows, sizeof rows, "%ld rows", out->rows);
            progress_update(&bar, bytes_read, rows);
        }
    }
    if (status == 0 && ferror(file))
        status = error_set(err, "%s: read error: %s", path, strerror(errno));
    if (status == 0 && !have_header)
        status = error_set(err, "%s: the file is empty (expected a header line "
                                "'emotion,pixels,Usage')", path);
    if (status == 0 && out->rows == 0)
        status = error_set(err, "%s: no data rows after the header", path);
    char rows[48];
    snprintf(rows, sizeof rows, "%ld rows", out->rows);
    progress_update(&bar, bytes_read, rows);
    progress_end(&bar);
    free(line);
    fclose(file);
    if (status) fer_csv_free(out);
    return status;
}

void fer_csv_free(FerCsv *csv)
{
    for (int s = 0; s < NUM_SPLITS; s++) image_set_free(&csv->split[s]);
    csv->rows = 0;
    csv->has_usage = 0;
}
