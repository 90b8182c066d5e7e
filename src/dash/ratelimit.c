/* ratelimit.c — the login rate limit's table.
 *
 * DESIGN — one mutex guards the table; it is held for a scan of the used
 * slots, never across a password verification.  A slot is live while it
 * counts an attempt (fails > 0) inside its window; any other slot is free
 * to be taken by a new key.  Keys are kept as 16-byte BLAKE2b digests, so
 * a slot has a fixed size whatever the user name.
 *
 * Overflow: the table grows by doubling up to max_slots.  When every slot
 * is live, a new key is refused (RL_FULL, which the caller answers 429)
 * instead of taking over a slot that still counts: evicting a blocked
 * address was how a flood from other addresses used to unblock it.  The
 * refusal lasts until the oldest window ends.
 *
 * A scan is linear over the slots in use.  Normally that is a handful (a
 * successful login gives its slot back); under attack each scan is at most
 * max_slots * 32 bytes, small beside the argon2 verification of the
 * attempt that caused it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dash/ratelimit.h"

#define RL_FIRST_CAP 64

typedef struct rl_slot {
    unsigned char key[16];
    int64_t window_start_us;
    int fails; /* in this window, attempts still being verified included */
} rl_slot;

struct ratelimit {
    pthread_mutex_t lock;
    rl_slot *slot;
    size_t used; /* slots [used, cap) have never held a key since the last trim */
    size_t cap, max;
    int64_t window_us;
};

ratelimit *rl_new(size_t max_slots, int64_t window_us)
{
    ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    pthread_mutex_init(&rl->lock, NULL);
    rl->max = max_slots ? max_slots : 1;
    rl->window_us = window_us;
    return rl;
}

void rl_free(ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl->slot);
    free(rl);
}

static int live(const ratelimit *rl, const rl_slot *s, int64_t now_us)
{
    return s->fails > 0 && now_us - s->window_start_us < rl->window_us;
}

/* The live slot of key, or -1; *free_at gets the first free slot below
 * rl->used (or -1). */
static long find_unsafe(const ratelimit *rl, const unsigned char key[16], int64_t now_us,
                        long *free_at)
{
    *free_at = -1;
    for (size_t i = 0; i < rl->used; i++) {
        const rl_slot *s = &rl->slot[i];
        if (!live(rl, s, now_us)) {
            if (*free_at < 0)
                *free_at = (long)i;
        } else if (!memcmp(s->key, key, 16)) {
            return (long)i;
        }
    }
    return -1;
}

/* A free slot for a new key, or -1 when the table is full. */
static long take_unsafe(ratelimit *rl, long free_at)
{
    if (free_at >= 0)
        return free_at;
    if (rl->used == rl->cap) {
        if (rl->cap >= rl->max)
            return -1;
        size_t ncap = rl->cap ? rl->cap * 2 : RL_FIRST_CAP;
        if (ncap > rl->max)
            ncap = rl->max;
        rl_slot *ns = realloc(rl->slot, ncap * sizeof *ns);
        if (!ns)
            return -1; /* out of memory: refused as if full, never evicting */
        rl->slot = ns;
        rl->cap = ncap;
    }
    rl->slot[rl->used].fails = 0;
    return (long)rl->used++;
}

/* Forget trailing free slots, so that scans stay short once an attack ends. */
static void trim_unsafe(ratelimit *rl, int64_t now_us)
{
    while (rl->used && !live(rl, &rl->slot[rl->used - 1], now_us))
        rl->used--;
}

int rl_reserve(ratelimit *rl, const rl_key *keys, int n, int64_t now_us, rl_ticket *t)
{
    long at[RL_KEYS_MAX], free_at;
    int fresh[RL_KEYS_MAX] = {0};
    int rc = RL_OK;
    if (n > RL_KEYS_MAX)
        n = RL_KEYS_MAX;
    t->n = 0;
    for (int i = 0; i < n; i++)
        crypto_generichash(t->key[i], 16, keys[i].p, keys[i].n, NULL, 0);
    pthread_mutex_lock(&rl->lock);
    trim_unsafe(rl, now_us);
    for (int i = 0; i < n; i++) {
        at[i] = find_unsafe(rl, t->key[i], now_us, &free_at);
        if (at[i] >= 0 && rl->slot[at[i]].fails >= keys[i].limit)
            rc = RL_BLOCKED;
    }
    /* A new key takes a free slot and counts there at once, so that the
     * next new key cannot take the same one. */
    for (int i = 0; rc == RL_OK && i < n; i++) {
        if (at[i] >= 0 || (at[i] = find_unsafe(rl, t->key[i], now_us, &free_at)) >= 0)
            continue;
        if ((at[i] = take_unsafe(rl, free_at)) < 0) {
            rc = RL_FULL;
            for (int j = 0; j < i; j++) /* all or none */
                if (fresh[j])
                    rl->slot[at[j]].fails = 0;
            break;
        }
        rl_slot *s = &rl->slot[at[i]];
        memcpy(s->key, t->key[i], 16);
        s->window_start_us = now_us;
        s->fails = 1;
        fresh[i] = 1;
    }
    if (rc == RL_OK) {
        for (int i = 0; i < n; i++) {
            rl->slot[at[i]].fails += !fresh[i];
            t->window_start_us[i] = rl->slot[at[i]].window_start_us;
        }
        t->n = n;
    } else {
        trim_unsafe(rl, now_us);
    }
    pthread_mutex_unlock(&rl->lock);
    return rc;
}

void rl_refund(ratelimit *rl, const rl_ticket *t)
{
    pthread_mutex_lock(&rl->lock);
    for (int i = 0; i < t->n; i++)
        for (size_t j = 0; j < rl->used; j++) {
            rl_slot *s = &rl->slot[j];
            if (s->fails > 0 && s->window_start_us == t->window_start_us[i] &&
                !memcmp(s->key, t->key[i], 16)) {
                s->fails--;
                break;
            }
        }
    pthread_mutex_unlock(&rl->lock);
}

size_t rl_used(ratelimit *rl)
{
    pthread_mutex_lock(&rl->lock);
    size_t n = rl->used;
    pthread_mutex_unlock(&rl->lock);
    return n;
}
