/* utf8.h: UTF-8, the encoding of the text (class names) read from files.
 *
 * A code point (U+0000..U+10FFFF, less the surrogates U+D800..U+DFFF,
 * which are halves of UTF-16 pairs and not characters) takes 1 to 4 bytes:
 *
 *     U+0000..U+007F      0xxxxxxx
 *     U+0080..U+07FF      110xxxxx 10xxxxxx
 *     U+0800..U+FFFF      1110xxxx 10xxxxxx 10xxxxxx
 *     U+10000..U+10FFFF   11110xxx 10xxxxxx 10xxxxxx 10xxxxxx
 *
 * The decoder refuses what a careful reader must: a continuation byte
 * where a character should start, a sequence cut short, an overlong form
 * (more bytes than the code point needs, which would give one text two
 * spellings), a surrogate, and anything beyond U+10FFFF. */
#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Writes code_point into out (room for 4 bytes) and returns the number of
 * bytes, or 0 if it is not a character (a surrogate or beyond U+10FFFF). */
int utf8_encode(uint32_t code_point, char *out);

/* Decodes the character at the start of bytes[0..len) into *code_point and
 * returns its length in bytes (1..4), or 0 if the bytes are not valid
 * UTF-8 there (len 0 included). */
int utf8_decode(const uint8_t *bytes, size_t len, uint32_t *code_point);

/* Text that may reach a terminal (a name, a word quoted in a message) must
 * be valid UTF-8 without control characters: no C0 control (U+0000..001F),
 * DEL (U+007F) or C1 control (U+0080..009F), which a terminal may obey
 * (ESC starts its escape sequences, U+009B is one on its own). Characters
 * in `allowed` (say "\t\n\r") are let through.
 * Returns -1 if bytes[0..len) is such text; otherwise the byte offset of
 * the first fault, with *code_point the control character, or
 * UTF8_NOT_UTF8 where the bytes are not UTF-8. */
#define UTF8_NOT_UTF8 0xFFFFFFFFu
long utf8_find_unprintable(const uint8_t *bytes, size_t len, const char *allowed,
                           uint32_t *code_point);

#endif
