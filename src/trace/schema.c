/* schema.c — validate JSON documents against the shipped JSON Schemas.
 *
 * Debian packages no C JSON Schema validator (only the C++ valijson), so
 * this implements the subset of draft-07 that our schemas use: type,
 * required, properties, additionalProperties (boolean or schema), items
 * (one schema), contains, enum, const, minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, minLength, minItems, maxItems.  Other keywords are
 * ignored, as the standard says for unknown ones.  Every error names the
 * JSON path of the offending value. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "trace/schema.h"

struct vctx {
    evd_schema_err_fn fn;
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

static size_t path_push_key(struct vctx *v, const char *key)
{
    size_t old = v->plen;
    int ident = key[0] != '\0' && !(key[0] >= '0' && key[0] <= '9');
    for (const char *p = key; *p && ident; p++)
        ident = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                *p == '_';
    int n = ident ? snprintf(v->path + old, sizeof v->path - old, ".%s", key)
                  : snprintf(v->path + old, sizeof v->path - old, "[\"%s\"]", key);
    v->plen = n > 0 && (size_t)n < sizeof v->path - old ? old + (size_t)n : sizeof v->path - 1;
    return old;
}

static size_t path_push_index(struct vctx *v, size_t i)
{
    size_t old = v->plen;
    int n = snprintf(v->path + old, sizeof v->path - old, "[%zu]", i);
    v->plen = n > 0 && (size_t)n < sizeof v->path - old ? old + (size_t)n : sizeof v->path - 1;
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
    const json_t *k, *items = json_object_get(s, "items"), *contains = json_object_get(s, "contains");
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

int evd_schema_validate(const json_t *schema, const json_t *inst, const char *path,
                        evd_schema_err_fn fn, void *user, int max_errors)
{
    struct vctx v = {.fn = fn, .user = user, .max = max_errors};
    snprintf(v.path, sizeof v.path, "%s", path ? path : "$");
    v.plen = strlen(v.path);
    validate(&v, schema, inst);
    return v.count;
}

json_t *evd_schema_load(const char *name)
{
    size_t len;
    const char *text = evd_schema_text(name, &len);
    return text ? json_loadb(text, len, 0, NULL) : NULL;
}

const char *evd_schema_guess(const json_t *doc)
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

int evd_schema_validate_file(const char *path, const char *name, FILE *diag, int max_errors)
{
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_DECODE_ANY, &je), *schema = NULL;
    int rc = 0;
    struct fctx f = {.diag = diag, .file = path};
    if (!doc) {
        if (diag)
            fprintf(diag, "%s:%d:%d: %s\n", path, je.line, je.column, je.text);
        return json_error_code(&je) == json_error_cannot_open_file ? EVD_ENOENT : EVD_EINVAL;
    }
    if (!name)
        name = evd_schema_guess(doc);
    schema = name ? evd_schema_load(name) : NULL;
    if (!schema) {
        if (diag)
            fprintf(diag, "%s: %s\n", path,
                    name ? "unknown schema name" : "not a profile, services, mapping or distribution");
        rc = EVD_EINVAL;
        goto done;
    }
    int n = evd_schema_validate(schema, doc, "$", print_err, &f, max_errors);
    if (n > max_errors && diag)
        fprintf(diag, "%s: %d errors in all\n", path, n);
    rc = n ? EVD_EINVAL : 0;
done:
    json_decref(schema);
    json_decref(doc);
    return rc;
}
