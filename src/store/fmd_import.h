/* fmd_import.h — import a Flask-MonitoringDashboard database into a store.
 * Used by `evodash import-fmd` and `python -m evodash import-fmd`. */
#ifndef EVD_FMD_IMPORT_H
#define EVD_FMD_IMPORT_H

#include <stddef.h>

typedef struct fmd_counts {
    long endpoints, versions, requests, outliers, profile_lines;
} fmd_counts;

/* Copy the FMD SQLite database at src into the store at into (a DATABASE
 * URL; NULL = sqlite:///evodash.db), as service `service` (NULL: the
 * store's only service, else one named after the file), in one
 * transaction: it lands whole or not at all.  Fills *out (may be NULL).
 * Returns 0, or EVD_EIO / EVD_ENOMEM with a message in err[0..errcap). */
int fmd_import(const char *src, const char *into, const char *service, fmd_counts *out, char *err,
               size_t errcap);

#endif
