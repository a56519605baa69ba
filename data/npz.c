/* npz.c: numpy's .npy and .npz formats, read and written with zlib.
 *
 * The file in one picture (numpy writes an .npz with Python's zipfile):
 *
 *   [local header "PK\3\4" | name | extra] [member data] ...   one per array
 *   [central directory entry "PK\1\2" | name | extra | comment] ...
 *   [ZIP64 end record "PK\6\6"] [ZIP64 locator "PK\6\7"]       only if needed
 *   [end of central directory "PK\5\6" | comment]
 *
 * The reader starts from the end: it finds the end record, walks the
 * central directory (the authoritative list of members, with their CRC-32
 * and sizes), and for each entry jumps to its local header only to learn
 * where the data starts. That is why the quirks of numpy's files do not
 * matter here: the local header's own ZIP64 extra field (its name and extra
 * lengths are read from the local header itself), and members written to a
 * pipe, whose local header says "sizes follow the data" (flag bit 3) and
 * holds zeros.
 *
 * Each member is an .npy file:
 *
 *   "\x93NUMPY" major minor | header length (u16 in v1, u32 in v2/v3) |
 *   "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }" padded
 *   with spaces and a final '\n' | the raw elements
 *
 * Every number that comes from the file is checked before it is used as a
 * size or an offset, and every allocation is bounded by the bytes that are
 * really there: hostile files give an error, never a crash. */
#include "npz.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <zlib.h>

#include "atomic_file.h"
#include "files.h"
#include "machine.h"
#include "utf8.h"

/* ------------------------------------------------------------------ */
/* dtypes                                                              */

typedef struct {
    const char *name; /* as numpy names it */
    char kind;        /* the letter in a descr: b, i, u, f, S, U */
    size_t size;      /* bytes per element (per character for S and U) */
} DtypeInfo;

static const DtypeInfo dtype_info[] = {
    [NPY_BOOL] = {"bool", 'b', 1},       [NPY_INT8] = {"int8", 'i', 1},
    [NPY_UINT8] = {"uint8", 'u', 1},     [NPY_INT16] = {"int16", 'i', 2},
    [NPY_UINT16] = {"uint16", 'u', 2},   [NPY_INT32] = {"int32", 'i', 4},
    [NPY_UINT32] = {"uint32", 'u', 4},   [NPY_INT64] = {"int64", 'i', 8},
    [NPY_UINT64] = {"uint64", 'u', 8},   [NPY_FLOAT16] = {"float16", 'f', 2},
    [NPY_FLOAT32] = {"float32", 'f', 4}, [NPY_FLOAT64] = {"float64", 'f', 8},
    [NPY_BYTES] = {"bytes", 'S', 1},     [NPY_UNICODE] = {"str", 'U', 4},
};
#define DTYPE_COUNT ((int)(sizeof dtype_info / sizeof dtype_info[0]))

const char *npy_dtype_name(NpyDtype dtype)
{
    if ((int)dtype < 0 || (int)dtype >= DTYPE_COUNT) return "unknown";
    return dtype_info[dtype].name;
}

size_t npy_dtype_size(NpyDtype dtype)
{
    if ((int)dtype < 0 || (int)dtype >= DTYPE_COUNT) return 0;
    return dtype_info[dtype].size;
}

int npy_dtype_is_string(NpyDtype dtype)
{
    return dtype == NPY_BYTES || dtype == NPY_UNICODE;
}

size_t npy_item_size(const NpyArray *a)
{
    size_t size = npy_dtype_size(a->dtype);
    return npy_dtype_is_string(a->dtype) ? size * a->string_length : size;
}

size_t npy_array_bytes(const NpyArray *a)
{
    return a->count * npy_item_size(a);
}

const char *npy_shape_string(const NpyArray *a, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "(");
    for (int d = 0; d < a->ndim && used < len; d++)
        used += (size_t)snprintf(buf + used, len - used, d ? ", %" PRId64 : "%" PRId64, a->shape[d]);
    if (used < len) snprintf(buf + used, len - used, a->ndim == 1 ? ",)" : ")");
    return buf;
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

/* ------------------------------------------------------------------ */
/* little-endian fields of the zip format                              */

static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p) { return get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    put_u16(p, (uint16_t)v);
    put_u16(p + 2, (uint16_t)(v >> 16));
}

/* ------------------------------------------------------------------ */
/* the .npy header: a Python dict literal                              */

typedef struct {
    char descr[32];
    int fortran_order;
    int ndim;
    int64_t shape[NPY_MAX_DIMS];
} NpyHeader;

/* A cursor over the header text. The parser accepts what numpy's
 * ast.literal_eval would for the three keys numpy writes: quoted strings,
 * True/False, a tuple of non-negative integers (with Python 2's "L"
 * suffix, which old files carry). */
typedef struct {
    const char *at, *end;
} Text;

static void skip_spaces(Text *t)
{
    while (t->at < t->end && (*t->at == ' ' || *t->at == '\t' || *t->at == '\n' || *t->at == '\r'))
        t->at++;
}

static int take_char(Text *t, char c)
{
    skip_spaces(t);
    if (t->at < t->end && *t->at == c) {
        t->at++;
        return 1;
    }
    return 0;
}

static int parse_string(Text *t, char *out, size_t cap, Error *err)
{
    skip_spaces(t);
    if (t->at >= t->end || (*t->at != '\'' && *t->at != '"'))
        return error_set(err, "broken .npy header: expected a quoted string");
    char quote = *t->at++;
    const char *close = memchr(t->at, quote, (size_t)(t->end - t->at));
    if (!close) return error_set(err, "broken .npy header: unterminated string");
    size_t n = (size_t)(close - t->at);
    if (n >= cap) return error_set(err, "broken .npy header: string too long");
    if (memchr(t->at, '\\', n)) return error_set(err, "broken .npy header: escapes in strings are not supported");
    memcpy(out, t->at, n);
    out[n] = '\0';
    t->at = close + 1;
    return 0;
}

static int parse_bool(Text *t, int *out, Error *err)
{
    skip_spaces(t);
    size_t left = (size_t)(t->end - t->at);
    if (left >= 4 && !memcmp(t->at, "True", 4)) {
        t->at += 4;
        *out = 1;
        return 0;
    }
    if (left >= 5 && !memcmp(t->at, "False", 5)) {
        t->at += 5;
        *out = 0;
        return 0;
    }
    return error_set(err, "broken .npy header: fortran_order must be True or False");
}

static int parse_dimension(Text *t, int64_t *out, Error *err)
{
    skip_spaces(t);
    if (t->at < t->end && *t->at == '-')
        return error_set(err, "broken .npy header: negative dimension in shape");
    if (t->at >= t->end || *t->at < '0' || *t->at > '9')
        return error_set(err, "broken .npy header: shape must be a tuple of integers");
    /* value * 10 + digit may not pass INT64_MAX (numpy's limit too): test
     * before multiplying, so nothing wraps, then keep reading the digits
     * to quote the number whole. */
    const char *digits = t->at;
    uint64_t value = 0;
    int too_large = 0;
    for (; t->at < t->end && *t->at >= '0' && *t->at <= '9'; t->at++) {
        uint64_t digit = (uint64_t)(*t->at - '0');
        if (too_large || value > ((uint64_t)INT64_MAX - digit) / 10)
            too_large = 1;
        else
            value = value * 10 + digit;
    }
    if (too_large) {
        char shown[48];
        return error_set(err, "broken .npy header: dimension %s in shape is too large (more than "
                         "2^63 - 1, numpy's limit)",
                         text_excerpt(digits, (size_t)(t->at - digits), shown, sizeof shown));
    }
    if (t->at < t->end && *t->at == 'L') t->at++; /* Python 2 long */
    *out = (int64_t)value;
    return 0;
}

/* "(3, 4)", "(3,)" or "()" */
static int parse_shape(Text *t, NpyHeader *h, Error *err)
{
    if (!take_char(t, '(')) return error_set(err, "broken .npy header: shape must be a tuple");
    h->ndim = 0;
    while (!take_char(t, ')')) {
        if (h->ndim == NPY_MAX_DIMS)
            return error_set(err, "shape has more than %d dimensions", NPY_MAX_DIMS);
        if (parse_dimension(t, &h->shape[h->ndim], err)) return -1;
        h->ndim++;
        if (!take_char(t, ',')) {
            if (!take_char(t, ')')) return error_set(err, "broken .npy header: bad shape tuple");
            break;
        }
    }
    return 0;
}

