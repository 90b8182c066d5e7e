/* details.h — outlier request details as the capture callbacks hand them
 * to the agent (evd_details_fn): one JSON object within a fixed buffer. */
#ifndef EVD_DETAILS_H
#define EVD_DETAILS_H

#include <jansson.h>
#include <stddef.h>

/* Write o as compact JSON into buf[0..cap), NUL-terminated.  While it does
 * not fit, the keys of drop (a NULL-terminated list, bulkiest first) are
 * deleted from o one at a time.  Returns the length, or -1 when it does
 * not fit even so or memory runs out (buf is then untouched). */
int details_dump(json_t *o, const char *const drop[], char *buf, size_t cap);

#endif
