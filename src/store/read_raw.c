/* read_raw.c — the read side's raw rows: one endpoint's requests over a
 * range, outliers, profiled requests and their call trees, and the export
 * cursor over every request. */
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "store/read.h"
#include "store/read_int.h"
#include "store/segment.h"
#include "store/sq.h"
#include "store/store_int.h"

/* An endpoint's rows are its own and those of the endpoints renamed into
 * it (read_verdicts.h); raw rows keep their ids. */
#define MEMBERS(p) "(SELECT id FROM endpoints WHERE id = " p " OR merged_into = " p ")"

/* ---- one endpoint's requests -------------------------------------------------------- */

/* [merged][some]: [0] one endpoint, a backward walk of its clustered key;
 * [1] with the endpoints renamed into it, whose rows are merged by time.
 * [some]: [0] every instance, [1] those bound as ?4: a scan of millions of
 * rows should not test, row by row, a filter it does not have.  Only the
 * columns the views use, and no coalesce: each costs the server per row
 * (a week of a busy endpoint on PostgreSQL: 86 -> 71 ms), and a NULL text
 * reads as "" below. */
#define SCAN(ep, in)                                                                               \
    "SELECT group_name, ip, version_id, duration_us, status, ts_us FROM requests WHERE "           \
    "endpoint_id " ep " AND ts_us >= ?2 AND ts_us < ?3" in " ORDER BY ts_us DESC"
#define SCAN_IN(ep)                                                                                \
    SQ2(SCAN(ep, " AND " SQ_IN_IDS_LITE("instance_id", "?4")),                                     \
        SCAN(ep, " AND " SQ_IN_IDS_PG("instance_id", "?4")), "reading raw requests")
static const sq_text SQL_SCAN[2][2] = {
    {SQ(SCAN("= ?1", ""), "reading raw requests"), SCAN_IN("= ?1")},
    {SQ(SCAN("IN " MEMBERS("?1"), ""), "reading raw requests"), SCAN_IN("IN " MEMBERS("?1"))},
};
static const sq_text SQL_MERGED =
    SQ("SELECT count(*) FROM endpoints WHERE merged_into = ?1", "reading renames");

typedef struct raw_ctx {
    int (*cb)(void *u, const store_raw_row *r);
    void *u;
} raw_ctx;

static int raw_row(sq *q, void *ctx)
{
    raw_ctx *c = ctx;
    store_raw_row r = {.group = sq_str(q, 0),
                       .ip = sq_str(q, 1),
                       .version_id = sq_i64(q, 2),
                       .duration_us = sq_i64(q, 3),
                       .status = (int)sq_i64(q, 4),
                       .ts_us = sq_i64(q, 5)};
    if (!r.group)
        r.group = "";
    if (!r.ip)
        r.ip = "";
    return c->cb(c->u, &r);
}

/* ---- sliced, on two connections ---- */

/* On PostgreSQL the scan's cost is the rows' way out of the server: a
 * busy endpoint's week (110k rows) is 75-115 ms of the server's CPU, one
 * backend's.  A range the rollups say holds more than SLICE_ROWS rows is
 * read instead as slices of equal time, newest first, each a COPY read
 * taken whole (SQ_COPY), two at a time, on the handle's two connections
 * (sq_lanes), so that the servers make the next slices while this thread
 * reads the last one.  A slice holds about SLICE_ROWS rows, so memory
 * stays bounded; SLICES_MAX bounds the statements of a very long range.
 * EVODASH_PG_SLICE_ROWS sets another size (the tests slice small stores). */
#define SLICE_ROWS 16384
#define SLICES_MAX 256

static int64_t slice_rows(void)
{
    const char *e = getenv("EVODASH_PG_SLICE_ROWS");
    long long v = e ? atoll(e) : 0;
    return v > 0 ? v : SLICE_ROWS;
}

