/* schema.c — validate JSON documents against the shipped JSON Schemas.
 *
 * Debian packages no C JSON Schema validator (only the C++ valijson), so
 * this implements the subset of draft-07 that our schemas use: type,
 * required, properties, additionalProperties (boolean or schema), items
 * (one schema), contains, enum, const, minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, minLength, minItems, maxItems.  Other keywords are
 * ignored, as the standard says for unknown ones.  Every error names the
 * JSON path of the offending value.
 *
 * Two front ends share the keyword logic's messages: one walks a jansson
 * tree, the other walks JSON text directly (recursive descent over the
 * buffer, no tree).  The text walker is what the profile builder and
 * `evodash validate` use: a profile can be hundreds of MB, and a jansson
 * tree of it would need several times that in memory and most of the
 * builder's time. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evodash.h"
#include "profile/schema.h"

struct vctx {
    schema_err_fn fn;
    void *user;
    int max, count;
    char path[1024];
    size_t plen;
};

static void report(struct vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(struct vctx *v, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (v->count++ >= v->max)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (v->fn)
        v->fn(v->user, v->path, msg);
}

/* Append to the path by hand: the text walker does it for every value. */
static void path_append(struct vctx *v, const char *a, size_t n)
{
    if (v->plen + n >= sizeof v->path)
        n = sizeof v->path - 1 - v->plen;
    memcpy(v->path + v->plen, a, n);
    v->plen += n;
    v->path[v->plen] = '\0';
}

static size_t path_push_key(struct vctx *v, const char *key)
{
    size_t old = v->plen, len = strlen(key);
    int ident = key[0] != '\0' && !(key[0] >= '0' && key[0] <= '9');
    for (const char *p = key; *p && ident; p++)
        ident = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                *p == '_';
    path_append(v, ident ? "." : "[\"", ident ? 1 : 2);
    path_append(v, key, len);
    if (!ident)
        path_append(v, "\"]", 2);
    return old;
}

static size_t path_push_index(struct vctx *v, size_t i)
{
    char buf[24], *e = buf + sizeof buf, *p = e;
    size_t old = v->plen;
    *--p = ']';
    do
        *--p = (char)('0' + i % 10);
    while ((i /= 10));
    *--p = '[';
    path_append(v, p, (size_t)(e - p));
    return old;
}

static void path_pop(struct vctx *v, size_t old)
{
    v->plen = old;
    v->path[old] = '\0';
}

static const char *type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

static int type_is(const json_t *j, const char *t)
{
    if (!strcmp(t, "number"))
        return json_is_number(j);
    if (!strcmp(t, "integer"))
        return json_is_integer(j) ||
               (json_is_real(j) && json_real_value(j) == (double)(long long)json_real_value(j));
    if (!strcmp(t, "boolean"))
        return json_is_boolean(j);
    return !strcmp(t, type_name(j));
}

static void validate(struct vctx *v, const json_t *s, const json_t *j);

static void check_number(struct vctx *v, const json_t *s, const json_t *j)
{
    double x = json_number_value(j);
    const json_t *k;
    if ((k = json_object_get(s, "minimum")) && x < json_number_value(k))
        report(v, "must be >= %g (got %g)", json_number_value(k), x);
    if ((k = json_object_get(s, "maximum")) && x > json_number_value(k))
        report(v, "must be <= %g (got %g)", json_number_value(k), x);
    if ((k = json_object_get(s, "exclusiveMinimum")) && x <= json_number_value(k))
        report(v, "must be > %g (got %g)", json_number_value(k), x);
    if ((k = json_object_get(s, "exclusiveMaximum")) && x >= json_number_value(k))
        report(v, "must be < %g (got %g)", json_number_value(k), x);
}

