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

long utf8_find_unprintable(const uint8_t *bytes, size_t len, const char *allowed,
                           uint32_t *code_point)
{
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
        if (control && !(c != 0 && strchr(allowed, (int)c))) {
            *code_point = c;
            return (long)at;
        }
        at += (size_t)length;
    }
    return -1;
}