/* Parses the dict; all three keys must be present, each once. */
static int parse_header_dict(const char *text, size_t len, NpyHeader *h, Error *err)
{
    Text t = {text, text + len};
    int seen_descr = 0, seen_order = 0, seen_shape = 0;
    if (!take_char(&t, '{')) return error_set(err, "broken .npy header: it is not a dict");
    while (!take_char(&t, '}')) {
        char key[32];
        if (parse_string(&t, key, sizeof key, err)) return -1;
        if (!take_char(&t, ':')) return error_set(err, "broken .npy header: expected ':' after '%s'", key);
        if (!strcmp(key, "descr") && !seen_descr) {
            skip_spaces(&t);
            if (t.at < t.end && *t.at == '[')
                return error_set(err, "structured dtypes (records with named fields) are not supported");
            if (parse_string(&t, h->descr, sizeof h->descr, err)) return -1;
            seen_descr = 1;
        } else if (!strcmp(key, "fortran_order") && !seen_order) {
            if (parse_bool(&t, &h->fortran_order, err)) return -1;
            seen_order = 1;
        } else if (!strcmp(key, "shape") && !seen_shape) {
            if (parse_shape(&t, h, err)) return -1;
            seen_shape = 1;
        } else {
            return error_set(err, "broken .npy header: unexpected or repeated key '%s'", key);
        }
        if (!take_char(&t, ',')) {
            if (!take_char(&t, '}')) return error_set(err, "broken .npy header: expected ',' or '}'");
            break;
        }
    }
    skip_spaces(&t);
    if (t.at != t.end) return error_set(err, "broken .npy header: text after the dict");
    if (!seen_descr || !seen_order || !seen_shape)
        return error_set(err, "broken .npy header: missing key '%s'",
                         !seen_descr ? "descr" : !seen_order ? "fortran_order" : "shape");
    return 0;
}

static const char *kind_description(char kind)
{
    switch (kind) {
    case 'b': return "bool";
    case 'i': return "signed integers";
    case 'u': return "unsigned integers";
    case 'f': return "floats";
    case 'O': return "Python objects, which numpy pickles";
    case 'U': case 'S': case 'a': return "strings";
    case 'c': return "complex numbers";
    case 'V': return "raw bytes or records";
    case 'M': case 'm': return "dates and times";
    default: return "an unknown kind";
    }
}

/* Strings longer than this are refused: no use here needs them, and it
 * keeps an element's size in bytes far from overflowing. */
#define NPY_MAX_STRING_LENGTH (1L << 20)

/* Resolves a descr such as "<f4", ">i8", "|u1", "<U7" or "|S5" into a
 * dtype, the characters per element of a string dtype (else 0), and
 * whether the data is in the other byte order than this machine's. */
static int parse_descr(const char *descr, NpyDtype *dtype, size_t *string_length, int *swap,
                       Error *err)
{
    const char *p = descr;
    char order = '=';
    if (*p == '<' || *p == '>' || *p == '|' || *p == '=') order = *p++;
    char kind = *p ? *p++ : '\0';
    char *end;
    errno = 0;
    long size = (*p >= '0' && *p <= '9') ? strtol(p, &end, 10) : -1;
    int recognised = size > 0 && errno == 0 && *end == '\0';
    int file_little = order == '<' || (order != '>' && host_is_little_endian());
    *string_length = 0;
    if (recognised && (kind == 'S' || kind == 'U')) {
        if (size > NPY_MAX_STRING_LENGTH)
            return error_set(err, "dtype '%s': strings of %ld characters are longer than the "
                             "%ld the reader takes", descr, size, NPY_MAX_STRING_LENGTH);
        *dtype = kind == 'S' ? NPY_BYTES : NPY_UNICODE;
        *string_length = (size_t)size;
        /* UCS-4 code units have a byte order; bytes do not. */
        *swap = kind == 'U' && file_little != host_is_little_endian();
        return 0;
    }
    for (int d = 0; recognised && d < DTYPE_COUNT; d++) {
        if (dtype_info[d].kind == kind && dtype_info[d].size == (size_t)size) {
            *dtype = (NpyDtype)d;
            *swap = size > 1 && file_little != host_is_little_endian();
            return 0;
        }
    }
    char what[96], size_text[24];
    if (kind && strchr("biuf", kind))
        snprintf(what, sizeof what, "%s of %s bytes", kind_description(kind),
                 text_excerpt(p, strlen(p), size_text, sizeof size_text));
    else
        snprintf(what, sizeof what, "%s", kind_description(kind));
    return error_set(err, "unsupported dtype '%s' (%s); readable dtypes are bool, int8..int64, "
                     "uint8..uint64, float16/32/64 and strings ('<U<n>', '|S<n>')", descr, what);
}

/* Splits an .npy file into its header and the bytes of its elements. */
static int parse_npy_preamble(const uint8_t *bytes, size_t len, NpyHeader *h,
                              size_t *data_offset, Error *err)
{
    static const char magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};
    if (len < sizeof magic || memcmp(bytes, magic, sizeof magic))
        return error_set(err, "not an .npy file (no \\x93NUMPY magic)");
    if (len < 10) return error_set(err, "truncated .npy header");
    int major = bytes[6], minor = bytes[7];
    size_t header_start, header_len;
    if (major == 1 && minor == 0) {
        header_start = 10;
        header_len = get_u16(bytes + 8);
    } else if ((major == 2 || major == 3) && minor == 0) {
        if (len < 12) return error_set(err, "truncated .npy header");
        header_start = 12;
        header_len = get_u32(bytes + 8);
    } else {
        return error_set(err, "unsupported .npy format version %d.%d (readable: 1.0, 2.0, 3.0)", major, minor);
    }
    if (header_len > len - header_start)
        return error_set(err, "truncated .npy header (says %zu bytes, %zu are there)",
                         header_len, len - header_start);
    memset(h, 0, sizeof *h);
    if (parse_header_dict((const char *)bytes + header_start, header_len, h, err)) return -1;
    *data_offset = header_start + header_len;
    return 0;
}

/* Number of elements of a shape, or -1 if it is more than numpy allows
 * (2^63 - 1) or size_t holds. Each product is tested before it is formed.
 * A zero dimension makes the array empty whatever the others say. */
static int shape_count(int ndim, const int64_t *shape, size_t *count)
{
    const uint64_t limit = (uint64_t)INT64_MAX < SIZE_MAX ? (uint64_t)INT64_MAX : SIZE_MAX;
    uint64_t n = 1;
    for (int d = 0; d < ndim; d++)
        if (shape[d] == 0) {
            *count = 0;
            return 0;
        }
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || (uint64_t)shape[d] > limit / n) return -1;
        n *= (uint64_t)shape[d];
    }
    *count = n;
    return 0;
}

static void swap_bytes(uint8_t *data, size_t count, size_t size)
{
    for (size_t i = 0; i < count; i++, data += size)
        for (size_t a = 0, b = size - 1; a < b; a++, b--) {
            uint8_t t = data[a];
            data[a] = data[b];
            data[b] = t;
        }
}

/* Copies elements stored in Fortran order (first index fastest) into C
 * order (last index fastest). Element (i0, ..., i{n-1}) sits in src at
 * sum_k i_k * stride_k with stride_0 = 1, stride_k = shape_0 * ... *
 * shape_{k-1}; we walk the indices in C order like an odometer. */
static void fortran_to_c_order(uint8_t *dst, const uint8_t *src, int ndim,
                               const int64_t *shape, size_t count, size_t size)
{
    size_t stride[NPY_MAX_DIMS], index[NPY_MAX_DIMS] = {0};
    size_t s = 1;
    for (int d = 0; d < ndim; d++) {
        stride[d] = s;
        s *= (size_t)shape[d];
    }
    size_t offset = 0;
    for (size_t i = 0; i < count; i++) {
        memcpy(dst + i * size, src + offset * size, size);
        for (int d = ndim - 1; d >= 0; d--) {
            offset += stride[d];
            if (++index[d] < (size_t)shape[d]) break;
            offset -= stride[d] * index[d];
            index[d] = 0;
        }
    }
}

