/* fmd_convert.h — Flask-MonitoringDashboard's outlier text into what live
 * capture stores, with secrets masked as live capture masks them
 * (src/core/secret.c): the frames of a stack, and the details object
 * {url, headers, environ, values} the dashboard's outlier view shows.
 *
 * FMD keeps an outlier's request as three strings: str(request.headers)
 * ("Name: value" lines), str(request.environ) (a Python dict's repr) and
 * request.url; its stack as
 *   File: "app.py", line 12, in "slow": "time.sleep(1)"<br />File: ...
 * (flask_monitoringdashboard/core/profiler/outlier_profiler.py). */
#ifndef EVD_FMD_CONVERT_H
#define EVD_FMD_CONVERT_H

#include <jansson.h>

/* FMD's stacktrace as frames, "function\tfile\tline\n" each, outermost
 * first (as live capture stores them).  Reads FMD's format above and
 * traceback.format_stack() text ('  File "app.py", line 12, in slow' lines);
 * text in neither becomes one frame named by the text.  The code of each
 * line is not kept (live capture keeps none).  Returns a malloc'd string,
 * or NULL for an empty stack (FMD leaves it empty when the view's function
 * is not named like its endpoint) or out of memory. */
char *fmd_stack_frames(const char *text);

/* The outlier's details from FMD's request_url, request_header and
 * request_environment (each may be NULL): "url" with its query masked,
 * "headers" with secret-named headers masked, "environ" as live capture
 * shows a WSGI environ (values that are not strings by their type only,
 * the query in QUERY_STRING, REQUEST_URI and RAW_URI masked, secret-named
 * keys masked), "values" the URL's query parameters (first value of each,
 * secret-named ones masked).  A part that cannot be read is left out: its
 * text is never kept as it is.  NULL when out of memory. */
json_t *fmd_details(const char *url, const char *header, const char *environment);

/* "svmem(total=..., available=..., percent=..., ...)" (psutil's
 * virtual_memory()) as live capture's memory object {total_bytes,
 * available_bytes, used_bytes, used_percent}; NULL if it is not that. */
json_t *fmd_memory(const char *text);

/* "[12.5, 3.0]" (psutil's per-core percentages) as a JSON array; NULL if
 * it is not one. */
json_t *fmd_cpu(const char *text);

#endif
