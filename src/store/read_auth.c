/* read_auth.c — the dashboard's users and sessions. */
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "store/read.h"
#include "store/read_int.h"
#include "store/sq.h"
#include "store/store_int.h"

static const sq_text SQL_USER_GET = SQ(
    "SELECT id, username, pw_hash, role, disabled FROM users WHERE username = ?1", "reading users");
static const sq_text SQL_USER_PUT =
    SQ("INSERT INTO users(username, pw_hash, role, created_us) VALUES(?1, ?2, ?3, ?4) ON "
       "CONFLICT(username) DO UPDATE SET pw_hash = excluded.pw_hash, role = excluded.role, "
       "disabled = 0",
       "writing a user");
static const sq_text SQL_USERS_COUNT =
    SQ("SELECT count(*) FROM users WHERE role = ?1 AND disabled = 0", "counting users");
static const sq_text SQL_USERS_ENABLED =
    SQ("SELECT id, username FROM users WHERE disabled = 0", "reading users");
static const sq_text SQL_USER_DISABLE =
    SQ("UPDATE users SET disabled = 1 WHERE id = ?1", "disabling a user");

typedef struct user_ctx {
    int (*cb)(void *u, const store_user_row *r);
    void *u;
    int found;
} user_ctx;

static int user_row(sq *q, void *ctx)
{
    user_ctx *c = ctx;
    store_user_row r = {.id = sq_i64(q, 0),
                        .username = sq_str(q, 1),
                        .pw_hash = sq_str(q, 2),
                        .role = sq_str(q, 3),
                        .disabled = (int)sq_i64(q, 4)};
    c->found = 1;
    return c->cb(c->u, &r);
}

int store_user_get(store *st, const char *name, int (*cb)(void *u, const store_user_row *r),
                   void *u)
{
    sq *q = sq_prepare(st, &SQL_USER_GET, 0);
    if (q)
        sq_bind_str(q, 1, name);
    user_ctx c = {cb, u, 0};
    int rc = read_walk(q, user_row, &c);
    if (!rc && !c.found)
        return store_fail(st, EVD_ENOENT, "no such user");
    return rc;
}

int store_user_put(store *st, const char *name, const char *pw_hash, const char *role,
                   int64_t now_us)
{
    sq *q = sq_prepare(st, &SQL_USER_PUT, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_str(q, 1, name);
    sq_bind_str(q, 2, pw_hash);
    sq_bind_str(q, 3, role);
    sq_bind_i64(q, 4, now_us);
    int rc = sq_exec(q);
    sq_free(q);
    return rc;
}

int store_users_count(store *st, const char *role, int64_t *n)
{
    sq *q = sq_prepare(st, &SQL_USERS_COUNT, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_str(q, 1, role);
    int rc = sq_step(q);
    *n = rc == SQ_ROW ? sq_i64(q, 0) : 0;
    sq_free(q);
    return rc < 0 ? rc : 0;
}

typedef struct keep_ctx {
    const char *const *names;
    size_t n;
    int64_t *ids;
    size_t nids, cap;
} keep_ctx;

static int collect_other(sq *q, void *ctx)
{
    keep_ctx *k = ctx;
    const char *name = sq_str(q, 1);
    for (size_t i = 0; i < k->n; i++)
        if (name && k->names[i] && !strcmp(name, k->names[i]))
            return 0;
    if (k->nids == k->cap) {
        size_t nc = k->cap ? k->cap * 2 : 16;
        int64_t *nv = realloc(k->ids, nc * sizeof *nv);
        if (!nv)
            return EVD_ENOMEM;
        k->ids = nv;
        k->cap = nc;
    }
    k->ids[k->nids++] = sq_i64(q, 0);
    return 0;
}

int store_users_disable_others(store *st, const char *const *names, size_t n, int64_t *disabled)
{
    keep_ctx k = {names, n, NULL, 0, 0};
    int rc = read_walk(sq_prepare(st, &SQL_USERS_ENABLED, 0), collect_other, &k);
    *disabled = 0;
    for (size_t i = 0; !rc && i < k.nids; i++) {
        sq *q = sq_prepare(st, &SQL_USER_DISABLE, 0);
        if (!q) {
            rc = EVD_EIO;
            break;
        }
        sq_bind_i64(q, 1, k.ids[i]);
        rc = sq_exec(q);
        sq_free(q);
        if (!rc)
            ++*disabled;
    }
    free(k.ids);
    return rc == EVD_ENOMEM ? store_fail(st, rc, "out of memory") : rc;
}

/* ---- sessions ------------------------------------------------------------------------ */

static const sq_text SQL_SESSION_GET =
    SQ("SELECT s.user_id, s.expires_us, s.csrf, u.role, u.username, u.pw_hash, s.pw_tag, "
       "u.disabled FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1",
       "reading the session");
static const sq_text SQL_SESSION_PUT =
    SQ("INSERT INTO sessions(token_hash, user_id, csrf, pw_tag, created_us, expires_us) "
       "VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
       "creating the session");
static const sq_text SQL_SESSION_DEL =
    SQ("DELETE FROM sessions WHERE token_hash = ?1", "ending the session");
static const sq_text SQL_SESSIONS_EXPIRE =
    SQ("DELETE FROM sessions WHERE expires_us < ?1", "removing expired sessions");

typedef struct sess_ctx {
    int (*cb)(void *u, const store_session_row *r);
    void *u;
    int found;
} sess_ctx;

static int session_row(sq *q, void *ctx)
{
    sess_ctx *c = ctx;
    store_session_row r = {.user_id = sq_i64(q, 0),
                           .expires_us = sq_i64(q, 1),
                           .csrf = sq_str(q, 2),
                           .role = sq_str(q, 3),
                           .username = sq_str(q, 4),
                           .pw_hash = sq_str(q, 5),
                           .disabled = (int)sq_i64(q, 7)};
    r.pw_tag = sq_blob(q, 6, &r.pw_tag_len);
    c->found = 1;
    return c->cb(c->u, &r);
}

int store_session_get(store *st, const void *th, size_t n,
                      int (*cb)(void *u, const store_session_row *r), void *u)
{
    sq *q = sq_prepare(st, &SQL_SESSION_GET, 0);
    if (q)
        sq_bind_blob(q, 1, th, n);
    sess_ctx c = {cb, u, 0};
    int rc = read_walk(q, session_row, &c);
    if (!rc && !c.found)
        return store_fail(st, EVD_ENOENT, "no such session");
    return rc;
}

int store_session_put(store *st, const void *th, size_t n, int64_t user_id, const char *csrf,
                      const void *pw_tag, size_t tag_len, int64_t now_us, int64_t expires_us)
{
    sq *q = sq_prepare(st, &SQL_SESSION_PUT, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_blob(q, 1, th, n);
    sq_bind_i64(q, 2, user_id);
    sq_bind_str(q, 3, csrf);
    sq_bind_blob(q, 4, pw_tag, tag_len);
    sq_bind_i64(q, 5, now_us);
    sq_bind_i64(q, 6, expires_us);
    int rc = sq_exec(q);
    sq_free(q);
    return rc;
}

int store_session_delete(store *st, const void *th, size_t n)
{
    sq *q = sq_prepare(st, &SQL_SESSION_DEL, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_blob(q, 1, th, n);
    int rc = sq_exec(q);
    sq_free(q);
    return rc;
}

int store_sessions_expire(store *st, int64_t now_us)
{
    sq *q = sq_prepare(st, &SQL_SESSIONS_EXPIRE, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, now_us);
    int rc = sq_exec(q);
    sq_free(q);
    return rc;
}
