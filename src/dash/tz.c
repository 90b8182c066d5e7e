/* tz.c — see tz.h.  TZif (RFC 8536) read by hand: glibc exposes no
 * per-zone offset lookup besides the process-global localtime_r.
 *
 * Debian ships "fat" TZif files, whose transitions run to 2037; past the
 * last transition we keep its offset (the POSIX footer rule is not read). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "dash/tz.h"

#define TZ_FILE_MAX (1 << 20)

struct tz_zone {
    char name[64];
    size_t n;       /* transitions */
    int64_t *at;    /* transition instants, ascending */
    int32_t *off;   /* offset in effect from at[i] */
    int32_t before; /* offset before the first transition */
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* A name is a relative path of letters, digits and _+-, no "..". */
static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (!n || n >= 64 || s[0] == '/' || strstr(s, ".."))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '+' || *s == '-' || *s == '/'))
            return 0;
    return 1;
}

static int parse(tz_zone *z, const unsigned char *b, size_t len)
{
    if (len < 44 || memcmp(b, "TZif", 4))
        return -1;
    int v2 = b[4] >= '2';
    size_t pos = 0;
    for (int pass = 0; pass < (v2 ? 2 : 1); pass++) {
        if (pos + 44 > len || memcmp(b + pos, "TZif", 4))
            return -1;
        const unsigned char *h = b + pos + 20;
        uint32_t isut = be32(h), isstd = be32(h + 4), leap = be32(h + 8), timecnt = be32(h + 12),
                 typecnt = be32(h + 16), charcnt = be32(h + 20);
        if (timecnt > 100000 || typecnt == 0 || typecnt > 256 || charcnt > 100000 ||
            leap > 100000 || isut > 256 || isstd > 256)
            return -1;
        size_t tsz = (pass == 0 && v2) ? 4 : (v2 ? 8 : 4);
        size_t lsz = tsz + 4;
        size_t body = timecnt * tsz + timecnt + typecnt * 6 + charcnt + leap * lsz + isstd + isut;
        pos += 44;
        if (pos + body > len)
            return -1;
        if (pass == 0 && v2) {
            pos += body;
            continue;
        }
        const unsigned char *t = b + pos, *idx = t + timecnt * tsz, *types = idx + timecnt;
        free(z->at);
        free(z->off);
        z->at = malloc((timecnt ? timecnt : 1) * sizeof *z->at);
        z->off = malloc((timecnt ? timecnt : 1) * sizeof *z->off);
        if (!z->at || !z->off)
            return -2;
        z->n = timecnt;
        for (uint32_t i = 0; i < timecnt; i++) {
            z->at[i] = tsz == 8 ? be64(t + i * 8) : (int64_t)(int32_t)be32(t + i * 4);
            if (idx[i] >= typecnt)
                return -1;
            z->off[i] = (int32_t)be32(types + idx[i] * 6);
        }
        /* RFC 8536: before the first transition, type 0 applies. */
        z->before = (int32_t)be32(types);
        for (uint32_t i = 1; i < timecnt; i++)
            if (z->at[i] <= z->at[i - 1])
                return -1;
        return 0;
    }
    return -1;
}

int tz_load(const char *name, const char *dir, tz_zone **out, char *err, size_t errcap)
{
    *out = NULL;
    if (!valid_name(name)) {
        snprintf(err, errcap, "tz: '%.60s' is not a time zone name", name);
        return EVD_EINVAL;
    }
    tz_zone *z = calloc(1, sizeof *z);
    if (!z)
        return EVD_ENOMEM;
    snprintf(z->name, sizeof z->name, "%s", name);
    if (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC")) {
        *out = z;
        return 0;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errcap, "tz: unknown time zone '%s'", name);
        free(z);
        return EVD_ENOENT;
    }
    unsigned char *buf = malloc(TZ_FILE_MAX);
    size_t len = buf ? fread(buf, 1, TZ_FILE_MAX, f) : 0;
    fclose(f);
    int rc = buf ? parse(z, buf, len) : -2;
    free(buf);
    if (rc) {
        snprintf(err, errcap, rc == -2 ? "tz: out of memory" : "tz: '%s' is not a TZif file", name);
        tz_free(z);
        return rc == -2 ? EVD_ENOMEM : EVD_EINVAL;
    }
    *out = z;
    return 0;
}

void tz_free(tz_zone *z)
{
    if (!z)
        return;
    free(z->at);
    free(z->off);
    free(z);
}

const char *tz_name(const tz_zone *z)
{
    return z->name;
}

int32_t tz_offset(const tz_zone *z, int64_t utc_s)
{
    if (!z->n || utc_s < z->at[0])
        return z->n ? z->before : 0;
    size_t lo = 0, hi = z->n; /* at[lo] <= utc_s < at[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->at[mid] <= utc_s)
            lo = mid;
        else
            hi = mid;
    }
    return z->off[lo];
}

static int64_t floordiv(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t tz_day(const tz_zone *z, int64_t utc_s)
{
    return floordiv(utc_s + tz_offset(z, utc_s), 86400);
}

int64_t tz_day_start(const tz_zone *z, int64_t day)
{
    int64_t local = day * 86400;
    /* Two rounds settle the offset unless midnight itself is skipped by a
     * transition; then the day starts at the transition, which the final
     * check finds. */
    int64_t t = local - tz_offset(z, local);
    t = local - tz_offset(z, t);
    while (tz_day(z, t) >= day && tz_day(z, t - 1) >= day)
        t -= 1800;
    while (tz_day(z, t) < day)
        t += 60;
    return t;
}
