/* dashview.c — the dashboard, mounted in the Flask app at /<CUSTOM_LINK>.
 *
 * The view turns the WSGI environ into an evd_dash_request and answers with
 * what the C dashboard handler returns, as a (body, status, headers)
 * tuple.  The handler is opened lazily, in the process that serves the
 * first dashboard request: a gunicorn master that imported the app never
 * carries a database connection across fork.  Opening and handling run
 * with the GIL released; open_mu is taken only after releasing it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "module.h"

static pthread_mutex_t open_mu = PTHREAD_MUTEX_INITIALIZER;

#define MAX_HEADERS 64

/* Open the handler for this process.  Called with the GIL; returns the
 * handle or NULL with an exception. */
static evd_dash *dash_get(Binding *b)
{
    if (b->dash && b->dash_pid == (long)getpid())
        return b->dash;
    /* A handle inherited across fork is left alone, never closed: its
     * SQLite connections belong to the parent. */
    b->dash = NULL;
    evd_config *cfg = config_of(b->config);
    if (!cfg)
        return NULL;
    evd_dash *d = NULL;
    int rc;
    char err[512] = "";
    PyThreadState *ts = PyEval_SaveThread();
    pthread_mutex_lock(&open_mu);
    rc = evd_dash_open(cfg, NULL, &d);
    if (rc && d)
        snprintf(err, sizeof err, "%s", evd_dash_errmsg(d));
    pthread_mutex_unlock(&open_mu);
    PyEval_RestoreThread(ts);
    if (rc && !evd_dash_serves(d)) { /* a store that is down is retried, not fatal */
        evd_dash_close(d);
        PyErr_Format(EvodashError, "evodash dashboard: %s", *err ? err : "out of memory");
        return NULL;
    }
    if (b->dash) { /* another thread won the race */
        evd_dash_close(d);
        return b->dash;
    }
    evd_dash_set_agent(d, b->agent); /* this worker's own counters, live */
    b->dash = d;
    b->dash_pid = (long)getpid();
    return d;
}

void dashview_close(Binding *b)
{
    if (b->dash && b->dash_pid == (long)getpid()) {
        evd_dash *d = b->dash;
        b->dash = NULL;
        PyThreadState *ts = PyEval_SaveThread();
        evd_dash_close(d);
        PyEval_RestoreThread(ts);
    }
    b->dash = NULL;
}

/* WSGI strings are latin-1 code points of the raw bytes: get the bytes.
 * New reference or NULL. */
static PyObject *wsgi_bytes(PyObject *env, const char *key)
{
    PyObject *v = PyDict_GetItemString(env, key);
    if (!v || !PyUnicode_Check(v))
        return PyBytes_FromString("");
    PyObject *b = PyUnicode_AsLatin1String(v);
    if (!b) { /* not a WSGI string after all */
        PyErr_Clear();
        b = PyUnicode_AsUTF8String(v);
    }
    return b;
}

