/* config.c — evd_config: Flask-MonitoringDashboard's INI keys, read with
 * inih and overridden by EVODASH_<KEY> environment variables.
 *
 * Every value is validated when it is set, so the readers in config.h never
 * fail.  A file or the environment is applied to a scratch copy that
 * replaces the handle's values only when everything passed, so a bad file
 * leaves the configuration as it was.
 *
 * Debian's inih is built without INI_HANDLER_LINENO, so the handler cannot
 * learn the line number.  We hand inih our own line reader instead: it
 * counts lines, rejects unknown sections, and tells the handler whether the
 * line it is parsing is an indented continuation of the previous value. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/utf8.h"

#define ERR_MAX      512
#define ZONEINFO_DIR "/usr/share/zoneinfo"

enum key_type {
    KT_STR,    /* one line of text, non-empty unless allow_empty */
    KT_TEXT,   /* free text, may span continuation lines */
    KT_INT,    /* integer in lo..hi */
    KT_POW2,   /* power of two in lo..hi */
    KT_SIGNAL, /* offset from SIGRTMIN */
    KT_POSNUM, /* finite number > 0 */
    KT_BOOL,
    KT_LINK,   /* CUSTOM_LINK: URL path segment(s) */
    KT_DB,     /* DATABASE URL */
    KT_TZ,     /* IANA time zone */
    KT_PWLIST, /* a string or a Python-style list of strings */
};

typedef struct key_def {
    const char *name;
    enum key_type type;
    const char *def; /* NULL: no default (INSTANCE's is computed) */
    long lo, hi;
    int allow_empty;
    int secret; /* never echo the value in an error message */
} key_def;

static const key_def KEYS[] = {
    {"APP_VERSION", KT_STR, NULL, 0, 0, 0, 0},
    {"GIT", KT_STR, NULL, 0, 0, 0, 0},
    {"CUSTOM_LINK", KT_LINK, "dashboard", 0, 0, 0, 0},
    {"MONITOR_LEVEL", KT_INT, "1", 0, 3, 0, 0},
    {"OUTLIER_DETECTION_CONSTANT", KT_POSNUM, "2.5", 0, 0, 0, 0},
    {"SAMPLING_PERIOD", KT_INT, "5", 1, 3600000, 0, 0},
    {"ENABLE_LOGGING", KT_BOOL, "false", 0, 0, 0, 0},
    {"DATABASE", KT_DB, "sqlite:///evodash.db", 0, 0, 0, 1},
    {"TABLE_PREFIX", KT_STR, NULL, 0, 0, 1, 0},
    /* No default credentials, ever: without USERNAME/PASSWORD the
     * dashboard makes a random admin password and prints it once; without
     * GUEST_* there is no guest. */
    {"USERNAME", KT_STR, NULL, 0, 0, 0, 0},
    {"PASSWORD", KT_STR, NULL, 0, 0, 0, 1},
    {"GUEST_USERNAME", KT_STR, NULL, 0, 0, 0, 0},
    {"GUEST_PASSWORD", KT_PWLIST, NULL, 0, 0, 0, 1},
    {"SECURITY_TOKEN", KT_STR, NULL, 0, 0, 0, 1},
    {"SESSION_HOURS", KT_INT, "12", 1, 8760, 0, 0},
    {"RAW_ROWS_MAX", KT_INT, "4000000", 100, 100000000, 0, 0},
    {"COOKIE_SECURE", KT_BOOL, "false", 0, 0, 0, 0},
    {"TIMEZONE", KT_TZ, "UTC", 0, 0, 0, 0},
    {"BRAND_NAME", KT_STR, "evodash", 0, 0, 1, 0},
    {"TITLE_NAME", KT_STR, "evodash", 0, 0, 1, 0},
    {"DESCRIPTION", KT_TEXT, NULL, 0, 0, 1, 0},
    {"SHOW_LOGIN_BANNER", KT_BOOL, "true", 0, 0, 0, 0},
    {"SHOW_LOGIN_FOOTER", KT_BOOL, "true", 0, 0, 0, 0},
    {"COLORS", KT_TEXT, NULL, 0, 0, 1, 0},
    {"RING_CAPACITY", KT_POW2, "65536", 1024, 16777216, 0, 0},
    {"STACK_SIGNAL", KT_SIGNAL, "3", 0, 0, 0, 0},
    {"INSTANCE", KT_STR, NULL, 0, 0, 0, 0},
    {"RETENTION_DAYS", KT_INT, "0", 0, 36500, 0, 0},
    {"SERVICE_NAME", KT_STR, NULL, 0, 0, 0, 0},
    {"FLUSH_INTERVAL_MS", KT_INT, "100", 1, 10000, 0, 0},
    {"HTTP_IDLE_TIMEOUT", KT_INT, "30", 1, 3600, 0, 0},
    /* connections one client address may hold, 0 = no limit (a service
     * behind a proxy or a load balancer sees one address for everyone) */
    {"HTTP_CONN_PER_ADDRESS", KT_INT, "32", 0, 1000, 0, 0},
    /* the capacity model's CPU samples: seconds between two, 0 = none */
    {"CPU_SAMPLE_SECONDS", KT_INT, "10", 0, 3600, 0, 0},
    /* CI timings: the test this process runs requests for (EVODASH_TEST),
     * and whether adapters honour X-Evodash-Test (see evodash.h) */
    {"TEST", KT_STR, NULL, 0, 0, 0, 0},
    {"TEST_HEADER", KT_BOOL, "false", 0, 0, 0, 0},
    /* findings: requests each side of a comparison needs, and the
     * smallest change (ratio of medians, rise of the error rate) reported */
    {"FINDINGS_MIN_REQUESTS", KT_INT, "200", 10, 100000000, 0, 0},
    {"FINDINGS_MIN_RATIO", KT_POSNUM, "1.2", 1, 0, 0, 0},
    /* the dashboard packs past hours of raw rows in the background */
    {"PACK_HOURS", KT_BOOL, "true", 0, 0, 0, 0},
};
#define NKEYS ((int)(sizeof KEYS / sizeof KEYS[0]))

