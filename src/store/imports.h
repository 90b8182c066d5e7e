/* imports.h — the store's record of the foreign databases imported into it
 * (the imports table), so that an importer can refuse to import the same
 * source twice.  A source is named by its kind ("fmd") and a fingerprint
 * the importer derives from the source's own content, whatever its path.
 *
 * Functions return 0 or a negative EVD_E* code with the message on the
 * store (store_errmsg). */
#ifndef EVD_STORE_IMPORTS_H
#define EVD_STORE_IMPORTS_H

#include <stdint.h>

#include "store/store.h"

/* store_import_claim: this source was imported already.  Distinct from every
 * EVD_E* code, STATS_EDEGENERATE and STORE_CI_EDUP. */
#define STORE_IMPORT_EDUP (-22)

typedef struct store_import {
    const char *kind, *fingerprint;
    const char *source; /* what the user named: a path */
    int64_t service_id, imported_us;
    int64_t endpoints, requests, outliers, profile_lines;
    int64_t first_us, last_us; /* the requests' time range; 0, 0: none */
} store_import;

/* The latest earlier import of a source, as store_import_claim found it. */
typedef struct store_import_prev {
    char source[512], service[256];
    int64_t imported_us, requests, attempts;
} store_import_prev;

/* Record that imp (its kind, fingerprint, source, service and time) is being
 * imported, inside the caller's transaction, so that it is undone with the
 * import if that fails.  Without force a source already recorded is refused
 * with STORE_IMPORT_EDUP and *prev (may be NULL) describes its latest
 * import; with force it is recorded again as a further attempt.  Two
 * imports of one source running at once: the second waits for the first
 * and is then refused.  Sets *id to the record's id. */
int store_import_claim(store *st, const store_import *imp, int force, int64_t *id,
                       store_import_prev *prev);

/* Write what the import brought (imp's counts and time range) into record
 * id, inside the same transaction. */
int store_import_finish(store *st, int64_t id, const store_import *imp);

#endif
