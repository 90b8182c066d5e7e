/* demo_history.c — fill a store with a realistic 60-day history for the
 * dashboard demo and the browser tests.  Timestamps in the past cannot
 * come from the live agent, so rows are written through the store API
 * (the writer's own statements) and each hour's rollups are built in
 * memory with the same sketches and merged once, as the writer does.
 *
 *   demo_history DB [REQUESTS [DAYS [NOW_S [SEED]]]]
 *   (defaults: 600000 requests, 60 days, now, seed 7)
 *
 * The history: 40 endpoints with a few dominant ones; a day/night cycle
 * (UTC) and quieter weekends; 7 versions, v1.3.0 a regression on three
 * endpoints, v1.3.1 a hotfix live for a few hours, v1.4.0 the real fix;
 * 200 users of whom 5 make 40 % of the traffic; two instances; outliers
 * with stacks, CPU and memory; profiler call trees on level-3 endpoints;
 * for the last day, each instance's CPU samples (one a minute) beside its
 * requests, as the agent stores them for the Capacity page. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evodash.h"
#include "sim/rng.h" /* sim_splitmix64 */
#include "store/store.h"
#include "store/usage.h"

#define NEP   40
#define NVER  7
#define NUSER 200
#define NINST 2
/* the service the demo's live traffic records as too (demo_run.sh) */
#define DEMO_SERVICE "shop"
#define NCELLS       (NEP * NVER * NINST)

typedef struct ep_def {
    const char *name, *rule, *methods, *fn, *file;
    double median_us;
    int level;
} ep_def;

static const ep_def eps[NEP] = {
    {"api.search", "/api/search", "GET", "search_handler", "search.c", 38000, 3},
    {"api.user_get", "/api/users/<id>", "GET", "user_get", "users.c", 4200, 2},
    {"api.feed", "/api/feed", "GET", "feed_render", "feed.c", 21000, 3},
    {"api.login", "/api/login", "POST", "login", "auth.c", 95000, 2},
    {"api.cart_get", "/api/cart", "GET", "cart_get", "cart.c", 6000, 1},
    {"api.cart_add", "/api/cart/items", "POST", "cart_add", "cart.c", 9000, 1},
    {"api.product", "/api/products/<id>", "GET", "product_get", "catalog.c", 5200, 2},
    {"api.products", "/api/products", "GET", "product_list", "catalog.c", 17000, 1},
    {"api.checkout", "/api/checkout", "POST", "checkout", "orders.c", 180000, 3},
    {"api.orders", "/api/orders", "GET", "order_list", "orders.c", 12000, 1},
    {"api.order_get", "/api/orders/<id>", "GET", "order_get", "orders.c", 7000, 1},
    {"api.payment", "/api/payments", "POST", "payment_create", "payments.c", 240000, 2},
    {"api.reviews", "/api/products/<id>/reviews", "GET", "review_list", "reviews.c", 9500, 1},
    {"api.review_add", "/api/products/<id>/reviews", "POST", "review_add", "reviews.c", 14000, 1},
    {"api.wishlist", "/api/wishlist", "GET,POST", "wishlist", "users.c", 5000, 1},
    {"api.profile", "/api/profile", "GET,PUT", "profile", "users.c", 6500, 1},
    {"api.avatar", "/api/profile/avatar", "PUT", "avatar_upload", "media.c", 310000, 1},
    {"api.notifications", "/api/notifications", "GET", "notif_list", "notify.c", 3500, 1},
    {"api.settings", "/api/settings", "GET,PUT", "settings", "users.c", 2800, 1},
    {"api.stock", "/api/stock/<id>", "GET", "stock_get", "inventory.c", 1900, 1},
    {"api.recommend", "/api/recommendations", "GET", "recommend", "ml.c", 64000, 2},
    {"api.categories", "/api/categories", "GET", "category_list", "catalog.c", 2100, 1},
    {"api.coupons", "/api/coupons/<id>", "GET", "coupon_get", "promo.c", 2500, 1},
    {"api.shipping", "/api/shipping/quote", "POST", "shipping_quote", "shipping.c", 45000, 1},
    {"api.address", "/api/addresses", "GET,POST", "address", "users.c", 4000, 1},
    {"api.invoice", "/api/orders/<id>/invoice", "GET", "invoice_pdf", "billing.c", 520000, 1},
    {"api.returns", "/api/returns", "POST", "return_create", "orders.c", 26000, 1},
    {"api.support", "/api/support/tickets", "GET,POST", "ticket", "support.c", 11000, 1},
    {"api.chat", "/api/support/chat", "GET", "chat_poll", "support.c", 1500, 1},
    {"api.health", "/health", "GET", "health", "main.c", 180, 0},
    {"api.metrics_ping", "/ping", "GET", "ping", "main.c", 120, 1},
    {"api.logout", "/api/logout", "POST", "logout", "auth.c", 2200, 1},
    {"api.signup", "/api/signup", "POST", "signup", "auth.c", 130000, 2},
    {"api.password", "/api/password/reset", "POST", "password_reset", "auth.c", 88000, 1},
    {"api.export", "/api/orders/export", "GET", "orders_export", "reports.c", 1400000, 1},
    {"api.report", "/api/reports/<id>", "GET", "report_get", "reports.c", 760000, 1},
    {"api.admin_users", "/admin/users", "GET", "admin_users", "admin.c", 33000, 1},
    {"api.admin_stats", "/admin/stats", "GET", "admin_stats", "admin.c", 210000, 1},
    {"api.webhook", "/hooks/payment", "POST", "payment_hook", "payments.c", 16000, 1},
    {"api.sitemap", "/sitemap.xml", "GET", "sitemap", "seo.c", 90000, 1},
};