/* Decodes a whole .npy file held in memory into out (native byte order,
 * C order). Messages carry no file name: the callers add it. */
static int decode_npy(const uint8_t *bytes, size_t len, NpyArray *out, Error *err)
{
    NpyHeader h;
    size_t data_offset = 0, count = 0, string_length = 0;
    NpyDtype dtype = NPY_UINT8;
    int swap = 0;
    if (parse_npy_preamble(bytes, len, &h, &data_offset, err)) return -1;
    if (parse_descr(h.descr, &dtype, &string_length, &swap, err)) return -1;

    NpyArray a = {.name = "", .dtype = dtype, .ndim = h.ndim, .string_length = string_length};
    memcpy(a.shape, h.shape, sizeof a.shape);
    char shape_text[NPY_MAX_DIMS * 22 + 4];
    npy_shape_string(&a, shape_text, sizeof shape_text);
    size_t size = npy_item_size(&a), have = len - data_offset;
    if (shape_count(h.ndim, h.shape, &count) || count > SIZE_MAX / size)
        return error_set(err, "shape %s is too large", shape_text);
    if (count * size != have)
        return error_set(err, "shape %s of %s needs %zu bytes of data, the member has %zu",
                         shape_text, dtype_info[dtype].name, count * size, have);

    a.count = count;
    a.data = xmalloc(count * size);
    if (h.fortran_order && h.ndim > 1)
        fortran_to_c_order(a.data, bytes + data_offset, h.ndim, h.shape, count, size);
    else
        memcpy(a.data, bytes + data_offset, count * size);
    if (swap) { /* per number: per element, or per UCS-4 code unit of a string */
        size_t unit = npy_dtype_size(dtype);
        swap_bytes(a.data, count * (size / unit), unit);
    }
    *out = a;
    return 0;
}

/* ------------------------------------------------------------------ */
/* where the bytes come from                                           */

/* The readers take their bytes either from memory (the fuzzer, the tests)
 * or from an open regular file, piece by piece: a file is never read
 * whole, only the parts the zip directory describes, and every size it
 * declares is checked against the file's real size and the caps below
 * before anything is allocated. So /dev/zero, a 40 GB sparse file or a
 * directory that lies costs an error message, not the machine's memory. */
typedef struct {
    const uint8_t *memory; /* all the bytes, or NULL to read from fd */
    int fd;
    uint64_t len;          /* how many bytes there are */
} Source;

/* Bytes [offset, offset + n) of the source, which the caller has checked
 * lie inside it: a pointer into the memory, or a new buffer read from the
 * file, also returned in *owned for the caller to free. */
