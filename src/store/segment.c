/* segment.c — one (endpoint, instance, hour) of raw rows packed into one
 * value (raw_segments.data), and unpacked again.
 *
 * The layout is our own, little-endian, hand-written: no library on our
 * list packs columns of integers, and a fixed layout is checked for
 * bounds in a few lines.
 *
 *   0  'E' 'S' format(1) flags       flags bit 0: durations are 8 bytes
 *   4  u32 rows, u32 texts, u32 versions, u32 0
 *  20  versions: i64 each
 *      texts: u32 length, then the bytes (groups and IPs share them)
 *      columns, rows newest first: u32 time in the hour (us),
 *      u32 or i64 duration (us), i32 status, u32 version index,
 *      u32 group index, u32 IP index
 *
 * A NULL group or IP is packed as "", which is how the scan reads it. */
#include <stdlib.h>
#include <string.h>

#include "evodash.h"
#include "core/intern.h"
#include "store/segment.h"

#define SEG_FORMAT 1
#define SEG_HEAD   20
#define SEG_WIDE   0x1

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> 8 * i);
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> 8 * i);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static int newest_first(const void *a, const void *b)
{
    int64_t x = ((const seg_in *)a)->ts_us, y = ((const seg_in *)b)->ts_us;
    return (x < y) - (x > y);
}

/* Version ids are few in an hour: a linear search of the ones seen. */
static int64_t version_index(int64_t **v, size_t *n, size_t *cap, int64_t id)
{
    for (size_t i = 0; i < *n; i++)
        if ((*v)[i] == id)
            return (int64_t)i;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        int64_t *g = realloc(*v, c * sizeof *g);
        if (!g)
            return -1;
        *v = g;
        *cap = c;
    }
    (*v)[*n] = id;
    return (int64_t)(*n)++;
}

int seg_pack(int64_t hour, seg_in *in, size_t n, unsigned char **out, size_t *len)
{
    intern texts = {0};
    int64_t *vers = NULL;
    size_t nv = 0, vcap = 0;
    uint32_t *idx = malloc((n ? n : 1) * 3 * sizeof *idx); /* version, group, IP per row */
    int rc = EVD_ENOMEM, wide = 0;
    *out = NULL;
    *len = 0;
    if (!idx)
        return rc;
    if (n)
        qsort(in, n, sizeof *in, newest_first);
    for (size_t i = 0; i < n; i++) {
        const char *g = in[i].group ? in[i].group : "", *ip = in[i].ip ? in[i].ip : "";
        int64_t v = version_index(&vers, &nv, &vcap, in[i].version_id);
        int64_t gi = intern_id(&texts, g, strlen(g)), ii = intern_id(&texts, ip, strlen(ip));
        if (v < 0 || gi < 0 || ii < 0)
            goto done;
        idx[3 * i] = (uint32_t)v;
        idx[3 * i + 1] = (uint32_t)gi;
        idx[3 * i + 2] = (uint32_t)ii;
        if (in[i].duration_us < 0 || in[i].duration_us > UINT32_MAX)
            wide = 1;
    }
    size_t size = SEG_HEAD + nv * 8 + n * (4 + (wide ? 8 : 4) + 4 * 4);
    for (size_t t = 0; t < texts.n; t++)
        size += 4 + texts.v[t].len;
    unsigned char *p = malloc(size), *w = p;
    if (!p)
        goto done;
    memcpy(w, "ES", 2);
    w[2] = SEG_FORMAT;
    w[3] = wide ? SEG_WIDE : 0;
    put32(w + 4, (uint32_t)n);
    put32(w + 8, (uint32_t)texts.n);
    put32(w + 12, (uint32_t)nv);
    put32(w + 16, 0);
    w += SEG_HEAD;
    for (size_t i = 0; i < nv; i++, w += 8)
        put64(w, (uint64_t)vers[i]);
    for (size_t t = 0; t < texts.n; t++) {
        put32(w, (uint32_t)texts.v[t].len);
        memcpy(w + 4, texts.v[t].s, texts.v[t].len);
        w += 4 + texts.v[t].len;
    }
    for (size_t i = 0; i < n; i++, w += 4)
        put32(w, (uint32_t)(in[i].ts_us - hour * STORE_HOUR_US));
    for (size_t i = 0; i < n; i++, w += wide ? 8 : 4)
        if (wide)
            put64(w, (uint64_t)in[i].duration_us);
        else
            put32(w, (uint32_t)in[i].duration_us);
    for (size_t i = 0; i < n; i++, w += 4)
        put32(w, (uint32_t)in[i].status);
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < n; i++, w += 4)
            put32(w, idx[3 * i + c]);
    *out = p;
    *len = size;
    rc = 0;