static const sq_text SQL_RANGE_ROWS =
    SQ("SELECT coalesce(sum(count), 0) FROM rollups WHERE endpoint_id IN " MEMBERS(
           "?1") " AND hour >= ?2 AND hour <= ?3",
       "counting raw requests");

typedef struct slicer {
    const store_filter *f;
    int64_t ep, from_us, to_us;
    int n;
} slicer;

/* Bind a scan of [from_us, to_us) to q (or of hours [h0, h1]). */
static void bind_scan(sq *q, const store_filter *f, int64_t ep, int64_t from_us, int64_t to_us)
{
    sq_bind_i64(q, 1, ep);
    sq_bind_i64(q, 2, from_us);
    sq_bind_i64(q, 3, to_us);
    if (f && f->ninstances)
        sq_bind_ids(q, 4, f->instances, f->ninstances);
}

/* Bind slice k (0 = the newest) to q and send it. */
static int send_slice(sq *q, const slicer *s, int k)
{
    int64_t span = s->to_us - s->from_us;
    bind_scan(q, s->f, s->ep, s->to_us - span * (k + 1) / s->n, s->to_us - span * k / s->n);
    return sq_send(q);
}

/* Slice k is read by q[k % 4]: the even ones on the main connection, the
 * odd ones on the second.  Once a slice's rows are in (its first step), its
 * connection takes the slice after next at once, so that both servers
 * keep working while this thread reads the rows. */
static int scan_sliced(store *st, const sq_text *t, const slicer *s, raw_ctx *c)
{
    sq *q[4];
    int rc = 0, stop = 0;
    for (int i = 0; i < 4; i++)
        if (!(q[i] = sq_prepare(st, t, SQ_COPY | (i % 2 ? SQ_LANE2 : 0))))
            rc = EVD_EIO;
    for (int k = 0; k < 2 && k < s->n && !rc; k++)
        rc = send_slice(q[k], s, k);
    for (int k = 0; k < s->n && !rc && !stop; k++) {
        sq *x = q[k % 4];
        int row = sq_step(x);
        if (row >= 0 && k + 2 < s->n)
            rc = send_slice(q[(k + 2) % 4], s, k + 2);
        for (; row == SQ_ROW && !rc; row = sq_step(x))
            if ((stop = raw_row(x, c)))
                break;
        if (row < 0 && !rc)
            rc = row;
        sq_reset(x);
    }
    for (int i = 0; i < 4; i++)
        sq_free(q[i]); /* takes what is still on its way */
    return stop ? stop : rc;
}

/* How many slices the range is read in: 1 (a single streamed read) unless
 * the handle has two lanes and the rollups count over SLICE_ROWS rows. */
static int slices_of(store *st, int64_t ep, int64_t from_us, int64_t to_us, int *n)
{
    *n = 1;
    if (sq_lanes(st) < 2)
        return 0;
    sq *q = sq_prepare(st, &SQL_RANGE_ROWS, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, ep);
    sq_bind_i64(q, 2, from_us / STORE_HOUR_US);
    sq_bind_i64(q, 3, (to_us - 1) / STORE_HOUR_US);
    int rc = sq_step(q);
    int64_t rows = rc == SQ_ROW ? sq_i64(q, 0) : 0;
    sq_free(q);
    if (rc < 0)
        return rc;
    int64_t per = slice_rows(), k = (rows + per - 1) / per;
    *n = k < 1 ? 1 : k > SLICES_MAX ? SLICES_MAX : (int)k;
    if (*n > to_us - from_us)
        *n = 1; /* slices of under a microsecond */
    return 0;
}

/* A range of the request log, in slices or streamed. */
static int scan_log(store *st, const sq_text *t, const store_filter *f, int64_t ep, int64_t from_us,
                    int64_t to_us, raw_ctx *c)
{
    int n, rc;
    if ((rc = slices_of(st, ep, from_us, to_us, &n)))
        return rc;
    if (n > 1) {
        slicer s = {f, ep, from_us, to_us, n};
        return scan_sliced(st, t, &s, c);
    }
    sq *q = sq_prepare(st, t, SQ_STREAM | SQ_COPY);
    if (q)
        bind_scan(q, f, ep, from_us, to_us);
    return read_walk(q, raw_row, c);
}

