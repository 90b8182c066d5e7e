/* groupings.c — a request's group text read as several groupings.
 *
 * DESIGN — a service names the user group of a request with one text,
 * requests.group_name.  The Flask binding's group_by, given several
 * groupings, writes "name=value" pairs joined with ";" ("user=carol;
 * plan=free"); one unnamed grouping writes its value alone ("carol"); the
 * C API and FMD's importer store whatever the service gave.  The text is
 * kept as it is, and each grouping becomes a dimension of its own when the
 * raw rows are read (rawscan.c), not when they are written:
 *   - the hot path and the writer do no more than before (no parsing, no
 *     second row per grouping), and existing stores, FMD's imports and
 *     every other reader of group_name (exports, findings) see the same
 *     text as before;
 *   - the views that group by it already read the raw rows, one pass per
 *     (endpoint, range): splitting a text of at most EVD_GROUP_MAX bytes
 *     there costs less than a row's lookups.
 * A part without "=" is the unnamed grouping, called "group" (the default
 * of a single-name group_by, unchanged); a grouping named twice in one text
 * counts once, its first value.  Values are not escaped by the writers: a
 * value holding ";" or "=" is read as more parts. */
#include <string.h>

#include "dash/dash_int.h"

size_t groupings_split(const char *g, grouping_part *out, size_t max)
{
    size_t n = 0;
    if (!g)
        return 0;
    while (*g && n < max) {
        const char *end = strchr(g, ';');
        size_t len = end ? (size_t)(end - g) : strlen(g);
        const char *eq = memchr(g, '=', len);
        grouping_part p;
        if (eq) {
            size_t nlen = (size_t)(eq - g);
            p = (grouping_part){.name = g, .nlen = nlen, .value = eq + 1, .vlen = len - nlen - 1};
        } else {
            p = (grouping_part){.name = GROUPING_UNNAMED,
                                .nlen = strlen(GROUPING_UNNAMED),
                                .value = g,
                                .vlen = len};
        }
        int dup = 0;
        for (size_t i = 0; i < n && !dup; i++)
            dup = out[i].nlen == p.nlen && !memcmp(out[i].name, p.name, p.nlen);
        if (len && p.nlen && !dup)
            out[n++] = p;
        if (!end)
            break;
        g = end + 1;
    }
    return n;
}

int groupings_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

int groupings_value(const char *g, const char *name, const char **value, size_t *vlen)
{
    grouping_part part[GROUPINGS_PARTS_MAX];
    size_t np = groupings_split(g, part, GROUPINGS_PARTS_MAX), len = strlen(name);
    for (size_t i = 0; i < np; i++)
        if (part[i].nlen == len && !memcmp(part[i].name, name, len)) {
            *value = part[i].value;
            *vlen = part[i].vlen;
            return 1;
        }
    return 0;
}