static void check_object(struct vctx *v, const json_t *s, const json_t *j)
{
    const json_t *req = json_object_get(s, "required"), *props = json_object_get(s, "properties");
    const json_t *addl = json_object_get(s, "additionalProperties");
    size_t i;
    const json_t *r;
    json_array_foreach(req, i, r)
    {
        if (json_is_string(r) && !json_object_get(j, json_string_value(r)))
            report(v, "missing required property \"%s\"", json_string_value(r));
    }
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)j, key, val)
    {
        const json_t *ps = json_object_get(props, key);
        size_t old = path_push_key(v, key);
        if (ps)
            validate(v, ps, val);
        else if (json_is_false(addl))
            report(v, "unexpected property");
        else if (json_is_object(addl))
            validate(v, addl, val);
        path_pop(v, old);
    }
}

static void check_array(struct vctx *v, const json_t *s, const json_t *j)
{
    const json_t *k, *items = json_object_get(s, "items"),
                     *contains = json_object_get(s, "contains");
    size_t n = json_array_size(j), i;
    const json_t *e;
    if ((k = json_object_get(s, "minItems")) && (json_int_t)n < json_integer_value(k))
        report(v, "expected at least %lld items (got %zu)", (long long)json_integer_value(k), n);
    if ((k = json_object_get(s, "maxItems")) && (json_int_t)n > json_integer_value(k))
        report(v, "expected at most %lld items (got %zu)", (long long)json_integer_value(k), n);
    if (json_is_object(items))
        json_array_foreach(j, i, e)
        {
            size_t old = path_push_index(v, i);
            validate(v, items, e);
            path_pop(v, old);
        }
    if (json_is_object(contains)) {
        int found = 0;
        json_array_foreach(j, i, e)
        {
            struct vctx probe = {.max = 0};
            validate(&probe, contains, e);
            if (probe.count == 0) {
                found = 1;
                break;
            }
        }
        if (!found) {
            char *want = json_dumps(contains, JSON_COMPACT);
            report(v, "no item matches %s", want ? want : "the 'contains' schema");
            free(want);
        }
    }
}

static void validate(struct vctx *v, const json_t *s, const json_t *j)
{
    const json_t *k;
    if (!json_is_object(s))
        return; /* true / {} schemas accept anything */
    if ((k = json_object_get(s, "type"))) {
        int ok = 0;
        if (json_is_string(k)) {
            ok = type_is(j, json_string_value(k));
        } else {
            size_t i;
            const json_t *t;
            json_array_foreach(k, i, t) ok |= json_is_string(t) && type_is(j, json_string_value(t));
        }
        if (!ok) {
            char *want = json_is_string(k) ? NULL : json_dumps(k, JSON_COMPACT);
            report(v, "expected %s, got %s", want ? want : json_string_value(k), type_name(j));
            free(want);
            return; /* the other keywords would only repeat the problem */
        }
    }
    if ((k = json_object_get(s, "const")) && !json_equal((json_t *)k, (json_t *)j)) {
        char *want = json_dumps(k, JSON_COMPACT | JSON_ENCODE_ANY);
        report(v, "expected %s", want ? want : "the constant");
        free(want);
    }
    if ((k = json_object_get(s, "enum"))) {
        size_t i;
        const json_t *e;
        int ok = 0;
        json_array_foreach(k, i, e) ok |= json_equal((json_t *)e, (json_t *)j);
        if (!ok) {
            char *want = json_dumps(k, JSON_COMPACT);
            report(v, "expected one of %s", want ? want : "the enum");
            free(want);
        }
    }
    if (json_is_number(j))
        check_number(v, s, j);
    if (json_is_string(j) && (k = json_object_get(s, "minLength")) &&
        (json_int_t)json_string_length(j) < json_integer_value(k))
        report(v, "expected a string of at least %lld characters",
               (long long)json_integer_value(k));
    if (json_is_object(j))
        check_object(v, s, j);
    if (json_is_array(j))
        check_array(v, s, j);
}

int schema_validate(const json_t *schema, const json_t *inst, const char *path, schema_err_fn fn,
                    void *user, int max_errors)
{
    struct vctx v = {.fn = fn, .user = user, .max = max_errors};
    snprintf(v.path, sizeof v.path, "%s", path ? path : "$");
    v.plen = strlen(v.path);
    validate(&v, schema, inst);
    return v.count;
}

json_t *schema_load(const char *name)
{
    size_t len;
    const char *text = schema_text(name, &len);
    return text ? json_loadb(text, len, 0, NULL) : NULL;
}

