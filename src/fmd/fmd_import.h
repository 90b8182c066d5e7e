/* fmd_import.h — import a Flask-MonitoringDashboard database into a store.
 * Used by `evodash import-fmd` and `python -m evodash import-fmd`; part of
 * libevdtools.a (a monitored process never needs it). */
#ifndef EVD_FMD_IMPORT_H
#define EVD_FMD_IMPORT_H

#include <stddef.h>

#include "store/imports.h"

/* fmd_import: this FMD database was imported into the store already. */
#define FMD_EIMPORTED STORE_IMPORT_EDUP

typedef struct fmd_options {
    const char *source;  /* the FMD SQLite file */
    const char *into;    /* the store's URL; NULL: sqlite:///evodash.db */
    const char *service; /* NULL: the store's only service, else one named after the file */
    int force;           /* import a database imported before all the same */
} fmd_options;

typedef struct fmd_counts {
    long endpoints, versions, requests, outliers, profile_lines;
} fmd_counts;

/* Copy the FMD database o->source into the store o->into, as service
 * o->service, in one transaction: it lands whole or not at all.  The store
 * remembers each FMD database it was given (by the database's first
 * endpoint, whatever the file is called): a second import of the same one
 * is refused with FMD_EIMPORTED, the store unchanged and err saying when it
 * was imported, unless o->force.  Fills *out (may be NULL).  Returns 0,
 * FMD_EIMPORTED, or EVD_EIO / EVD_ENOMEM, with a message in err[0..errcap). */
int fmd_import(const fmd_options *o, fmd_counts *out, char *err, size_t errcap);

#endif