/* ---- packed hours (compact.c) ---- */

/* Which whole hours of [?2, ?3] are packed and complete: every (endpoint,
 * instance) the rollups count in the hour has a packed copy that counts
 * as many.  An hour the rollups do not know is read from the log. */
#define PACKED_GROUPS(in)                                                                          \
    "FROM (SELECT endpoint_id, instance_id, hour, sum(count) AS n FROM rollups WHERE endpoint_id " \
    "IN " MEMBERS("?1") " AND hour >= ?2 AND hour <= ?3" in                                        \
                        " GROUP BY endpoint_id, instance_id, hour) r LEFT JOIN raw_segments s ON " \
                        "s.endpoint_id = r.endpoint_id AND s.hour = r.hour AND s.instance_id = "   \
                        "r.instance_id"
#define COVERED(in)                                                                                \
    "SELECT r.hour, min(CASE WHEN s.counted = r.n THEN 1 ELSE 0 END) " PACKED_GROUPS(              \
        in) " GROUP BY r.hour"
#define SEGMENTS(in)                                                                               \
    "SELECT s.hour, s.data " PACKED_GROUPS(in) " WHERE s.counted = r.n ORDER BY s.hour DESC"
static const sq_text SQL_COVERED[2] = {
    SQ(COVERED(""), "reading packed hours"),
    SQ2(COVERED(" AND " SQ_IN_IDS_LITE("instance_id", "?4")),
        COVERED(" AND " SQ_IN_IDS_PG("instance_id", "?4")), "reading packed hours"),
};
static const sq_text SQL_SEGMENTS[2] = {
    SQ(SEGMENTS(""), "reading packed hours"),
    SQ2(SEGMENTS(" AND " SQ_IN_IDS_LITE("instance_id", "?4")),
        SEGMENTS(" AND " SQ_IN_IDS_PG("instance_id", "?4")), "reading packed hours"),
};

typedef struct covered {
    int64_t first; /* hour of bit 0 */
    unsigned char *bit;
    int64_t n; /* hours */
} covered;

static int covered_row(sq *q, void *ctx)
{
    covered *c = ctx;
    int64_t h = sq_i64(q, 0) - c->first;
    if (h >= 0 && h < c->n && sq_i64(q, 1) == 1)
        c->bit[h] = 1;
    return 0;
}

typedef struct unpacker {
    seg_rows rows;
    int64_t hour; /* of the rows held; -1 none */
    raw_ctx *c;
    int stop;
} unpacker;

/* Hand the hour held to the callback, newest first. */
static int unpacker_flush(unpacker *u)
{
    if (u->rows.nmem > 1) /* several segments: merge them by time */
        seg_rows_sort(&u->rows);
    for (size_t i = 0; i < u->rows.n && !u->stop; i++)
        u->stop = u->c->cb(u->c->u, &u->rows.row[i]);
    seg_rows_clear(&u->rows);
    return u->stop;
}

static int segment_row(sq *q, void *ctx)
{
    unpacker *u = ctx;
    int64_t hour = sq_i64(q, 0);
    size_t len;
    const unsigned char *p = sq_blob(q, 1, &len);
    if (hour != u->hour && u->hour >= 0 && unpacker_flush(u))
        return u->stop;
    u->hour = hour;
    int rc = p ? seg_unpack(hour, p, len, &u->rows) : EVD_ECORRUPT;
    if (rc)
        return store_fail(
            q->st, rc, rc == EVD_ENOMEM ? "out of memory" : "a packed hour is damaged (hour %lld)",
            (long long)hour);
    return 0;
}

