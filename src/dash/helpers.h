/* helpers.h — the parts of reply.c and params.c that only the router
 * (handler.c) calls; what routes use is declared in dash_int.h. */
#ifndef EVD_DASH_HELPERS_H
#define EVD_DASH_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "dash/dash_int.h"

/* Free and clear rs's body (unless it is static). */
void dash_reset_body(evd_dash_response *rs);
/* A decimal integer, the whole of s (no blanks).  0, or -1 on bad input. */
int dash_parse_i64(const char *s, int64_t *out);
/* Split the query string q into c->params, decoded into one buffer
 * (c->parambuf).  Duplicates keep the first value.  Returns 0, or the
 * HTTP status to refuse with (400, 414, 500) and a reason in err. */
int dash_parse_query(dctx *c, const char *q, char *err, size_t ecap);
/* Let go of the zone dash_tz() gave the request, if any. */
void dash_tz_release(dctx *c);

#endif
