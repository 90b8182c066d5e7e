/* jsonw.c — see jsonw.h. */
#include <math.h>

#include "trace/jsonw.h"

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
            } else {
                putc(c, f);
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