static const char *const SECTIONS[] = {"dashboard", "authentication", "database", "visualization"};
#define NSECTIONS ((int)(sizeof SECTIONS / sizeof SECTIONS[0]))

struct evd_config {
    char *val[NKEYS];    /* NULL: unset, the default applies */
    char *origin[NKEYS]; /* "FILE:LINE" or "EVODASH_KEY"; NULL when set from code */
    char **guest;        /* GUEST_PASSWORD parsed (or its default) */
    int nguest;
    char instance_def[320];
    char err[ERR_MAX];
};

/* ---- small helpers ----------------------------------------------------- */

static void set_err(evd_config *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(evd_config *cfg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cfg->err, sizeof cfg->err, fmt, ap);
    va_end(ap);
}

static int key_index(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < NKEYS; i++)
        if (!strcasecmp(KEYS[i].name, name))
            return i;
    return -1;
}

/* A value quoted for an error message: bounded and printable, so that a
 * garbage file cannot flood or corrupt a log line. */
static void show_value(const char *v, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; v[i] && o + 4 < cap; i++) {
        if (i >= 60) {
            out[o++] = '.';
            out[o++] = '.';
            out[o++] = '.';
            break;
        }
        unsigned char c = (unsigned char)v[i];
        out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[o] = '\0';
}

static void free_guest(char **g, int n)
{
    if (!g)
        return;
    for (int i = 0; i < n; i++)
        free(g[i]);
    free(g);
}

static void fill_instance_default(evd_config *cfg)
{
    char host[256];
    if (gethostname(host, sizeof host) != 0 || !host[0])
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    snprintf(cfg->instance_def, sizeof cfg->instance_def, "%s:%ld", host, (long)getpid());
}

/* ---- value parsers ------------------------------------------------------ */

/* An integer as the keys take it: decimal digits only.  Every integer key
 * is >= 0, so a sign is a typo ("-0" for 0, "+1"), not a value. */
static int parse_count(const char *s, long *out)
{
    if (!*s || strspn(s, "0123456789") != strlen(s))
        return -1;
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno)
        return -1;
    *out = v;
    return 0;
}

