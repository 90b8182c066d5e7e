/* ratelimit.h — login attempts counted per key (a client address, a user
 * name) over a fixed window, reserved before the password is verified.
 *
 * An attempt is counted as failed when it is reserved, before the slow
 * verification, and given back (rl_refund) only when it succeeds: however
 * many requests race, no key gets more than its limit verified per window.
 * A full table refuses new keys (RL_FULL) and never forgets a counted one. */
#ifndef EVD_DASH_RATELIMIT_H
#define EVD_DASH_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RL_KEYS_MAX 4

typedef struct ratelimit ratelimit;

enum { RL_OK = 0, RL_BLOCKED = 1, RL_FULL = 2 };

/* One key of an attempt: bytes p[0..n) (hashed, so any length) and the
 * attempts it may fail per window. */
typedef struct rl_key {
    const void *p;
    size_t n;
    int limit;
} rl_key;

/* What rl_reserve() counted, for rl_refund(). */
typedef struct rl_ticket {
    unsigned char key[RL_KEYS_MAX][16];
    int64_t window_start_us[RL_KEYS_MAX];
    int n;
} rl_ticket;

/* A table of at most max_slots keys (32 bytes each, grown as keys come)
 * counting over window_us.  NULL when out of memory; free with rl_free(). */
ratelimit *rl_new(size_t max_slots, int64_t window_us);
void rl_free(ratelimit *rl);

/* Count one attempt against each of keys[0..n) (n <= RL_KEYS_MAX), all or
 * none, at monotonic time now_us.  RL_OK and *t filled when counted;
 * RL_BLOCKED when a key has already failed its limit in its window;
 * RL_FULL when a key is new and the table holds max_slots live keys.
 * Nothing is counted unless RL_OK.  Thread-safe. */
int rl_reserve(ratelimit *rl, const rl_key *keys, int n, int64_t now_us, rl_ticket *t);
/* Give back the attempts of t (the attempt succeeded).  Only t's own
 * windows are touched: a key whose window restarted since keeps its
 * count.  Thread-safe. */
void rl_refund(ratelimit *rl, const rl_ticket *t);
/* The slots in use (live or not yet reused), for tests. */
size_t rl_used(ratelimit *rl);

#endif
