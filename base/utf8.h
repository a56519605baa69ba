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
 * be valid UTF-8 that shows what it holds:
 *   - no control character: C0 (U+0000..001F), DEL (U+007F) or C1
 *     (U+0080..009F), which a terminal may obey (ESC starts its escape
 *     sequences, U+009B is one on its own);
 *   - no invisible format character (utf8_is_invisible): a right-to-left
 *     override (U+202E) shows the rest of the line backwards ("fc 7" as
 *     "7 cf"), the Trojan Source trick; a zero-width space (U+200B) makes
 *     "Happy" and "Hap<U+200B>py" two names that print the same.
 * Characters in `allowed` (ASCII controls, say "\t\n\r") are let through;
 * and when `allowed` holds '\n', the text is a file's text, whose very
 * first character may be U+FEFF: there it is a byte order mark (as some
 * editors save files), which the reader skips, not a hidden character.
 * Returns -1 if bytes[0..len) is such text; otherwise the byte offset of
 * the first fault, with *code_point the character found there, or
 * UTF8_NOT_UTF8 where the bytes are not UTF-8. */
#define UTF8_NOT_UTF8 0xFFFFFFFFu
long utf8_find_unprintable(const uint8_t *bytes, size_t len, const char *allowed,
                           uint32_t *code_point);

/* Text from outside (a file name in a message, say) made safe to show, in
 * place: each character utf8_find_unprintable stops at (a control character
 * other than a tab, an invisible one, a byte that is not UTF-8) becomes '?',
 * as ls shows such names. Line breaks stay if keep_newlines (a message of
 * several lines), else they become '?' too (a name on one line of output,
 * which a name holding "\nface.pgm: Happy" must not forge). Returns text. */
char *utf8_make_printable(char *text, int keep_newlines);

/* 1 for an invisible format character: the bidirectional controls
 * (U+061C, U+200E, U+200F, U+202A..202E, U+2066..2069), the zero-width
 * space and word joiner (U+200B, U+2060, U+FEFF), and the other format
 * characters a reader cannot see (U+00AD soft hyphen, U+180E,
 * U+2061..2064, U+206A..206F, U+FFF9..FFFB). Not the zero-width
 * non-joiner and joiner (U+200C, U+200D): Persian words and Indic scripts
 * need them, and emoji sequences are made with the joiner. */
int utf8_is_invisible(uint32_t code_point);

/* 1 for a space other than the ASCII one (U+00A0 no-break space, U+2000..200A,
 * U+202F, U+205F, U+3000, U+1680): it looks like ' ' but no reader of words
 * split at blanks takes it for one. */
int utf8_is_unusual_space(uint32_t code_point);

/* What an invisible character or unusual space is, for a message:
 * "an invisible right-to-left override" (U+202E), "a non-breaking space"
 * (U+00A0), ...; NULL for any other character. A message shows it as
 * "U+202E, an invisible right-to-left override". */
const char *utf8_character_name(uint32_t code_point);

#endif