static int parse_long(const char *s, long *out)
{
    char *end;
    if (!*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* Always with '.' as the decimal point: the host process may have set a
 * locale that uses ','.  The C locale object is made once and kept, so that
 * readers such as config_double() do not allocate. */
static locale_t c_numeric;
static pthread_once_t c_numeric_once = PTHREAD_ONCE_INIT;

static void make_c_numeric(void)
{
    c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

static int parse_double(const char *s, double *out)
{
    char *end;
    pthread_once(&c_numeric_once, make_c_numeric);
    errno = 0;
    double v = c_numeric ? strtod_l(s, &end, c_numeric) : strtod(s, &end);
    if (!*s || isspace((unsigned char)*s) || errno || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i]))
            return 1;
        if (!strcasecmp(s, no[i]))
            return 0;
    }
    return -1;
}

/* Python-style list of string literals: ['a', "b"].  Escapes \\ \' \" \n
 * \t are decoded; any other backslash is kept, as Python does.  Written by
 * hand because no Debian library parses Python literals. */
static int parse_pwlist(const char *s, char ***out, int *nout, char *msg, size_t cap)
{
    char **list = NULL;
    int n = 0, rc = -1;
    char *buf = NULL;
    const char *p = s;

    while (isspace((unsigned char)*p))
        p++;
    if (*p != '[') {
        /* A single password. */
        list = calloc(1, sizeof *list);
        if (!list || !(list[0] = strdup(s))) {
            snprintf(msg, cap, "out of memory");
            goto done;
        }
        n = 1;
        rc = 0;
        goto done;
    }
    p++;
    buf = malloc(strlen(s) + 1);
    if (!buf) {
        snprintf(msg, cap, "out of memory");
        goto done;
    }
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (*p == ']')
            break;
        if (*p != '\'' && *p != '"') {
            snprintf(msg, cap, "list item %d: expected a quoted string (value not shown)", n + 1);
            goto done;
        }
        char q = *p++;
        size_t len = 0;
        while (*p && *p != q) {
            if (*p == '\\' && p[1]) {
                char e = p[1];
                if (e == '\\' || e == '\'' || e == '"')
                    buf[len++] = e;
                else if (e == 'n')
                    buf[len++] = '\n';
                else if (e == 't')
                    buf[len++] = '\t';
                else {
                    buf[len++] = '\\';
                    buf[len++] = e;
                }
                p += 2;
            } else {
                buf[len++] = *p++;
            }
        }
        if (*p != q) {
            snprintf(msg, cap, "list item %d: unterminated string (value not shown)", n + 1);
            goto done;
        }
        p++;
        buf[len] = '\0';
        char **grown = realloc(list, (size_t)(n + 1) * sizeof *list);
        if (!grown) {
            snprintf(msg, cap, "out of memory");
            goto done;
        }
        list = grown;
        if (!(list[n] = strdup(buf))) {
            snprintf(msg, cap, "out of memory");
            goto done;
        }
        n++;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p != ']') {
            snprintf(msg, cap, "list item %d: expected ',' or ']' after it (value not shown)", n);
            goto done;
        }
    }
    p++;
    while (isspace((unsigned char)*p))
        p++;
    if (*p) {
        snprintf(msg, cap, "unexpected text after ']' (value not shown)");
        goto done;
    }
    rc = 0;
done:
    free(buf);
    if (rc != 0) {
        free_guest(list, n);
        return rc;
    }
    *out = list;
    *nout = n;
    return 0;
}

static int valid_link(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 200 || s[0] == '/' || s[n - 1] == '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '-' && c != '_' && c != '/')
            return 0;
        if (c == '/' && s[i + 1] == '/')
            return 0;
    }
    return 1;
}

/* An IANA name is trusted only when a TZif file of that name exists, which
 * also rules out zoneinfo's other files (zone.tab, leapseconds, ...). */
static int valid_tz(const char *s)
{
    if (!strcmp(s, "UTC"))
        return 1;
    size_t n = strlen(s);
    if (n == 0 || n > 100 || s[0] == '/' || s[n - 1] == '/' || strstr(s, "..") || strstr(s, "//"))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '/' && c != '_' && c != '-' && c != '+')
            return 0;
    }
    char path[160];
    snprintf(path, sizeof path, "%s/%s", ZONEINFO_DIR, s);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat st;
    char magic[4];
    int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
             read(fd, magic, sizeof magic) == (ssize_t)sizeof magic && !memcmp(magic, "TZif", 4);
    close(fd);
    return ok;
}

