/* config.h — internal view of evd_config (the public functions are in
 * evodash.h).  Values are validated when set, so readers never fail: they
 * get the value or the key's default.
 *
 * Keys (section [dashboard]; Flask-MonitoringDashboard's [authentication],
 * [database] and [visualization] sections are accepted too, for its files):
 *   APP_VERSION, GIT, CUSTOM_LINK, MONITOR_LEVEL (0..3, default 1),
 *   OUTLIER_DETECTION_CONSTANT (> 0, default 2.5), SAMPLING_PERIOD (ms > 0,
 *   default 5), ENABLE_LOGGING (bool), DATABASE (default
 *   sqlite:///evodash.db), TABLE_PREFIX (accepted, ignored), USERNAME,
 *   PASSWORD, GUEST_USERNAME, GUEST_PASSWORD (a string or a Python-style
 *   list of strings), SECURITY_TOKEN, TIMEZONE (IANA name, default UTC),
 *   BRAND_NAME, TITLE_NAME, DESCRIPTION, SHOW_LOGIN_BANNER,
 *   SHOW_LOGIN_FOOTER (bool), COLORS (accepted, kept as text),
 *   and evodash's own: RING_CAPACITY (power of two, 1024..16777216,
 *   default 65536), STACK_SIGNAL (offset from SIGRTMIN, 0..(SIGRTMAX-SIGRTMIN),
 *   default 3), INSTANCE (name of this process in the store, default
 *   host:pid), RETENTION_DAYS (raw rows kept, 0 = forever, default 0),
 *   HTTP_IDLE_TIMEOUT (s, 1..3600, default 30: idle connections to the
 *   dashboard's libmicrohttpd servers are closed after it),
 *   HTTP_CONN_PER_ADDRESS (0..1000, default 32: connections one client
 *   address may hold on those servers, 0 = no limit).
 */
#ifndef EVD_CONFIG_H
#define EVD_CONFIG_H

#include "evodash.h"

/* Deep copy.  Returns NULL on out of memory.  Caller frees with
 * evd_config_free(). */
evd_config *config_clone(const evd_config *cfg);

/* The key's value or its default (NULL if none).  Borrowed like
 * evd_config_get(). */
const char *config_str(const evd_config *cfg, const char *key);

/* Numeric and boolean readers for keys validated as such. */
long config_int(const evd_config *cfg, const char *key);
double config_double(const evd_config *cfg, const char *key);
int config_bool(const evd_config *cfg, const char *key);

/* Nonzero if the key was set (by file, code or environment), as opposed to
 * holding its default. */
int config_is_set(const evd_config *cfg, const char *key);

/* Where the key's value came from, for messages about it: "FILE:LINE"
 * (the line holding the key), "EVODASH_<KEY>" (the environment), or NULL
 * when it was set from code or holds its default.  Borrowed like
 * evd_config_get(). */
const char *config_origin(const evd_config *cfg, const char *key);

/* GUEST_PASSWORD may be a list.  Returns how many passwords there are and
 * sets *out to the i-th (borrowed), or returns 0. */
int config_guest_password(const evd_config *cfg, int i, const char **out);

#endif
