/* secret.h — which header, query, form or environment names carry a
 * credential, and masking their values.  The one list of patterns lives in
 * secret.c; every capture path (the Flask binding, the libmicrohttpd
 * adapter, the FMD importer) asks here. */
#ifndef EVD_SECRET_H
#define EVD_SECRET_H

#include <stddef.h>

/* What a masked value is replaced by. */
#define SECRET_MASK "***"

/* Nonzero if name (NUL-terminated, any length, any case) contains one of
 * the patterns: token, key, secret, password, passwd, pwd, auth, jwt,
 * session, sig, cookie, credential, csrf, private.  The whole name is
 * searched, however long.  Substrings over-match on purpose ("Monkey",
 * "Author" are masked too): a value shown by mistake cannot be taken back. */
int secret_name(const char *name);

/* The same for name[0..len), which need not be NUL-terminated. */
int secret_name_n(const char *name, size_t len);

/* Copy the query string qs (form-urlencoded, without the '?') into
 * out[0..cap), NUL-terminated, with the value of every parameter whose
 * name is a secret replaced by SECRET_MASK.  Names are percent-decoded
 * before they are matched, so "j%77t=" is caught; a name that cannot be
 * decoded (out of memory) counts as a secret.  A pair that does not fit
 * whole is left out, with those after it.  Returns the length written. */
size_t secret_mask_query(const char *qs, char *out, size_t cap);

/* Decode the form-urlencoded s[0..n) ('+' a blank, %XX a byte; a broken
 * escape is kept as it is, as the servers that read the query do) into
 * out, which has room for n + 1 bytes.  Returns the decoded length; out is
 * NUL-terminated. */
size_t secret_form_decode(const char *s, size_t n, char *out);

/* uri ("/path?query" or a whole URL) into out[0..cap), NUL-terminated, its
 * query masked as by secret_mask_query.  The part before '?' is cut to half
 * of cap, so that the query always has room.  Returns the length written. */
size_t secret_mask_uri(const char *uri, char *out, size_t cap);

/* The value of WSGI environ key `key` as every capture path shows it:
 * SECRET_MASK when the key is a secret, the query masked in QUERY_STRING,
 * REQUEST_URI and RAW_URI (into out[0..cap), which is then returned), else
 * val itself. */
const char *secret_environ_value(const char *key, const char *val, char *out, size_t cap);

#endif
