/* auth.c — users, sessions, CSRF and the login rate limit.
 *
 * Passwords are stored as libsodium argon2id strings.  A session token is
 * 256 random bits given to the browser once, in an HttpOnly SameSite=Strict
 * cookie; the store keeps only its BLAKE2b hash, so a stolen database holds
 * no usable session.  Looking a session up by that hash in SQL leaks
 * nothing useful through timing: an attacker cannot choose hash bytes.
 * Secrets the caller presents (CSRF token, SECURITY_TOKEN) are compared
 * with sodium_memcmp over fixed-size digests, in constant time.
 *
 * The login rate limit counts failures per client address and per user
 * name (ratelimit.c).  An attempt is counted before its password is
 * verified and given back only when it succeeds, so parallel guesses
 * cannot slip past the count, and one user's success never clears the
 * failures of another user or of the address.  Why the numbers:
 *  - 5 failures per address in 5 minutes: room for a person's typos, and
 *    1,440 guesses a day for an attacker at one address.
 *  - 10 per user name: an attacker spreading guesses at one account over
 *    many addresses gets 2,880 a day, not 5 per address.  Twice the
 *    address limit, so that a user's own typos from one address never
 *    lock the name.  The price: anyone failing 10 times in 5 minutes, from
 *    2 addresses, keeps a name locked for that long (the counts live in
 *    memory; a restart clears them).  Names that do not exist count the
 *    same, so a 429 does not tell which exist.
 *  - An IPv6 client counts by its /64, the block one site is given: a
 *    host can pick a fresh address in it for every guess.
 *  - 65,536 slots at most, 32 bytes each, allocated as used (2 MiB):
 *    every counted attempt costs one argon2id verification (50-100 ms of
 *    a core) and takes at most 2 slots, so filling the table within one
 *    window takes 109 verifications a second for 5 minutes, several times
 *    what the 4 threads of `evodash serve` verify.  When it is full all
 *    the same, new addresses and names get 429 until windows end; a
 *    counted one is never evicted (evicting let a flood from other
 *    addresses unblock one). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "evodash.h"
#include "core/clock.h"
#include "core/config.h"
#include "dash/dash_int.h"
#include "dash/ratelimit.h"
#include "store/read.h"

#define TOKEN_BYTES     32
#define RL_WINDOW_US    (300LL * 1000000) /* failures are counted over 5 minutes */
#define RL_ADDR_FAILS   5
#define RL_USER_FAILS   10
#define RL_SLOTS        65536
#define GUEST_KEY_BYTES 32
#define LOGIN_BODY_MAX  4096

