/* jsonw.h — the few pieces of a streaming JSON writer that the profile
 * builder needs.  Its documents can be hundreds of MB, so they are written
 * straight to the file instead of built as a jansson tree. */
#ifndef EVD_PROFILE_JSONW_H
#define EVD_PROFILE_JSONW_H

#include <stddef.h>
#include <stdio.h>

/* Write s[0..len) as a quoted JSON string.  "</" becomes "<\/" so that the
 * same text can sit inside an HTML <script> element. */
void jw_str(FILE *f, const char *s, size_t len);

/* Write a finite double; NaN and infinities (never valid JSON) become 0. */
void jw_num(FILE *f, double v, int decimals);

#endif
