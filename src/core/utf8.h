/* utf8.h — is text well-formed UTF-8 (RFC 3629), and making it so. */
#ifndef EVD_UTF8_H
#define EVD_UTF8_H

#include <stddef.h>

/* Nonzero if s[0..n) is well-formed UTF-8: no overlong forms, no
 * surrogates, nothing past U+10FFFF, no sequence cut short. */
int utf8_valid(const char *s, size_t n);

/* Copy the NUL-terminated s into out[0..cap), NUL-terminated, with every
 * byte that is not part of a well-formed sequence replaced by '?', and a
 * sequence that would not fit left out whole.  Returns the length. */
size_t utf8_sanitize(const char *s, char *out, size_t cap);

#endif