/* libpq's keyword form of a connection string: "host=... dbname=...". */
static int pg_keywords(const char *v)
{
    static const char *const keys[] = {
        "host=", "hostaddr=", "port=", "dbname=", "user=", "service=", "password=", NULL};
    while (*v == ' ')
        v++;
    for (int i = 0; keys[i]; i++)
        if (!strncmp(v, keys[i], strlen(keys[i])))
            return 1;
    return 0;
}

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* Strip one pair of matching quotes, as Flask-MonitoringDashboard's files
 * often quote strings.  A quote inside the pair means it is not one
 * literal (e.g. 'a', 'b'), so it is left alone. */
static char *unquote(const char *v)
{
    size_t n = strlen(v);
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0] && !memchr(v + 1, v[0], n - 2))
        return strndup(v + 1, n - 2);
    return strdup(v);
}

/* A quote that opens a value must close it ("1.2.3 has none), and one that
 * closes a value must have opened it, except in free text, which may end
 * with a quotation, and in a password list, whose parser checks its own
 * quotes. */
static int unbalanced_quote(const char *v, enum key_type t)
{
    size_t n = strlen(v);
    if (!n)
        return 0;
    if (v[0] == '"' || v[0] == '\'')
        return n < 2 || v[n - 1] != v[0];
    return t != KT_TEXT && t != KT_PWLIST && (v[n - 1] == '"' || v[n - 1] == '\'');
}

/* Validate raw for key k and store it in cfg.  On error writes the reason
 * (without file, line or key) into msg and returns EVD_EINVAL; cfg is
 * unchanged. */
static int set_key(evd_config *cfg, int k, const char *raw, char *msg, size_t cap)
{
    const key_def *d = &KEYS[k];
    char shown[80];
    char **glist = NULL;
    int gn = 0;
    long l;
    double dv;
    int rc = EVD_EINVAL;

    /* Checked on the raw text: a message must not quote bytes that are
     * not text, and the quotes are gone once unquoted. */
    if (!utf8_valid(raw, strlen(raw))) {
        snprintf(msg, cap, "value is not valid UTF-8%s",
                 d->secret ? " (value not shown)" : " (check the file's encoding)");
        return EVD_EINVAL;
    }
    if (unbalanced_quote(raw, d->type)) {
        snprintf(msg, cap,
                 "unbalanced quote: a value that starts or ends with a quote must be quoted "
                 "whole, e.g. '%s'",
                 d->secret ? "..." : "1.2.3");
        return EVD_EINVAL;
    }
    char *v = unquote(raw);
    if (!v) {
        snprintf(msg, cap, "out of memory");
        return EVD_ENOMEM;
    }
    if (d->secret)
        snprintf(shown, sizeof shown, "(value not shown)");
    else {
        char tmp[72];
        show_value(v, tmp, sizeof tmp);
        snprintf(shown, sizeof shown, "\"%s\"", tmp);
    }
    if (!*v && !d->allow_empty) {
        snprintf(msg, cap, "empty value");
        goto done;
    }
    switch (d->type) {
    case KT_STR:
        if (has_control(v)) {
            snprintf(msg, cap, "control character in value, got %s", shown);
            goto done;
        }
        break;
    case KT_TEXT:
        break;
    case KT_INT:
        if (parse_count(v, &l) || l < d->lo || l > d->hi) {
            snprintf(msg, cap, "expected an integer %ld..%ld, got %s", d->lo, d->hi, shown);
            goto done;
        }
        break;
    case KT_POW2:
        if (parse_count(v, &l) || l < d->lo || l > d->hi || (l & (l - 1))) {
            snprintf(msg, cap, "expected a power of two %ld..%ld, got %s", d->lo, d->hi, shown);
            goto done;
        }
        break;
    case KT_SIGNAL: {
        long hi = (long)(SIGRTMAX - SIGRTMIN);
        if (parse_count(v, &l) || l < 0 || l > hi) {
            snprintf(msg, cap, "expected an offset 0..%ld from SIGRTMIN, got %s", hi, shown);
            goto done;
        }
        break;
    }
    case KT_POSNUM: /* lo, when set, is the bound it must exceed */
        if (parse_double(v, &dv) || !(dv > (double)d->lo)) {
            snprintf(msg, cap, "expected a number > %ld, got %s", d->lo, shown);
            goto done;
        }
        break;
    case KT_BOOL: {
        int b = parse_bool(v);
        if (b < 0) {
            snprintf(msg, cap, "expected a boolean (true/false, yes/no, on/off, 1/0), got %s",
                     shown);
            goto done;
        }
        free(v);
        v = strdup(b ? "true" : "false");
        if (!v) {
            snprintf(msg, cap, "out of memory");
            rc = EVD_ENOMEM;
            goto done;
        }
        break;
    }
    case KT_LINK:
        if (!valid_link(v)) {
            snprintf(msg, cap,
                     "expected letters, digits, '-', '_' and '/' without a leading or "
                     "trailing '/', got %s",
                     shown);
            goto done;
        }
        break;
    case KT_DB:
        if (has_control(v) || (strncmp(v, "sqlite://", 9) && strncmp(v, "postgresql://", 13) &&
                               strncmp(v, "postgres://", 11) && !pg_keywords(v))) {
            char tmp[72];
            show_value(v, tmp, sizeof tmp);
            /* Show only the scheme: the rest may hold a password. */
            char *colon = strchr(tmp, ':');
            if (colon)
                colon[1] = '\0';
            snprintf(msg, cap,
                     "expected a URL starting with sqlite://, postgresql:// or postgres://, "
                     "got \"%s...\" (libpq's keyword form, host=... dbname=..., works too)",
                     tmp);
            goto done;
        }
        break;
    case KT_TZ:
        if (!valid_tz(v)) {
            snprintf(msg, cap,
                     "unknown time zone %s (expected an IANA name under " ZONEINFO_DIR
                     ", e.g. Europe/Amsterdam, or UTC)",
                     shown);
            goto done;
        }
        break;
    case KT_PWLIST:
        if (parse_pwlist(v, &glist, &gn, msg, cap) != 0)
            goto done;
        break;
    }
    if (d->type == KT_PWLIST) {
        free_guest(cfg->guest, cfg->nguest);
        cfg->guest = glist;
        cfg->nguest = gn;
        glist = NULL;
    }
    free(cfg->val[k]);
    cfg->val[k] = v;
    v = NULL;
    rc = 0;
done:
    free(v);
    free_guest(glist, gn);
    return rc;
}