/* The packed hours [h0, h1], newest first. */
static int scan_packed(store *st, const store_filter *f, int64_t ep, int64_t h0, int64_t h1,
                       raw_ctx *c)
{
    int some = f && f->ninstances;
    sq *q = sq_prepare(st, &SQL_SEGMENTS[some], SQ_STREAM);
    if (q)
        bind_scan(q, f, ep, h0, h1); /* hours, not times */
    unpacker u = {.hour = -1, .c = c};
    int rc = read_walk(q, segment_row, &u);
    if (!rc && u.hour >= 0)
        unpacker_flush(&u);
    seg_rows_free(&u.rows);
    return rc ? rc : u.stop;
}

int store_raw_scan(store *st, const store_filter *f, int64_t ep, int64_t from_us, int64_t to_us,
                   int (*cb)(void *u, const store_raw_row *r), void *u)
{
    int some = f && f->ninstances;
    sq *q = sq_prepare(st, &SQL_MERGED, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, ep);
    int rc = sq_step(q);
    int merged = rc == SQ_ROW && sq_i64(q, 0) > 0;
    sq_free(q);
    if (rc < 0)
        return rc;
    const sq_text *t = &SQL_SCAN[merged][some];
    raw_ctx c = {cb, u};
    /* the whole hours inside the range, and which of them are packed */
    int64_t h0 = (from_us + STORE_HOUR_US - 1) / STORE_HOUR_US, h1 = to_us / STORE_HOUR_US - 1;
    if (from_us < 0 || h1 < h0)
        return scan_log(st, t, f, ep, from_us, to_us, &c);
    covered cov = {h0, calloc((size_t)(h1 - h0 + 1), 1), h1 - h0 + 1};
    if (!cov.bit)
        return store_fail(st, EVD_ENOMEM, "out of memory");
    if ((q = sq_prepare(st, &SQL_COVERED[some], 0)))
        bind_scan(q, f, ep, h0, h1); /* hours, not times */
    rc = read_walk(q, covered_row, &cov);
    /* newest first: runs of hours read from the log, runs of packed ones */
    int64_t end = to_us; /* of the part still to read */
    for (int64_t h = h1; h >= h0 - 1 && !rc; h--) {
        if (h >= h0 && !cov.bit[h - h0])
            continue;
        int64_t top = h >= h0 ? (h + 1) * STORE_HOUR_US : from_us;
        if (top < end && (rc = scan_log(st, t, f, ep, top, end, &c)))
            break;
        if (h < h0)
            break;
        int64_t low = h;
        while (low > h0 && cov.bit[low - 1 - h0])
            low--;
        if ((rc = scan_packed(st, f, ep, low, h, &c)))
            break;
        end = low * STORE_HOUR_US;
        h = low;
    }
    free(cov.bit);
    return rc;
}

/* ---- pages of outliers and profiled requests ------------------------------------------ */

static const sq_text SQL_OUTLIER_COUNT =
    SQ("SELECT count(*) FROM outliers WHERE endpoint_id IN " MEMBERS("?1") " AND ts_us >= ?2 AND "
                                                                           "ts_us < ?3",
       "counting outliers");
/* two texts rather than a bound ORDER BY, which SQL cannot take */
static const sq_text SQL_OUTLIER_PAGE[2] = {
    SQ("SELECT id, request_id, endpoint_id, ts_us, duration_us FROM outliers WHERE endpoint_id "
       "IN " MEMBERS(
           "?1") " AND ts_us >= ?2 AND ts_us < ?3 ORDER BY ts_us DESC, id LIMIT ?4 OFFSET ?5",
       "reading outliers"),
    SQ("SELECT id, request_id, endpoint_id, ts_us, duration_us FROM outliers WHERE endpoint_id "
       "IN " MEMBERS(
           "?1") " AND ts_us >= ?2 AND ts_us < ?3 ORDER BY duration_us DESC, id LIMIT ?4 OFFSET ?5",
       "reading outliers"),
};
static const sq_text SQL_OUTLIER_GET =
    SQ("SELECT o.id, o.request_id, o.endpoint_id, o.ts_us, o.duration_us, e.name, o.stack, o.cpu, "
       "o.memory, o.details FROM outliers o LEFT JOIN endpoints e ON e.id = o.endpoint_id WHERE "
       "o.id = ?1",
       "reading the outlier");