static int hash_pw(const char *pw, char out[crypto_pwhash_STRBYTES])
{
    return crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

typedef struct same_ctx {
    const char *pw, *role;
    int same;
} same_ctx;

static int same_user(void *u, const store_user_row *r)
{
    same_ctx *x = u;
    x->same = !r->disabled && r->pw_hash && r->role && !strcmp(r->role, x->role) &&
              crypto_pwhash_str_verify(r->pw_hash, x->pw, strlen(x->pw)) == 0;
    return 0;
}

/* Create user name with role, or give an existing one this password and
 * role (the config is the source of truth for configured users). */
static int upsert_user(evd_dash *d, store *st, const char *name, const char *pw, const char *role)
{
    char hash[crypto_pwhash_STRBYTES];
    same_ctx x = {pw, role, 0};
    int rc = store_user_get(st, name, same_user, &x);
    if (rc && rc != EVD_ENOENT)
        goto fail;
    if (x.same)
        return 0;
    if (hash_pw(pw, hash)) {
        snprintf(d->err, sizeof d->err, "hashing the password of '%s' ran out of memory", name);
        return EVD_ENOMEM;
    }
    if (!(rc = store_user_put(st, name, hash, role, clock_real_us())))
        return 0;
fail:
    snprintf(d->err, sizeof d->err, "writing user '%s': %s", name, store_errmsg(st));
    return rc;
}

static int enabled_admin(void *u, const store_user_row *r)
{
    *(int *)u = !r->disabled && r->role && !strcmp(r->role, "admin");
    return 0;
}

/* A session's binding to the password it was made with: changing the
 * password (in the config) ends every session made with the old one.  A
 * session made with the user's stored hash is tagged with that hash alone;
 * one made with a further GUEST_PASSWORD also with that password's key
 * (guest_keys()), so that taking the password off the list ends its
 * sessions too. */
static void pw_tag(const char *pw_hash, const unsigned char *key, unsigned char tag[16])
{
    crypto_generichash(tag, 16, (const unsigned char *)pw_hash, strlen(pw_hash), key,
                       key ? GUEST_KEY_BYTES : 0);
}

static int copy_hash(void *u, const store_user_row *r)
{
    snprintf(u, crypto_pwhash_STRBYTES, "%s", r->pw_hash ? r->pw_hash : "");
    return 0;
}

/* The keys of the further GUEST_PASSWORD entries.  Further passwords are
 * checked in memory, not stored; a session tag over a fast hash of one
 * would let a stolen store be tested against guesses at full speed, so the
 * key is argon2id of the password (one derivation each at start), salted
 * from the guest's stored hash. */
static int guest_keys(evd_dash *d, store *st)
{
    char hash[crypto_pwhash_STRBYTES];
    unsigned char salt[crypto_pwhash_SALTBYTES];
    int rc = store_user_get(st, d->guest_name, copy_hash, hash);
    if (rc) {
        snprintf(d->err, sizeof d->err, "reading the guest: %s", store_errmsg(st));
        return rc;
    }
    crypto_generichash(salt, sizeof salt, (const unsigned char *)hash, strlen(hash), NULL, 0);
    if (!(d->guest_key = calloc((size_t)d->nguest_pw, sizeof *d->guest_key)))
        return EVD_ENOMEM;
    for (int i = 0; i < d->nguest_pw; i++)
        if (crypto_pwhash(d->guest_key[i], GUEST_KEY_BYTES, d->guest_pw[i], strlen(d->guest_pw[i]),
                          salt, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13)) {
            snprintf(d->err, sizeof d->err, "hashing a guest password ran out of memory");
            return EVD_ENOMEM;
        }
    return 0;
}

void auth_token(evd_dash *d, const evd_config *cfg)
{
    const char *tok = config_str(cfg, "SECURITY_TOKEN");
    if (tok && *tok) {
        crypto_generichash((unsigned char *)d->token_hash, sizeof d->token_hash,
                           (const unsigned char *)tok, strlen(tok), NULL, 0);
        d->has_token = 1;
    }
}

int auth_bearer(const dctx *c)
{
    const char *authz = dash_header(c, "Authorization");
    return authz && !strncasecmp(authz, "Bearer ", 7) && bearer_ok(c->d, authz + 7);
}

int auth_bootstrap(evd_dash *d, store *st, const evd_config *cfg)
{
    int rc;
    const char *keep[2] = {"admin", NULL};

    if (!d->rl && !(d->rl = rl_new(RL_SLOTS, RL_WINDOW_US))) {
        snprintf(d->err, sizeof d->err, "out of memory");
        return EVD_ENOMEM;
    }
    if (hash_pw("no such user", d->dummy_hash)) {
        snprintf(d->err, sizeof d->err, "hashing ran out of memory");
        return EVD_ENOMEM;
    }
    const char *user = config_str(cfg, "USERNAME"), *pw = config_str(cfg, "PASSWORD");
    const char *guest = config_str(cfg, "GUEST_USERNAME");
    const char *admin = user && *user ? user : "admin";
    if (guest && !strcmp(guest, admin)) {
        /* One user cannot be both: each start would make it the other. */
        snprintf(d->err, sizeof d->err,
                 "GUEST_USERNAME '%.100s' is also the admin's name%s: give the guest a name of "
                 "its own",
                 guest, user && *user ? " (USERNAME)" : " (the generated admin, USERNAME unset)");
        return EVD_EINVAL;
    }
    if (user && *user) {
        if (!pw || !*pw) {
            snprintf(d->err, sizeof d->err,
                     "USERNAME is set but PASSWORD is not: set both, or neither to have a "
                     "random admin password generated");
            return EVD_EINVAL;
        }
        if ((rc = upsert_user(d, st, user, pw, "admin")))
            return rc;
        keep[0] = user;
    } else {
        int present = 0;
        if ((rc = store_user_get(st, "admin", enabled_admin, &present)) && rc != EVD_ENOENT) {
            snprintf(d->err, sizeof d->err, "reading users: %s", store_errmsg(st));
            return rc;
        }
        if (!present) {
            unsigned char raw[18];
            char gen[32];
            randombytes_buf(raw, sizeof raw);
            sodium_bin2base64(gen, sizeof gen, raw, sizeof raw,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING);
            if ((rc = upsert_user(d, st, "admin", gen, "admin")))
                return rc;
            fprintf(stderr,
                    "evodash: created the first admin user 'admin' with password %s\n"
                    "evodash: it is shown only this once; set USERNAME and PASSWORD in the "
                    "config to choose your own\n",
                    gen);
            sodium_memzero(gen, sizeof gen);
        }
    }
    const char *gpw = NULL;
    if (guest && *guest && config_guest_password(cfg, 0, &gpw) > 0 && gpw && *gpw) {
        snprintf(d->guest_name, sizeof d->guest_name, "%s", guest);
        if ((rc = upsert_user(d, st, guest, gpw, "guest")))
            return rc;
        keep[1] = guest;
        int n = config_guest_password(cfg, 0, &gpw);
        if (n > 1) {
            for (int i = 0; i < d->nguest_pw; i++) /* a retried bootstrap */
                free(d->guest_pw[i]);
            free(d->guest_pw);
            d->nguest_pw = 0;
            if (!(d->guest_pw = calloc((size_t)n, sizeof *d->guest_pw)))
                return EVD_ENOMEM;
            for (int i = 1; i < n; i++) {
                config_guest_password(cfg, i, &gpw);
                if (!(d->guest_pw[d->nguest_pw] = strdup(gpw ? gpw : "")))
                    return EVD_ENOMEM;
                d->nguest_pw++;
            }
            if ((rc = guest_keys(d, st)))
                return rc;
        }
    }
    /* The config is the source of truth: a user it no longer names can no
     * longer log in (kept, disabled, so that a typo can be undone). */
    int64_t off = 0;
    if ((rc = store_users_disable_others(st, keep, keep[1] ? 2 : 1, &off))) {
        snprintf(d->err, sizeof d->err, "disabling users: %s", store_errmsg(st));
        return rc;
    }
    if (off)
        fprintf(stderr, "evodash: disabled %lld user(s) no longer named in the configuration\n",
                (long long)off);
    return 0;
}

/* ---- identification -------------------------------------------------------- */

int bearer_ok(const evd_dash *d, const char *value)
{
    unsigned char h[32];
    if (!d->has_token)
        return 0;
    crypto_generichash(h, sizeof h, (const unsigned char *)value, strlen(value), NULL, 0);
    return sodium_memcmp(h, d->token_hash, sizeof h) == 0;
}

/* The session token from the Cookie header, decoded; 0 when present. */
static int cookie_token(const dctx *c, unsigned char tok[TOKEN_BYTES])
{
    const char *h = dash_header(c, "Cookie");
    const char *key = "evd_session=";
    while (h && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        if (!strncmp(h, key, strlen(key))) {
            const char *v = h + strlen(key);
            size_t n = strcspn(v, ";");
            size_t bin = 0;
            if (n == TOKEN_BYTES * 2 &&
                sodium_hex2bin(tok, TOKEN_BYTES, v, n, NULL, &bin, NULL) == 0 && bin == TOKEN_BYTES)
                return 0;
            return -1;
        }
        h = strchr(h, ';');
    }
    return -1;
}

static int session_row(void *u, const store_session_row *r)
{
    dctx *c = u;
    unsigned char tag[16];
    if (r->expires_us <= clock_real_us() || r->disabled || !r->pw_hash || !r->csrf)
        return 0;
    if (r->pw_tag_len != sizeof tag)
        return 0; /* made before sessions were bound to a password */
    pw_tag(r->pw_hash, NULL, tag);
    int same = sodium_memcmp(tag, r->pw_tag, sizeof tag) == 0;
    if (!same && c->d->guest_name[0] && r->username && !strcmp(r->username, c->d->guest_name))
        for (int i = 0; i < c->d->nguest_pw; i++) {
            pw_tag(r->pw_hash, c->d->guest_key[i], tag);
            same |= sodium_memcmp(tag, r->pw_tag, sizeof tag) == 0;
        }
    if (!same)
        return 0; /* made with another password */
    c->user_id = r->user_id;
    snprintf(c->csrf, sizeof c->csrf, "%s", r->csrf);
    c->role = r->role && !strcmp(r->role, "admin") ? ROLE_ADMIN : ROLE_GUEST;
    snprintf(c->username, sizeof c->username, "%s", r->username ? r->username : "");
    return 0;
}

int auth_identify(dctx *c)
{
    const char *authz = dash_header(c, "Authorization");
    c->role = ROLE_NONE;
    if (authz && !strncasecmp(authz, "Bearer ", 7)) {
        if (bearer_ok(c->d, authz + 7)) {
            c->role = ROLE_TOKEN;
            snprintf(c->username, sizeof c->username, "token");
        }
        return 0;
    }
    unsigned char tok[TOKEN_BYTES], th[32];
    if (cookie_token(c, tok))
        return 0;
    crypto_generichash(th, sizeof th, tok, sizeof tok, NULL, 0);
    sodium_memzero(tok, sizeof tok);
    int rc = store_session_get(c->st, th, sizeof th, session_row, c);
    return rc == EVD_ENOENT ? 0 : rc;
}

int auth_csrf_ok(const dctx *c)
{
    const char *given = dash_header(c, "X-CSRF-Token");
    unsigned char a[32], b[32];
    if (!given || !c->csrf[0])
        return 0;
    /* Digests first, so the comparison length never depends on input. */
    crypto_generichash(a, sizeof a, (const unsigned char *)given, strlen(given), NULL, 0);
    crypto_generichash(b, sizeof b, (const unsigned char *)c->csrf, strlen(c->csrf), NULL, 0);
    return sodium_memcmp(a, b, sizeof a) == 0;
}

/* ---- login ------------------------------------------------------------------ */

static int form_field(const char *body, size_t len, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if ((size_t)(e - p) > klen && !memcmp(p, key, klen) && p[klen] == '=') {
            size_t n = (size_t)(e - p) - klen - 1;
            if (n + 1 > cap)
                return -2;
            char *tmp = malloc(n + 1);
            if (!tmp)
                return -2;
            int rc = dash_urldecode(p + klen + 1, n, tmp);
            if (!rc)
                snprintf(out, cap, "%s", tmp);
            free(tmp);
            return rc ? -2 : 0;
        }
        p = amp ? amp + 1 : end;
    }
    return -1;
}