static PyObject *dash_vcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    (void)args;
    (void)nargsf;
    (void)kwnames;
    Binding *b = ((BoundCall *)self)->b;
    reqctx *c = reqctx_get();
    if (!c || !c->environ || !PyDict_Check(c->environ)) {
        PyErr_SetString(EvodashError, "the dashboard view needs evodash's WSGI middleware");
        return NULL;
    }
    evd_dash *d = dash_get(b);
    if (!d)
        return NULL;
    PyObject *env = Py_NewRef(c->environ), *result = NULL, *body = NULL;
    PyObject *method = wsgi_bytes(env, "REQUEST_METHOD"), *path = wsgi_bytes(env, "PATH_INFO");
    PyObject *query = wsgi_bytes(env, "QUERY_STRING"), *remote = wsgi_bytes(env, "REMOTE_ADDR");
    PyObject *hnames = PyList_New(0), *hvalues = PyList_New(0);
    evd_dash_header hdrs[MAX_HEADERS];
    size_t nh = 0;
    evd_dash_response rs;
    memset(&rs, 0, sizeof rs);
    if (!method || !path || !query || !remote || !hnames || !hvalues)
        goto done;
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    while (PyDict_Next(env, &pos, &k, &v) && nh < MAX_HEADERS) {
        const char *key = PyUnicode_Check(k) ? PyUnicode_AsUTF8(k) : NULL;
        if (!key || !PyUnicode_Check(v))
            continue;
        const char *hn = !strncmp(key, "HTTP_", 5)        ? key + 5
                         : !strcmp(key, "CONTENT_TYPE")   ? key
                         : !strcmp(key, "CONTENT_LENGTH") ? key
                                                          : NULL;
        if (!hn)
            continue;
        char name[128];
        size_t n = 0;
        for (; hn[n] && n < sizeof name - 1; n++)
            name[n] = hn[n] == '_' ? '-' : hn[n];
        name[n] = 0;
        PyObject *pn = PyBytes_FromString(name), *pv = PyUnicode_AsLatin1String(v);
        if (!pn || !pv || PyList_Append(hnames, pn) || PyList_Append(hvalues, pv)) {
            Py_XDECREF(pn);
            Py_XDECREF(pv);
            PyErr_Clear();
            continue;
        }
        hdrs[nh].name = PyBytes_AS_STRING(pn);
        hdrs[nh].value = PyBytes_AS_STRING(pv);
        nh++;
        Py_DECREF(pn);
        Py_DECREF(pv);
    }
    PyErr_Clear();
    /* The body through werkzeug, which honours CONTENT_LENGTH and caches it. */
    PyObject *rq = PyDict_GetItemString(env, "werkzeug.request");
    body = rq ? PyObject_CallMethod(rq, "get_data", NULL) : PyBytes_FromString("");
    if (!body || !PyBytes_Check(body))
        goto done;
    evd_dash_request rq_c = {
        .method = PyBytes_AS_STRING(method),
        .path = PyBytes_AS_STRING(path),
        .query = PyBytes_GET_SIZE(query) ? PyBytes_AS_STRING(query) : NULL,
        .headers = hdrs,
        .nheaders = nh,
        .body = PyBytes_GET_SIZE(body) ? PyBytes_AS_STRING(body) : NULL,
        .body_len = (size_t)PyBytes_GET_SIZE(body),
        .remote_ip = PyBytes_GET_SIZE(remote) ? PyBytes_AS_STRING(remote) : NULL,
    };
    char *out = NULL;
    size_t len = 0, capn = 0;
    int rc, rd_err = 0;
    PyThreadState *ts = PyEval_SaveThread();
    rc = evd_dash_handle(d, &rq_c, &rs);
    if (rc == 0 && !rs.body && rs.stream_) {
        for (;;) {
            if (capn - len < 65536) {
                char *p = realloc(out, capn = capn ? capn * 2 : 262144);
                if (!p) {
                    rd_err = 1;
                    break;
                }
                out = p;
            }
            long r = evd_dash_response_read(&rs, out + len, capn - len);
            if (r <= 0) {
                rd_err = r < 0;
                break;
            }
            len += (size_t)r;
        }
    }
    PyEval_RestoreThread(ts);
    if (rc || rd_err) {
        free(out);
        PyErr_SetString(EvodashError, "the dashboard could not answer (out of memory?)");
        goto done;
    }
    PyObject *payload = rs.body ? PyBytes_FromStringAndSize(rs.body, (Py_ssize_t)rs.body_len)
                                : PyBytes_FromStringAndSize(out ? out : "", (Py_ssize_t)len);
    free(out);
    PyObject *headers =
        payload ? Py_BuildValue("[(ss)]", "Content-Type",
                                rs.content_type ? rs.content_type : "application/octet-stream")
                : NULL;
    if (headers && rs.set_cookie[0]) {
        PyObject *ck = Py_BuildValue("(ss)", "Set-Cookie", rs.set_cookie);
        if (!ck || PyList_Append(headers, ck))
            Py_CLEAR(headers);
        Py_XDECREF(ck);
    }
    if (headers)
        result = Py_BuildValue("(OiO)", payload, rs.status, headers);
    Py_XDECREF(payload);
    Py_XDECREF(headers);
done:
    evd_dash_response_free(&rs);
    Py_XDECREF(body);
    Py_XDECREF(method);
    Py_XDECREF(path);
    Py_XDECREF(query);
    Py_XDECREF(remote);
    Py_XDECREF(hnames);
    Py_XDECREF(hvalues);
    Py_DECREF(env);
    return result;
}

PyObject *dashview_new(Binding *b)
{
    return boundcall_new(&DashView_Type, dash_vcall, b, NULL);
}

PyTypeObject DashView_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "evodash._evodash.DashView",
    .tp_basicsize = sizeof(BoundCall),
    .tp_dealloc = boundcall_dealloc,
    .tp_vectorcall_offset = offsetof(BoundCall, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "The evodash dashboard as a Flask view.",
    .tp_traverse = boundcall_traverse,
    .tp_clear = boundcall_clear,
};
