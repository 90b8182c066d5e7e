/* citest.c — the tests a process runs requests for (CI timings).
 *
 * A test is named once (evd_test_register) and carried by every request
 * record as its 16-bit id, so the request path copies an integer and never
 * a name.  The writer turns the id back into the name when it stores the
 * record as a call of that test (writer.c).
 *
 * Names live in chunks of AGENT_TEST_CHUNK pointers that are allocated on
 * demand and never move, so the writer reads a name without a lock: a
 * name is filled in before n_tests is raised past it (release), and the
 * writer reads n_tests (acquire) first. */
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "agent/agent_int.h"
#include "core/config.h"

static char **name_slot(const evd_agent *a, int id)
{
    char **chunk = a->test_chunk[(id - 1) / AGENT_TEST_CHUNK];
    return chunk ? &chunk[(id - 1) % AGENT_TEST_CHUNK] : NULL;
}

const char *agent_test_name(const evd_agent *a, int id)
{
    if (id < 1 || id > atomic_load_explicit(&((evd_agent *)a)->n_tests, memory_order_acquire))
        return NULL;
    char **p = name_slot(a, id);
    return p ? *p : NULL;
}

int evd_test_register(evd_agent *a, const char *name, int *id)
{
    int rc = 0;
    if (!a || !name || !*name || !id)
        return EVD_EINVAL;
    pthread_mutex_lock(&a->reg_mu);
    int n = atomic_load(&a->n_tests);
    /* a linear scan: a runner registers each test once */
    for (int i = 1; i <= n; i++)
        if (!strcmp(*name_slot(a, i), name)) {
            *id = i;
            goto done;
        }
    if (n >= EVD_TESTS_MAX) {
        rc = agent_fail(a, EVD_ENOMEM, "too many tests (at most %d)", EVD_TESTS_MAX);
        goto done;
    }
    int c = n / AGENT_TEST_CHUNK;
    if (!a->test_chunk[c] && !(a->test_chunk[c] = calloc(AGENT_TEST_CHUNK, sizeof(char *)))) {
        rc = agent_fail(a, EVD_ENOMEM, "out of memory registering a test");
        goto done;
    }
    char *copy = strdup(name);
    if (!copy) {
        rc = agent_fail(a, EVD_ENOMEM, "out of memory registering a test");
        goto done;
    }
    *name_slot(a, n + 1) = copy;
    atomic_store_explicit(&a->n_tests, n + 1, memory_order_release);
    *id = n + 1;
done:
    pthread_mutex_unlock(&a->reg_mu);
    return rc;
}

int evd_test_set(evd_agent *a, int id)
{
    if (!a || id < 0 || id > atomic_load(&a->n_tests))
        return EVD_ENOENT;
    atomic_store_explicit(&a->test_cur, id, memory_order_relaxed);
    return 0;
}

void evd_req_set_test(evd_req *r, int id)
{
    if (r && r->agent_ && id >= 0 && id <= atomic_load(&r->agent_->n_tests))
        r->test_ = id;
}

int evd_test_header(const evd_agent *a)
{
    return a && a->test_header;
}

int agent_tests_open(evd_agent *a)
{
    a->test_header = config_bool(a->cfg, "TEST_HEADER");
    const char *t = config_str(a->cfg, "TEST");
    int id, rc;
    if (!t || !*t)
        return 0;
    if ((rc = evd_test_register(a, t, &id)))
        return rc;
    return evd_test_set(a, id);
}

void agent_tests_free(evd_agent *a)
{
    int n = atomic_load(&a->n_tests);
    for (int i = 1; i <= n; i++)
        free(*name_slot(a, i));
    for (int c = 0; c < AGENT_TEST_CHUNKS; c++)
        free(a->test_chunk[c]);
}