int auth_parse_login(const char *body, size_t len, const char *ctype, char *user, size_t ucap,
                     char *pass, size_t pcap, char *err, size_t ecap)
{
    user[0] = pass[0] = 0;
    if (!body || !len) {
        snprintf(err, ecap, "login: empty body; send username and password");
        return -1;
    }
    if (len > LOGIN_BODY_MAX) {
        snprintf(err, ecap, "login: body larger than %d bytes", LOGIN_BODY_MAX);
        return -1;
    }
    if (ctype && !strncasecmp(ctype, "application/json", 16)) {
        json_error_t je;
        json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
        if (!doc) {
            snprintf(err, ecap, "login: malformed JSON at line %d: %s", je.line, je.text);
            return -1;
        }
        json_t *u = json_object_get(doc, "username"), *p = json_object_get(doc, "password");
        int rc = 0;
        if (!json_is_object(doc) || !json_is_string(u) || !json_is_string(p)) {
            snprintf(err, ecap, "login: expected {\"username\": string, \"password\": string}");
            rc = -1;
        } else if (json_string_length(u) >= ucap || json_string_length(p) >= pcap ||
                   strlen(json_string_value(u)) != json_string_length(u) ||
                   strlen(json_string_value(p)) != json_string_length(p)) {
            snprintf(err, ecap, "login: username or password too long or holds a NUL");
            rc = -1;
        } else {
            snprintf(user, ucap, "%s", json_string_value(u));
            snprintf(pass, pcap, "%s", json_string_value(p));
        }
        json_decref(doc);
        return rc;
    }
    if (memchr(body, 0, len)) {
        snprintf(err, ecap, "login: NUL byte in the form body");
        return -1;
    }
    int ru = form_field(body, len, "username", user, ucap);
    int rp = form_field(body, len, "password", pass, pcap);
    if (ru || rp) {
        snprintf(err, ecap, "login: %s",
                 (ru == -1 || rp == -1) ? "the form needs username and password fields"
                                        : "malformed or overlong username or password");
        return -1;
    }
    return 0;
}

