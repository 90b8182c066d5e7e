/* callbacks.h — for adapters inside the library (src/server): install a
 * details callback of their own without taking over the service's. */
#ifndef EVD_AGENT_CALLBACKS_H
#define EVD_AGENT_CALLBACKS_H

#include <stdint.h>

#include "evodash.h"

/* Replace the details callback with (to, to_user) if the agent's callbacks
 * are still (from, from_user); from == NULL means "none installed at all",
 * stack callback included, so that a service's own evd_set_callbacks()
 * always wins.  Takes the capture lock, so once a swap away from an
 * adapter's callback returns, that callback is not running and will not
 * be called again.  Returns 0, or EVD_ESTATE when the callbacks were not
 * (from, from_user). */
int agent_swap_details(evd_agent *a, evd_details_fn from, void *from_user, evd_details_fn to,
                       void *to_user);

/* What the dashboard of the same process shows for it: its instance (id 0
 * while it has not reached the store) and its counters as they are now,
 * ahead of the store's copy and the only ones while the store fails. */
typedef struct agent_live_info {
    int64_t instance_id;
    const char *instance, *host, *service, *version; /* borrowed from the agent */
    int pid;
    evd_counters c;
} agent_live_info;
void agent_live(const evd_agent *a, agent_live_info *out);

#endif