static int source_read(const Source *s, uint64_t offset, uint64_t n, const uint8_t **bytes,
                       uint8_t **owned, Error *err)
{
    *owned = NULL;
    if (offset > s->len || n > s->len - offset)
        return error_set(err, "internal error: read of %" PRIu64 " bytes at %" PRIu64
                         " past the end", n, offset);
    if (s->memory) {
        *bytes = s->memory + offset;
        return 0;
    }
    if (n > SIZE_MAX) return error_set(err, "%" PRIu64 " bytes do not fit in memory", n);
    uint8_t *buf = xmalloc((size_t)n);
    for (uint64_t done = 0; done < n;) {
        size_t want = n - done < (1u << 30) ? (size_t)(n - done) : (1u << 30);
        ssize_t got = pread(s->fd, buf + done, want, (off_t)(offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            free(buf);
            if (got < 0) return error_set(err, "read error: %s", strerror(errno));
            return error_set(err, "the file became shorter while it was read");
        }
        done += (uint64_t)got;
    }
    *bytes = *owned = buf;
    return 0;
}

/* ------------------------------------------------------------------ */
/* single .npy files                                                   */

/* An .npy file holds one array: at most the member cap below, plus a
 * header (whose length field is at most 4 GiB in versions 2 and 3). */
#define MEMBER_MAX_BYTES ((uint64_t)4 << 30)
#define NPY_FILE_MAX_BYTES (MEMBER_MAX_BYTES + ((uint64_t)1 << 32) + 12)

int npy_read_memory(const void *bytes, size_t len, const char *label, NpyArray *out, Error *err)
{
    memset(out, 0, sizeof *out);
    if (decode_npy(bytes, len, out, err)) return error_prefix(err, "%s", label);
    return 0;
}

int npy_read(const char *path, NpyArray *out, Error *err)
{
    memset(out, 0, sizeof *out);
    uint64_t size;
    int fd = open_regular_file(path, &size, err);
    if (fd < 0) return -1;
    Source src = {NULL, fd, size};
    const uint8_t *bytes;
    uint8_t *owned = NULL;
    int status;
    if (size > NPY_FILE_MAX_BYTES)
        status = error_set(err, "%s: %" PRIu64 " bytes, more than an .npy file of at most %" PRIu64
                           " bytes of data can be", path, size, MEMBER_MAX_BYTES);
    else if (source_read(&src, 0, size, &bytes, &owned, err))
        status = error_prefix(err, "%s", path);
    else
        status = npy_read_memory(bytes, (size_t)size, path, out, err);
    free(owned);
    close(fd);
    if (status == 0) {
        /* The array's name is the file's base name without ".npy". */
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        size_t n = strlen(base);
        if (n > 4 && !strcmp(base + n - 4, ".npy")) n -= 4;
        if (n >= sizeof out->name) n = sizeof out->name - 1;
        memcpy(out->name, base, n);
        out->name[n] = '\0';
    }
    return status;
}

void npy_array_free(NpyArray *a)
{
    free(a->data);
    a->data = NULL;
    a->count = 0;
}

/* ------------------------------------------------------------------ */
/* the zip container                                                   */

enum {
    LOCAL_HEADER_SIG = 0x04034b50, CENTRAL_ENTRY_SIG = 0x02014b50,
    END_RECORD_SIG = 0x06054b50, ZIP64_END_RECORD_SIG = 0x06064b50,
    ZIP64_LOCATOR_SIG = 0x07064b50,
    LOCAL_HEADER_SIZE = 30, CENTRAL_ENTRY_SIZE = 46, END_RECORD_SIZE = 22,
    ZIP64_LOCATOR_SIZE = 20, ZIP64_END_RECORD_SIZE = 56,
    ZIP64_EXTRA_ID = 0x0001,
    METHOD_STORED = 0, METHOD_DEFLATED = 8,
    FLAG_ENCRYPTED = 1 << 0,
};

/* Deflate cannot shrink data by more than about 1032:1 (a 258-byte match
 * in a couple of bits), so a member that claims to inflate to more than
 * that is lying; this bounds every allocation by the file's own size. The
 * absolute caps keep plausible-looking but huge members from eating the
 * machine: real datasets here are well under them. A member's compressed
 * and uncompressed sizes are each at most MEMBER_MAX_BYTES, all members
 * together at most ARCHIVE_MAX_BYTES uncompressed, and the central
 * directory (a hundred bytes or so per member) at most
 * DIRECTORY_MAX_BYTES. */
#define DEFLATE_MAX_RATIO 1032u
#define ARCHIVE_MAX_BYTES ((uint64_t)16 << 30)
#define DIRECTORY_MAX_BYTES ((uint64_t)64 << 20)

typedef struct {
    char name[300];          /* printable, for messages */
    size_t name_len;
    const uint8_t *raw_name; /* in the central directory */
    uint16_t flags, method;
    uint32_t crc;
    uint64_t compressed_size, uncompressed_size, local_offset;
} ZipEntry;

typedef struct {
    Source src;
    uint64_t directory_offset, directory_size, entry_count;
    const uint8_t *directory;  /* the central directory's bytes */
    uint8_t *directory_owned;  /* the same, when read from a file */
} Archive;

/* Finds the end record by scanning back over a possible archive comment
 * (at most 65535 bytes), then the ZIP64 end record if a locator precedes
 * it. Fills in where the central directory is and how many entries. */
static int find_central_directory(Archive *z, Error *err)
{
    const Source *src = &z->src;
    const uint64_t len = src->len;
    const uint8_t *p;
    uint8_t *owned;
    if (len == 0) return error_set(err, "not an .npz archive (the file is empty)");
    if (len >= 6) {
        if (source_read(src, 0, 6, &p, &owned, err)) return -1;
        int is_npy = !memcmp(p, "\x93NUMPY", 6);
        free(owned);
        if (is_npy) return error_set(err, "this is an .npy file (a single array), not an .npz archive");
    }
    if (len < END_RECORD_SIZE)
        return error_set(err, "not an .npz archive (too short for a zip file: %" PRIu64 " bytes)", len);

    /* The last 22 + 65535 bytes hold the end record and its comment. */
    uint64_t tail_len = len < END_RECORD_SIZE + 65535 ? len : END_RECORD_SIZE + 65535;
    uint64_t tail_start = len - tail_len;
    const uint8_t *tail;
    uint8_t *tail_owned;
    if (source_read(src, tail_start, tail_len, &tail, &tail_owned, err)) return -1;
    uint64_t end = 0;
    int found = 0;
    for (uint64_t at = tail_len - END_RECORD_SIZE + 1; at-- > 0;) {
        if (get_u32(tail + at) == END_RECORD_SIG &&
            at + END_RECORD_SIZE + get_u16(tail + at + 20) <= tail_len) {
            end = tail_start + at;
            found = 1;
            break;
        }
    }
    uint8_t e[END_RECORD_SIZE];
    if (found) memcpy(e, tail + (end - tail_start), sizeof e);
    free(tail_owned);
    if (!found)
        return error_set(err, "not an .npz archive (no zip end-of-central-directory record: "
                         "truncated, or not a zip file)");
    if (get_u16(e + 4) != 0 || get_u16(e + 6) != 0)
        return error_set(err, "multi-part zip archives are not supported");
    z->entry_count = get_u16(e + 10);
    z->directory_size = get_u32(e + 12);
    z->directory_offset = get_u32(e + 16);
    uint64_t directory_limit = end;

    if (end >= ZIP64_LOCATOR_SIZE) {
        if (source_read(src, end - ZIP64_LOCATOR_SIZE, ZIP64_LOCATOR_SIZE, &p, &owned, err)) return -1;
        int is_locator = get_u32(p) == ZIP64_LOCATOR_SIG;
        uint64_t record = get_u64(p + 8);
        free(owned);
        if (is_locator) {
            if (record > end - ZIP64_LOCATOR_SIZE || end - ZIP64_LOCATOR_SIZE - record < ZIP64_END_RECORD_SIZE)
                return error_set(err, "broken zip archive: the ZIP64 locator points to no ZIP64 end record");
            if (source_read(src, record, ZIP64_END_RECORD_SIZE, &p, &owned, err)) return -1;
            int is_record = get_u32(p) == ZIP64_END_RECORD_SIG;
            int multi_part = get_u32(p + 16) != 0 || get_u32(p + 20) != 0;
            z->entry_count = get_u64(p + 32);
            z->directory_size = get_u64(p + 40);
            z->directory_offset = get_u64(p + 48);
            free(owned);
            if (!is_record)
                return error_set(err, "broken zip archive: the ZIP64 locator points to no ZIP64 end record");
            if (multi_part) return error_set(err, "multi-part zip archives are not supported");
            directory_limit = record;
        }
    }
    if (z->directory_offset > directory_limit || z->directory_size > directory_limit - z->directory_offset)
        return error_set(err, "broken zip archive: the central directory lies outside the file "
                         "(truncated?)");
    if (z->entry_count > z->directory_size / CENTRAL_ENTRY_SIZE || z->entry_count > INT_MAX)
        return error_set(err, "broken zip archive: %" PRIu64 " entries cannot fit in a %" PRIu64
                         "-byte central directory", z->entry_count, z->directory_size);
    if (z->directory_size > DIRECTORY_MAX_BYTES)
        return error_set(err, "the central directory is %" PRIu64 " bytes; the limit is %" PRIu64,
                         z->directory_size, DIRECTORY_MAX_BYTES);
    return source_read(src, z->directory_offset, z->directory_size, &z->directory,
                       &z->directory_owned, err);
}

/* Replaces the 32-bit sizes and offset that are 0xFFFFFFFF by the 64-bit
 * values of the entry's ZIP64 extra field, which holds just those, in the
 * order uncompressed, compressed, offset. */
static int apply_zip64_extra(ZipEntry *entry, const uint8_t *extra, size_t extra_len, Error *err)
{
    uint64_t *fields[3] = {&entry->uncompressed_size, &entry->compressed_size, &entry->local_offset};
    int needed = 0;
    for (int f = 0; f < 3; f++) needed += *fields[f] == 0xFFFFFFFFu;
    if (!needed) return 0;
    for (size_t at = 0; at + 4 <= extra_len;) {
        size_t id = get_u16(extra + at), size = get_u16(extra + at + 2);
        if (size > extra_len - at - 4) break;
        if (id == ZIP64_EXTRA_ID) {
            const uint8_t *p = extra + at + 4;
            for (int f = 0; f < 3; f++) {
                if (*fields[f] != 0xFFFFFFFFu) continue;
                if (p + 8 > extra + at + 4 + size)
                    return error_set(err, "broken zip archive: ZIP64 extra field too short");
                *fields[f] = get_u64(p);
                p += 8;
            }
            return 0;
        }
        at += 4 + size;
    }
    return error_set(err, "broken zip archive: sizes say ZIP64 but there is no ZIP64 extra field");
}

/* A member name as it can be printed: control bytes become '?'. */
static void printable_name(const uint8_t *raw, size_t len, char *out, size_t cap)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++) out[i] = (raw[i] < 0x20 || raw[i] == 0x7f) ? '?' : (char)raw[i];
    out[n] = '\0';
}

/* Reads the central directory entry at *at (an offset in the directory)
 * and advances *at past it. */
static int read_central_entry(const Archive *z, uint64_t *at, ZipEntry *entry, Error *err)
{
    const uint64_t directory_end = z->directory_size;
    if (directory_end - *at < CENTRAL_ENTRY_SIZE || get_u32(z->directory + *at) != CENTRAL_ENTRY_SIG)
        return error_set(err, "broken zip archive: bad central directory entry at byte %" PRIu64,
                         z->directory_offset + *at);
    const uint8_t *c = z->directory + *at;
    size_t name_len = get_u16(c + 28), extra_len = get_u16(c + 30), comment_len = get_u16(c + 32);
    if (directory_end - *at - CENTRAL_ENTRY_SIZE < name_len + extra_len + comment_len)
        return error_set(err, "broken zip archive: central directory entry runs past the directory");
    memset(entry, 0, sizeof *entry);
    entry->flags = get_u16(c + 8);
    entry->method = get_u16(c + 10);
    entry->crc = get_u32(c + 16);
    entry->compressed_size = get_u32(c + 20);
    entry->uncompressed_size = get_u32(c + 24);
    entry->local_offset = get_u32(c + 42);
    entry->raw_name = c + CENTRAL_ENTRY_SIZE;
    entry->name_len = name_len;
    printable_name(entry->raw_name, name_len, entry->name, sizeof entry->name);
    *at += CENTRAL_ENTRY_SIZE + name_len + extra_len + comment_len;
    return apply_zip64_extra(entry, c + CENTRAL_ENTRY_SIZE + name_len, extra_len, err);
}

/* Raw-deflates src into dst, which must be filled exactly. zlib counts in
 * 32-bit units, so large members go through in slices. */
