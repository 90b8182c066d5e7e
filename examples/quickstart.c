/* quickstart.c — the README's C quick start, compiled against the installed
 * library by `make check` (tests/install/check.sh), so it cannot rot. */
#include <evodash.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    evd_agent *agent;
    /* NULL: defaults; or evd_open_file("evodash.cfg", &agent) */
    evd_config *cfg = evd_config_new();
    evd_config_set(cfg, "DATABASE", argc > 1 ? argv[1] : "sqlite:///evodash.db");
    if (evd_open(cfg, &agent) != 0)
        fprintf(stderr, "evodash: %s (still recording; see the counters)\n", evd_errmsg(agent));
    evd_config_free(cfg);

    int users;
    evd_endpoint_register(agent, "api.users", "/api/users/<id>", "GET", &users);

    for (int i = 0; i < 1000; i++) { /* in your request handler: */
        evd_req r = evd_req_begin(agent, users);
        /* ... handle the request ... */
        evd_req_end(&r, 200, "alice", "203.0.113.7");
    }

    evd_counters c;
    evd_get_counters(agent, &c);
    printf("recorded %llu, dropped %llu\n", (unsigned long long)c.recorded,
           (unsigned long long)c.dropped);
    return evd_close(agent) == 0 ? 0 : 1; /* drains everything to the store */
}
