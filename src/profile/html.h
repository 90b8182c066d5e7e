/* html.h — the profile builder's two charts, as self-contained HTML files
 * with ECharts embedded (no network needed to open them). */
#ifndef EVD_PROFILE_HTML_H
#define EVD_PROFILE_HTML_H

#include <stddef.h>
#include <stdint.h>

#include "profile/profile_int.h"

/* A Gantt chart of the interactions: one lane per thread, one bar per
 * interaction (sorted by start; at most max_bars of them are drawn).  t0 is
 * the time origin in ns.  Returns 0, or EVD_EIO with err filled. */
int html_gantt(const char *path, const intern *nm, const struct inter *in, size_t n, int64_t t0,
               size_t max_bars, char *err, size_t errlen);

/* A call graph: functions as nodes, caller -> callee edges weighted by the
 * time spent in the callee (the max_edges heaviest edges are drawn; e is
 * reordered).  Returns 0, or EVD_EIO with err filled. */
int html_callgraph(const char *path, const intern *nm, struct cg_edge *e, size_t n,
                   size_t max_edges, char *err, size_t errlen);

#endif