static int inflate_exactly(const uint8_t *src, uint64_t src_len, uint8_t *dst, uint64_t dst_len, Error *err)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -MAX_WBITS) != Z_OK) return error_set(err, "cannot start zlib's inflate");
    const uInt slice = 1u << 30;
    uint64_t in_left = src_len, out_left = dst_len;
    s.next_in = (Bytef *)src;
    s.next_out = dst;
    int status = Z_OK;
    while (status == Z_OK) {
        if (s.avail_in == 0 && in_left) {
            s.avail_in = in_left < slice ? (uInt)in_left : slice;
            in_left -= s.avail_in;
        }
        if (s.avail_out == 0 && out_left) {
            s.avail_out = out_left < slice ? (uInt)out_left : slice;
            out_left -= s.avail_out;
        }
        status = inflate(&s, Z_NO_FLUSH);
        if (status == Z_BUF_ERROR && (s.avail_in || in_left) && (s.avail_out || out_left))
            status = Z_OK; /* only a slice ran dry */
    }
    int output_full = s.avail_out == 0 && out_left == 0;
    int input_used_up = s.avail_in == 0 && in_left == 0;
    char detail[128];
    snprintf(detail, sizeof detail, "%s", s.msg ? s.msg : "no detail");
    inflateEnd(&s);
    if (status == Z_STREAM_END && output_full) return 0;
    if (status == Z_STREAM_END)
        return error_set(err, "deflate data inflates to fewer bytes than the %" PRIu64 " declared", dst_len);
    if (status == Z_BUF_ERROR && input_used_up) return error_set(err, "deflate data ends early (truncated member)");
    if (status == Z_BUF_ERROR)
        return error_set(err, "deflate data inflates to more than the %" PRIu64 " bytes declared", dst_len);
    return error_set(err, "corrupt deflate data (zlib: %s)", detail);
}

/* zlib's crc32 continued over len bytes (start from crc = 0). */
static uint32_t crc32_update(uint32_t crc, const uint8_t *bytes, uint64_t len)
{
    while (len) {
        uInt n = len < (1u << 30) ? (uInt)len : (1u << 30);
        crc = (uint32_t)crc32(crc, bytes, n);
        bytes += n;
        len -= n;
    }
    return crc;
}

/* What the directory says about a member, checked before any of its data
 * is read: a readable method, sizes within the caps and the ratio deflate
 * can reach, a name that can be an array's. */
static int check_entry(const ZipEntry *entry, Error *err)
{
    if (entry->flags & FLAG_ENCRYPTED) return error_set(err, "encrypted members are not supported");
    if (entry->method != METHOD_STORED && entry->method != METHOD_DEFLATED)
        return error_set(err, "compression method %u is not supported (only stored and deflated, "
                         "as numpy writes)", entry->method);
    if (entry->uncompressed_size > MEMBER_MAX_BYTES)
        return error_set(err, "%" PRIu64 " bytes uncompressed; the limit is %" PRIu64,
                         entry->uncompressed_size, MEMBER_MAX_BYTES);
    if (entry->compressed_size > MEMBER_MAX_BYTES)
        return error_set(err, "%" PRIu64 " bytes compressed; the limit is %" PRIu64,
                         entry->compressed_size, MEMBER_MAX_BYTES);
    if (entry->method == METHOD_STORED && entry->compressed_size != entry->uncompressed_size)
        return error_set(err, "broken zip archive: stored member with different sizes "
                         "(%" PRIu64 " and %" PRIu64 ")", entry->compressed_size, entry->uncompressed_size);
    if (entry->method == METHOD_DEFLATED &&
        entry->uncompressed_size > entry->compressed_size * DEFLATE_MAX_RATIO + 1024)
        return error_set(err, "declared size %" PRIu64 " is impossible for %" PRIu64
                         " bytes of deflate data", entry->uncompressed_size, entry->compressed_size);
    if (entry->name_len < 5 || memcmp(entry->raw_name + entry->name_len - 4, ".npy", 4))
        return error_set(err, "not an .npy file (the name does not end in .npy)");
    if (entry->name_len - 4 >= sizeof ((NpyArray *)0)->name) return error_set(err, "name is too long");
    if (memchr(entry->raw_name, '\0', entry->name_len)) return error_set(err, "name holds a NUL byte");
    /* array names are printed (data info, messages): no terminal control */
    uint32_t c;
    long at = utf8_find_unprintable(entry->raw_name, entry->name_len, "", &c);
    if (at >= 0 && c == UTF8_NOT_UTF8)
        return error_set(err, "name is not valid UTF-8 (at byte %ld)", at);
    if (at >= 0)
        return error_set(err, "name holds the control character U+%04X (at byte %ld)", (unsigned)c, at);
    return 0;
}

/* The member's uncompressed bytes: a pointer into the archive (stored, in
 * memory) or a new buffer, also in *owned for the caller to free. */
static int member_bytes(const Archive *z, const ZipEntry *entry, const uint8_t **bytes,
                        uint8_t **owned, Error *err)
{
    const Source *src = &z->src;
    const uint64_t len = src->len;
    *owned = NULL;
    if (entry->local_offset > len || len - entry->local_offset < LOCAL_HEADER_SIZE)
        return error_set(err, "broken zip archive: no local header at byte %" PRIu64, entry->local_offset);
    const uint8_t *local;
    uint8_t *local_owned;
    if (source_read(src, entry->local_offset, LOCAL_HEADER_SIZE, &local, &local_owned, err)) return -1;
    int is_local = get_u32(local) == LOCAL_HEADER_SIG;
    /* The local header's own name and extra lengths: numpy's local extra
     * (ZIP64) differs from the central directory's (none). */
    size_t local_name_len = get_u16(local + 26), local_extra_len = get_u16(local + 28);
    free(local_owned);
    if (!is_local)
        return error_set(err, "broken zip archive: no local header at byte %" PRIu64, entry->local_offset);
    uint64_t name_start = entry->local_offset + LOCAL_HEADER_SIZE;
    uint64_t data_start = name_start + local_name_len + local_extra_len;
    if (data_start > len || len - data_start < entry->compressed_size)
        return error_set(err, "data runs past the end of the file (truncated?)");
    /* As Python's zipfile (and so np.load) does: a local header that names
     * another member means the directory points to the wrong place. */
    int same_name = local_name_len == entry->name_len;
    if (same_name) {
        const uint8_t *name;
        uint8_t *name_owned;
        if (source_read(src, name_start, local_name_len, &name, &name_owned, err)) return -1;
        same_name = !memcmp(name, entry->raw_name, local_name_len);
        free(name_owned);
    }
    if (!same_name) return error_set(err, "broken zip archive: the local header names a different member");

    const uint8_t *data;
    uint8_t *data_owned;
    if (source_read(src, data_start, entry->compressed_size, &data, &data_owned, err)) return -1;
    if (entry->method == METHOD_STORED) {
        *bytes = data;
        *owned = data_owned;
        return 0;
    }
    uint8_t *inflated = xmalloc((size_t)entry->uncompressed_size);
    int status = inflate_exactly(data, entry->compressed_size, inflated, entry->uncompressed_size, err);
    free(data_owned);
    if (status) {
        free(inflated);
        return -1;
    }
    *bytes = *owned = inflated;
    return 0;
}

/* Reads one member into an array named after it (minus ".npy"). */
static int read_member(const Archive *z, const ZipEntry *entry, NpyArray *out, Error *err)
{
    const uint8_t *bytes = NULL;
    uint8_t *owned = NULL;
    if (member_bytes(z, entry, &bytes, &owned, err)) return -1;
    uint32_t crc = crc32_update(0, bytes, entry->uncompressed_size);
    int status = 0;
    if (crc != entry->crc)
        status = error_set(err, "CRC-32 mismatch (the directory says %08" PRIx32 ", the data gives %08" PRIx32
                           "): the file is corrupt", entry->crc, crc);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    /* The fuzzer cannot forge checksums; letting it past them lets it
     * reach inflate and the .npy parser through the zip layer. */
    status = 0;
#endif
    if (status == 0) status = decode_npy(bytes, (size_t)entry->uncompressed_size, out, err);
    free(owned);
    if (status == 0) {
        size_t array_name_len = entry->name_len - 4;
        memcpy(out->name, entry->raw_name, array_name_len);
        out->name[array_name_len] = '\0';
    }
    return status;
}

/* A member name in the directory, for finding the ones given twice. */
typedef struct {
    const uint8_t *raw;
    size_t len;
} MemberName;

