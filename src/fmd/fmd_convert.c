/* fmd_convert.c — FMD's outlier text into live capture's forms (see
 * fmd_convert.h).  Nothing here trusts the text to be well formed: what
 * cannot be read is left out, never kept in clear. */
#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secret.h"
#include "core/utf8.h"
#include "fmd/fmd_convert.h"

/* A JSON string of s, bytes that are not UTF-8 made '?' (FMD's text comes
 * from whatever the request carried). */
static json_t *jstr(const char *s)
{
    size_t n = strlen(s);
    if (utf8_valid(s, n))
        return json_stringn(s, n);
    char *clean = malloc(n + 1);
    json_t *v = NULL;
    if (clean) {
        utf8_sanitize(s, clean, n + 1);
        v = json_string(clean);
    }
    free(clean);
    return v;
}

/* ---- stacks ------------------------------------------------------------- */

typedef struct frames {
    char *p;
    size_t n, cap;
} frames;

static int frames_room(frames *f, size_t more)
{
    if (f->n + more + 1 <= f->cap)
        return 0;
    size_t cap = f->cap ? f->cap : 256;
    while (cap < f->n + more + 1)
        cap *= 2;
    char *p = realloc(f->p, cap);
    if (!p)
        return -1;
    f->p = p;
    f->cap = cap;
    return 0;
}

/* s[0..n) with tabs and line ends made blanks: they separate fields and
 * frames. */
static void put_field(frames *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        f->p[f->n++] = (s[i] == '\t' || s[i] == '\n' || s[i] == '\r') ? ' ' : s[i];
}

static int put_frame(frames *f, const char *fn, size_t fnlen, const char *file, size_t filelen,
                     long line)
{
    if (frames_room(f, fnlen + filelen + 24))
        return -1;
    put_field(f, fn, fnlen);
    f->p[f->n++] = '\t';
    put_field(f, file, filelen);
    f->n += (size_t)snprintf(f->p + f->n, f->cap - f->n, "\t%ld\n", line);
    return 0;
}

static const char *find(const char *p, const char *end, const char *what)
{
    return p < end ? memmem(p, (size_t)(end - p), what, strlen(what)) : NULL;
}

/* One frame in s[0..end): FMD's 'File: "f", line N, in "fn": "code"' or
 * traceback's 'File "f", line N, in fn'.  The file ends at the first
 * '", line N, in ' (a file name holding that is not worth guessing at);
 * FMD's function name ends at '": "', since the code after it may hold
 * quotes of its own.  1: a frame, 0: not a frame, -1: out of memory. */
static int parse_frame(frames *f, const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    int fmd = end - s >= 7 && !memcmp(s, "File: \"", 7);
    if (fmd)
        s += 7;
    else if (end - s >= 6 && !memcmp(s, "File \"", 6))
        s += 6;
    else
        return 0;
    const char *in = fmd ? ", in \"" : ", in ";
    size_t inlen = strlen(in);
    for (const char *p = s; (p = find(p, end, "\", line ")); p++) {
        const char *d = p + 8, *e = d;
        long line = 0;
        while (e < end && isdigit((unsigned char)*e) && e - d < 9)
            line = line * 10 + (*e++ - '0');
        if (e == d || (size_t)(end - e) < inlen || memcmp(e, in, inlen))
            continue;
        const char *fn = e + inlen, *fe = end;
        if (fmd && !(fe = find(fn, end, "\": \"")) && !(fe = find(fn, end, "\"")))
            fe = end;
        return put_frame(f, fn, (size_t)(fe - fn), s, (size_t)(p - s), line) ? -1 : 1;
    }
    return 0;
}

/* Where the frame starting at p ends: FMD's "<br />" (or "<br/>", "<br>")
 * or a line end; *skip is the separator's length. */
