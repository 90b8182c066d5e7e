/* secret.c — see secret.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/secret.h"

/* Lower case; matched case-insensitively as substrings.  "passw" would
 * cover both password spellings, but the list names what it masks. */
static const char *const PATTERNS[] = {
    "token", "key",     "secret", "password", "passwd",     "pwd",  "auth",
    "jwt",   "session", "sig",    "cookie",   "credential", "csrf", "private",
};
#define NPATTERNS (sizeof PATTERNS / sizeof PATTERNS[0])

int secret_name_n(const char *name, size_t len)
{
    if (!name)
        return 0;
    for (size_t p = 0; p < NPATTERNS; p++) {
        size_t m = strlen(PATTERNS[p]);
        for (size_t i = 0; i + m <= len; i++)
            if (!strncasecmp(name + i, PATTERNS[p], m))
                return 1;
    }
    return 0;
}

int secret_name(const char *name)
{
    return name && secret_name_n(name, strlen(name));
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

size_t secret_form_decode(const char *s, size_t n, char *out)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '+')
            out[j++] = ' ';
        else if (s[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
                 (lo = hexval((unsigned char)s[i + 2])) >= 0) {
            out[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else
            out[j++] = s[i];
    }
    out[j] = 0;
    return j;
}

/* Is the percent-encoded name s[0..n) a secret once decoded? */
static int encoded_secret(const char *s, size_t n)
{
    char small[256];
    char *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf)
        return 1;
    size_t j = secret_form_decode(s, n, buf);
    int r = secret_name_n(buf, j);
    if (buf != small)
        free(buf);
    return r;
}

size_t secret_mask_query(const char *qs, char *out, size_t cap)
{
    size_t at = 0;
    if (!cap)
        return 0;
    out[0] = 0;
    while (qs && *qs) {
        const char *amp = strchr(qs, '&');
        size_t len = amp ? (size_t)(amp - qs) : strlen(qs);
        const char *eq = memchr(qs, '=', len);
        size_t nlen = eq ? (size_t)(eq - qs) : len;
        int mask = eq && encoded_secret(qs, nlen);
        size_t keep = mask ? nlen + 1 : len;
        size_t need = (at ? 1 : 0) + keep + (mask ? strlen(SECRET_MASK) : 0);
        if (at + need >= cap)
            break;
        if (at)
            out[at++] = '&';
        memcpy(out + at, qs, keep);
        at += keep;
        if (mask) {
            memcpy(out + at, SECRET_MASK, strlen(SECRET_MASK));
            at += strlen(SECRET_MASK);
        }
        out[at] = 0;
        if (!amp)
            break;
        qs = amp + 1;
    }
    return at;
}

size_t secret_mask_uri(const char *uri, char *out, size_t cap)
{
    if (!cap)
        return 0;
    const char *q = uri ? strchr(uri, '?') : NULL;
    if (!q) {
        snprintf(out, cap, "%s", uri ? uri : "");
        return strlen(out);
    }
    size_t plen = (size_t)(q - uri);
    if (plen > cap / 2)
        plen = cap / 2;
    memcpy(out, uri, plen);
    if (plen + 1 >= cap) {
        out[plen] = 0;
        return plen;
    }
    out[plen] = '?';
    return plen + 1 + secret_mask_query(q + 1, out + plen + 1, cap - plen - 1);
}

const char *secret_environ_value(const char *key, const char *val, char *out, size_t cap)
{
    if (secret_name(key))
        return SECRET_MASK;
    if (!strcmp(key, "QUERY_STRING")) {
        secret_mask_query(val, out, cap);
        return out;
    }
    if (!strcmp(key, "REQUEST_URI") || !strcmp(key, "RAW_URI")) {
        secret_mask_uri(val, out, cap);
        return out;
    }
    return val;
}