static int compare_names(const void *a, const void *b)
{
    const MemberName *x = a, *y = b;
    int c = memcmp(x->raw, y->raw, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* The whole archive: a first pass over the directory checks every entry
 * (sizes, names, no name twice: numpy would silently take the last) before
 * a single member is read; the second reads the members. */
static int read_archive(Archive *z, const char *label, NpzFile *out, Error *err)
{
    memset(out, 0, sizeof *out);
    if (find_central_directory(z, err)) return error_prefix(err, "%s", label);

    int count = (int)z->entry_count, status = 0;
    MemberName *names = xcalloc((size_t)count, sizeof *names);
    uint64_t at = 0, total = 0;
    ZipEntry entry = {.name = ""};
    for (int i = 0; i < count && status == 0; i++) {
        entry.name[0] = '\0';
        if (read_central_entry(z, &at, &entry, err) || check_entry(&entry, err)) {
            status = entry.name[0] ? error_prefix(err, "%s: member '%s'", label, entry.name)
                                   : error_prefix(err, "%s: central directory entry %d", label, i);
        } else if ((total += entry.uncompressed_size) > ARCHIVE_MAX_BYTES) {
            status = error_set(err, "%s: the members add up to more than %" PRIu64
                               " bytes uncompressed, the limit", label, ARCHIVE_MAX_BYTES);
        }
        names[i] = (MemberName){entry.raw_name, entry.name_len};
    }
    if (status == 0 && count > 1) {
        qsort(names, (size_t)count, sizeof *names, compare_names);
        for (int i = 1; i < count && status == 0; i++)
            if (!compare_names(&names[i - 1], &names[i])) {
                printable_name(names[i].raw, names[i].len, entry.name, sizeof entry.name);
                status = error_set(err, "%s: member '%s' is in the archive twice (numpy would "
                                   "silently read the last one)", label, entry.name);
            }
    }
    free(names);
    /* The caps above hold on any machine; this one is the machine's own:
     * a 1 MB deflate bomb can still declare a gigabyte, which is refused
     * here when the unpacked arrays could not fit beside everything else. */
    const double memory = (double)machine_memory_bytes();
    if (status == 0 && memory > 0 && (double)total > memory / 2)
        status = error_set(err, "%s: the members add up to %.1f GB unpacked, more than half of "
                                "this machine's memory (%.1f GB)", label, (double)total / 1e9,
                           memory / 1e9);

    NpzFile npz = {0, xcalloc((size_t)count ? (size_t)count : 1, sizeof(NpyArray))};
    at = 0;
    for (int i = 0; i < count && status == 0; i++) {
        read_central_entry(z, &at, &entry, err); /* read cleanly in the first pass */
        if (read_member(z, &entry, &npz.arrays[npz.count], err))
            status = error_prefix(err, "%s: member '%s'", label, entry.name);
        else
            npz.count++;
    }
    if (status) {
        npz_free(&npz);
        return -1;
    }
    *out = npz;
    return 0;
}

int npz_read_memory(const void *bytes, size_t len, const char *label, NpzFile *out, Error *err)
{
    Archive z = {.src = {bytes, -1, len}};
    int status = read_archive(&z, label, out, err);
    free(z.directory_owned);
    return status;
}

int npz_read(const char *path, NpzFile *out, Error *err)
{
    memset(out, 0, sizeof *out);
    uint64_t size;
    int fd = open_regular_file(path, &size, err);
    if (fd < 0) return -1;
    Archive z = {.src = {NULL, fd, size}};
    int status = read_archive(&z, path, out, err);
    free(z.directory_owned);
    close(fd);
    return status;
}

void npz_free(NpzFile *npz)
{
    for (int i = 0; i < npz->count; i++) npy_array_free(&npz->arrays[i]);
    free(npz->arrays);
    npz->arrays = NULL;
    npz->count = 0;
}

const NpyArray *npz_find(const NpzFile *npz, const char *name)
{
    for (int i = 0; i < npz->count; i++)
        if (!strcmp(npz->arrays[i].name, name)) return &npz->arrays[i];
    return NULL;
}

/* ------------------------------------------------------------------ */
/* converting elements                                                 */

/* IEEE half precision: 1 sign bit, 5 exponent bits (bias 15), 10
 * fraction bits. Every half is exactly a float; subnormals are
 * fraction * 2^-24, exponent 31 is inf or NaN. */
static float half_to_float(uint16_t h)
{
    int sign = h >> 15, exponent = (h >> 10) & 0x1f, fraction = h & 0x3ff;
    float magnitude;
    if (exponent == 0)
        magnitude = ldexpf((float)fraction, -24);
    else if (exponent == 31)
        magnitude = fraction ? NAN : INFINITY;
    else
        magnitude = ldexpf((float)(fraction | 0x400), exponent - 25);
    return sign ? -magnitude : magnitude;
}

/* out[i] = (OUT_T)(value) for every element i of a, whose elements are
 * read as SRC_T: one tight loop per dtype, no per-element switch. */
#define CONVERT_LOOP(OUT_T, SRC_T, value)                               \
    {                                                                   \
        const SRC_T *src = a->data;                                     \
        for (size_t i = 0; i < a->count; i++) out[i] = (OUT_T)(value);  \
    }                                                                   \
    break

#define CONVERT_ALL(OUT_T)                                                  \
    switch (a->dtype) {                                                     \
    case NPY_BOOL: CONVERT_LOOP(OUT_T, uint8_t, src[i] != 0);               \
    case NPY_INT8: CONVERT_LOOP(OUT_T, int8_t, src[i]);                     \
    case NPY_UINT8: CONVERT_LOOP(OUT_T, uint8_t, src[i]);                   \
    case NPY_INT16: CONVERT_LOOP(OUT_T, int16_t, src[i]);                   \
    case NPY_UINT16: CONVERT_LOOP(OUT_T, uint16_t, src[i]);                 \
    case NPY_INT32: CONVERT_LOOP(OUT_T, int32_t, src[i]);                   \
    case NPY_UINT32: CONVERT_LOOP(OUT_T, uint32_t, src[i]);                 \
    case NPY_INT64: CONVERT_LOOP(OUT_T, int64_t, src[i]);                   \
    case NPY_UINT64: CONVERT_LOOP(OUT_T, uint64_t, src[i]);                 \
    case NPY_FLOAT16: CONVERT_LOOP(OUT_T, uint16_t, half_to_float(src[i])); \
    case NPY_FLOAT32: CONVERT_LOOP(OUT_T, float, src[i]);                   \
    case NPY_FLOAT64: CONVERT_LOOP(OUT_T, double, src[i]);                  \
    case NPY_BYTES: case NPY_UNICODE: break; /* callers handle strings */   \
    }

void npy_to_float32(const NpyArray *a, float *out)
{
    if (npy_dtype_is_string(a->dtype))
        for (size_t i = 0; i < a->count; i++) out[i] = NAN;
    CONVERT_ALL(float)
}

void npy_to_float64(const NpyArray *a, double *out)
{
    if (npy_dtype_is_string(a->dtype))
        for (size_t i = 0; i < a->count; i++) out[i] = NAN;
    CONVERT_ALL(double)
}

/* A float becomes an int64 only if it is a whole number in range:
 * [-2^63, 2^63), both ends exact in double. */
static int float_to_int64(const NpyArray *a, size_t i, double v, int64_t *out, Error *err)
{
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0) || v != floor(v))
        return error_set(err, "array '%s': element %zu is %g, not a whole number", a->name, i, v);
    *out = (int64_t)v;
    return 0;
}

int npy_to_int64(const NpyArray *a, int64_t *out, Error *err)
{
    size_t n = a->count;
    switch (a->dtype) {
    case NPY_BYTES: case NPY_UNICODE:
        return error_set(err, "array '%s' holds strings (%s), not numbers", a->name,
                         npy_dtype_name(a->dtype));
    case NPY_UINT64: {
        const uint64_t *s = a->data;
        for (size_t i = 0; i < n; i++) {
            if (s[i] > INT64_MAX)
                return error_set(err, "array '%s': element %zu is %" PRIu64 ", beyond int64",
                                 a->name, i, s[i]);
            out[i] = (int64_t)s[i];
        }
        return 0;
    }
    case NPY_FLOAT16: case NPY_FLOAT32: case NPY_FLOAT64: {
        for (size_t i = 0; i < n; i++) {
            double v = a->dtype == NPY_FLOAT64 ? ((const double *)a->data)[i]
                     : a->dtype == NPY_FLOAT32 ? ((const float *)a->data)[i]
                     : half_to_float(((const uint16_t *)a->data)[i]);
            if (float_to_int64(a, i, v, &out[i], err)) return -1;
        }
        return 0;
    }
    default: /* every other integer type fits */
        CONVERT_ALL(int64_t)
        return 0;
    }
}

