/* usage.h — what the capacity model is built from: each instance's CPU
 * time per interval with its requests per endpoint in that interval
 * (written by the agent, src/agent/usage.c), and a service's raw requests
 * and profiled call trees over a time range (read by the model builder,
 * src/sim/livemodel.c).
 *
 * Functions return 0 or a negative EVD_E* code with the message on the
 * store (store_errmsg); the readers call cb once per row, strings borrowed
 * for the call, and a nonzero return from cb stops the walk and is
 * returned. */
#ifndef EVD_STORE_USAGE_H
#define EVD_STORE_USAGE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* One endpoint's requests in a sample's interval. */
typedef struct store_usage_count {
    int64_t endpoint_id;
    int64_t count;   /* requests that ended in the interval */
    int64_t busy_us; /* the sum of their durations */
} store_usage_count;

/* One interval of one instance: [ts_us - interval_us, ts_us). */
typedef struct store_usage_sample {
    int64_t instance_id;
    int64_t ts_us, interval_us;
    int64_t cpu_us;   /* the process's CPU time (user + system) in the interval */
    int ncpu;         /* the CPUs the process may run on */
    int64_t agent_us; /* the part of cpu_us evodash's own threads used; -1: not measured */
    int64_t steal_us; /* the host's steal time in the interval, per CPU; -1: not measured */
} store_usage_sample;

/* Store one sample and its counts (n of them; those with count 0 are left
 * out).  Inside the caller's transaction. */
int store_usage_put(store *st, const store_usage_sample *s, const store_usage_count *c, size_t n);

/* A sample as read back, with the host of its instance; counts[0..ncounts)
 * are borrowed for the call. */
typedef struct store_usage_row {
    int64_t id;
    store_usage_sample s;
    const char *host;
    const store_usage_count *counts;
    size_t ncounts;
} store_usage_row;
/* Every sample of the service's instances whose interval overlaps
 * [from_us, to_us), oldest first. */
int store_usage_samples(store *st, int64_t service_id, int64_t from_us, int64_t to_us,
                        int (*cb)(void *u, const store_usage_row *r), void *u);

/* One raw request of the service. */
typedef struct store_usage_req {
    int64_t endpoint_id, instance_id;
    int64_t ts_us, duration_us; /* ts_us: when it started */
    int status;
} store_usage_req;
/* The service's requests with from_us <= ts_us < to_us, in time order. */
int store_usage_requests(store *st, int64_t service_id, int64_t from_us, int64_t to_us,
                         int (*cb)(void *u, const store_usage_req *r), void *u);

/* The times of the service's oldest and newest request; EVD_ENOENT when it
 * has none. */
int store_usage_span(store *st, int64_t service_id, int64_t *min_us, int64_t *max_us);

/* One node of a profiled request's call tree (pre-order within a request;
 * duration_us includes its children's). */
typedef struct store_usage_node {
    int64_t endpoint_id, request_id;
    int64_t request_us; /* the request's recorded duration */
    int indent;
    const char *function;
    int64_t duration_us;
} store_usage_node;
/* The call trees of the service's profiled requests that started in
 * [from_us, to_us), request by request. */
int store_usage_trees(store *st, int64_t service_id, int64_t from_us, int64_t to_us,
                      int (*cb)(void *u, const store_usage_node *n), void *u);

#endif