done:
    intern_free(&texts);
    free(vers);
    free(idx);
    return rc;
}

static int grow(seg_rows *r, size_t more)
{
    if (r->n + more > r->cap) {
        size_t c = r->cap ? r->cap : 1024;
        while (c < r->n + more)
            c *= 2;
        store_raw_row *g = realloc(r->row, c * sizeof *g);
        if (!g)
            return EVD_ENOMEM;
        r->row = g;
        r->cap = c;
    }
    if (r->nmem == r->capmem) {
        size_t c = r->capmem ? r->capmem * 2 : 4;
        char **g = realloc(r->mem, c * sizeof *g);
        if (!g)
            return EVD_ENOMEM;
        r->mem = g;
        r->capmem = c;
    }
    return 0;
}

int seg_unpack(int64_t hour, const unsigned char *p, size_t len, seg_rows *r)
{
    if (len < SEG_HEAD || memcmp(p, "ES", 2) || p[2] != SEG_FORMAT || (p[3] & ~SEG_WIDE))
        return EVD_ECORRUPT;
    uint64_t n = get32(p + 4), nt = get32(p + 8), nv = get32(p + 12);
    int wide = p[3] & SEG_WIDE;
    size_t off = SEG_HEAD, textbytes = 0;
    if (nv > (len - off) / 8)
        return EVD_ECORRUPT;
    const unsigned char *vers = p + off;
    off += nv * 8;
    const unsigned char *texts = p + off;
    for (uint64_t t = 0; t < nt; t++) {
        if (len - off < 4 || get32(p + off) > len - off - 4)
            return EVD_ECORRUPT;
        textbytes += get32(p + off) + 1;
        off += 4 + get32(p + off);
    }
    uint64_t per = 4 + (wide ? 8 : 4) + 4 * 4;
    if (n > (len - off) / per || off + n * per != len)
        return EVD_ECORRUPT;
    if (grow(r, n))
        return EVD_ENOMEM;
    /* the texts, NUL-terminated, and where each starts */
    char *mem = malloc(textbytes + nt * sizeof(char *) + 1);
    if (!mem)
        return EVD_ENOMEM;
    char **at = (char **)mem, *s = mem + nt * sizeof(char *);
    const unsigned char *tp = texts;
    for (uint64_t t = 0; t < nt; t++) {
        uint32_t l = get32(tp);
        memcpy(s, tp + 4, l);
        s[l] = 0;
        at[t] = s;
        s += l + 1;
        tp += 4 + l;
    }
    const unsigned char *ts = p + off, *dur = ts + 4 * n, *st = dur + (wide ? 8 : 4) * n;
    const unsigned char *vi = st + 4 * n, *gi = vi + 4 * n, *ii = gi + 4 * n;
    store_raw_row *o = r->row + r->n;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t v = get32(vi + 4 * i), g = get32(gi + 4 * i), ip = get32(ii + 4 * i);
        if (v >= nv || g >= nt || ip >= nt) {
            free(mem);
            return EVD_ECORRUPT;
        }
        o[i] = (store_raw_row){.group = at[g],
                               .ip = at[ip],
                               .version_id = (int64_t)get64(vers + 8 * v),
                               .duration_us =
                                   wide ? (int64_t)get64(dur + 8 * i) : (int64_t)get32(dur + 4 * i),
                               .status = (int)(int32_t)get32(st + 4 * i),
                               .ts_us = hour * STORE_HOUR_US + get32(ts + 4 * i)};
    }
    r->n += n;
    r->mem[r->nmem++] = mem;
    return 0;
}

static int row_newest_first(const void *a, const void *b)
{
    int64_t x = ((const store_raw_row *)a)->ts_us, y = ((const store_raw_row *)b)->ts_us;
    return (x < y) - (x > y);
}

void seg_rows_sort(seg_rows *r)
{
    if (r->n)
        qsort(r->row, r->n, sizeof *r->row, row_newest_first);
}

void seg_rows_clear(seg_rows *r)
{
    for (size_t i = 0; i < r->nmem; i++)
        free(r->mem[i]);
    r->n = r->nmem = 0;
}

void seg_rows_free(seg_rows *r)
{
    seg_rows_clear(r);
    free(r->row);
    free(r->mem);
    memset(r, 0, sizeof *r);
}