/* Element i of a string array as UTF-8. An element is string_length
 * characters (bytes for S, UCS-4 code points for U) padded at the end
 * with NULs, which numpy strips when it reads one; a NUL followed by
 * more text cannot be a C string and is refused. */
int npy_string_element(const NpyArray *a, size_t i, char *out, size_t cap, Error *err)
{
    if (!npy_dtype_is_string(a->dtype))
        return error_set(err, "array '%s' is %s, not strings", a->name, npy_dtype_name(a->dtype));
    if (i >= a->count)
        return error_set(err, "array '%s' has %zu elements; there is no element %zu", a->name,
                         a->count, i);
    size_t n = a->string_length, used = 0;
    if (a->dtype == NPY_UNICODE) {
        const uint32_t *chars = (const uint32_t *)a->data + i * n;
        while (n > 0 && chars[n - 1] == 0) n--;
        for (size_t k = 0; k < n; k++) {
            if (chars[k] == 0)
                return error_set(err, "array '%s': element %zu holds a NUL character inside "
                                 "the text", a->name, i);
            char utf8[4];
            int bytes = utf8_encode(chars[k], utf8);
            if (bytes == 0)
                return error_set(err, "array '%s': element %zu holds 0x%" PRIX32 ", which is not "
                                 "a Unicode character", a->name, i, chars[k]);
            if (used + (size_t)bytes >= cap)
                return error_set(err, "array '%s': element %zu is longer than %zu bytes of UTF-8",
                                 a->name, i, cap - 1);
            memcpy(out + used, utf8, (size_t)bytes);
            used += (size_t)bytes;
        }
    } else {
        const uint8_t *bytes = (const uint8_t *)a->data + i * n;
        while (n > 0 && bytes[n - 1] == 0) n--;
        if (memchr(bytes, 0, n))
            return error_set(err, "array '%s': element %zu holds a NUL byte inside the text",
                             a->name, i);
        for (size_t k = 0; k < n;) {
            uint32_t c;
            int length = utf8_decode(bytes + k, n - k, &c);
            if (length == 0)
                return error_set(err, "array '%s': element %zu is not valid UTF-8 (byte %zu)",
                                 a->name, i, k);
            k += (size_t)length;
        }
        if (n >= cap)
            return error_set(err, "array '%s': element %zu is longer than %zu bytes of UTF-8",
                             a->name, i, cap - 1);
        memcpy(out, bytes, n);
        used = n;
    }
    out[used] = '\0';
    return 0;
}

/* ------------------------------------------------------------------ */
/* writing                                                             */

/* numpy's own layout: a version 1.0 header whose dict has its keys in
 * sorted order, padded with spaces so that magic + header end on a
 * 64-byte boundary (the data then starts aligned), ending in '\n'.
 * Returns the header's total length in buf (at least 512 bytes). */
static size_t build_npy_header(uint8_t *buf, NpyDtype dtype, int ndim, const int64_t *shape)
{
    char order = dtype_info[dtype].size == 1 ? '|' : host_is_little_endian() ? '<' : '>';
    NpyArray shape_only = {.ndim = ndim};
    memcpy(shape_only.shape, shape, (size_t)ndim * sizeof *shape);
    char shape_text[NPY_MAX_DIMS * 22 + 4];
    npy_shape_string(&shape_only, shape_text, sizeof shape_text);

    char *dict = (char *)buf + 10;
    int n = sprintf(dict, "{'descr': '%c%c%zu', 'fortran_order': False, 'shape': %s, }", order,
                    dtype_info[dtype].kind, dtype_info[dtype].size, shape_text);
    size_t total = 10 + (size_t)n + 1;
    size_t padded = (total + 63) / 64 * 64;
    memset(dict + n, ' ', padded - total);
    buf[padded - 1] = '\n';
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    put_u16(buf + 8, (uint16_t)(padded - 10));
    return padded;
}

/* Checks a shape from the caller and returns its data size in bytes. */
static int shape_bytes(NpyDtype dtype, int ndim, const int64_t *shape, size_t *bytes, Error *err)
{
    size_t count;
    if ((int)dtype < 0 || (int)dtype >= DTYPE_COUNT) return error_set(err, "unknown dtype %d", (int)dtype);
    if (npy_dtype_is_string(dtype))
        return error_set(err, "string arrays (%s) can be read but not written", dtype_info[dtype].name);
    if (ndim < 0 || ndim > NPY_MAX_DIMS)
        return error_set(err, "%d dimensions (0..%d allowed)", ndim, NPY_MAX_DIMS);
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 0) return error_set(err, "negative dimension %" PRId64, shape[d]);
    if (shape_count(ndim, shape, &count) || count > SIZE_MAX / dtype_info[dtype].size)
        return error_set(err, "shape too large");
    *bytes = count * dtype_info[dtype].size;
    return 0;
}

typedef struct {
    char name[260];      /* "<array>.npy" */
    uint32_t crc;
    uint32_t compressed_size, uncompressed_size, local_offset;
    uint16_t method;
} WrittenMember;

struct NpzWriter {
    AtomicFile file;
    int compress;
    int failed;              /* an add failed: close must not commit */
    uint64_t offset;         /* bytes written so far */
    int count, capacity;
    WrittenMember *members;
};

/* A fixed timestamp (1980-01-01 00:00, the zip epoch) so that the same
 * arrays always give a byte-identical file. */
enum { DOS_TIME = 0, DOS_DATE = (0 << 9) | (1 << 5) | 1, VERSION_NEEDED = 20 };
#define ZIP32_LIMIT 0xFFFFFFFFu

NpzWriter *npz_writer_open(const char *path, int compress, Error *err)
{
    NpzWriter *w = xcalloc(1, sizeof *w);
    if (!atomic_open(&w->file, path, err)) {
        free(w);
        return NULL;
    }
    w->compress = compress;
    return w;
}

static int write_bytes(NpzWriter *w, const void *bytes, size_t len, Error *err)
{
    if (len && fwrite(bytes, 1, len, w->file.file) != len)
        return error_set(err, "%s: cannot write: %s", w->file.final_path, strerror(errno));
    w->offset += len;
    return 0;
}

/* One member's data on its way out: the CRC and both sizes accumulate as
 * the .npy header and then the elements go through, deflated or not. */
typedef struct {
    int deflating;
    z_stream z;
    uint32_t crc;
    uint64_t in_bytes, out_bytes;
    uint8_t buf[1 << 16];
} MemberStream;

/* Writes whatever deflate has produced into m->buf. */
static int drain_deflate(NpzWriter *w, MemberStream *m, Error *err)
{
    size_t produced = sizeof m->buf - m->z.avail_out;
    if (write_bytes(w, m->buf, produced, err)) return -1;
    m->out_bytes += produced;
    m->z.next_out = m->buf;
    m->z.avail_out = sizeof m->buf;
    return 0;
}

/* Sends len bytes into the member; finish flushes the deflate stream. */
static int stream_feed(NpzWriter *w, MemberStream *m, const uint8_t *bytes, size_t len, int finish,
                       Error *err)
{
    m->crc = crc32_update(m->crc, bytes, len);
    m->in_bytes += len;
    if (!m->deflating) {
        m->out_bytes += len;
        return write_bytes(w, bytes, len, err);
    }
    const size_t slice = 1u << 30;
    do {
        size_t n = len < slice ? len : slice;
        m->z.next_in = (Bytef *)bytes;
        m->z.avail_in = (uInt)n;
        bytes += n;
        len -= n;
        int flush = finish && len == 0 ? Z_FINISH : Z_NO_FLUSH;
        int status;
        do {
            status = deflate(&m->z, flush);
            if (status == Z_STREAM_ERROR) return error_set(err, "zlib deflate failed");
            if (m->z.avail_out == 0 || status == Z_STREAM_END)
                if (drain_deflate(w, m, err)) return -1;
        } while (flush == Z_FINISH ? status != Z_STREAM_END : m->z.avail_in > 0);
    } while (len > 0);
    return 0;
}