typedef struct pw_ctx {
    int64_t uid;
    char hash[crypto_pwhash_STRBYTES];
    char role[16];
    int found;
    int extra; /* matched GUEST_PASSWORD entry extra (1...), 0 the stored hash */
} pw_ctx;

static int pw_row(void *u, const store_user_row *r)
{
    pw_ctx *x = u;
    if (r->disabled || !r->pw_hash)
        return 0; /* as if unknown */
    x->found = 1;
    x->uid = r->id;
    snprintf(x->hash, sizeof x->hash, "%s", r->pw_hash);
    snprintf(x->role, sizeof x->role, "%s", r->role ? r->role : "guest");
    return 0;
}

/* Check name/password; fills *x.  Always runs one argon2 verification, so
 * unknown users take as long as wrong passwords.  1 when they match, 0
 * when not, or a negative code. */
static int check_password(dctx *c, const char *name, const char *pw, pw_ctx *x)
{
    memset(x, 0, sizeof *x);
    int rc = store_user_get(c->st, name, pw_row, x);
    if (rc && rc != EVD_ENOENT)
        return rc;
    int ok = crypto_pwhash_str_verify(x->found ? x->hash : c->d->dummy_hash, pw, strlen(pw)) == 0;
    if (x->found && !ok && c->d->guest_name[0] && !strcmp(name, c->d->guest_name)) {
        /* GUEST_PASSWORD may list several passwords. */
        for (int i = 0; i < c->d->nguest_pw; i++) {
            size_t a = strlen(pw), b = strlen(c->d->guest_pw[i]);
            unsigned char ha[32], hb[32];
            crypto_generichash(ha, 32, (const unsigned char *)pw, a, NULL, 0);
            crypto_generichash(hb, 32, (const unsigned char *)c->d->guest_pw[i], b, NULL, 0);
            if (sodium_memcmp(ha, hb, 32) == 0) {
                ok = 1;
                x->extra = i + 1;
            }
        }
    }
    return x->found && ok ? 1 : 0;
}

