/* junit.h — the test cases of JUnit XML reports, as pytest (--junitxml),
 * ctest (--output-junit) and most other runners write them: <testcase
 * classname= name= time=> inside <testsuite>s, failed with <failure> or
 * <error>, skipped with <skipped>.  Read with libexpat, streaming. */
#ifndef EVD_CI_JUNIT_H
#define EVD_CI_JUNIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct junit_case {
    char *suite, *name;  /* suite: the classname, or "" */
    const char *outcome; /* "passed", "failed", "error" or "skipped" (static) */
    int64_t duration_us;
} junit_case;

typedef struct junit_set {
    junit_case *v;
    size_t n, cap;
} junit_set;

/* Append the test cases of the report buf[0..len) to *into; what names
 * it in messages.  Returns 0; EVD_EINVAL for malformed XML, a testcase
 * without a name or a bad time, or a report with no test case, with a
 * message naming what and the line in err; or EVD_ENOMEM.  Nothing is
 * appended on error. */
int junit_parse(const char *buf, size_t len, const char *what, junit_set *into, char *err,
                size_t errcap);
/* The same for a file; EVD_ENOENT when it cannot be read. */
int junit_read_file(const char *path, junit_set *into, char *err, size_t errcap);
void junit_set_free(junit_set *s); /* the cases, not s; s is left empty */

#endif
