/* sqlfuncs.c — SQL functions over encoded sketches, so that queries can
 * merge rollups and read quantiles without leaving SQL:
 *
 *   sketch_merge(blob)            aggregate: one sketch of all rows
 *   sketch_quantile(blob, q)      scalar: the q-quantile of a sketch
 *   sketch_count(blob)            scalar: how many values it holds
 *   greatest(a, b), least(a, b)   PostgreSQL's spelling of two-argument
 *                                 max and min (NULLs ignored, as there),
 *                                 so that one SQL text serves both
 *
 * A NULL or corrupt blob is an SQL error, not a silent zero. */
#include <sqlite3.h>
#include <stdlib.h>

#include "evodash.h"
#include "core/sketch.h"
#include "store/store_int.h"

static void merge_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sketch **acc = sqlite3_aggregate_context(ctx, sizeof(sketch *));
    if (!acc) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (!*acc) {
        if (!(*acc = malloc(sizeof **acc))) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        sketch_init(*acc);
    }
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return;
    if (sketch_merge_encoded(*acc, sqlite3_value_blob(argv[0]),
                             (size_t)sqlite3_value_bytes(argv[0])))
        sqlite3_result_error(ctx, "sketch_merge: corrupt sketch", -1);
}

static void merge_final(sqlite3_context *ctx)
{
    sketch **acc = sqlite3_aggregate_context(ctx, 0);
    sketch empty;
    sketch *s = acc && *acc ? *acc : (sketch_init(&empty), &empty);
    uint8_t *buf = malloc(SKETCH_ENCODED_MAX);
    if (!buf) {
        sqlite3_result_error_nomem(ctx);
    } else {
        size_t n = sketch_encode(s, buf, SKETCH_ENCODED_MAX);
        sqlite3_result_blob(ctx, buf, (int)n, free);
    }
    if (acc && *acc)
        free(*acc);
}

static int decode_arg(sqlite3_context *ctx, sqlite3_value *v, sketch *s, const char *fn)
{
    sketch_init(s);
    if (sqlite3_value_type(v) == SQLITE_NULL)
        return 0;
    if (sketch_merge_encoded(s, sqlite3_value_blob(v), (size_t)sqlite3_value_bytes(v))) {
        sqlite3_result_error(ctx, fn, -1);
        return -1;
    }
    return 0;
}

static void quantile_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sketch *s = malloc(sizeof *s);
    if (!s) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (!decode_arg(ctx, argv[0], s, "sketch_quantile: corrupt sketch")) {
        if (s->count)
            sqlite3_result_double(ctx, sketch_quantile(s, sqlite3_value_double(argv[1])));
        else
            sqlite3_result_null(ctx);
    }
    free(s);
}

static void count_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sketch *s = malloc(sizeof *s);
    if (!s) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (!decode_arg(ctx, argv[0], s, "sketch_count: corrupt sketch"))
        sqlite3_result_int64(ctx, (int64_t)s->count);
    free(s);
}

/* The larger (sign > 0) or smaller of two values, ignoring NULLs. */
static void pick(sqlite3_context *ctx, sqlite3_value **argv, int sign)
{
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        sqlite3_result_value(ctx, argv[1]);
        return;
    }
    if (sqlite3_value_type(argv[1]) == SQLITE_NULL) {
        sqlite3_result_value(ctx, argv[0]);
        return;
    }
    int a_wins;
    if (sqlite3_value_numeric_type(argv[0]) == SQLITE_INTEGER &&
        sqlite3_value_numeric_type(argv[1]) == SQLITE_INTEGER) {
        sqlite3_int64 a = sqlite3_value_int64(argv[0]), b = sqlite3_value_int64(argv[1]);
        a_wins = sign > 0 ? a >= b : a <= b;
    } else {
        double a = sqlite3_value_double(argv[0]), b = sqlite3_value_double(argv[1]);
        a_wins = sign > 0 ? a >= b : a <= b;
    }
    sqlite3_result_value(ctx, argv[a_wins ? 0 : 1]);
}

static void greatest_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    pick(ctx, argv, 1);
}

static void least_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    pick(ctx, argv, -1);
}

int store_register_functions(sqlite3 *db)
{
    int f = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
    if (sqlite3_create_function(db, "sketch_merge", 1, f, NULL, NULL, merge_step, merge_final) ||
        sqlite3_create_function(db, "sketch_quantile", 2, f, NULL, quantile_fn, NULL, NULL) ||
        sqlite3_create_function(db, "sketch_count", 1, f, NULL, count_fn, NULL, NULL) ||
        sqlite3_create_function(db, "greatest", 2, f, NULL, greatest_fn, NULL, NULL) ||
        sqlite3_create_function(db, "least", 2, f, NULL, least_fn, NULL, NULL))
        return EVD_ENOMEM;
    return 0;
}