/* "; Secure" when configured, or when a TLS-terminating proxy says the
 * browser speaks HTTPS (a forged header only narrows where the cookie
 * goes). */
static const char *secure_attr(const dctx *c)
{
    const char *proto = dash_header(c, "X-Forwarded-Proto");
    return c->d->cookie_secure || (proto && !strcasecmp(proto, "https")) ? "; Secure" : "";
}

/* The rate limit's key for client address ip in out[64]; its length.  An
 * IPv6 address counts by its /64, an IPv4-mapped one as IPv4, anything
 * unparsable as itself. */
static size_t addr_key(const char *ip, unsigned char out[64])
{
    struct in6_addr a6;
    struct in_addr a4;
    out[0] = 'a';
    if (inet_pton(AF_INET6, ip, &a6) == 1) {
        if (IN6_IS_ADDR_V4MAPPED(&a6)) {
            memcpy(out + 1, a6.s6_addr + 12, 4);
            return 5;
        }
        out[0] = 'A';
        memcpy(out + 1, a6.s6_addr, 8);
        return 9;
    }
    if (inet_pton(AF_INET, ip, &a4) == 1) {
        memcpy(out + 1, &a4, 4);
        return 5;
    }
    out[0] = 's';
    size_t n = strnlen(ip, 62);
    memcpy(out + 1, ip, n);
    return n + 1;
}