static int reset_guest_default(evd_config *cfg)
{
    char **g = NULL;
    int n = 0;
    char msg[64];
    int k = key_index("GUEST_PASSWORD");
    if (KEYS[k].def && parse_pwlist(KEYS[k].def, &g, &n, msg, sizeof msg) != 0)
        return EVD_ENOMEM;
    free_guest(cfg->guest, cfg->nguest);
    cfg->guest = g;
    cfg->nguest = n;
    return 0;
}

/* ---- public: lifetime ---------------------------------------------------- */

evd_config *evd_config_new(void)
{
    evd_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    fill_instance_default(cfg);
    if (reset_guest_default(cfg) != 0) {
        free(cfg);
        return NULL;
    }
    return cfg;
}

void evd_config_free(evd_config *cfg)
{
    if (!cfg)
        return;
    for (int i = 0; i < NKEYS; i++) {
        free(cfg->val[i]);
        free(cfg->origin[i]);
    }
    free_guest(cfg->guest, cfg->nguest);
    free(cfg);
}

evd_config *config_clone(const evd_config *cfg)
{
    evd_config *c = evd_config_new();
    if (!c || !cfg)
        return c;
    for (int i = 0; i < NKEYS; i++) {
        if (cfg->val[i] && !(c->val[i] = strdup(cfg->val[i])))
            goto fail;
        if (cfg->origin[i] && !(c->origin[i] = strdup(cfg->origin[i])))
            goto fail;
    }
    free_guest(c->guest, c->nguest);
    c->guest = NULL;
    c->nguest = 0;
    if (cfg->nguest > 0) {
        c->guest = calloc((size_t)cfg->nguest, sizeof *c->guest);
        if (!c->guest)
            goto fail;
        for (int i = 0; i < cfg->nguest; i++) {
            if (!(c->guest[i] = strdup(cfg->guest[i])))
                goto fail;
            c->nguest = i + 1;
        }
    }
    memcpy(c->err, cfg->err, sizeof c->err);
    return c;
fail:
    evd_config_free(c);
    return NULL;
}

