/* sqlfuncs.c — SQL functions over encoded sketches, so that queries can
 * merge rollups and read quantiles without leaving SQL:
 *
 *   sketch_merge(blob)            aggregate: one sketch of all rows
 *   sketch_quantile(blob, q)      scalar: the q-quantile of a sketch
 *   sketch_count(blob)            scalar: how many values it holds
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

int store_register_functions(sqlite3 *db)
{
    int f = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
    if (sqlite3_create_function(db, "sketch_merge", 1, f, NULL, NULL, merge_step, merge_final) ||
        sqlite3_create_function(db, "sketch_quantile", 2, f, NULL, quantile_fn, NULL, NULL) ||
        sqlite3_create_function(db, "sketch_count", 1, f, NULL, count_fn, NULL, NULL))
        return EVD_ENOMEM;
    return 0;
}