/* Versions: name, day of deployment (fraction of DAYS * 60), duration
 * factor on the regressed endpoints. */
static const struct {
    const char *name;
    double day; /* in a 60-day history */
    double slow;
} vers[NVER] = {
    {"v1.0.0", 0, 1.0},    {"v1.1.0", 9, 1.0},    {"v1.2.0", 19, 1.0},  {"v1.3.0", 29, 2.6},
    {"v1.3.1", 33.2, 2.4}, {"v1.4.0", 33.5, 1.0}, {"v1.5.0", 47, 0.85},
};
static const int regressed[] = {0, 2, 8}; /* search, feed, checkout */

static uint64_t seed;

static uint64_t rnd(void)
{
    return sim_splitmix64(&seed);
}

static double unif(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static double gauss(void)
{
    return sqrt(-2 * log(unif() + 1e-300)) * cos(6.283185307179586 * unif());
}

/* Pick an index from a cumulative weight table by binary search. */
static int pick(const double *cum, int n)
{
    double u = unif() * cum[n - 1];
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cum[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int fail(store *st, const char *what)
{
    fprintf(stderr, "demo_history: %s: %s\n", what, st ? store_errmsg(st) : "out of memory");
    return 1;
}

static void stack_of(int e, int v, char *buf, size_t cap)
{
    const ep_def *d = &eps[e];
    int slow = vers[v].slow > 1.0;
    snprintf(buf, cap,
             "main\tserver.c\t88\nworker_loop\tserver.c\t214\ndispatch\trouter.c\t57\n"
             "%s\t%s\t%d\n%s\t%s\t%d\n%s\t%s\t%d\n",
             d->fn, d->file, 40 + e, slow ? "cache_miss_path" : "load_rows", "db.c",
             slow ? 301 : 120, slow ? "sqlite3_step" : "json_dumps", slow ? "sqlite3.c" : "dump.c",
             slow ? 90211 : 1042);
}

/* The "threads" member of an outlier's details: the other threads of the
 * instance at capture time, as the Flask binding records them.  Two idle
 * workers, one busy on the same endpoint, every third outlier a deep
 * recursive one (a long stack) and every other one a thread without
 * frames.  Deterministic, so the random draws stay those of older demos. */
static void threads_of(int e, int in, int64_t nout, char *buf, size_t cap)
{
    const ep_def *d = &eps[e];
    const char *head = "main\\tserver.c\\t88\\nworker_loop\\tserver.c\\t214\\n";
    long long tid = 140230000000LL + in * 1000LL;
    size_t at =
        (size_t)snprintf(buf, cap,
                         "{\"%lld\":\"%squeue_wait\\tqueue.c\\t61\\n"
                         "pthread_cond_wait\\tlibc.so.6\\t0\\n\","
                         "\"%lld\":\"%squeue_wait\\tqueue.c\\t61\\n"
                         "pthread_cond_wait\\tlibc.so.6\\t0\\n\","
                         "\"%lld\":\"%sdispatch\\trouter.c\\t57\\n%s\\t%s\\t%d\\n"
                         "load_rows\\tdb.c\\t120\\nsqlite3_step\\tsqlite3.c\\t90211\\n\"",
                         tid + 1, head, tid + 2, head, tid + 3, head, d->fn, d->file, 40 + e);
    if (nout % 3 == 0 && at < cap) {
        at += (size_t)snprintf(buf + at, cap - at, ",\"%lld\":\"%sreport_job\\treports.c\\t19\\n",
                               tid + 4, head);
        for (int i = 0; i < 40 && at < cap; i++)
            at += (size_t)snprintf(buf + at, cap - at,
                                   "walk_category_tree_recursively\\tcatalogue/tree_walk.c\\t%d\\n",
                                   131 + i % 3);
        if (at < cap)
            at += (size_t)snprintf(buf + at, cap - at, "\"");
    }
    if (nout % 2 == 0 && at < cap)
        at += (size_t)snprintf(buf + at, cap - at, ",\"%lld\":\"\"", tid + 5);
    if (at < cap)
        snprintf(buf + at, cap - at, "}");
}

static int add_profile(store *st, int64_t rowid, const store_request *rq, int e, int v)
{
    const ep_def *d = &eps[e];
    int64_t dur = rq->duration_us;
    if (store_insert_profiled(st, rowid, rq))
        return -1;
    int slow = vers[v].slow > 1.0;
    /* pre-order: handler > (parse, load > (query, [cache rebuild]), render) */
    const char *fn[] = {d->fn, "parse_request", "load_rows", "db_query", "cache_rebuild", "render"};
    const int ind[] = {0, 1, 1, 2, 2, 1};
    const double share[] = {1.0, 0.05, slow ? 0.8 : 0.6, slow ? 0.3 : 0.5, 0.45, 0.3};
    int pos = 0;
    for (int i = 0; i < 6; i++) {
        if (i == 4 && !slow)
            continue;
        int64_t du = (int64_t)(dur * share[i]);
        store_profile_line pl = {.request_id = rowid,
                                 .position = pos++,
                                 .indent = ind[i],
                                 .function = fn[i],
                                 .file = i ? "app.c" : d->file,
                                 .line = 10 * (i + 1) + e,
                                 .duration_us = du,
                                 .samples = (int)(du / 1000) + 1};
        if (store_insert_profile_line(st, &pl))
            return -1;
    }
    return 0;
}

/* The last day's CPU samples: one a minute per instance, each endpoint
 * using the CPU for 40% of its median duration (the rest waits on I/O),
 * on hosts of 4 cores with a background of 2% of a core and a little
 * noise, of which evodash's own threads used a quarter.  The hosts are
 * virtual machines that lose 0.2% of their CPU to steal, except in the
 * day's fourth hour, when a neighbour's batch job takes 6% and the
 * requests cost a tenth more CPU: the model leaves those samples out. */
#define SAMPLE_S    60
#define SAMPLES     (86400 / SAMPLE_S)
#define CPU_SHARE   0.4
#define DEMO_CORES  4
#define AGENT_CORES 0.005
#define QUIET_STEAL 0.002
#define BUSY_STEAL  0.06
#define BUSY_HOUR   3
static int32_t sample_n[NINST][SAMPLES][NEP];
static int64_t sample_busy[NINST][SAMPLES][NEP];

static int put_samples(store *st, const int64_t *inst, const int64_t *ep, int64_t from_us)
{
    store_usage_count c[NEP];
    for (int i = 0; i < NINST; i++)
        for (int k = 0; k < SAMPLES; k++) {
            double cpu = 0.02 * SAMPLE_S * 1e6 * (1 + 0.005 * gauss());
            int busy = k / (3600 / SAMPLE_S) == BUSY_HOUR;
            for (int e = 0; e < NEP; e++) {
                c[e] = (store_usage_count){ep[e], sample_n[i][k][e], sample_busy[i][k][e]};
                cpu += sample_n[i][k][e] * CPU_SHARE * eps[e].median_us * (busy ? 1.1 : 1);
            }
            store_usage_sample s = {
                .instance_id = inst[i],
                .ts_us = from_us + (int64_t)(k + 1) * SAMPLE_S * 1000000,
                .interval_us = SAMPLE_S * 1000000LL,
                .cpu_us = cpu > 0 ? (int64_t)cpu : 0,
                .agent_us = (int64_t)(AGENT_CORES * SAMPLE_S * 1e6),
                .steal_us = (int64_t)((busy ? BUSY_STEAL : QUIET_STEAL) * SAMPLE_S * 1e6),
                .ncpu = DEMO_CORES};
            if (store_usage_put(st, &s, c, NEP))
                return -1;
        }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 6) {
        fprintf(stderr, "usage: demo_history DB [REQUESTS [DAYS [NOW_S [SEED]]]]\n");
        return 2;
    }
    const char *db = argv[1];
    int64_t nreq = argc > 2 ? atoll(argv[2]) : 600000;
    int days = argc > 3 ? atoi(argv[3]) : 60;
    int64_t now_s = argc > 4 ? atoll(argv[4]) : (int64_t)time(NULL);
    seed = argc > 5 ? strtoull(argv[5], NULL, 10) : 7;
    if (nreq < 1 || days < 1 || days > 3650 || now_s < 86400LL * days) {
        fprintf(stderr, "demo_history: REQUESTS >= 1, DAYS 1..3650 and NOW_S after DAYS\n");
        return 2;
    }
    /* The history ends at the last whole hour, so live traffic follows it. */
    int64_t end_h = now_s / 3600, start_h = end_h - (int64_t)days * 24;
    int64_t hours = end_h - start_h;

    store *st = NULL;
    if (store_open(db, 0, &st))
        return fail(st, "open");
    int64_t inst[NINST], ver[NVER], ep[NEP], vstart[NVER];
    double epw[NEP], usw[NUSER], hourw[24 * 7];
    store_rollup_acc *cells = calloc(NCELLS, sizeof *cells);
    int *touched = malloc(NCELLS * sizeof *touched);
    if (!cells || !touched)
        return fail(NULL, "alloc");
    for (int i = 0; i < NCELLS; i++)
        if (store_rollup_acc_init(&cells[i]))
            return fail(NULL, "alloc");
    if (store_begin(st))
        return fail(st, "begin");
    int64_t svc;
    if (store_service_register(st, DEMO_SERVICE, start_h * 3600000000LL, &svc))
        return fail(st, "service");
    for (int i = 0; i < NINST; i++) {
        char name[32];
        snprintf(name, sizeof name, "web-%d:%d", i + 1, 4100 + i);
        store_instance in = {.name = name,
                             .host = i ? "web-2.example" : "web-1.example",
                             .pid = 4100 + i,
                             .service_id = svc};
        if (store_instance_register(st, &in, start_h * 3600000000LL, &inst[i]))
            return fail(st, "instance");
    }
    for (int v = 0; v < NVER; v++) {
        vstart[v] = start_h + (int64_t)(vers[v].day / 60.0 * (double)hours);
        if (store_version_touch(st, vers[v].name, vstart[v] * 3600000000LL, &ver[v]))
            return fail(st, "version");
    }
    double acc = 0;
    for (int e = 0; e < NEP; e++) {
        int lvl;
        if (store_endpoint_upsert(st, svc, eps[e].name, eps[e].rule, eps[e].methods, eps[e].level,
                                  &ep[e], &lvl) ||
            store_endpoint_set_level(st, ep[e], eps[e].level))
            return fail(st, "endpoint");
        acc += 1.0 / pow(e + 1, 1.15); /* a few dominant endpoints */
        epw[e] = acc;
    }
    acc = 0;
    for (int u = 0; u < NUSER; u++) {
        acc += u < 5 ? 0.4 / 5 : 0.6 / (NUSER - 5); /* 5 heavy users: 40 % */
        usw[u] = acc;
    }
    acc = 0;
    for (int w = 0; w < 24 * 7; w++) {
        int hr = w % 24, dow = w / 24;                       /* dow 0 = Thursday (epoch day 0) */
        double day = 0.12 + exp(-pow((hr - 14.0) / 4.5, 2)); /* peak 14:00 UTC */
        double week = (dow == 2 || dow == 3) ? 0.45 : 1.0;   /* Sat, Sun */
        hourw[w] = day * week;
        acc += hourw[w] * (double)days / 7.0;
    }
    double per_weight = (double)nreq / acc;

    int64_t done = 0, nout = 0;
    uint64_t dropped = 0;
    double carry = 0;
    for (int64_t h = start_h; h < end_h; h++) {
        double want = hourw[(h / 24) % 7 * 24 + h % 24] * per_weight * (0.9 + 0.2 * unif()) + carry;
        int64_t n = (int64_t)want;
        carry = want - (double)n;
        int cur = 0;
        while (cur + 1 < NVER && vstart[cur + 1] <= h)
            cur++;
        int ntouched = 0;
        double load = 1.0 + 0.15 * hourw[(h / 24) % 7 * 24 + h % 24];
        for (int64_t k = 0; k < n; k++, done++) {
            int e = pick(epw, NEP);
            /* the first 3 hours of a deployment still see the old version */
            int v = cur > 0 && h - vstart[cur] < 3 && unif() < 0.3 ? cur - 1 : cur;
            int u = pick(usw, NUSER), in = (int)(rnd() % NINST);
            int64_t ts = h * 3600000000LL + (int64_t)(unif() * 3.6e9);
            double f = load;
            for (size_t r = 0; r < sizeof regressed / sizeof *regressed; r++)
                if (regressed[r] == e)
                    f *= vers[v].slow;
            if (vers[v].slow < 1.0)
                f *= vers[v].slow;
            int64_t dur = (int64_t)(eps[e].median_us * f * exp(0.45 * gauss())) + 1;
            if (unif() < 0.002)
                dur *= 8; /* the occasional stall */
            int64_t sk = (ts + dur - (end_h - 24) * 3600000000LL) / (SAMPLE_S * 1000000LL);
            if (sk >= 0 && sk < SAMPLES) {
                sample_n[in][sk][e]++;
                sample_busy[in][sk][e] += dur;
            }
            double s = unif();
            double err5 = vers[v].slow > 1.0 ? 0.02 : 0.004;
            int status = s < err5                   ? 500
                         : s < err5 + 0.03          ? 404
                         : s < err5 + 0.04          ? 401
                         : s < err5 + 0.06          ? 302
                         : eps[e].methods[0] == 'P' ? 201
                                                    : 200;
            char group[16], ip[24];
            snprintf(group, sizeof group, "user%03d", u + 1);
            /* a few users share an office NAT address */
            snprintf(ip, sizeof ip, "10.%d.%d.%d", u % 7 == 0 ? 9 : 20 + u / 100, (u / 10) % 10 * 3,
                     u % 7 == 0 ? 1 : u % 250 + 2);
            store_request rq = {.endpoint_id = ep[e],
                                .version_id = ver[v],
                                .instance_id = inst[in],
                                .ts_us = ts,
                                .duration_us = dur,
                                .status = status,
                                .group = group,
                                .ip = ip};
            int64_t rowid;
            if (store_insert_request(st, &rq, &rowid))
                return fail(st, "request");
            if (eps[e].level >= 2 && dur > eps[e].median_us * 3.5 && unif() < 0.25) {
                char stack[512], cpu[64], mem[96], threads[4096], details[5120];
                stack_of(e, v, stack, sizeof stack);
                threads_of(e, in, nout, threads, sizeof threads);
                snprintf(cpu, sizeof cpu, "[%.1f,%.1f,%.1f,%.1f]", 20 + 70 * unif(),
                         10 + 50 * unif(), 5 + 30 * unif(), 60 + 40 * unif());
                snprintf(mem, sizeof mem, "{\"total_bytes\":%lld,\"used_bytes\":%lld}", 8LL << 30,
                         (long long)((3.0 + 4 * unif()) * (1 << 30)));
                snprintf(details, sizeof details,
                         "{\"url\":\"%s?id=%d\",\"headers\":{\"Accept\":\"application/json\","
                         "\"User-Agent\":\"shop-app/4.2\",\"X-Request-Id\":\"r%lld\"},"
                         "\"environ\":{\"REMOTE_ADDR\":\"%s\",\"SERVER_NAME\":\"web-%d.example\"},"
                         "\"values\":{\"id\":\"%d\"},\"threads\":%s}",
                         eps[e].rule, (int)(rnd() % 10000), (long long)done, ip, in + 1,
                         (int)(rnd() % 10000), threads);
                store_outlier o = {.request_id = rowid,
                                   .endpoint_id = ep[e],
                                   .ts_us = ts,
                                   .duration_us = dur,
                                   .stack = stack,
                                   .cpu = cpu,
                                   .memory = mem,
                                   .details = details};
                if (store_insert_outlier(st, &o))
                    return fail(st, "outlier");
                nout++;
            }
            if (eps[e].level == 3 && rnd() % 150 == 0 && add_profile(st, rowid, &rq, e, v))
                return fail(st, "profile");
            int ci = (e * NVER + v) * NINST + in;
            if (!cells[ci].count)
                touched[ntouched++] = ci;
            store_rollup_acc_add(&cells[ci], dur, (double)dur, status);
        }
        for (int t = 0; t < ntouched; t++) {
            int ci = touched[t];
            int e = ci / NINST / NVER, v = ci / NINST % NVER, in = ci % NINST;
            /* a burst in the regression dropped a few records */
            uint64_t drop = vers[v].slow > 2.5 && e == 0 && h % 24 == 14 ? 3 : 0;
            dropped += drop;
            if (store_rollup_acc_merge(st, &cells[ci], ep[e], ver[v], h, inst[in]) ||
                store_endpoint_touch(st, ep[e], h * 3600000000LL + 3599000000LL, drop))
                return fail(st, "rollup");
        }
        if ((h - start_h) % 168 == 167) { /* commit weekly: bounded journal */
            if (store_commit(st) || store_begin(st))
                return fail(st, "commit");
        }
    }
    for (int v = 0; v < NVER; v++) {
        int64_t id, last = v + 1 < NVER ? vstart[v + 1] + 3 : end_h;
        if (store_version_touch(st, vers[v].name, (last < end_h ? last : end_h) * 3600000000LL,
                                &id))
            return fail(st, "version");
    }
    if (put_samples(st, inst, ep, (end_h - 24) * 3600000000LL))
        return fail(st, "cpu samples");
    for (int i = 0; i < NINST; i++) {
        store_counters cn = {.recorded = (uint64_t)done / NINST + (i ? 0 : dropped),
                             .dropped = i ? 0 : dropped,
                             .written = (uint64_t)done / NINST,
                             .outliers = (uint64_t)nout / NINST};
        if (store_instance_counters(st, inst[i], &cn, end_h * 3600000000LL))
            return fail(st, "counters");
    }
    if (store_commit(st))
        return fail(st, "commit");
    for (int i = 0; i < NCELLS; i++)
        store_rollup_acc_free(&cells[i]);
    free(cells);
    free(touched);
    store_close(st);
    printf("demo_history: %lld requests over %d days, %d endpoints, %d versions, %d users, "
           "%lld outliers\n",
           (long long)done, days, NEP, NVER, NUSER, (long long)nout);
    return 0;
}