static const sq_text SQL_PROFILED_COUNT =
    SQ("SELECT count(*) FROM profiled WHERE endpoint_id IN " MEMBERS("?1") " AND ts_us >= ?2 AND "
                                                                           "ts_us < ?3",
       "counting profiled requests");
static const sq_text SQL_PROFILED_PAGE = SQ(
    "SELECT p.request_id, p.endpoint_id, p.ts_us, p.duration_us, v.name FROM profiled p LEFT JOIN "
    "versions v ON v.id = p.version_id WHERE p.endpoint_id IN " MEMBERS(
        "?1") " AND p.ts_us >= ?2 "
              "AND p.ts_us < ?3 "
              "ORDER BY p.ts_us DESC, p.request_id LIMIT ?4 OFFSET ?5",
    "reading profiled requests");
static const sq_text SQL_PROFILED_GET =
    SQ("SELECT p.request_id, p.endpoint_id, p.ts_us, p.duration_us, v.name, (SELECT count(*) FROM "
       "profiler_samples s WHERE s.request_id = p.request_id) FROM profiled p LEFT JOIN versions v "
       "ON v.id = p.version_id WHERE p.request_id = ?1",
       "reading the profiled request");

/* Bind (endpoint, from, to) and read the one count. */
static int count_range(store *st, const sq_text *t, int64_t ep, int64_t from, int64_t to,
                       int64_t *n)
{
    sq *q = sq_prepare(st, t, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, ep);
    sq_bind_i64(q, 2, from);
    sq_bind_i64(q, 3, to);
    int rc = sq_step(q);
    *n = rc == SQ_ROW ? sq_i64(q, 0) : 0;
    sq_free(q);
    return rc < 0 ? rc : 0;
}

static sq *page_query(store *st, const sq_text *t, int64_t ep, int64_t from, int64_t to,
                      int64_t limit, int64_t offset)
{
    sq *q = sq_prepare(st, t, 0);
    if (q) {
        sq_bind_i64(q, 1, ep);
        sq_bind_i64(q, 2, from);
        sq_bind_i64(q, 3, to);
        sq_bind_i64(q, 4, limit);
        sq_bind_i64(q, 5, offset);
    }
    return q;
}

typedef struct out_ctx {
    int (*cb)(void *u, const store_outlier_row *r);
    void *u;
    int full, found;
} out_ctx;

static int outlier_row(sq *q, void *ctx)
{
    out_ctx *c = ctx;
    store_outlier_row r = {.id = sq_i64(q, 0),
                           .request_id = sq_i64(q, 1),
                           .endpoint_id = sq_i64(q, 2),
                           .ts_us = sq_i64(q, 3),
                           .duration_us = sq_i64(q, 4)};
    if (c->full) {
        r.endpoint = sq_str(q, 5);
        r.stack = sq_str(q, 6);
        r.cpu = sq_str(q, 7);
        r.memory = sq_str(q, 8);
        r.details = sq_str(q, 9);
    }
    c->found = 1;
    return c->cb(c->u, &r);
}

int store_outliers_page(store *st, int64_t ep, int64_t from_us, int64_t to_us, int sort,
                        int64_t limit, int64_t offset, int64_t *total,
                        int (*cb)(void *u, const store_outlier_row *r), void *u)
{
    int rc = count_range(st, &SQL_OUTLIER_COUNT, ep, from_us, to_us, total);
    if (rc)
        return rc;
    out_ctx c = {cb, u, 0, 0};
    return read_walk(page_query(st, &SQL_OUTLIER_PAGE[sort == STORE_OUTLIERS_SLOWEST], ep, from_us,
                                to_us, limit, offset),
                     outlier_row, &c);
}