const char *schema_guess(const json_t *doc)
{
    if (json_is_array(doc))
        return "distribution";
    if (!json_is_object(doc))
        return NULL;
    if (json_object_get(doc, "scenarios"))
        return "profile";
    if (json_object_get(doc, "services"))
        return "services";
    return "mapping";
}

/* ---- the text walker ------------------------------------------------------ */

/* A schema object's keywords looked up once: the walker meets the same
 * few schema objects millions of times in a large profile. */
enum {
    T_OBJECT = 1,
    T_ARRAY = 2,
    T_STRING = 4,
    T_INTEGER = 8,
    T_NUMBER = 16,
    T_BOOLEAN = 32,
    T_NULL = 64
};

struct cnode {
    const json_t *s;
    unsigned types; /* 0: no type keyword */
    const json_t *type_kw, *props, *addl, *req, *items, *contains, *cst, *en;
    const json_t *min, *max, *xmin, *xmax, *min_len, *min_items, *max_items;
    int nreq; /* required names, at most 64 */
    const char *req_s[64];
    size_t req_len[64];
};

struct ccache {
    struct cnode *v;
    size_t cap, len;
};

struct tw {
    const char *s;
    size_t n, i;
    struct vctx *v;
    int bad; /* a syntax error was reported: stop */
    struct ccache *cc;
};

static unsigned type_bit(const char *t)
{
    static const char *const names[] = {"object", "array",   "string", "integer",
                                        "number", "boolean", "null"};
    for (unsigned i = 0; i < 7; i++)
        if (!strcmp(t, names[i]))
            return 1u << i;
    return 0;
}

static const struct cnode *compiled(struct tw *t, const json_t *s)
{
    struct ccache *c = t->cc;
    if (!s || !c)
        return NULL;
    if (2 * (c->len + 1) > c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        struct cnode *nv = calloc(cap, sizeof *nv);
        if (!nv)
            return NULL;
        for (size_t i = 0; i < c->cap; i++) {
            if (!c->v[i].s)
                continue;
            size_t j = ((uintptr_t)c->v[i].s >> 4) & (cap - 1);
            while (nv[j].s)
                j = (j + 1) & (cap - 1);
            nv[j] = c->v[i];
        }
        free(c->v);
        c->v = nv;
        c->cap = cap;
    }
    size_t j = ((uintptr_t)s >> 4) & (c->cap - 1);
    while (c->v[j].s && c->v[j].s != s)
        j = (j + 1) & (c->cap - 1);
    struct cnode *n = &c->v[j];
    if (n->s)
        return n;
    n->s = s;
    c->len++;
    n->type_kw = json_object_get(s, "type");
    if (json_is_string(n->type_kw)) {
        n->types = type_bit(json_string_value(n->type_kw));
    } else if (json_is_array(n->type_kw)) {
        size_t i;
        const json_t *ty;
        json_array_foreach(n->type_kw, i, ty) n->types |=
            type_bit(json_string_value(ty) ? json_string_value(ty) : "");
    }
    if (n->types & T_NUMBER)
        n->types |= T_INTEGER;
    n->props = json_object_get(s, "properties");
    n->addl = json_object_get(s, "additionalProperties");
    n->req = json_object_get(s, "required");
    for (size_t i = 0; i < json_array_size(n->req) && n->nreq < 64; i++) {
        const json_t *r = json_array_get(n->req, i);
        if (json_is_string(r)) {
            n->req_s[n->nreq] = json_string_value(r);
            n->req_len[n->nreq++] = json_string_length(r);
        }
    }
    n->items = json_object_get(s, "items");
    n->contains = json_object_get(s, "contains");
    n->cst = json_object_get(s, "const");
    n->en = json_object_get(s, "enum");
    n->min = json_object_get(s, "minimum");
    n->max = json_object_get(s, "maximum");
    n->xmin = json_object_get(s, "exclusiveMinimum");
    n->xmax = json_object_get(s, "exclusiveMaximum");
    n->min_len = json_object_get(s, "minLength");
    n->min_items = json_object_get(s, "minItems");
    n->max_items = json_object_get(s, "maxItems");
    return n;
}

