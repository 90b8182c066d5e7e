/* jsonw.c — see jsonw.h. */
#include <math.h>

#include "profile/jsonw.h"

void jw_str(FILE *f, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    putc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        case '/':
            fputs(i > 0 && s[i - 1] == '<' ? "\\/" : "/", f);
            break;
        default:
            if (c < 0x20) {
                fputs("\\u00", f);
                putc(hex[c >> 4], f);
                putc(hex[c & 15], f);
            } else if (c < 0x80) {
                putc(c, f);
            } else {
                /* Names come from logs: a byte sequence that is not UTF-8
                 * becomes U+FFFD, so that the document stays valid JSON. */
                size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
                size_t k = 1;
                while (n && k < n && i + k < len && ((unsigned char)s[i + k] & 0xC0) == 0x80)
                    k++;
                if (n && k == n && c < 0xF8) {
                    fwrite(s + i, 1, n, f);
                    i += n - 1;
                } else {
                    fputs("\\ufffd", f);
                }
            }
        }
    }
    putc('"', f);
}

void jw_num(FILE *f, double v, int decimals)
{
    if (!isfinite(v))
        v = 0;
    fprintf(f, "%.*f", decimals, v);
}
