/* schema.h — the JSON Schemas evodash ships (src/profile/schemas/) and a
 * validator for the subset of JSON Schema they use. */
#ifndef EVD_PROFILE_SCHEMA_H
#define EVD_PROFILE_SCHEMA_H

#include <stdio.h>

#include <jansson.h>

/* Called once per validation error.  path is a JSON path such as
 * "$.scenarios[0].interactions[2].functions[0].cpu_time"; msg says what was
 * expected.  Both are borrowed for the call only. */
typedef void (*schema_err_fn)(void *user, const char *path, const char *msg);

/* The text of a shipped schema by name: "profile", "services", "mapping" or
 * "distribution".  Static storage; NULL for an unknown name. */
const char *schema_text(const char *name, size_t *len);

/* Parse a shipped schema.  Returns a new reference (caller json_decref()s)
 * or NULL for an unknown name. */
json_t *schema_load(const char *name);

/* Validate inst against schema.  path names inst (normally "$").  Calls fn
 * for each error, up to max_errors of them.  Returns the number of errors
 * found (counting stops a little past max_errors). */
int schema_validate(const json_t *schema, const json_t *inst, const char *path, schema_err_fn fn,
                    void *user, int max_errors);

/* The same check on JSON text (len bytes), without building a tree: fast,
 * and memory does not grow with the document.  Syntax errors are reported
 * (once, with line and column) like schema errors.  Returns the number of
 * errors. */
int schema_validate_text(const json_t *schema, const char *text, size_t len, const char *path,
                         schema_err_fn fn, void *user, int max_errors);

/* schema_guess() on JSON text: looks at the first character and at the
 * top-level keys only. */
const char *schema_guess_text(const char *text, size_t len);

/* Which shipped schema a document looks like: "profile" (an object with
 * scenarios), "services" (with services), "distribution" (an array) or
 * "mapping" (any other object).  NULL when none fits. */
const char *schema_guess(const json_t *doc);

/* Validate the JSON file path (read through mmap, walked as text) against
 * the schema name (NULL: guess).  Errors, each with a JSON path, or a line
 * and column for a syntax error, go to diag.
 * Returns 0 when valid, EVD_EINVAL when not, EVD_ENOENT / EVD_EIO when
 * the file cannot be read. */
int schema_validate_file(const char *path, const char *name, FILE *diag, int max_errors);

#endif
