/* upload.h — send a CI build to a dashboard (libcurl, so https works as
 * CI needs it). */
#ifndef EVD_CI_UPLOAD_H
#define EVD_CI_UPLOAD_H

#include <stddef.h>

/* POST json to DASHBOARD_URL/api/ci/builds with the bearer token.  Sets
 * *status to the HTTP status and reply[0..cap) to the body (cut to fit).
 * Returns 0 when an answer came (whatever its status), or EVD_EIO with a
 * message in err when none did. */
int ci_upload(const char *dashboard_url, const char *token, const char *json, long *status,
              char *reply, size_t cap, char *err, size_t errcap);

#endif