static const char *frame_end(const char *p, size_t *skip)
{
    static const char *const brs[] = {"<br />", "<br/>", "<br>"};
    for (; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            *skip = 1;
            return p;
        }
        for (size_t i = 0; *p == '<' && i < 3; i++)
            if (!strncmp(p, brs[i], strlen(brs[i]))) {
                *skip = strlen(brs[i]);
                return p;
            }
    }
    *skip = 0;
    return p;
}

char *fmd_stack_frames(const char *text)
{
    frames f = {0};
    int n = 0;
    for (const char *p = text; p && *p;) {
        size_t skip;
        const char *end = frame_end(p, &skip);
        int r = parse_frame(&f, p, end);
        if (r < 0)
            goto nomem;
        n += r;
        p = end + skip;
    }
    if (!n && text) {
        /* not a stack we know: one frame named by the text */
        const char *s = text;
        while (isspace((unsigned char)*s))
            s++;
        size_t len = strlen(s);
        while (len && isspace((unsigned char)s[len - 1]))
            len--;
        if (!len || frames_room(&f, len + 1))
            goto nomem;
        put_field(&f, s, len);
        f.p[f.n++] = '\n';
        n = 1;
    }
    if (!n)
        goto nomem;
    f.p[f.n] = 0;
    return f.p;
nomem:
    free(f.p);
    return NULL;
}

/* ---- the request: url, headers, values ------------------------------------ */

/* url with its query masked as live capture masks it. */
static json_t *masked_url(const char *url)
{
    size_t cap = strlen(url) * 4 + 16; /* "k=v" may become "k=***" */
    char *out = malloc(cap);
    json_t *v = NULL;
    if (out) {
        secret_mask_uri(url, out, cap);
        size_t n = strlen(out);
        if (n && out[n - 1] == '?') /* every pair masked away: live shows no '?' */
            out[n - 1] = 0;
        v = jstr(out);
    }
    free(out);
    return v;
}

/* The query parameters of url, as live capture's "values" holds
 * request.args: names and values decoded, the first value of a name. */
static json_t *query_values(json_t *o, const char *url)
{
    const char *q = strchr(url, '?');
    for (q = q ? q + 1 : NULL; q && *q;) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t nlen = eq ? (size_t)(eq - q) : len;
        char *name = malloc(nlen + 1), *val = malloc(len + 1);
        if (!name || !val) {
            free(name);
            free(val);
            return NULL;
        }
        secret_form_decode(q, nlen, name);
        secret_form_decode(eq ? eq + 1 : "", eq ? len - nlen - 1 : 0, val);
        if (*name && !json_object_get(o, name))
            json_object_set_new(o, name, secret_name(name) ? json_string(SECRET_MASK) : jstr(val));
        free(name);
        free(val);
        q = amp ? amp + 1 : NULL;
    }
    return o;
}

/* "Name: value" lines (str() of werkzeug's headers), secret-named ones
 * masked. */
static json_t *headers_of(json_t *o, const char *text)
{
    for (const char *p = text; *p;) {
        const char *eol = p + strcspn(p, "\r\n"), *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon && colon > p) {
            char *name = strndup(p, (size_t)(colon - p));
            const char *v = colon + 1;
            while (*v == ' ')
                v++;
            char *val = strndup(v, (size_t)(eol - v));
            if (name && val)
                json_object_set_new(o, name,
                                    secret_name(name) ? json_string(SECRET_MASK) : jstr(val));
            free(name);
            free(val);
            if (!name || !val)
                return NULL;
        }
        p = eol + strspn(eol, "\r\n");
    }
    return o;
}

/* ---- the environ: a Python dict's repr ----------------------------------- */

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp >= 0xd800 && cp <= 0xdfff) /* a lone surrogate (surrogateescape) */
        cp = 0xfffd;
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    if (cp > 0x10ffff)
        return put_utf8(out, 0xfffd);
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static int hexdigits(const char *s, int n, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        int c = (unsigned char)s[i], d = isdigit(c)    ? c - '0'
                                         : isxdigit(c) ? (c | 32) - 'a' + 10
                                                       : -1;
        if (d < 0)
            return -1;
        *v = *v * 16 + (uint32_t)d;
    }
    return 0;
}

