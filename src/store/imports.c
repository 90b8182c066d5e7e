/* imports.c — the record of imported databases (see imports.h). */
#include <stdio.h>

#include "evodash.h"
#include "store/imports.h"
#include "store/sq.h"
#include "store/store_int.h"

/* Attempt 1 is a source's first import: the unique key makes a second one
 * insert nothing (and wait for a first one still running). */
static const sq_text SQL_CLAIM_FIRST =
    SQ("INSERT INTO imports(kind, fingerprint, attempt, source, service_id, imported_us) "
       "VALUES(?1, ?2, 1, ?3, ?4, ?5) ON CONFLICT(kind, fingerprint, attempt) DO NOTHING "
       "RETURNING id",
       "recording an import");
static const sq_text SQL_CLAIM_AGAIN =
    SQ("INSERT INTO imports(kind, fingerprint, attempt, source, service_id, imported_us) "
       "SELECT ?1, ?2, coalesce(max(attempt), 0) + 1, ?3, ?4, ?5 FROM imports WHERE kind = ?1 "
       "AND fingerprint = ?2 RETURNING id",
       "recording an import");
static const sq_text SQL_PREV =
    SQ("SELECT i.source, coalesce(s.name, ''), i.imported_us, i.requests, (SELECT count(*) FROM "
       "imports WHERE kind = ?1 AND fingerprint = ?2) FROM imports i LEFT JOIN services s ON "
       "s.id = i.service_id WHERE i.kind = ?1 AND i.fingerprint = ?2 ORDER BY i.attempt DESC "
       "LIMIT 1",
       "reading earlier imports");
static const sq_text SQL_FINISH =
    SQ("UPDATE imports SET endpoints = ?2, requests = ?3, outliers = ?4, profile_lines = ?5, "
       "first_us = ?6, last_us = ?7 WHERE id = ?1",
       "recording an import");

static int read_prev(store *st, const store_import *imp, store_import_prev *prev)
{
    sq *q = sq_prepare(st, &SQL_PREV, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_str(q, 1, imp->kind);
    sq_bind_str(q, 2, imp->fingerprint);
    int rc = sq_step(q);
    if (rc == SQ_ROW) {
        snprintf(prev->source, sizeof prev->source, "%s", sq_str(q, 0) ? sq_str(q, 0) : "");
        snprintf(prev->service, sizeof prev->service, "%s", sq_str(q, 1) ? sq_str(q, 1) : "");
        prev->imported_us = sq_i64(q, 2);
        prev->requests = sq_i64(q, 3);
        prev->attempts = sq_i64(q, 4);
        rc = 0;
    } else if (rc == SQ_DONE) {
        rc = store_fail(st, EVD_EIO, "reading earlier imports: the record vanished");
    }
    sq_free(q);
    return rc;
}

int store_import_claim(store *st, const store_import *imp, int force, int64_t *id,
                       store_import_prev *prev)
{
    sq *q = sq_prepare(st, force ? &SQL_CLAIM_AGAIN : &SQL_CLAIM_FIRST, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_str(q, 1, imp->kind);
    sq_bind_str(q, 2, imp->fingerprint);
    sq_bind_str(q, 3, imp->source);
    sq_bind_i64(q, 4, imp->service_id);
    sq_bind_i64(q, 5, imp->imported_us);
    int rc = sq_step(q);
    if (rc == SQ_ROW)
        *id = sq_i64(q, 0);
    sq_free(q);
    if (rc != SQ_DONE) /* a row (claimed), or an error */
        return rc < 0 ? rc : 0;
    if (prev && (rc = read_prev(st, imp, prev)))
        return rc;
    return store_fail(st, STORE_IMPORT_EDUP, "%s was imported into this store already",
                      imp->source);
}

int store_import_finish(store *st, int64_t id, const store_import *imp)
{
    sq *q = sq_prepare(st, &SQL_FINISH, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, id);
    sq_bind_i64(q, 2, imp->endpoints);
    sq_bind_i64(q, 3, imp->requests);
    sq_bind_i64(q, 4, imp->outliers);
    sq_bind_i64(q, 5, imp->profile_lines);
    if (imp->first_us || imp->last_us) {
        sq_bind_i64(q, 6, imp->first_us);
        sq_bind_i64(q, 7, imp->last_us);
    } else {
        sq_bind_null(q, 6);
        sq_bind_null(q, 7);
    }
    int rc = sq_exec(q);
    sq_free(q);
    return rc;
}
