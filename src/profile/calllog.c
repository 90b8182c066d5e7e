/* calllog.c — parse call-log lines; see calllog.h. */
#include <string.h>

#include "profile/calllog.h"

static int parse_u64(const char *s, size_t len, uint64_t *v)
{
    uint64_t x = 0;
    if (len == 0 || len > 20)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}

/* The next blank-separated field of s[*pos..len). */
static int field(const char *s, size_t len, size_t *pos, const char **f, size_t *flen)
{
    size_t i = *pos;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i == len)
        return 0;
    size_t b = i;
    while (i < len && s[i] != ' ' && s[i] != '\t')
        i++;
    *f = s + b;
    *flen = i - b;
    *pos = i;
    return 1;
}

int cl_parse_line(const char *s, size_t len, struct cl_line *out, const char **why)
{
    const char *f[5];
    size_t fl[5], pos = 0;
    int n = 0;
    while (n < 5 && field(s, len, &pos, &f[n], &fl[n]))
        n++;
    if (n == 0 || f[0][0] == '#')
        return 1;
    if (n < 3 || n > 4) {
        *why = n < 3 ? "expected KIND NAME TIMESTAMP_NS [TID]: too few fields"
                     : "expected KIND NAME TIMESTAMP_NS [TID]: too many fields";
        return -1;
    }
    if (fl[0] == 5 && !memcmp(f[0], "start", 5))
        out->kind = CL_START;
    else if (fl[0] == 3 && !memcmp(f[0], "end", 3))
        out->kind = CL_END;
    else if (fl[0] == 9 && !memcmp(f[0], "startRoot", 9))
        out->kind = CL_ROOT_START;
    else if (fl[0] == 7 && !memcmp(f[0], "endRoot", 7))
        out->kind = CL_ROOT_END;
    else {
        *why = "unknown kind (expected start, end, startRoot or endRoot)";
        return -1;
    }
    uint64_t ts;
    if (parse_u64(f[2], fl[2], &ts) < 0 || ts > (uint64_t)INT64_MAX) {
        *why = "timestamp is not an integer of nanoseconds";
        return -1;
    }
    out->ts = (int64_t)ts;
    out->tid = CL_NO_TID;
    if (n == 4 && (parse_u64(f[3], fl[3], &out->tid) < 0 || out->tid == CL_NO_TID)) {
        *why = "thread id is not an unsigned integer";
        return -1;
    }
    out->name = f[1];
    out->name_len = fl[1];
    return 0;
}

int cl_parse_epoch_s(const char *s, size_t len, int64_t *ns)
{
    size_t i = 0;
    uint64_t sec = 0, frac = 0;
    int neg = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    size_t b = i;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        if (sec > 9000000000u)
            return -1;
        sec = sec * 10 + (uint64_t)(s[i++] - '0');
    }
    size_t int_digits = i - b, frac_digits = 0;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (frac_digits < 9) {
                frac = frac * 10 + (uint64_t)(s[i] - '0');
                frac_digits++;
            }
            i++;
        }
        for (size_t k = frac_digits; k < 9; k++)
            frac *= 10;
        frac_digits = frac_digits ? frac_digits : (size_t)(i > b + int_digits + 1);
    }
    if (i != len || (int_digits == 0 && frac_digits == 0))
        return -1;
    int64_t v = (int64_t)(sec * 1000000000u + frac);
    *ns = neg ? -v : v;
    return 0;
}