/* Move src's values into dst (keeping dst's error buffer) and free src. */
static void config_take(evd_config *dst, evd_config *src)
{
    for (int i = 0; i < NKEYS; i++) {
        free(dst->val[i]);
        dst->val[i] = src->val[i];
        src->val[i] = NULL;
        free(dst->origin[i]);
        dst->origin[i] = src->origin[i];
        src->origin[i] = NULL;
    }
    free_guest(dst->guest, dst->nguest);
    dst->guest = src->guest;
    dst->nguest = src->nguest;
    src->guest = NULL;
    src->nguest = 0;
    evd_config_free(src);
}

/* Record where key k was set (copied; NULL: from code).  Returns 0 or -1
 * when out of memory. */
static int set_origin(evd_config *cfg, int k, const char *where)
{
    char *o = where ? strdup(where) : NULL;
    if (where && !o)
        return -1;
    free(cfg->origin[k]);
    cfg->origin[k] = o;
    return 0;
}

/* ---- public: set, get, environment -------------------------------------- */

int evd_config_set(evd_config *cfg, const char *key, const char *value)
{
    char msg[ERR_MAX - 80];
    if (!cfg)
        return EVD_EINVAL;
    int k = key_index(key);
    if (k < 0) {
        char tmp[72];
        show_value(key ? key : "(null)", tmp, sizeof tmp);
        set_err(cfg, "%s: unknown key", tmp);
        return EVD_EINVAL;
    }
    if (!value) {
        /* NULL restores the default. */
        free(cfg->val[k]);
        cfg->val[k] = NULL;
        set_origin(cfg, k, NULL);
        if (KEYS[k].type == KT_PWLIST && reset_guest_default(cfg) != 0) {
            set_err(cfg, "%s: out of memory", KEYS[k].name);
            return EVD_ENOMEM;
        }
        return 0;
    }
    int rc = set_key(cfg, k, value, msg, sizeof msg);
    if (rc != 0)
        set_err(cfg, "%s: %s", KEYS[k].name, msg);
    else
        set_origin(cfg, k, NULL);
    return rc;
}

int evd_config_apply_env(evd_config *cfg)
{
    char msg[ERR_MAX - 80];
    char var[64];
    if (!cfg)
        return EVD_EINVAL;
    evd_config *scratch = config_clone(cfg);
    if (!scratch) {
        set_err(cfg, "out of memory");
        return EVD_ENOMEM;
    }
    for (int k = 0; k < NKEYS; k++) {
        snprintf(var, sizeof var, "EVODASH_%s", KEYS[k].name);
        const char *v = getenv(var);
        if (!v)
            continue;
        int rc = set_key(scratch, k, v, msg, sizeof msg);
        if (rc == 0 && set_origin(scratch, k, var))
            rc = EVD_ENOMEM;
        if (rc != 0) {
            set_err(cfg, "%s: %s", var, rc == EVD_ENOMEM ? "out of memory" : msg);
            evd_config_free(scratch);
            return rc;
        }
    }
    config_take(cfg, scratch);
    return 0;
}

const char *evd_config_get(const evd_config *cfg, const char *key)
{
    int k = key_index(key);
    if (k < 0)
        return NULL;
    if (cfg && cfg->val[k])
        return cfg->val[k];
    if (!KEYS[k].def && cfg && !strcmp(KEYS[k].name, "INSTANCE"))
        return cfg->instance_def;
    return KEYS[k].def;
}

const char *evd_config_errmsg(const evd_config *cfg)
{
    if (!cfg)
        return "no configuration (NULL handle, or out of memory)";
    return cfg->err;
}

/* ---- internal readers ---------------------------------------------------- */

const char *config_str(const evd_config *cfg, const char *key)
{
    return evd_config_get(cfg, key);
}

long config_int(const evd_config *cfg, const char *key)
{
    const char *s = evd_config_get(cfg, key);
    long v;
    if (!s || parse_long(s, &v))
        return 0;
    return v;
}

double config_double(const evd_config *cfg, const char *key)
{
    const char *s = evd_config_get(cfg, key);
    double v;
    if (!s || parse_double(s, &v))
        return 0;
    return v;
}

int config_bool(const evd_config *cfg, const char *key)
{
    const char *s = evd_config_get(cfg, key);
    return s && parse_bool(s) == 1;
}

const char *config_origin(const evd_config *cfg, const char *key)
{
    int k = key_index(key);
    return cfg && k >= 0 ? cfg->origin[k] : NULL;
}

