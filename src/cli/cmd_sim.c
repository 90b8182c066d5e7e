/* cmd_sim.c — `evodash simulate`: run the capacity simulator (src/sim) on a
 * profile, services, mapping and workload, or on traffic replayed from the
 * store; search for capacity; or serve the simulation page. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "sim/sim.h"

static void usage(FILE *f)
{
    fputs(
        "usage: evodash simulate -p profile.json -d distribution.json [-s services.json]\n"
        "                        [-m mapping.json] [-o SimResults.json] [--seed N] [--until T]\n"
        "       evodash simulate --from-db URL [-p profile.json] [--endpoint NAME]...\n"
        "                        [--days N] [--speedup K] [...]\n"
        "       evodash simulate --from-db URL --what-if [--service NAME] [--factor K,...]\n"
        "                        [--workers N] [--replicas N] [--cores N] [--quantum MS]\n"
        "                        [--replications N] [--max-steal PCT] [--steal PCT]\n"
        "                        [--model-dir DIR]\n"
        "       evodash simulate ... --find-capacity --slo-p95 MS\n"
        "       evodash simulate --serve [--listen 127.0.0.1:9100] [--dir DIR]\n"
        "\n"
        "Predict response times and load of a service with a discrete-event simulation\n"
        "(processor sharing or time slices per replica, FIFO queues for worker and RAM limits,\n"
        "autoscaling).  Prints a summary and writes SimResults.json.\n"
        "\n"
        "inputs (formats: docs/formats.md; docs/simulate.md)\n"
        "  -p, --profile FILE       scenarios, interactions and functions\n"
        "  -s, --services FILE      services and replicas (default: one 'default' core)\n"
        "  -m, --mapping FILE       function -> service (default: all on 'default')\n"
        "  -d, --distribution FILE  arrivals (triangle, uniform, normal, poisson, constant)\n"
        "  --from-db URL            replay recorded requests instead of -d:\n"
        "                           sqlite:///relative.db or sqlite:////absolute.db\n"
        "  --endpoint NAME          replay only this endpoint (repeat, or a comma list)\n"
        "  --days N                 replay only the last N days of requests\n"
        "  --speedup K              replay K times faster (the same requests in 1/K of the time)\n"
        "run\n"
        "  -o, --output FILE        results file (default SimResults.json; '-' = none)\n"
        "  --html FILE              also write a self-contained HTML report (4 graphs)\n"
        "  --seed N                 random seed (default 1); same seed, same run\n"
        "  --until T                stop at T s of simulated time (default: when done)\n"
        "  --warmup T               leave interactions started before T s out of stats\n"
        "  --interval S             time-series sample interval in s (default: 1, or\n"
        "                           1/2000 of the workload's length if longer)\n"
        "  --rate-scale K           multiply every arrival rate by K (a replay: K arrivals\n"
        "                           per recorded request, over the same span)\n"
        "  --progress, --no-progress  progress on stderr (default: if stderr is a tty)\n"
        "  -q, --quiet              no summary on stdout\n"
        "capacity\n"
        "  --find-capacity          bisect the arrival-rate multiplier for the highest\n"
        "  --slo-p95 MS             load whose worst p95 response time is <= MS\n"
        "  --quantum MS             --what-if: the CPU's time slice (default 1.5, Linux's on\n"
        "                           two CPUs); 0: processor sharing\n"
        "  --replications N         --what-if: simulated runs (seeds N, N+1, ...) whose figures\n"
        "                           are averaged into each prediction (default 8)\n"
        "  --max-steal PCT          --what-if: leave CPU samples whose host lost more than\n"
        "                           PCT% of its CPU to steal out of the demand fit (default 3;\n"
        "                           0: any steal; 100: keep them all)\n"
        "  --steal PCT              --what-if: the share of each replica's CPU lost to steal\n"
        "                           (default: the recording's mean; 0: a host of its own)\n"
        "page\n"
        "  --serve                  serve the simulation page and API\n"
        "  --listen ADDR:PORT       (default 127.0.0.1:9100)\n"
        "  --dir DIR                where runs are kept (default sim-runs)\n"
        "  --max-upload BYTES       per uploaded file (default 4194304)\n"
        "  --max-arrivals N         largest run the page accepts (default 5000000)\n",
        f);
}

enum {
    O_SEED = 256,
    O_UNTIL,
    O_WARMUP,
    O_INTERVAL,
    O_RATE,
    O_PROGRESS,
    O_NOPROGRESS,
    O_FIND,
    O_SLO,
    O_FROMDB,
    O_ENDPOINT,
    O_DAYS,
    O_SPEEDUP,
    O_SERVE,
    O_LISTEN,
    O_DIR,
    O_MAXUP,
    O_MAXARR,
    O_HTML,
    O_WHATIF,
    O_SERVICE,
    O_HOURS,
    O_FACTOR,
    O_WORKERS,
    O_REPLICAS,
    O_CORES,
    O_QUANTUM,
    O_MODELDIR,
    O_REPLICATIONS,
    O_MAXSTEAL,
    O_STEAL,
    O_JSON
};

static int num_arg(const char *opt, const char *s, double min, double *out)
{
    char *end;
    double x = strtod(s, &end);
    if (!*s || *end || !(x >= min) || x > 1e18) {
        fprintf(stderr, "evodash simulate: --%s %s: expected a number >= %g\n", opt, s, min);
        return -1;
    }
    *out = x;
    return 0;
}

int cmd_simulate(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"profile", required_argument, NULL, 'p'},
        {"services", required_argument, NULL, 's'},
        {"mapping", required_argument, NULL, 'm'},
        {"distribution", required_argument, NULL, 'd'},
        {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"seed", required_argument, NULL, O_SEED},
        {"until", required_argument, NULL, O_UNTIL},
        {"warmup", required_argument, NULL, O_WARMUP},
        {"interval", required_argument, NULL, O_INTERVAL},
        {"rate-scale", required_argument, NULL, O_RATE},
        {"progress", no_argument, NULL, O_PROGRESS},
        {"no-progress", no_argument, NULL, O_NOPROGRESS},
        {"find-capacity", no_argument, NULL, O_FIND},
        {"slo-p95", required_argument, NULL, O_SLO},
        {"from-db", required_argument, NULL, O_FROMDB},
        {"endpoint", required_argument, NULL, O_ENDPOINT},
        {"days", required_argument, NULL, O_DAYS},
        {"speedup", required_argument, NULL, O_SPEEDUP},
        {"serve", no_argument, NULL, O_SERVE},
        {"listen", required_argument, NULL, O_LISTEN},
        {"dir", required_argument, NULL, O_DIR},
        {"max-upload", required_argument, NULL, O_MAXUP},
        {"max-arrivals", required_argument, NULL, O_MAXARR},
        {"html", required_argument, NULL, O_HTML},
        {"what-if", no_argument, NULL, O_WHATIF},
        {"service", required_argument, NULL, O_SERVICE},
        {"hours", required_argument, NULL, O_HOURS},
        {"factor", required_argument, NULL, O_FACTOR},
        {"workers", required_argument, NULL, O_WORKERS},
        {"replicas", required_argument, NULL, O_REPLICAS},
        {"cores", required_argument, NULL, O_CORES},
        {"quantum", required_argument, NULL, O_QUANTUM},
        {"model-dir", required_argument, NULL, O_MODELDIR},
        {"replications", required_argument, NULL, O_REPLICATIONS},
        {"max-steal", required_argument, NULL, O_MAXSTEAL},
        {"steal", required_argument, NULL, O_STEAL},
        {"json", no_argument, NULL, O_JSON},
        {NULL, 0, NULL, 0},
    };
    const char *files[4] = {NULL, NULL, NULL, NULL};
    const char *out = "SimResults.json", *fromdb = NULL, *listen = "127.0.0.1:9100";
    const char *dir = "sim-runs", *html = NULL;
    char *eplist[64];
    int neps = 0, quiet = 0, find = 0, serve = 0, whatif = 0;
    whatif_cli wc = {.seed = 1};
    double workers = -1, replicas = 0, cores = 0, hours = 0, quantum = -1, replications = 0,
           max_steal = -1, steal = -1;
    int progress = isatty(STDERR_FILENO);
    double seed = 1, until = 0, warmup = 0, interval = 0, rate = 1, slo = 0, days = 0, speedup = 1,
           maxup = 4 << 20, maxarr = 5e6;
    int c, rc = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:s:m:d:o:qh", longopts, NULL)) != -1) {
        double *dst = NULL, min = 0;
        switch (c) {
        case 'p':
            files[SIM_DOC_PROFILE] = optarg;
            break;
        case 's':
            files[SIM_DOC_SERVICES] = optarg;
            break;
        case 'm':
            files[SIM_DOC_MAPPING] = optarg;
            break;
        case 'd':
            files[SIM_DOC_DISTRIBUTION] = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case O_PROGRESS:
            progress = 1;
            break;
        case O_NOPROGRESS:
            progress = 0;
            break;
        case O_FIND:
            find = 1;
            break;
        case O_FROMDB:
            fromdb = optarg;
            break;
        case O_SERVE:
            serve = 1;
            break;
        case O_LISTEN:
            listen = optarg;
            break;
        case O_DIR:
            dir = optarg;
            break;
        case O_HTML:
            html = optarg;
            break;
        case O_WHATIF:
            whatif = 1;
            break;
        case O_SERVICE:
            wc.service = optarg;
            break;
        case O_MODELDIR:
            wc.model_dir = optarg;
            break;
        case O_JSON:
            wc.json = 1;
            break;
        case O_FACTOR:
            for (char *tok = strtok(optarg, ","); tok; tok = strtok(NULL, ",")) {
                double k;
                if (num_arg("factor", tok, 1e-6, &k))
                    return 2;
                if (wc.nfactors < WHATIF_FACTORS_MAX)
                    wc.factors[wc.nfactors++] = k;
            }
            break;
        case O_WORKERS:
            dst = &workers;
            break;
        case O_REPLICAS:
            dst = &replicas, min = 1;
            break;
        case O_CORES:
            dst = &cores, min = 1;
            break;
        case O_QUANTUM:
            dst = &quantum;
            break;
        case O_REPLICATIONS:
            dst = &replications, min = 1;
            break;
        case O_MAXSTEAL:
            dst = &max_steal;
            break;
        case O_STEAL:
            dst = &steal;
            break;
        case O_HOURS:
            dst = &hours, min = 1e-6;
            break;
        case O_ENDPOINT:
            for (char *tok = strtok(optarg, ","); tok; tok = strtok(NULL, ","))
                if (neps < 63)
                    eplist[neps++] = tok;
            break;
        case O_SEED:
            dst = &seed;
            break;
        case O_UNTIL:
            dst = &until;
            break;
        case O_WARMUP:
            dst = &warmup;
            break;
        case O_INTERVAL:
            dst = &interval, min = 1e-9;
            break;
        case O_RATE:
            dst = &rate, min = 1e-9;
            break;
        case O_SLO:
            dst = &slo, min = 1e-9;
            break;
        case O_DAYS:
            dst = &days, min = 1e-9;
            break;
        case O_SPEEDUP:
            dst = &speedup, min = 1e-9;
            break;
        case O_MAXUP:
            dst = &maxup, min = 1;
            break;
        case O_MAXARR:
            dst = &maxarr, min = 1;
            break;
        default:
            usage(stderr);
            return 2;
        }
        if (dst) {
            const char *name = "option";
            for (const struct option *lo = longopts; lo->name; lo++)
                if (lo->val == c)
                    name = lo->name;
            if (num_arg(name, optarg, min, dst))
                return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "evodash simulate: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (whatif) {
        if (!fromdb) {
            fprintf(stderr, "evodash simulate: --what-if needs --from-db URL\n");
            return 2;
        }
        if (find && slo <= 0) {
            fprintf(stderr, "evodash simulate: --find-capacity needs --slo-p95 MS\n");
            return 2;
        }
        wc.url = fromdb;
        wc.hours = hours > 0 ? hours : days > 0 ? days * 24 : 0;
        wc.workers = workers < 0 ? 0 : workers == 0 ? -1 : (int)workers;
        wc.replicas = (int)replicas;
        wc.cores = (int)cores;
        wc.quantum_ms = quantum;
        if (max_steal > 100) {
            fprintf(stderr,
                    "evodash simulate: --max-steal %g: expected a percentage, at most 100\n",
                    max_steal);
            return 2;
        }
        /* 0: leave out every sample with any steal (a share above 0) */
        wc.max_steal = max_steal < 0      ? 0
                       : max_steal >= 100 ? -1
                       : max_steal > 0    ? max_steal / 100
                                          : 1e-12;
        if (steal > 50) {
            fprintf(stderr, "evodash simulate: --steal %g: expected a percentage, at most 50\n",
                    steal);
            return 2;
        }
        wc.steal = steal < 0 ? 0 : steal == 0 ? -1 : steal / 100;
        wc.slo_ms = find ? slo : 0;
        wc.seed = (uint64_t)seed;
        if (replications > 1000) {
            fprintf(stderr, "evodash simulate: --replications %g: expected at most 1000\n",
                    replications);
            return 2;
        }
        wc.replications = (int)replications;
        wc.quiet = quiet;
        if (!wc.nfactors && !find)
            wc.factors[wc.nfactors++] = rate;
        return cmd_whatif(&wc);
    }
    if (serve) {
        char err[300];
        sim_serve_opts so = {
            .listen = listen, .dir = dir, .max_upload = (size_t)maxup, .max_arrivals = maxarr};
        if (sim_serve(&so, err, sizeof err)) {
            fprintf(stderr, "evodash simulate: %s\n", err);
            return 1;
        }
        return 0;
    }
    if (find && slo <= 0) {
        fprintf(stderr, "evodash simulate: --find-capacity needs --slo-p95 MS\n");
        return 2;
    }
    if (fromdb && files[SIM_DOC_DISTRIBUTION]) {
        fprintf(stderr, "evodash simulate: give either -d or --from-db, not both\n");
        return 2;
    }
    if (!fromdb && (!files[SIM_DOC_PROFILE] || !files[SIM_DOC_DISTRIBUTION])) {
        fprintf(stderr, "evodash simulate: -p PROFILE and -d DISTRIBUTION are required "
                        "(or --from-db URL)\n\n");
        usage(stderr);
        return 2;
    }
    sim_model *m = sim_model_new();
    sim_run *r = NULL;
    if (!m) {
        fprintf(stderr, "evodash simulate: out of memory\n");
        return 1;
    }
    for (int k = 0; k < 4; k++)
        if (files[k] && sim_model_load_file(m, k, files[k]))
            goto fail;
    if (fromdb) {
        eplist[neps] = NULL;
        sim_replay_opts ro = {.url = fromdb,
                              .endpoints = neps ? (const char **)eplist : NULL,
                              .days = days,
                              .speedup = speedup};
        size_t nreq, unmatched;
        if (sim_replay_load(m, &ro, files[SIM_DOC_PROFILE] != NULL, &nreq, &unmatched))
            goto fail;
        fprintf(stderr, "evodash simulate: replaying %zu recorded requests", nreq);
        if (unmatched)
            fprintf(stderr, " (%zu more match no interaction of the profile and are left out)",
                    unmatched);
        fputc('\n', stderr);
    }
    if (sim_model_link(m))
        goto fail;
    double end = sim_model_arrivals_end(m);
    sim_opts o = {.seed = (uint64_t)seed,
                  .until = until,
                  .warmup = warmup,
                  .interval = interval > 0 ? interval : (end > 2000 ? end / 2000 : 1),
                  .rate_scale = rate,
                  .progress = progress,
                  .series = strcmp(out, "-") != 0 || html};
    if (find) {
        sim_capacity cap;
        char err[300];
        if (sim_find_capacity(m, &o, slo / 1e3, &cap, quiet ? NULL : stderr, err, sizeof err)) {
            fprintf(stderr, "evodash simulate: --find-capacity: %s\n", err);
            goto done;
        }
        printf("capacity: %.4g x the given arrival rate (%.3f scenario arrivals/s) meets p95 <= "
               "%g ms (worst p95 %.3f ms)\n",
               cap.factor * rate, cap.rate, slo, cap.p95 * 1e3);
        rc = 0;
        goto done;
    }
    if (sim_run_new(m, &o, &r) || sim_run_exec(r)) {
        fprintf(stderr, "evodash simulate: %s\n", r ? sim_run_errmsg(r) : "out of memory");
        goto done;
    }
    if (!quiet)
        sim_run_print_summary(r, stdout);
    if (strcmp(out, "-")) {
        FILE *f = fopen(out, "w");
        int wrc = f ? sim_run_write_json(r, f) : -1;
        if (f && fclose(f))
            wrc = -1;
        if (wrc) {
            fprintf(stderr, "evodash simulate: %s: cannot write\n", out);
            goto done;
        }
        if (!quiet)
            printf("\nwrote %s\n", out);
    }
    if (html) {
        FILE *f = fopen(html, "w");
        int wrc = f ? sim_run_write_html(r, f) : -1;
        if (f && fclose(f))
            wrc = -1;
        if (wrc) {
            fprintf(stderr, "evodash simulate: %s: cannot write\n", html);
            goto done;
        }
        if (!quiet)
            printf("wrote %s\n", html);
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "evodash simulate: %s\n", sim_model_errmsg(m));
done:
    sim_run_free(r);
    sim_model_free(m);
    return rc;
}