int store_outlier_get(store *st, int64_t id, int (*cb)(void *u, const store_outlier_row *r),
                      void *u)
{
    sq *q = sq_prepare(st, &SQL_OUTLIER_GET, 0);
    if (q)
        sq_bind_i64(q, 1, id);
    out_ctx c = {cb, u, 1, 0};
    int rc = read_walk(q, outlier_row, &c);
    if (!rc && !c.found)
        return store_fail(st, EVD_ENOENT, "no outlier with id %lld", (long long)id);
    return rc;
}

typedef struct prof_ctx {
    int (*cb)(void *u, const store_profiled_row *r);
    void *u;
} prof_ctx;

static void profiled_fill(sq *q, store_profiled_row *r)
{
    *r = (store_profiled_row){.request_id = sq_i64(q, 0),
                              .endpoint_id = sq_i64(q, 1),
                              .ts_us = sq_i64(q, 2),
                              .duration_us = sq_i64(q, 3),
                              .version = sq_str(q, 4)};
}

static int profiled_row(sq *q, void *ctx)
{
    prof_ctx *c = ctx;
    store_profiled_row r;
    profiled_fill(q, &r);
    return c->cb(c->u, &r);
}

int store_profiled_page(store *st, int64_t ep, int64_t from_us, int64_t to_us, int64_t limit,
                        int64_t offset, int64_t *total,
                        int (*cb)(void *u, const store_profiled_row *r), void *u)
{
    int rc = count_range(st, &SQL_PROFILED_COUNT, ep, from_us, to_us, total);
    if (rc)
        return rc;
    prof_ctx c = {cb, u};
    return read_walk(page_query(st, &SQL_PROFILED_PAGE, ep, from_us, to_us, limit, offset),
                     profiled_row, &c);
}

int store_profiled_get(store *st, int64_t request_id, store_profiled_row *out)
{
    sq *q = sq_prepare(st, &SQL_PROFILED_GET, 0);
    if (!q)
        return EVD_EIO;
    sq_bind_i64(q, 1, request_id);
    int rc = sq_step(q);
    if (rc == SQ_ROW) {
        profiled_fill(q, out);
        out->version = NULL; /* not kept past this call */
        out->lines = sq_i64(q, 5);
    }
    sq_free(q);
    if (rc == SQ_DONE)
        return store_fail(st, EVD_ENOENT, "no profile for request %lld", (long long)request_id);
    return rc < 0 ? rc : 0;
}

/* ---- call trees -------------------------------------------------------------------------- */

static const sq_text SQL_LINES =
    SQ("SELECT position, indent, function, file, line, duration_us, samples FROM "
       "profiler_samples WHERE request_id = ?1 ORDER BY position",
       "reading a call tree");
static const sq_text SQL_GROUPED =
    SQ("SELECT v.name, s.indent, s.function, s.file, s.line, sum(s.duration_us), sum(s.samples), "
       "count(DISTINCT s.request_id) FROM profiled r JOIN profiler_samples s ON s.request_id = "
       "r.request_id JOIN versions v ON v.id = r.version_id WHERE r.endpoint_id IN " MEMBERS(
           "?1") " AND r.ts_us >= "
                 "?2 AND r.ts_us < ?3 GROUP BY r.version_id, v.name, v.first_seen_us, s.indent, "
                 "s.function, "
                 "s.file, s.line ORDER BY v.first_seen_us, 6 DESC",
       "reading the grouped profile");

typedef struct line_ctx {
    int (*cb)(void *u, const store_line_row *r);
    void *u;
    int grouped;
} line_ctx;