static void tw_syntax(struct tw *t, const char *what)
{
    if (t->bad)
        return;
    size_t line = 1, col = 1;
    for (size_t k = 0; k < t->i && k < t->n; k++) {
        if (t->s[k] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    t->bad = 1;
    report(t->v, "invalid JSON at line %zu, column %zu: %s", line, col, what);
}

static void tw_ws(struct tw *t)
{
    while (t->i < t->n &&
           (t->s[t->i] == ' ' || t->s[t->i] == '\n' || t->s[t->i] == '\t' || t->s[t->i] == '\r'))
        t->i++;
}

/* Consume a string token; *len receives the number of characters. */
static int tw_string(struct tw *t, size_t *chars)
{
    size_t c = 0;
    if (t->i >= t->n || t->s[t->i] != '"') {
        tw_syntax(t, "expected a string");
        return -1;
    }
    for (t->i++; t->i < t->n; t->i++) {
        unsigned char ch = (unsigned char)t->s[t->i];
        if (ch == '"') {
            t->i++;
            if (chars)
                *chars = c;
            return 0;
        }
        if (ch < 0x20) {
            tw_syntax(t, "control character in a string");
            return -1;
        }
        if (ch == '\\') {
            t->i++;
            if (t->i >= t->n || !t->s[t->i] || !strchr("\"\\/bfnrtu", t->s[t->i])) {
                tw_syntax(t, "bad escape in a string");
                return -1;
            }
        }
        if ((ch & 0xC0) != 0x80)
            c++;
    }
    tw_syntax(t, "unterminated string");
    return -1;
}

/* Decode the key string at t->i (escapes kept simple: \uXXXX below 0x80
 * only, others copied raw); advances past it. */
static int tw_key(struct tw *t, char *buf, size_t cap, size_t *len)
{
    size_t b = t->i;
    if (tw_string(t, NULL) < 0)
        return -1;
    size_t o = 0;
    for (size_t k = b + 1; k < t->i - 1 && o + 1 < cap; k++) {
        char ch = t->s[k];
        if (ch == '\\' && k + 1 < t->i - 1) {
            char e = t->s[++k];
            ch = e == 'n'   ? '\n'
                 : e == 't' ? '\t'
                 : e == 'r' ? '\r'
                 : e == 'b' ? '\b'
                 : e == 'f' ? '\f'
                            : e;
            if (e == 'u' && k + 4 < t->i) {
                char hex[5] = {t->s[k + 1], t->s[k + 2], t->s[k + 3], t->s[k + 4], 0};
                ch = (char)strtol(hex, NULL, 16);
                k += 4;
            }
        }
        buf[o++] = ch;
    }
    buf[o] = '\0';
    *len = o;
    return 0;
}

static int tw_number(struct tw *t, double *v, int *integer)
{
    size_t b = t->i;
    int frac = 0;
    if (t->i < t->n && t->s[t->i] == '-')
        t->i++;
    size_t d = t->i;
    while (t->i < t->n && t->s[t->i] >= '0' && t->s[t->i] <= '9')
        t->i++;
    if (t->i == d) {
        tw_syntax(t, "unexpected character");
        return -1;
    }
    for (; t->i < t->n; t->i++) {
        char ch = t->s[t->i];
        if (ch == '.' || ch == 'e' || ch == 'E')
            frac = 1;
        else if (!((ch >= '0' && ch <= '9') || ch == '+' || ch == '-'))
            break;
    }
    char tmp[64];
    size_t len = t->i - b < sizeof tmp - 1 ? t->i - b : sizeof tmp - 1;
    memcpy(tmp, t->s + b, len);
    tmp[len] = '\0';
    char *end;
    *v = strtod(tmp, &end);
    if (*end) {
        tw_syntax(t, "malformed number");
        return -1;
    }
    *integer = !frac;
    return 0;
}

static int tw_literal(struct tw *t, const char *lit)
{
    size_t l = strlen(lit);
    if (t->n - t->i < l || memcmp(t->s + t->i, lit, l) != 0) {
        tw_syntax(t, "unexpected character");
        return -1;
    }
    t->i += l;
    return 0;
}

static void tw_value(struct tw *t, const json_t *s, int depth);

/* The jansson value of the text span [b, e): for const and enum only. */
static json_t *tw_span(const struct tw *t, size_t b, size_t e)
{
    return json_loadb(t->s + b, e - b, JSON_DECODE_ANY, NULL);
}

static const char *tw_type_of(const struct tw *t)
{
    switch (t->i < t->n ? t->s[t->i] : 0) {
    case '{':
        return "object";
    case '[':
        return "array";
    case '"':
        return "string";
    case 't':
    case 'f':
        return "boolean";
    case 'n':
        return "null";
    default: {
        size_t k = t->i;
        while (k < t->n && strchr("-0123456789", t->s[k]))
            k++;
        return k < t->n && strchr(".eE", t->s[k]) ? "number" : "integer";
    }
    }
}

static int tw_type_ok(const char *have, const char *want, const struct tw *t)
{
    if (!strcmp(want, "number"))
        return !strcmp(have, "number") || !strcmp(have, "integer");
    if (!strcmp(want, "integer") && !strcmp(have, "number")) {
        struct tw probe = *t;
        double v;
        int integer;
        struct vctx quiet = {.max = 0};
        probe.v = &quiet;
        return tw_number(&probe, &v, &integer) == 0 && v == floor(v);
    }
    return !strcmp(have, want);
}

static void tw_object(struct tw *t, const struct cnode *cn, int depth)
{
    const json_t *props = cn ? cn->props : NULL, *addl = cn ? cn->addl : NULL;
    uint64_t seen = 0;
    char key[256];
    size_t klen;
    t->i++;
    tw_ws(t);
    if (t->i < t->n && t->s[t->i] == '}') {
        t->i++;
        goto required;
    }
    for (;;) {
        tw_ws(t);
        if (tw_key(t, key, sizeof key, &klen) < 0)
            return;
        tw_ws(t);
        if (t->i >= t->n || t->s[t->i] != ':') {
            tw_syntax(t, "expected ':'");
            return;
        }
        t->i++;
        tw_ws(t);
        for (int ri = 0; cn && ri < cn->nreq; ri++)
            if (cn->req_len[ri] == klen && !memcmp(cn->req_s[ri], key, klen))
                seen |= UINT64_C(1) << ri;
        const json_t *ps = props ? json_object_getn(props, key, klen) : NULL;
        size_t old = path_push_key(t->v, key);
        if (ps) {
            tw_value(t, ps, depth + 1);
        } else if (json_is_false(addl)) {
            report(t->v, "unexpected property");
            tw_value(t, NULL, depth + 1);
        } else {
            tw_value(t, json_is_object(addl) ? addl : NULL, depth + 1);
        }
        path_pop(t->v, old);
        if (t->bad)
            return;
        tw_ws(t);
        if (t->i < t->n && t->s[t->i] == ',') {
            t->i++;
            continue;
        }
        if (t->i < t->n && t->s[t->i] == '}') {
            t->i++;
            break;
        }
        tw_syntax(t, "expected ',' or '}'");
        return;
    }
required:
    for (int ri = 0; cn && ri < cn->nreq; ri++)
        if (!(seen >> ri & 1))
            report(t->v, "missing required property \"%s\"", cn->req_s[ri]);
}

static void tw_array(struct tw *t, const struct cnode *cn, int depth)
{
    const json_t *items = cn ? cn->items : NULL, *contains = cn ? cn->contains : NULL;
    const json_t *k;
    size_t count = 0;
    int found = 0;
    t->i++;
    tw_ws(t);
    if (t->i < t->n && t->s[t->i] == ']') {
        t->i++;
    } else {
        for (;;) {
            tw_ws(t);
            if (json_is_object(contains) && !found) {
                struct vctx quiet = {.max = 0};
                struct tw probe = *t;
                probe.v = &quiet;
                tw_value(&probe, contains, depth + 1);
                found = !probe.bad && quiet.count == 0;
            }
            size_t old = path_push_index(t->v, count);
            tw_value(t, json_is_object(items) ? items : NULL, depth + 1);
            path_pop(t->v, old);
            count++;
            if (t->bad)
                return;
            tw_ws(t);
            if (t->i < t->n && t->s[t->i] == ',') {
                t->i++;
                continue;
            }
            if (t->i < t->n && t->s[t->i] == ']') {
                t->i++;
                break;
            }
            tw_syntax(t, "expected ',' or ']'");
            return;
        }
    }
    if (cn && (k = cn->min_items) && (json_int_t)count < json_integer_value(k))
        report(t->v, "expected at least %lld items (got %zu)", (long long)json_integer_value(k),
               count);
    if (cn && (k = cn->max_items) && (json_int_t)count > json_integer_value(k))
        report(t->v, "expected at most %lld items (got %zu)", (long long)json_integer_value(k),
               count);
    if (json_is_object(contains) && !found) {
        char *want = json_dumps(contains, JSON_COMPACT);
        report(t->v, "no item matches %s", want ? want : "the 'contains' schema");
        free(want);
    }
}

/* Validate and consume one value; s NULL (or not an object) accepts any. */
static void tw_value(struct tw *t, const json_t *s, int depth)
{
    const json_t *k;
    tw_ws(t);
    if (t->i >= t->n) {
        tw_syntax(t, "unexpected end of text");
        return;
    }
    if (depth > 512) {
        tw_syntax(t, "nesting too deep");
        return;
    }
    const struct cnode *cn = json_is_object(s) ? compiled(t, s) : NULL;
    char c = t->s[t->i];
    if (cn && cn->types) {
        unsigned have = c == '{'               ? T_OBJECT
                        : c == '['             ? T_ARRAY
                        : c == '"'             ? T_STRING
                        : c == 't' || c == 'f' ? T_BOOLEAN
                        : c == 'n'             ? T_NULL
                                               : 0;
        const char *hname = NULL;
        if (!have) {
            hname = tw_type_of(t);
            have = hname[0] == 'i' ? T_INTEGER : T_NUMBER;
        }
        int ok = (cn->types & have) != 0 || (have == T_NUMBER && (cn->types & T_INTEGER) &&
                                             tw_type_ok("number", "integer", t));
        if (!ok) {
            char *want = json_is_string(cn->type_kw) ? NULL : json_dumps(cn->type_kw, JSON_COMPACT);
            report(t->v, "expected %s, got %s", want ? want : json_string_value(cn->type_kw),
                   hname ? hname : tw_type_of(t));
            free(want);
            cn = NULL; /* the other keywords would only repeat the problem */
        }
    }
    size_t b = t->i;
    if (c == '{') {
        tw_object(t, cn, depth);
    } else if (c == '[') {
        tw_array(t, cn, depth);
    } else if (c == '"') {
        size_t chars;
        if (tw_string(t, &chars) == 0 && cn && (k = cn->min_len) &&
            (json_int_t)chars < json_integer_value(k))
            report(t->v, "expected a string of at least %lld characters",
                   (long long)json_integer_value(k));
    } else if (c == 't') {
        tw_literal(t, "true");
    } else if (c == 'f') {
        tw_literal(t, "false");
    } else if (c == 'n') {
        tw_literal(t, "null");
    } else {
        double x;
        int integer;
        if (tw_number(t, &x, &integer) == 0 && cn) {
            if ((k = cn->min) && x < json_number_value(k))
                report(t->v, "must be >= %g (got %g)", json_number_value(k), x);
            if ((k = cn->max) && x > json_number_value(k))
                report(t->v, "must be <= %g (got %g)", json_number_value(k), x);
            if ((k = cn->xmin) && x <= json_number_value(k))
                report(t->v, "must be > %g (got %g)", json_number_value(k), x);
            if ((k = cn->xmax) && x >= json_number_value(k))
                report(t->v, "must be < %g (got %g)", json_number_value(k), x);
        }
    }
    if (t->bad || !cn || (!cn->cst && !cn->en))
        return;
    json_t *val = tw_span(t, b, t->i);
    if (cn->cst && !json_equal((json_t *)cn->cst, val)) {
        char *want = json_dumps(cn->cst, JSON_COMPACT | JSON_ENCODE_ANY);
        report(t->v, "expected %s", want ? want : "the constant");
        free(want);
    }
    if (cn->en) {
        size_t i;
        const json_t *e;
        int ok = 0;
        json_array_foreach(cn->en, i, e) ok |= json_equal((json_t *)e, val);
        if (!ok) {
            char *want = json_dumps(cn->en, JSON_COMPACT);
            report(t->v, "expected one of %s", want ? want : "the enum");
            free(want);
        }
    }
    json_decref(val);
}

int schema_validate_text(const json_t *schema, const char *text, size_t len, const char *path,
                         schema_err_fn fn, void *user, int max_errors)
{
    struct vctx v = {.fn = fn, .user = user, .max = max_errors};
    struct ccache cc = {0};
    struct tw t = {.s = text, .n = len, .v = &v, .cc = &cc};
    snprintf(v.path, sizeof v.path, "%s", path ? path : "$");
    v.plen = strlen(v.path);
    tw_value(&t, schema, 0);
    tw_ws(&t);
    if (!t.bad && t.i < t.n) {
        v.plen = strlen(path ? path : "$");
        v.path[v.plen] = '\0';
        tw_syntax(&t, "text after the end of the document");
    }
    free(cc.v);
    return v.count;
}

const char *schema_guess_text(const char *text, size_t len)
{
    struct vctx quiet = {.max = 0};
    struct tw t = {.s = text, .n = len, .v = &quiet};
    char key[64];
    size_t klen;
    tw_ws(&t);
    if (t.i < t.n && t.s[t.i] == '[')
        return "distribution";
    if (t.i >= t.n || t.s[t.i] != '{')
        return NULL;
    t.i++;
    for (;;) {
        tw_ws(&t);
        if (t.i >= t.n || t.s[t.i] != '"' || tw_key(&t, key, sizeof key, &klen) < 0)
            return "mapping";
        if (!strcmp(key, "scenarios"))
            return "profile";
        if (!strcmp(key, "services"))
            return "services";
        tw_ws(&t);
        if (t.i >= t.n || t.s[t.i] != ':')
            return "mapping";
        t.i++;
        tw_value(&t, NULL, 0);
        tw_ws(&t);
        if (t.bad || t.i >= t.n || t.s[t.i] != ',')
            return "mapping";
        t.i++;
    }
}

struct fctx {
    FILE *diag;
    const char *file;
};

static void print_err(void *user, const char *path, const char *msg)
{
    struct fctx *f = user;
    if (f->diag)
        fprintf(f->diag, "%s: %s: %s\n", f->file, path, msg);
}

int schema_validate_file(const char *path, const char *name, FILE *diag, int max_errors)
{
    struct fctx f = {.diag = diag, .file = path};
    struct stat st;
    int rc = 0;
    json_t *schema = NULL;
    const char *text = "";
    void *map = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (diag)
            fprintf(diag, "%s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return EVD_ENOENT;
    }
    size_t len = (size_t)st.st_size;
    if (len) {
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            if (diag)
                fprintf(diag, "%s: %s\n", path, strerror(errno));
            close(fd);
            return EVD_EIO;
        }
        madvise(map, len, MADV_SEQUENTIAL);
        text = map;
    }
    close(fd);
    if (!name)
        name = schema_guess_text(text, len);
    schema = name ? schema_load(name) : NULL;
    if (!schema) {
        if (diag)
            fprintf(diag, "%s: %s\n", path,
                    name ? "unknown schema name"
                         : "not a profile, services, mapping or distribution");
        rc = EVD_EINVAL;
        goto done;
    }
    int n = schema_validate_text(schema, text, len, "$", print_err, &f, max_errors);
    if (n > max_errors && diag)
        fprintf(diag, "%s: %d errors in all\n", path, n);
    rc = n ? EVD_EINVAL : 0;
done:
    json_decref(schema);
    if (map)
        munmap(map, len);
    return rc;
}