static void put_local_header(uint8_t *h, const WrittenMember *m, size_t name_len)
{
    put_u32(h, LOCAL_HEADER_SIG);
    put_u16(h + 4, VERSION_NEEDED);
    put_u16(h + 6, 0); /* flags: sizes are in this header, no data descriptor */
    put_u16(h + 8, m->method);
    put_u16(h + 10, DOS_TIME);
    put_u16(h + 12, DOS_DATE);
    put_u32(h + 14, m->crc);
    put_u32(h + 18, m->compressed_size);
    put_u32(h + 22, m->uncompressed_size);
    put_u16(h + 26, (uint16_t)name_len);
    put_u16(h + 28, 0); /* no extra field: members stay under 4 GiB */
}

/* Writes the member: a local header with placeholder CRC and sizes, the
 * data, then a seek back to fill them in (our temporary file is a
 * regular, seekable file, so no data descriptor is needed). */
static int write_member(NpzWriter *w, WrittenMember *member, const uint8_t *header, size_t header_len,
                        const void *data, size_t data_len, Error *err)
{
    size_t name_len = strlen(member->name);
    uint8_t local[LOCAL_HEADER_SIZE];
    if (w->offset >= ZIP32_LIMIT) return error_set(err, "archive too large (4 GiB) for a plain zip");
    member->local_offset = (uint32_t)w->offset;
    member->method = w->compress ? METHOD_DEFLATED : METHOD_STORED;
    put_local_header(local, member, name_len);
    if (write_bytes(w, local, sizeof local, err) || write_bytes(w, member->name, name_len, err)) return -1;

    MemberStream *m = xcalloc(1, sizeof *m);
    m->deflating = w->compress;
    int status = 0;
    if (m->deflating) {
        /* Raw deflate (no zlib header), as zip wants: -MAX_WBITS. */
        if (deflateInit2(&m->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            free(m);
            return error_set(err, "cannot start zlib's deflate");
        }
        m->z.next_out = m->buf;
        m->z.avail_out = sizeof m->buf;
    }
    status = stream_feed(w, m, header, header_len, 0, err);
    if (status == 0) status = stream_feed(w, m, data, data_len, 1, err);
    if (m->deflating) deflateEnd(&m->z);
    if (status == 0 && (m->in_bytes >= ZIP32_LIMIT || m->out_bytes >= ZIP32_LIMIT))
        status = error_set(err, "member is 4 GiB or more, too large for a plain zip");
    if (status == 0) {
        member->crc = m->crc;
        member->uncompressed_size = (uint32_t)m->in_bytes;
        member->compressed_size = (uint32_t)m->out_bytes;
        put_local_header(local, member, name_len);
        FILE *f = w->file.file;
        /* The seek flushes what is buffered: a full disk shows up here,
         * and is a failure to write, not to seek. */
        if (fflush(f) != 0)
            status = error_set(err, "%s: cannot write: %s", w->file.final_path, strerror(errno));
        else if (fseeko(f, (off_t)member->local_offset, SEEK_SET) != 0 ||
                 fwrite(local, 1, sizeof local, f) != sizeof local || fseeko(f, 0, SEEK_END) != 0)
            status = error_set(err, "%s: cannot update a local header: %s", w->file.final_path, strerror(errno));
    }
    free(m);
    return status;
}

int npz_writer_add(NpzWriter *w, const char *name, NpyDtype dtype, int ndim,
                   const int64_t *shape, const void *data, Error *err)
{
    size_t data_len, name_len = strlen(name);
    if (w->failed) return error_set(err, "%s: an earlier member failed", w->file.final_path);
    if (shape_bytes(dtype, ndim, shape, &data_len, err))
        return error_prefix(err, "%s: member '%s'", w->file.final_path, name);
    if (name_len == 0 || name_len >= sizeof ((NpyArray *)0)->name)
        return error_set(err, "%s: member name '%s' must have 1 to %zu characters", w->file.final_path,
                         name, sizeof ((NpyArray *)0)->name - 1);
    for (int i = 0; i < w->count; i++)
        if (strlen(w->members[i].name) == name_len + 4 && !strncmp(w->members[i].name, name, name_len))
            return error_set(err, "%s: member '%s' added twice", w->file.final_path, name);
    if (w->count == 0xFFFF) return error_set(err, "%s: too many members", w->file.final_path);

    if (w->count == w->capacity) {
        w->capacity = w->capacity ? 2 * w->capacity : 8;
        w->members = xrealloc(w->members, (size_t)w->capacity * sizeof *w->members);
    }
    WrittenMember *member = &w->members[w->count];
    memset(member, 0, sizeof *member);
    snprintf(member->name, sizeof member->name, "%s.npy", name);
    uint8_t header[512];
    size_t header_len = build_npy_header(header, dtype, ndim, shape);
    if (write_member(w, member, header, header_len, data, data_len, err)) {
        w->failed = 1; /* the file now holds a partial member */
        return -1;
    }
    w->count++;
    return 0;
}

int npz_writer_add_array(NpzWriter *w, const NpyArray *a, Error *err)
{
    return npz_writer_add(w, a->name, a->dtype, a->ndim, a->shape, a->data, err);
}

/* The central directory (one entry per member) and the end record. */
static int write_directory(NpzWriter *w, Error *err)
{
    uint64_t directory_offset = w->offset;
    for (int i = 0; i < w->count; i++) {
        const WrittenMember *m = &w->members[i];
        size_t name_len = strlen(m->name);
        uint8_t c[CENTRAL_ENTRY_SIZE] = {0};
        put_u32(c, CENTRAL_ENTRY_SIG);
        put_u16(c + 4, VERSION_NEEDED); /* made by: MS-DOS, zip 2.0 */
        put_u16(c + 6, VERSION_NEEDED);
        put_u16(c + 10, m->method);
        put_u16(c + 12, DOS_TIME);
        put_u16(c + 14, DOS_DATE);
        put_u32(c + 16, m->crc);
        put_u32(c + 20, m->compressed_size);
        put_u32(c + 24, m->uncompressed_size);
        put_u16(c + 28, (uint16_t)name_len);
        put_u32(c + 42, m->local_offset);
        if (write_bytes(w, c, sizeof c, err) || write_bytes(w, m->name, name_len, err)) return -1;
    }
    uint64_t directory_size = w->offset - directory_offset;
    if (w->offset >= ZIP32_LIMIT) return error_set(err, "%s: archive too large (4 GiB) for a plain zip",
                                                   w->file.final_path);
    uint8_t e[END_RECORD_SIZE] = {0};
    put_u32(e, END_RECORD_SIG);
    put_u16(e + 8, (uint16_t)w->count);
    put_u16(e + 10, (uint16_t)w->count);
    put_u32(e + 12, (uint32_t)directory_size);
    put_u32(e + 16, (uint32_t)directory_offset);
    return write_bytes(w, e, sizeof e, err);
}

static void writer_free(NpzWriter *w)
{
    free(w->members);
    free(w);
}

int npz_writer_close(NpzWriter *w, Error *err)
{
    if (w->failed) {
        error_set(err, "%s: not written, because adding a member failed", w->file.final_path);
        npz_writer_abort(w);
        return -1;
    }
    if (write_directory(w, err)) {
        npz_writer_abort(w);
        return -1;
    }
    int status = atomic_commit(&w->file, err);
    writer_free(w);
    return status;
}

void npz_writer_abort(NpzWriter *w)
{
    if (!w) return;
    atomic_abort(&w->file);
    writer_free(w);
}

int npy_write(const char *path, NpyDtype dtype, int ndim, const int64_t *shape,
              const void *data, Error *err)
{
    size_t data_len;
    if (shape_bytes(dtype, ndim, shape, &data_len, err)) return error_prefix(err, "%s", path);
    AtomicFile file;
    FILE *f = atomic_open(&file, path, err);
    if (!f) return -1;
    uint8_t header[512];
    size_t header_len = build_npy_header(header, dtype, ndim, shape);
    if (fwrite(header, 1, header_len, f) != header_len || (data_len && fwrite(data, 1, data_len, f) != data_len)) {
        error_set(err, "%s: cannot write: %s", path, strerror(errno));
        atomic_abort(&file);
        return -1;
    }
    return atomic_commit(&file, err);
}