static int line_row(sq *q, void *ctx)
{
    line_ctx *c = ctx;
    store_line_row r = {0};
    if (c->grouped) {
        r.version = sq_str(q, 0);
        r.indent = (int)sq_i64(q, 1);
        r.function = sq_str(q, 2);
        r.file = sq_str(q, 3);
        r.line = (int)sq_i64(q, 4);
        r.duration_us = sq_i64(q, 5);
        r.samples = sq_i64(q, 6);
        r.requests = sq_i64(q, 7);
    } else {
        r.position = (int)sq_i64(q, 0);
        r.indent = (int)sq_i64(q, 1);
        r.function = sq_str(q, 2);
        r.file = sq_str(q, 3);
        r.line = (int)sq_i64(q, 4);
        r.duration_us = sq_i64(q, 5);
        r.samples = sq_i64(q, 6);
        r.requests = 1;
    }
    if (!r.function)
        r.function = "?";
    return c->cb(c->u, &r);
}

int store_profile_lines(store *st, int64_t request_id, int (*cb)(void *u, const store_line_row *r),
                        void *u)
{
    sq *q = sq_prepare(st, &SQL_LINES, 0);
    if (q)
        sq_bind_i64(q, 1, request_id);
    line_ctx c = {cb, u, 0};
    return read_walk(q, line_row, &c);
}

int store_profile_grouped(store *st, int64_t ep, int64_t from_us, int64_t to_us,
                          int (*cb)(void *u, const store_line_row *r), void *u)
{
    sq *q = sq_prepare(st, &SQL_GROUPED, 0);
    if (q) {
        sq_bind_i64(q, 1, ep);
        sq_bind_i64(q, 2, from_us);
        sq_bind_i64(q, 3, to_us);
    }
    line_ctx c = {cb, u, 1};
    return read_walk(q, line_row, &c);
}

/* ---- the export cursor ------------------------------------------------------------------ */

struct store_cursor {
    sq *q;
};

#define EXPORT(in)                                                                                 \
    "SELECT r.id, e.name, v.name, r.ts_us, r.duration_us, r.status, r.group_name, r.ip, i.name, "  \
    "coalesce(s.name, '') FROM requests r JOIN endpoints e ON e.id = r.endpoint_id JOIN versions " \
    "v ON v.id = r.version_id LEFT JOIN instances i ON i.id = r.instance_id LEFT JOIN services s " \
    "ON s.id = e.service_id WHERE r.ts_us >= ?1 AND r.ts_us < ?2 AND (?3 = 0 OR e.service_id = "   \
    "?3) AND " in " ORDER BY r.ts_us, r.id"
static const sq_text SQL_EXPORT =
    SQ2(EXPORT(SQ_IN_IDS_LITE("r.instance_id", "?4")), EXPORT(SQ_IN_IDS_PG("r.instance_id", "?4")),
        "exporting requests");

int store_export_open(store *st, const store_filter *f, int64_t from_us, int64_t to_us,
                      store_cursor **out)
{
    store_cursor *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c)
        return store_fail(st, EVD_ENOMEM, "out of memory");
    if (!(c->q = sq_prepare(st, &SQL_EXPORT, SQ_STREAM))) {
        free(c);
        return EVD_EIO;
    }
    sq_bind_i64(c->q, 1, from_us);
    sq_bind_i64(c->q, 2, to_us);
    sq_bind_i64(c->q, 3, f ? f->service_id : 0);
    sq_bind_ids(c->q, 4, f ? f->instances : NULL, f ? f->ninstances : 0);
    *out = c;
    return 0;
}

int store_export_next(store_cursor *c, store_export_row *r)
{
    int rc = sq_step(c->q);
    if (rc != SQ_ROW)
        return rc < 0 ? rc : 0;
    sq *q = c->q;
    *r = (store_export_row){.id = sq_i64(q, 0),
                            .endpoint = sq_str(q, 1),
                            .version = sq_str(q, 2),
                            .ts_us = sq_i64(q, 3),
                            .duration_us = sq_i64(q, 4),
                            .status = (int)sq_i64(q, 5),
                            .group = sq_str(q, 6),
                            .ip = sq_str(q, 7),
                            .instance = sq_str(q, 8),
                            .service = sq_str(q, 9)};
    return 1;
}

void store_export_close(store_cursor *c)
{
    if (!c)
        return;
    sq_free(c->q);
    free(c);
}
