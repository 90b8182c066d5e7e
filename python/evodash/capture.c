/* capture.c — the agent's stack and details callbacks for Python.
 *
 * DESIGN
 *
 * The watchdog (outliers, level 2) and the sampler (profiler, level 3)
 * call these from their own threads, which hold no Python state and, by
 * the agent's contract, the agent's capture lock (cap_mu).  The GIL is
 * taken only here (PyGILState_Ensure), never on the request path, and the
 * request thread's Python stack is read through the thread-state list: the
 * `thread` argument is pthread_self() of the request thread, which is
 * what CPython stores as the thread state's thread_id.
 *
 * Waiting for the GIL while holding cap_mu is safe except around fork:
 * the agent's fork handler takes cap_mu in the forking thread, which holds
 * the GIL.  So an os.register_at_fork "before" hook raises fork_pending,
 * releases the GIL and waits until no callback is inside (in_cb == 0);
 * callbacks that start meanwhile give up before asking for the GIL.  At
 * interpreter exit, py_alive drops to 0 the same way, so no callback asks
 * for the GIL of a finalising interpreter.
 *
 * Frames are written outermost first as "function<TAB>file<TAB>line\n".
 * Secrets (Authorization, Cookie, passwords, tokens, ...) are masked in
 * headers, environ, form/query values and the URL's query string.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "module.h"
#include "core/details.h"
#include "core/secret.h"

#define MAX_FRAMES 256

static _Atomic int py_alive = 1;
static _Atomic int fork_pending;
static _Atomic int in_cb;

static int cb_enter(void)
{
    atomic_fetch_add(&in_cb, 1);
    if (!atomic_load(&py_alive) || atomic_load(&fork_pending) || !Py_IsInitialized() ||
        _Py_IsFinalizing()) {
        atomic_fetch_sub(&in_cb, 1);
        return 0;
    }
    return 1;
}

static void cb_leave(void)
{
    atomic_fetch_sub(&in_cb, 1);
}

/* Wait, with the GIL released, until no callback is running. */
static void drain_callbacks(void)
{
    struct timespec ts = {0, 200000};
    PyThreadState *st = PyEval_SaveThread();
    while (atomic_load(&in_cb) > 0)
        nanosleep(&ts, NULL);
    PyEval_RestoreThread(st);
}

PyObject *capture_before_fork(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    atomic_store(&fork_pending, 1);
    drain_callbacks();
    Py_RETURN_NONE;
}

PyObject *capture_after_fork(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    atomic_store(&fork_pending, 0);
    Py_RETURN_NONE;
}

PyObject *capture_after_fork_child(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    atomic_store(&in_cb, 0); /* the parent's callers did not come along */
    atomic_store(&fork_pending, 0);
    Py_RETURN_NONE;
}

void capture_shutdown(void)
{
    atomic_store(&py_alive, 0);
    drain_callbacks();
}

/* ---- stacks ---------------------------------------------------------------- */

static PyThreadState *find_thread(uint64_t thread)
{
    PyInterpreterState *is = PyInterpreterState_Main();
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(is); ts; ts = PyThreadState_Next(ts))
        if (ts->thread_id == (unsigned long)thread)
            return ts;
    return NULL;
}

/* Copy s into out[0..cap) with tabs and newlines made blanks (they
 * separate fields); returns the new length. */
static size_t put_field(char *out, size_t cap, size_t at, const char *s)
{
    for (; s && *s && at + 1 < cap; s++)
        out[at++] = (*s == '\t' || *s == '\n' || *s == '\r') ? ' ' : *s;
    out[at] = 0;
    return at;
}

/* Write ts's Python stack, outermost first; frames that do not fit are
 * left out whole.  Returns the length. */