int config_is_set(const evd_config *cfg, const char *key)
{
    int k = key_index(key);
    return cfg && k >= 0 && cfg->val[k] != NULL;
}

int config_guest_password(const evd_config *cfg, int i, const char **out)
{
    if (out)
        *out = NULL;
    if (!cfg || i < 0 || i >= cfg->nguest)
        return 0;
    if (out)
        *out = cfg->guest[i];
    return cfg->nguest;
}

/* ---- the file ------------------------------------------------------------ */

typedef struct parse_ctx {
    evd_config *cfg; /* the scratch copy */
    const char *path;
    FILE *f;
    char line[1024]; /* inih's own limit (num) is lower */
    int lineno;
    int indented;  /* the line inih is on began with blanks (a continuation) */
    int have_name; /* a key was seen since the last section header, as inih tracks */
    int err_line;  /* line of the first error in file order; 0 for none */
    int rc;
    int read_errno;
    char err[ERR_MAX];
    int pend_key; /* the key whose value may still continue, or -1 */
    int pend_line;
    char *pend_val;
} parse_ctx;

static void fail_at(parse_ctx *p, int line, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail_at(parse_ctx *p, int line, int rc, const char *fmt, ...)
{
    if (p->err_line && p->err_line <= line)
        return;
    int off = snprintf(p->err, sizeof p->err, "%s:%d: ", p->path, line);
    if (off >= 0 && (size_t)off < sizeof p->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err + off, sizeof p->err - (size_t)off, fmt, ap);
        va_end(ap);
    }
    p->err_line = line;
    p->rc = rc;
}

static void commit_pending(parse_ctx *p)
{
    char msg[ERR_MAX - 120];
    if (p->pend_key < 0)
        return;
    int rc = set_key(p->cfg, p->pend_key, p->pend_val, msg, sizeof msg);
    if (rc == 0) {
        char where[PATH_MAX + 16];
        snprintf(where, sizeof where, "%s:%d", p->path, p->pend_line);
        if (set_origin(p->cfg, p->pend_key, where))
            fail_at(p, p->pend_line, EVD_ENOMEM, "out of memory");
    } else
        fail_at(p, p->pend_line, rc, "%s: %s", KEYS[p->pend_key].name, msg);
    free(p->pend_val);
    p->pend_val = NULL;
    p->pend_key = -1;
}

