/* ci_glue.c — the CI side of the binding: the running test (the pytest
 * plugin sets it per test; a request's X-Evodash-Test header names it when
 * TEST_HEADER is on), and the plugin's build, stored into the app's own
 * store in one transaction or, for an upload, given the calls the app
 * recorded there.  The parsing and storing are libevodash's, shared with
 * the dashboard's upload route and `evodash collect`. */
#include <string.h>

#include "module.h"
#include "core/clock.h"
#include "dash/ci_report.h"
#include "store/ci.h"
#include "store/store.h"

/* Binding.test_set(name or None): the test every request begun from now
 * on belongs to (the plugin calls it around each test). */
PyObject *ci_test_set(PyObject *self, PyObject *arg)
{
    Binding *b = (Binding *)self;
    int id = 0, rc = 0;
    if (!b->agent)
        Py_RETURN_NONE;
    if (arg != Py_None) {
        const char *name = PyUnicode_AsUTF8(arg);
        if (!name)
            return NULL;
        rc = evd_test_register(b->agent, name, &id);
    }
    if (!rc)
        rc = evd_test_set(b->agent, id);
    if (rc) {
        PyErr_Format(EvodashError, "evodash: %s", evd_errmsg(b->agent));
        return NULL;
    }
    Py_RETURN_NONE;
}

PyObject *ci_database(PyObject *self, PyObject *unused)
{
    (void)unused;
    Binding *b = (Binding *)self;
    evd_config *cfg = config_of(b->config);
    const char *db = cfg ? evd_config_get(cfg, "DATABASE") : NULL;
    return db ? PyUnicode_FromString(db) : NULL;
}

PyObject *ci_service(PyObject *self, PyObject *unused)
{
    (void)unused;
    Binding *b = (Binding *)self;
    return PyUnicode_FromString(b->agent ? evd_service(b->agent) : "");
}

int ci_header_test(Binding *b, PyObject *environ)
{
    static PyObject *key;
    if (!key && !(key = PyUnicode_InternFromString("HTTP_X_EVODASH_TEST"))) {
        PyErr_Clear();
        return 0;
    }
    PyObject *v = PyDict_Check(environ) ? PyDict_GetItemWithError(environ, key) : NULL;
    if (!v || !PyUnicode_Check(v) || !PyUnicode_GET_LENGTH(v)) {
        PyErr_Clear();
        return 0;
    }
    if (!b->test_ids && !(b->test_ids = PyDict_New())) {
        PyErr_Clear();
        return 0;
    }
    PyObject *known = PyDict_GetItemWithError(b->test_ids, v);
    if (known)
        return (int)PyLong_AsLong(known);
    const char *name = PyUnicode_AsUTF8(v);
    int id = 0;
    if (!name || evd_test_register(b->agent, name, &id)) {
        PyErr_Clear();
        return 0;
    }
    PyObject *idv = PyLong_FromLong(id);
    if (!idv || PyDict_SetItem(b->test_ids, v, idv))
        PyErr_Clear();
    Py_XDECREF(idv);
    return id;
}

/* ci_store(database, report_json) -> dict: store the build in one
 * transaction, claiming the calls the app recorded for its tests. */
PyObject *ci_store_py(PyObject *self, PyObject *args)
{
    (void)self;
    const char *db, *json;
    Py_ssize_t len;
    if (!PyArg_ParseTuple(args, "ss#", &db, &json, &len))
        return NULL;
    char err[400];
    ci_report rep;
    store *st = NULL;
    store_ci_stored out = {0};
    PyThreadState *ts = PyEval_SaveThread();
    int rc = ci_report_parse(json, (size_t)len, clock_real_ns() / 1000, &rep, err, sizeof err);
    if (!rc && (rc = store_open(db, 0, &st)) == 0)
        rc = store_ci_put(st, &rep.b, &out);
    if (rc && st)
        snprintf(err, sizeof err, "%s", store_errmsg(st));
    char shown[512];
    snprintf(shown, sizeof shown, "%s", st ? store_display_url(st) : "");
    store_close(st);
    ci_report_free(&rep);
    PyEval_RestoreThread(ts);
    if (rc) {
        PyErr_SetString(EvodashError, err);
        return NULL;
    }
    return Py_BuildValue("{s:L,s:L,s:L,s:L,s:s}", "build_id", (long long)out.build_id, "tests",
                         (long long)out.tests, "calls", (long long)out.calls, "claimed",
                         (long long)out.claimed, "store", shown);
}

typedef struct attach_ctx {
    json_t *calls;
} attach_ctx;

static int attach_call(void *u, const store_ci_call *c)
{
    attach_ctx *a = u;
    json_t *o =
        json_pack("{s:s,s:I,s:I,s:i}", "endpoint", c->endpoint, "duration_us",
                  (json_int_t)c->duration_us, "ts_us", (json_int_t)c->ts_us, "status", c->status);
    return o && !json_array_append_new(a->calls, o) ? 0 : EVD_ENOMEM;
}

/* ci_attach(database, report_json) -> report_json: the report with each
 * test's recorded calls, for an upload to a dashboard elsewhere. */
PyObject *ci_attach_py(PyObject *self, PyObject *args)
{
    (void)self;
    const char *db, *json;
    Py_ssize_t len;
    if (!PyArg_ParseTuple(args, "ss#", &db, &json, &len))
        return NULL;
    char err[400] = "out of memory";
    ci_report rep;
    store *st = NULL;
    char *body = NULL;
    PyThreadState *ts = PyEval_SaveThread();
    int rc = ci_report_parse(json, (size_t)len, clock_real_ns() / 1000, &rep, err, sizeof err);
    if (!rc)
        rc = store_open(db, STORE_RDONLY, &st);
    json_t *tests = rep.doc ? json_object_get(rep.doc, "tests") : NULL;
    for (size_t i = 0; !rc && i < rep.b.ntests; i++) {
        const store_ci_test *t = &rep.b.tests[i];
        attach_ctx a = {json_array()};
        if (!a.calls || json_object_set_new(json_array_get(tests, i), "calls", a.calls)) {
            rc = EVD_ENOMEM;
            break;
        }
        rc = store_ci_unclaimed(st, rep.b.service, t->suite, t->name, t->from_us, t->to_us,
                                attach_call, &a);
    }
    if (rc && st && rc != EVD_ENOMEM)
        snprintf(err, sizeof err, "%s", store_errmsg(st));
    if (!rc && !(body = json_dumps(rep.doc, JSON_COMPACT)))
        rc = EVD_ENOMEM;
    store_close(st);
    ci_report_free(&rep);
    PyEval_RestoreThread(ts);
    if (rc) {
        free(body);
        PyErr_SetString(EvodashError, err);
        return NULL;
    }
    PyObject *r = PyUnicode_FromString(body);
    free(body);
    return r;
}
