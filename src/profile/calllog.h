/* calllog.h — one line of the call log (docs/formats.md): KIND NAME TS [TID]. */
#ifndef EVD_PROFILE_CALLLOG_H
#define EVD_PROFILE_CALLLOG_H

#include <stddef.h>
#include <stdint.h>

enum cl_kind { CL_START = 0, CL_END = 1, CL_ROOT_START = 2, CL_ROOT_END = 3 };

#define CL_NO_TID UINT64_MAX /* a 3-column line */

struct cl_line {
    enum cl_kind kind;
    const char *name; /* borrowed from the line */
    size_t name_len;
    int64_t ts;   /* ns since the epoch */
    uint64_t tid; /* CL_NO_TID for 3 columns */
};

/* Parse one line (len bytes, need not be NUL-terminated).  Returns 0 and
 * fills *out, 1 for a blank or '#' comment line, or -1 with *why set to a
 * static explanation for a malformed line. */
int cl_parse_line(const char *s, size_t len, struct cl_line *out, const char **why);

/* Parse epoch seconds with a fraction ("1629190398.3588154") into ns without
 * going through a double, so that no precision is lost.  Returns 0 or -1. */
int cl_parse_epoch_s(const char *s, size_t len, int64_t *ns);

#endif
