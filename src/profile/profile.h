/* profile.h — the profile builder: call log + UtilLog.csv + netLog.csv ->
 * profile.json, services.json, mapping.json, gantt.html, callgraph.html. */
#ifndef EVD_PROFILE_PROFILE_H
#define EVD_PROFILE_PROFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct profile_opts {
    const char *calllog; /* required */
    const char *utillog; /* may be NULL: cpu and ram are then 0 */
    const char *netlog;  /* may be NULL: no remote calls */
    const char *outdir;  /* required; must exist */
    const char *name;    /* profile name; NULL for "app" */
    int depth;           /* >= 1: levels of calls kept below each interaction */
    int validate;        /* validate the written files against the schemas */
    int html;            /* write gantt.html and callgraph.html */
    FILE *diag;          /* warnings and per-line reports; NULL for none */
    int max_reports;     /* per-line reports printed per kind (rest counted) */
};

struct profile_stats {
    uint64_t lines, malformed, events;
    uint64_t calls;        /* calls closed, at any depth */
    uint64_t interactions; /* written to profile.json */
    uint64_t functions;    /* function entries written (segments) */
    uint64_t remote_calls; /* network connections split out */
    uint64_t unclosed;     /* calls closed at the last timestamp or by an outer end */
    uint64_t unmatched;    /* end lines with no open start */
    uint64_t outside;      /* calls outside any interaction (ignored) */
    uint64_t threads;
    int sorted_fallback; /* 1 when a thread's lines were out of time order */
    int implicit_roots;  /* 1 when the log had no startRoot: top-level calls are interactions */
    uint64_t schema_errors;
};

/* Build the profile.  *st (may be NULL) receives counts.  Returns 0, or a
 * negative EVD_E* code with err filled; problems in the input lines are
 * not errors but reports to opts->diag and counts in *st.  Schema errors in
 * the output make it return EVD_EINVAL after writing every file. */
int profile_build(const struct profile_opts *opts, struct profile_stats *st, char *err,
                  size_t errlen);

#endif