static char *reader(char *str, int num, void *stream)
{
    parse_ctx *p = stream;
    if (p->err_line || num < 2)
        return NULL;
    /* Bounded, unlike getline(): a huge file without newlines must not be
     * read into memory whole. */
    ssize_t n = 0;
    int c;
    errno = 0;
    while ((c = getc(p->f)) != EOF) {
        if ((size_t)n < sizeof p->line - 1)
            p->line[n] = (char)c;
        n++;
        if (c == '\n' || (size_t)n > sizeof p->line - 1)
            break;
    }
    if (c == EOF && ferror(p->f)) {
        p->read_errno = errno ? errno : EIO;
        return NULL;
    }
    if (n == 0)
        return NULL;
    p->lineno++;
    if ((size_t)n > sizeof p->line - 1) {
        fail_at(p, p->lineno, EVD_EINVAL, "line longer than %d characters", num - 1);
        return NULL;
    }
    p->line[n] = '\0';
    char *s = p->line;
    if (memchr(s, '\0', (size_t)n)) {
        fail_at(p, p->lineno, EVD_EINVAL, "binary data (a NUL byte): not an INI file");
        return NULL;
    }
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    if (p->lineno == 1 && n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) {
        s += 3;
        n -= 3;
    }
    if (n > num - 1) {
        fail_at(p, p->lineno, EVD_EINVAL, "line longer than %d characters", num - 1);
        return NULL;
    }

    /* Mirror inih's order: comment, continuation, section, key. */
    const char *t = s;
    while (*t == ' ' || *t == '\t')
        t++;
    p->indented = 0;
    if (*t == ';' || *t == '#' || !*t) {
        /* comment or blank */
    } else if (t > s && p->have_name) {
        p->indented = 1;
    } else if (*t == '[') {
        const char *end = strchr(t + 1, ']');
        if (end) {
            const char *a = t + 1;
            while (a < end && isspace((unsigned char)*a))
                a++;
            const char *b = end;
            while (b > a && isspace((unsigned char)b[-1]))
                b--;
            int known = 0;
            for (int i = 0; i < NSECTIONS; i++)
                if ((size_t)(b - a) == strlen(SECTIONS[i]) &&
                    !strncasecmp(a, SECTIONS[i], (size_t)(b - a)))
                    known = 1;
            if (!known) {
                char tmp[72], raw[80];
                snprintf(raw, sizeof raw, "%.*s", (int)(end - t - 1 < 70 ? end - t - 1 : 70),
                         t + 1);
                show_value(raw, tmp, sizeof tmp);
                fail_at(p, p->lineno, EVD_EINVAL,
                        "[%s]: unknown section (expected [dashboard], [authentication], "
                        "[database] or [visualization])",
                        tmp);
                return NULL;
            }
            p->have_name = 0;
        }
    } else {
        p->have_name = 1;
    }
    memcpy(str, s, (size_t)n + 1);
    return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx *p = user;
    if (p->err_line)
        return 1;
    if (p->indented) {
        if (p->pend_key < 0)
            return 1;
        size_t a = strlen(p->pend_val), b = strlen(value);
        char *grown = realloc(p->pend_val, a + b + 2);
        if (!grown) {
            fail_at(p, p->lineno, EVD_ENOMEM, "out of memory");
            return 1;
        }
        grown[a] = '\n';
        memcpy(grown + a + 1, value, b + 1);
        p->pend_val = grown;
        return 1;
    }
    commit_pending(p);
    char shown[72];
    show_value(name, shown, sizeof shown);
    if (!*section) {
        fail_at(p, p->lineno, EVD_EINVAL, "%s: key outside any section (start with [dashboard])",
                shown);
        return 1;
    }
    int k = key_index(name);
    if (k < 0) {
        fail_at(p, p->lineno, EVD_EINVAL, "%s: unknown key (docs/config.md lists the keys)", shown);
        return 1;
    }
    p->pend_val = strdup(value);
    if (!p->pend_val) {
        fail_at(p, p->lineno, EVD_ENOMEM, "out of memory");
        return 1;
    }
    p->pend_key = k;
    p->pend_line = p->lineno;
    return 1;
}

int evd_config_load(evd_config *cfg, const char *path)
{
    parse_ctx p;
    int rc = 0;
    struct stat st;

    if (!cfg)
        return EVD_EINVAL;
    if (!path) {
        set_err(cfg, "no config file given");
        return EVD_EINVAL;
    }
    memset(&p, 0, sizeof p);
    p.path = path;
    p.pend_key = -1;
    p.f = fopen(path, "re");
    if (!p.f) {
        set_err(cfg, "%s: cannot open: %s", path, strerror(errno));
        return errno == ENOENT || errno == ENOTDIR || errno == EACCES ? EVD_ENOENT : EVD_EIO;
    }
    if (fstat(fileno(p.f), &st) != 0 || !S_ISREG(st.st_mode)) {
        set_err(cfg, "%s: cannot open: not a regular file", path);
        fclose(p.f);
        return EVD_ENOENT;
    }
    p.cfg = config_clone(cfg);
    if (!p.cfg) {
        set_err(cfg, "%s: out of memory", path);
        fclose(p.f);
        return EVD_ENOMEM;
    }

    int ini = ini_parse_stream(reader, &p, handler, &p);
    commit_pending(&p);
    if (ini > 0)
        fail_at(&p, ini, EVD_EINVAL,
                "syntax error: expected KEY=VALUE, [section] or a ; or # comment");
    else if (ini < 0 && !p.err_line)
        fail_at(&p, p.lineno, EVD_ENOMEM, "the INI parser ran out of memory");
    if (p.read_errno && !p.err_line) {
        snprintf(p.err, sizeof p.err, "%s:%d: read error: %s", path, p.lineno + 1,
                 strerror(p.read_errno));
        p.rc = EVD_EIO;
        p.err_line = p.lineno + 1;
    }

    if (p.err_line) {
        rc = p.rc ? p.rc : EVD_EINVAL;
        memcpy(cfg->err, p.err, sizeof cfg->err);
        evd_config_free(p.cfg);
    } else {
        config_take(cfg, p.cfg);
    }
    free(p.pend_val);
    fclose(p.f);
    return rc;
}