/* The body s[0..n) of a str (or, bytes set, a bytes) literal, escapes
 * decoded, into out (room for n + 1: no escape decodes longer than it is
 * written). */
static void unescape(const char *s, size_t n, int bytes, char *out)
{
    static const char simple[] = "\\\\''\"\"n\nr\rt\ta\ab\bf\fv\v";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp;
        const char *m;
        int w = i + 1 < n ? (s[i + 1] == 'x'   ? 2
                             : s[i + 1] == 'u' ? 4
                             : s[i + 1] == 'U' ? 8
                                               : 0)
                          : 0;
        if (s[i] != '\\' || i + 1 >= n) {
            out[o++] = s[i];
        } else if (w && (!bytes || w == 2) && i + 1 + (size_t)w < n &&
                   !hexdigits(s + i + 2, w, &cp)) {
            if (bytes)
                out[o++] = (char)cp;
            else
                o += put_utf8(out + o, cp);
            i += 1 + (size_t)w;
        } else if ((m = memchr(simple, s[i + 1], sizeof simple - 1)) && (m - simple) % 2 == 0) {
            out[o++] = m[1];
            i++;
        } else {
            out[o++] = s[i]; /* an escape Python's repr does not write: kept */
        }
    }
    out[o] = 0;
}

/* A string literal at *pp ('...' or "...", with b, u or r before it): its
 * decoded text, malloc'd, *pp moved past it.  NULL if there is none. */
static char *py_string(const char **pp)
{
    const char *p = *pp;
    int raw = 0, bytes = 0;
    for (int k = 0; k < 2 && *p && strchr("bBuUrR", *p); k++, p++) {
        raw |= *p == 'r' || *p == 'R';
        bytes |= *p == 'b' || *p == 'B';
    }
    char quote = *p;
    if (quote != '\'' && quote != '"')
        return NULL;
    const char *s = ++p;
    while (*p && *p != quote)
        p += *p == '\\' && p[1] ? 2 : 1;
    if (!*p)
        return NULL;
    size_t n = (size_t)(p - s);
    char *out = malloc(n + 1);
    if (out && raw) {
        memcpy(out, s, n);
        out[n] = 0;
    } else if (out) {
        unescape(s, n, bytes, out);
    }
    *pp = p + 1;
    return out;
}

/* Skip a value at *pp that is not a string, up to the ',' or '}' that ends
 * it, and name its type as live capture shows such a value ("<tuple>",
 * "<_io.BytesIO>"): the repr itself may hold secrets (werkzeug's request
 * shows its URL).  -1 if it does not end. */
static int py_other(const char **pp, char *type, size_t cap)
{
    const char *start = *pp, *p = start;
    int depth = 0;
    for (; *p; p++) {
        if (*p == '\'' || *p == '"') {
            char quote = *p++;
            while (*p && *p != quote)
                p += *p == '\\' && p[1] ? 2 : 1;
            if (!*p)
                return -1;
        } else if (strchr("([{<", *p)) {
            depth++;
        } else if (strchr(")]}>", *p)) {
            if (!depth)
                break;
            depth--;
        } else if (*p == ',' && !depth) {
            break;
        }
    }
    if (!*p || p == start)
        return -1;
    size_t len = (size_t)(p - start), n;
    const char *name = start;
    if (*start == '<') {
        name = start + 1;
        n = strcspn(name, " >");
    } else if (*start == '(' || *start == '[' || *start == '{') {
        name = *start == '(' ? "tuple" : *start == '[' ? "list" : "dict";
        n = strlen(name);
    } else if (len >= 4 && (!strncmp(start, "True", 4) || !strncmp(start, "False", 5))) {
        name = "bool";
        n = 4;
    } else if (len >= 4 && !strncmp(start, "None", 4)) {
        name = "NoneType";
        n = 8;
    } else if (isdigit((unsigned char)*start) || *start == '-') {
        int real = memchr(start, '.', len) || memchr(start, 'e', len) || memchr(start, 'n', len);
        name = real ? "float" : "int";
        n = strlen(name);
    } else {
        n = strcspn(start, "(, }");
    }
    snprintf(type, cap, "<%.*s>", (int)(n < 100 ? n : 100), name);
    *pp = p;
    return 0;
}