static int write_stack(PyThreadState *ts, char *buf, size_t cap)
{
    PyFrameObject *frames[MAX_FRAMES];
    int n = 0;
    PyFrameObject *f = PyThreadState_GetFrame(ts);
    while (f && n < MAX_FRAMES) {
        frames[n++] = f;
        f = PyFrame_GetBack(f);
    }
    Py_XDECREF(f);
    size_t at = 0;
    buf[0] = 0;
    for (int i = n - 1; i >= 0; i--) {
        PyCodeObject *co = PyFrame_GetCode(frames[i]);
        const char *fn = PyUnicode_AsUTF8(co->co_qualname);
        const char *file = PyUnicode_AsUTF8(co->co_filename);
        if (!fn || !file)
            PyErr_Clear();
        char line[640];
        size_t len = put_field(line, 300, 0, fn ? fn : "?");
        line[len++] = '\t';
        len = put_field(line, len + 300, len, file ? file : "");
        len += (size_t)snprintf(line + len, sizeof line - len, "\t%d\n",
                                PyFrame_GetLineNumber(frames[i]));
        if (at + len < cap) {
            memcpy(buf + at, line, len + 1);
            at += len;
        }
        Py_DECREF(co);
    }
    for (int i = 0; i < n; i++)
        Py_DECREF(frames[i]);
    return (int)at;
}

int capture_stack(void *user, uint64_t thread, void *ctx, char *buf, size_t cap)
{
    (void)user;
    (void)ctx;
    if (cap < 128 || !cb_enter())
        return -1;
    PyGILState_STATE g = PyGILState_Ensure();
    PyThreadState *ts = find_thread(thread);
    int n = ts ? write_stack(ts, buf, cap) : -1;
    PyGILState_Release(g);
    cb_leave();
    return n;
}

/* ---- details ---------------------------------------------------------------- */

static const char *env_str(PyObject *env, const char *key)
{
    PyObject *v = PyDict_GetItemString(env, key);
    const char *s = v && PyUnicode_Check(v) ? PyUnicode_AsUTF8(v) : NULL;
    if (!s)
        PyErr_Clear();
    return s;
}

static json_t *url_of(PyObject *env)
{
    const char *scheme = env_str(env, "wsgi.url_scheme"), *host = env_str(env, "HTTP_HOST");
    const char *script = env_str(env, "SCRIPT_NAME"), *path = env_str(env, "PATH_INFO");
    const char *qs = env_str(env, "QUERY_STRING");
    char masked[2048], url[4096];
    secret_mask_query(qs ? qs : "", masked, sizeof masked);
    if (!host)
        host = env_str(env, "SERVER_NAME");
    snprintf(url, sizeof url, "%s://%s%s%s%s%s", scheme ? scheme : "http", host ? host : "",
             script ? script : "", path ? path : "", *masked ? "?" : "", masked);
    return json_string(url);
}

/* "HTTP_X_FORWARDED_FOR" -> "X-Forwarded-For" */
static void header_name(const char *key, char *out, size_t cap)
{
    size_t n = 0;
    int up = 1;
    for (; *key && n + 1 < cap; key++) {
        char ch = *key == '_' ? '-' : *key;
        out[n++] = up ? (char)toupper((unsigned char)ch) : (char)tolower((unsigned char)ch);
        up = ch == '-';
    }
    out[n] = 0;
}

/* Set obj[name] to value, masked when the full name `whole` is a secret
 * (name may be a shortened form of it). */
static void put_masked(json_t *obj, const char *name, const char *whole, const char *value)
{
    json_object_set_new(obj, name, json_string(secret_name(whole) ? SECRET_MASK : value));
}

static void headers_environ(PyObject *env, json_t *headers, json_t *environ)
{
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    char name[160], masked[2048];
    while (PyDict_Next(env, &pos, &k, &v)) {
        const char *key = PyUnicode_Check(k) ? PyUnicode_AsUTF8(k) : NULL;
        if (!key) {
            PyErr_Clear();
            continue;
        }
        /* Objects (the request, streams) are shown by type only: their
         * repr may hold the URL with its secrets. */
        PyObject *s =
            PyUnicode_Check(v) ? Py_NewRef(v) : PyUnicode_FromFormat("<%s>", Py_TYPE(v)->tp_name);
        const char *val = s ? PyUnicode_AsUTF8(s) : NULL;
        if (!val) {
            PyErr_Clear();
            Py_XDECREF(s);
            continue;
        }
        val = secret_environ_value(key, val, masked, sizeof masked);
        /* The whole environ key decides, not the shortened header name:
         * a secret word past its 159th byte still counts. */
        if (!strncmp(key, "HTTP_", 5)) {
            header_name(key + 5, name, sizeof name);
            put_masked(headers, name, key, val);
        } else if (!strcmp(key, "CONTENT_TYPE") || !strcmp(key, "CONTENT_LENGTH")) {
            header_name(key, name, sizeof name);
            put_masked(headers, name, key, val);
        }
        put_masked(environ, key, key, val);
        Py_DECREF(s);
    }
}

