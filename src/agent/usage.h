/* usage.h — the writer's CPU sampler (usage.c): one store row per interval
 * with this instance's CPU time and its requests per endpoint. */
#ifndef EVD_AGENT_USAGE_H
#define EVD_AGENT_USAGE_H

#include "evodash.h"

typedef struct usage usage;

/* Take a sample when CPU_SAMPLE_SECONDS have passed since the last one.
 * *u starts NULL and is allocated on first use (the writer holds fork_mu
 * and has the store attached).  Failures skip the sample. */
void usage_tick(evd_agent *a, usage **u);

/* Free the sampler; NULL is a no-op. */
void usage_free(usage *u);

#endif