/* str(request.environ) as live capture shows an environ: each key with its
 * value masked (secret_environ_value), values that are not strings by
 * their type.  Reading stops at what it cannot read, keeping the pairs
 * before it; NULL if it is no dict at all. */
static json_t *environ_of(json_t *o, const char *repr)
{
    const char *p = repr + strspn(repr, " \t\r\n");
    if (*p != '{')
        return NULL;
    for (p++;;) {
        p += strspn(p, " \t\r\n");
        char *key = py_string(&p), *val = NULL, type[112];
        if (key && *(p += strspn(p, " \t\r\n")) == ':') {
            p += 1 + strspn(p + 1, " \t\r\n");
            const char *at = p;
            val = py_string(&p);
            if (!val && (p = at, !py_other(&p, type, sizeof type)))
                val = strdup(type);
        }
        if (!val) {
            free(key);
            break;
        }
        size_t cap = strlen(val) * 4 + 16;
        char *masked = malloc(cap);
        if (masked)
            json_object_set_new(o, key, jstr(secret_environ_value(key, val, masked, cap)));
        free(masked);
        free(key);
        free(val);
        p += strspn(p, " \t\r\n");
        if (*p != ',')
            break;
        p++;
    }
    return o;
}

json_t *fmd_details(const char *url, const char *header, const char *environment)
{
    json_t *d = json_object(), *h = json_object(), *e = json_object(), *v = json_object();
    if (!d || !h || !e || !v)
        goto nomem;
    if (url) {
        json_t *u = masked_url(url);
        if (u)
            json_object_set_new(d, "url", u);
        if (!query_values(v, url))
            goto nomem;
        json_object_set(d, "values", v);
    }
    if (header) {
        if (!headers_of(h, header))
            goto nomem;
        json_object_set(d, "headers", h);
    }
    if (environment && environ_of(e, environment))
        json_object_set(d, "environ", e);
    json_decref(h);
    json_decref(e);
    json_decref(v);
    return d;
nomem:
    json_decref(d);
    json_decref(h);
    json_decref(e);
    json_decref(v);
    return NULL;
}

/* ---- cpu and memory ---------------------------------------------------------- */

/* The number after "name=" in psutil's namedtuple text. */
static int field(const char *text, const char *name, double *v)
{
    size_t n = strlen(name);
    for (const char *p = text; (p = strstr(p, name)); p += n) {
        char *end;
        if (p > text && (p[-1] == '(' || p[-1] == ' ') && p[n] == '=') {
            *v = strtod(p + n + 1, &end);
            if (end > p + n + 1)
                return 0;
        }
    }
    return -1;
}

json_t *fmd_memory(const char *text)
{
    double total, avail, pct;
    if (!text || strncmp(text, "svmem(", 6) || field(text, "total", &total) ||
        field(text, "available", &avail) || total <= 0 || avail < 0 || avail > total)
        return NULL;
    if (field(text, "percent", &pct))
        pct = 100.0 * (total - avail) / total;
    return json_pack("{s:I,s:I,s:I,s:f}", "total_bytes", (json_int_t)total, "available_bytes",
                     (json_int_t)avail, "used_bytes", (json_int_t)(total - avail), "used_percent",
                     pct);
}

json_t *fmd_cpu(const char *text)
{
    json_t *a = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    size_t i;
    json_t *x;
    if (!json_is_array(a))
        goto bad;
    json_array_foreach(a, i, x) if (!json_is_number(x)) goto bad;
    return a;
bad:
    json_decref(a);
    return NULL;
}
