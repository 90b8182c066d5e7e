/* tz.h — UTC offsets from the system's tz database (TZif files).
 *
 * Why not localtime_r: it reads the process-wide TZ, so serving two
 * requests with different zones at once would race on setenv/tzset.
 * Reading the TZif transitions ourselves gives the offset at any instant
 * for any zone, from any thread, and so stays right across DST changes. */
#ifndef EVD_DASH_TZ_H
#define EVD_DASH_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct tz_zone tz_zone;

/* Load zone name ("UTC", "Europe/Amsterdam") from dir (NULL: the system
 * zoneinfo folder).  Returns 0 or EVD_EINVAL / EVD_ENOENT / EVD_ENOMEM with
 * a message in err.  Caller frees with tz_free(). */
int tz_load(const char *name, const char *dir, tz_zone **out, char *err, size_t errcap);
void tz_free(tz_zone *z);
const char *tz_name(const tz_zone *z);

/* Seconds east of UTC in effect at utc_s. */
int32_t tz_offset(const tz_zone *z, int64_t utc_s);

/* The local day number (days since 1970-01-01 local) of utc_s. */
int64_t tz_day(const tz_zone *z, int64_t utc_s);
/* The UTC instant at which local day `day` starts. */
int64_t tz_day_start(const tz_zone *z, int64_t day);

#endif