/* Add the items of a werkzeug MultiDict (first value per key). */
static void add_values(json_t *values, PyObject *md)
{
    PyObject *items = md ? PyObject_CallMethod(md, "items", NULL) : NULL;
    PyObject *it = items ? PyObject_GetIter(items) : NULL, *pair;
    while (it && (pair = PyIter_Next(it))) {
        PyObject *k =
            PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2 ? PyTuple_GET_ITEM(pair, 0) : NULL;
        PyObject *vs = k ? PyObject_Str(PyTuple_GET_ITEM(pair, 1)) : NULL;
        const char *key = k && PyUnicode_Check(k) ? PyUnicode_AsUTF8(k) : NULL;
        const char *val = vs ? PyUnicode_AsUTF8(vs) : NULL;
        if (key && val)
            put_masked(values, key, key, val);
        Py_XDECREF(vs);
        Py_DECREF(pair);
    }
    Py_XDECREF(it);
    Py_XDECREF(items);
    PyErr_Clear();
}

static json_t *values_of(PyObject *env)
{
    json_t *values = json_object();
    PyObject *rq = PyDict_GetItemString(env, "werkzeug.request");
    if (!rq || !values)
        return values;
    Py_INCREF(rq);
    /* args parses only the query string; form is read only if the view
     * already parsed it (parsing would consume the body under the view). */
    PyObject *args = PyObject_GetAttrString(rq, "args");
    add_values(values, args);
    Py_XDECREF(args);
    PyObject *d = PyObject_GetAttrString(rq, "__dict__");
    PyObject *form = d && PyDict_Check(d) ? PyDict_GetItemString(d, "form") : NULL;
    if (form)
        add_values(values, form);
    Py_XDECREF(d);
    Py_DECREF(rq);
    PyErr_Clear();
    return values;
}

/* The stacks of the process's other Python threads: neither the
 * capturing thread's own state nor the request's thread, whose stack is
 * the outlier's own. */
static json_t *other_threads(uint64_t request_thread, char *scratch, size_t cap)
{
    json_t *obj = json_object();
    PyInterpreterState *is = PyInterpreterState_Main();
    PyThreadState *self = PyThreadState_Get();
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(is); obj && ts;
         ts = PyThreadState_Next(ts)) {
        if (ts == self || ts->thread_id == (unsigned long)request_thread)
            continue;
        char key[32];
        snprintf(key, sizeof key, "%lu", ts->thread_id);
        write_stack(ts, scratch, cap);
        json_object_set_new(obj, key, json_string(scratch));
    }
    return obj;
}

int capture_details(void *user, uint64_t thread, void *ctx, char *buf, size_t cap)
{
    (void)user;
    reqctx *c = ctx;
    int n = -1;
    if (!c || cap < 16 || !cb_enter())
        return -1;
    PyGILState_STATE g = PyGILState_Ensure();
    /* The request may have ended between the watchdog's check and our
     * getting the GIL; its context then says so. */
    if (c->active <= 0 || c->thread != thread || !c->environ || !PyDict_Check(c->environ))
        goto done;
    PyObject *env = Py_NewRef(c->environ);
    json_t *o = json_object(), *headers = json_object(), *environ = json_object();
    char *scratch = malloc(8192);
    if (o && headers && environ && scratch) {
        json_object_set_new(o, "url", url_of(env));
        headers_environ(env, headers, environ);
        json_object_set(o, "headers", headers);
        json_object_set(o, "environ", environ);
        json_object_set_new(o, "values", values_of(env));
        json_object_set_new(o, "threads", other_threads(thread, scratch, 8192));
        /* Keep the whole object within cap: drop the bulky parts first. */
        static const char *const drop[] = {"threads", "environ", NULL};
        n = details_dump(o, drop, buf, cap);
    }
    free(scratch);
    json_decref(headers);
    json_decref(environ);
    json_decref(o);
    Py_DECREF(env);
    PyErr_Clear();
done:
    PyGILState_Release(g);
    cb_leave();
    return n;
}
