#include "utf8.h"

#include <string.h>

static int is_character(uint32_t c)
{
    return c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF);
}

int utf8_encode(uint32_t c, char *out)
{
    if (!is_character(c)) return 0;
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | c >> 6);
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | c >> 12);
        out[1] = (char)(0x80 | (c >> 6 & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | c >> 18);
    out[1] = (char)(0x80 | (c >> 12 & 0x3F));
    out[2] = (char)(0x80 | (c >> 6 & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

int utf8_decode(const uint8_t *bytes, size_t len, uint32_t *code_point)
{
    if (len == 0) return 0;
    uint8_t lead = bytes[0];
    int length;
    uint32_t c, smallest; /* the least code point that needs this length */
    if (lead < 0x80) {
        *code_point = lead;
        return 1;
    } else if ((lead & 0xE0) == 0xC0) {
        length = 2, c = lead & 0x1F, smallest = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
        length = 3, c = lead & 0x0F, smallest = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
        length = 4, c = lead & 0x07, smallest = 0x10000;
    } else {
        return 0; /* a continuation byte (10xxxxxx) or 0xF8..0xFF */
    }
    if (len < (size_t)length) return 0;
    for (int k = 1; k < length; k++) {
        if ((bytes[k] & 0xC0) != 0x80) return 0;
        c = c << 6 | (bytes[k] & 0x3F);
    }
    if (c < smallest || !is_character(c)) return 0;
    *code_point = c;
    return length;
}

/* The characters a reader does not see for what they are, with their
 * names for messages: invisible format characters (refused in text that
 * reaches a terminal), spaces other than ' ', and the two joiners, which
 * are invisible too but which writing systems need (the non-joiner in
 * Persian words, the joiner in Indic scripts and emoji sequences): those
 * are allowed, and only named. */
enum { SPACE, INVISIBLE, JOINER };
static const struct {
    uint32_t first, last;
    int kind;
    const char *name;
} hidden[] = {
    {0x00A0, 0x00A0, SPACE, "a non-breaking space"},
    {0x00AD, 0x00AD, INVISIBLE, "an invisible soft hyphen"},
    {0x061C, 0x061C, INVISIBLE, "an invisible Arabic letter mark (a right-to-left control)"},
    {0x1680, 0x1680, SPACE, "an Ogham space mark"},
    {0x180E, 0x180E, INVISIBLE, "an invisible Mongolian vowel separator"},
    {0x2000, 0x200A, SPACE, "a typographic space (U+2000..200A)"},
    {0x200B, 0x200B, INVISIBLE, "an invisible zero-width space"},
    {0x200C, 0x200C, JOINER, "an invisible zero-width non-joiner"},
    {0x200D, 0x200D, JOINER, "an invisible zero-width joiner"},
    {0x200E, 0x200E, INVISIBLE, "an invisible left-to-right mark"},
    {0x200F, 0x200F, INVISIBLE, "an invisible right-to-left mark"},
    {0x202A, 0x202A, INVISIBLE, "an invisible left-to-right embedding"},
    {0x202B, 0x202B, INVISIBLE, "an invisible right-to-left embedding"},
    {0x202C, 0x202C, INVISIBLE, "an invisible pop directional formatting"},
    {0x202D, 0x202D, INVISIBLE, "an invisible left-to-right override"},
    {0x202E, 0x202E, INVISIBLE, "an invisible right-to-left override"},
    {0x202F, 0x202F, SPACE, "a narrow non-breaking space"},
    {0x205F, 0x205F, SPACE, "a medium mathematical space"},
    {0x2060, 0x2060, INVISIBLE, "an invisible word joiner"},
    {0x2061, 0x2064, INVISIBLE, "an invisible mathematical operator"},
    {0x2066, 0x2066, INVISIBLE, "an invisible left-to-right isolate"},
    {0x2067, 0x2067, INVISIBLE, "an invisible right-to-left isolate"},
    {0x2068, 0x2068, INVISIBLE, "an invisible first strong isolate"},
    {0x2069, 0x2069, INVISIBLE, "an invisible pop directional isolate"},
    {0x206A, 0x206F, INVISIBLE, "an invisible deprecated format character"},
    {0x3000, 0x3000, SPACE, "an ideographic space"},
    {0xFEFF, 0xFEFF, INVISIBLE, "an invisible byte order mark"},
    {0xFFF9, 0xFFFB, INVISIBLE, "an invisible interlinear annotation character"},
};

static int hidden_index(uint32_t c)
{
    for (int k = 0; k < (int)(sizeof hidden / sizeof hidden[0]); k++)
        if (c >= hidden[k].first && c <= hidden[k].last) return k;
    return -1;
}

int utf8_is_invisible(uint32_t c)
{
    int k = hidden_index(c);
    return k >= 0 && hidden[k].kind == INVISIBLE;
}

int utf8_is_unusual_space(uint32_t c)
{
    int k = hidden_index(c);
    return k >= 0 && hidden[k].kind == SPACE;
}

const char *utf8_character_name(uint32_t c)
{
    int k = hidden_index(c);
    return k >= 0 ? hidden[k].name : NULL;
}

long utf8_find_unprintable(const uint8_t *bytes, size_t len, const char *allowed,
                           uint32_t *code_point)
{
    const int file_text = strchr(allowed, '\n') != NULL;
    for (size_t at = 0; at < len;) {
        if (bytes[at] >= 0x20 && bytes[at] < 0x7F) { /* printable ASCII, most text */
            at++;
            continue;
        }
        uint32_t c;
        int length = utf8_decode(bytes + at, len - at, &c);
        if (length == 0) {
            *code_point = UTF8_NOT_UTF8;
            return (long)at;
        }
        int control = c < 0x20 || (c >= 0x7F && c <= 0x9F);
        int byte_order_mark = c == 0xFEFF && at == 0 && file_text;
        if ((control && !(c != 0 && strchr(allowed, (int)c))) ||
            (utf8_is_invisible(c) && !byte_order_mark)) {
            *code_point = c;
            return (long)at;
        }
        at += (size_t)length;
    }
    return -1;
}

char *utf8_make_printable(char *text, int keep_newlines)
{
    const size_t len = strlen(text);
    size_t at = 0, out = 0;
    while (at < len) {
        uint32_t c;
        long fault = utf8_find_unprintable((const uint8_t *)text + at, len - at, "\t", &c);
        const size_t good = fault < 0 ? len - at : (size_t)fault;
        memmove(text + out, text + at, good);
        out += good;
        at += good;
        if (fault < 0) break;
        /* the faulty character, or one byte of what is not UTF-8 */
        int length = c == UTF8_NOT_UTF8 ? 1 : utf8_decode((const uint8_t *)text + at, len - at, &c);
        text[out++] = c == '\n' && keep_newlines ? '\n' : '?';
        at += (size_t)length;
    }
    text[out] = '\0';
    return text;
}