int route_login(dctx *c)
{
    const char *ip = c->rq->remote_ip && *c->rq->remote_ip ? c->rq->remote_ip : "-";
    char user[128], pw[256], err[200];
    unsigned char akey[64], ukey[1 + sizeof user];
    int64_t now = clock_real_us();
    pw_ctx who;
    rl_ticket t;

    if (auth_parse_login(c->rq->body, c->rq->body_len, dash_header(c, "Content-Type"), user,
                         sizeof user, pw, sizeof pw, err, sizeof err)) {
        sodium_memzero(pw, sizeof pw);
        return dash_error(c, 400, "%s", err);
    }
    size_t un = strlen(user);
    ukey[0] = 'u';
    memcpy(ukey + 1, user, un);
    rl_key keys[2] = {{akey, addr_key(ip, akey), RL_ADDR_FAILS}, {ukey, un + 1, RL_USER_FAILS}};
    int limited = rl_reserve(c->d->rl, keys, 2, clock_mono_ns() / 1000, &t);
    if (limited) {
        sodium_memzero(pw, sizeof pw);
        if (limited == RL_FULL)
            return dash_error(c, 429,
                              "too many failed logins from too many addresses; wait a "
                              "few minutes");
        return dash_error(
            c, 429, "too many failed logins from %.46s or as this user; wait a few minutes", ip);
    }
    int ok = check_password(c, user, pw, &who);
    sodium_memzero(pw, sizeof pw);
    if (ok) /* a success, or a store error before any verification */
        rl_refund(c->d->rl, &t);
    if (ok < 0)
        return dash_store_error(c, ok, "reading users");
    if (!ok)
        return dash_error(c, 401, "wrong username or password");

    unsigned char tok[TOKEN_BYTES], th[32], cs[TOKEN_BYTES];
    char tokhex[TOKEN_BYTES * 2 + 1], csrf[TOKEN_BYTES * 2 + 1];
    randombytes_buf(tok, sizeof tok);
    randombytes_buf(cs, sizeof cs);
    sodium_bin2hex(tokhex, sizeof tokhex, tok, sizeof tok);
    sodium_bin2hex(csrf, sizeof csrf, cs, sizeof cs);
    crypto_generichash(th, sizeof th, tok, sizeof tok, NULL, 0);
    sodium_memzero(tok, sizeof tok);
    unsigned char tag[16];
    pw_tag(who.hash, who.extra ? c->d->guest_key[who.extra - 1] : NULL, tag);
    sodium_memzero(who.hash, sizeof who.hash);
    int rc = store_sessions_expire(c->st, now);
    if (!rc)
        rc = store_session_put(c->st, th, sizeof th, who.uid, csrf, tag, sizeof tag, now,
                               now + c->d->session_ttl_us);
    if (rc)
        return dash_store_error(c, rc, "creating the session");
    snprintf(c->rs->set_cookie, sizeof c->rs->set_cookie,
             "evd_session=%s; Path=%s; HttpOnly; SameSite=Strict; Max-Age=%lld%s", tokhex,
             c->d->prefix, (long long)(c->d->session_ttl_us / 1000000), secure_attr(c));
    sodium_memzero(tokhex, sizeof tokhex);
    return dash_json(
        c, 200, json_pack("{s:s,s:s,s:s}", "username", user, "role", who.role, "csrf_token", csrf));
}

int route_logout(dctx *c)
{
    unsigned char tok[TOKEN_BYTES], th[32];
    if (!cookie_token(c, tok)) {
        crypto_generichash(th, sizeof th, tok, sizeof tok, NULL, 0);
        store_session_delete(c->st, th, sizeof th);
    }
    snprintf(c->rs->set_cookie, sizeof c->rs->set_cookie,
             "evd_session=; Path=%s; HttpOnly; SameSite=Strict; Max-Age=0%s", c->d->prefix,
             secure_attr(c));
    return dash_json(c, 200, json_pack("{s:b}", "logged_out", 1));
}

int route_session(dctx *c)
{
    const char *role = c->role == ROLE_ADMIN ? "admin" : c->role == ROLE_GUEST ? "guest" : "token";
    return dash_json(c, 200,
                     json_pack("{s:s,s:s,s:s?}", "username", c->username, "role", role,
                               "csrf_token", c->csrf[0] ? c->csrf : NULL));
}
