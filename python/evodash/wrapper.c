/* wrapper.c — the per-request hot path: the view Wrapper and the WSGI
 * middleware.
 *
 * DESIGN
 *
 * The Wrapper replaces a monitored view in app.view_functions.  It is a C
 * callable (vectorcall): it calls evd_req_begin_ctx(), the original view,
 * then evd_req_end() with the status taken from what the view returned or
 * raised, the groups and the client address.  Nothing here takes a lock or
 * releases the GIL; the agent's calls never block.
 *
 * The middleware wraps app.wsgi_app.  It remembers the request's environ
 * in a per-thread context (reqctx) so that the Wrapper can read the client
 * address, and the capture callbacks (watchdog/sampler threads, under the
 * GIL) the request details, without going through Flask's context locals.
 * It also triggers binding_sync() at most every SYNC_PERIOD, or when the
 * number of views changed, which is how routes added after bind and level
 * changes made in the dashboard reach this process.
 *
 * reqctx memory is never returned to the allocator while the module is
 * loaded: a thread that ends puts its context on a free list (under
 * free_mu, a leaf lock never held while waiting for the GIL), so a callback
 * that reads a context late reads valid memory.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"

typedef struct Wrapper {
    PyObject_HEAD vectorcallfunc vectorcall;
    Binding *b;     /* strong */
    PyObject *orig; /* strong */
    PyObject *name; /* strong */
    PyObject *dict; /* for functools-style attributes */
    int ep;
    int is_async; /* the view is a coroutine function */
} Wrapper;

/* ---- per-thread context ------------------------------------------------- */

static pthread_key_t ctx_key;
static pthread_mutex_t free_mu = PTHREAD_MUTEX_INITIALIZER;
static reqctx *free_list;
static __thread reqctx *tls_ctx;

static void ctx_release(void *p)
{
    reqctx *c = p;
    pthread_mutex_lock(&free_mu);
    c->next_free = free_list;
    free_list = c;
    pthread_mutex_unlock(&free_mu);
}

/* A thread may be ending (ctx_release) while another forks: the child
 * must not inherit free_mu locked. */
static void free_mu_lock(void)
{
    pthread_mutex_lock(&free_mu);
}

static void free_mu_unlock(void)
{
    pthread_mutex_unlock(&free_mu);
}

int reqctx_setup(void)
{
    if (pthread_key_create(&ctx_key, ctx_release))
        return -1;
    return pthread_atfork(free_mu_lock, free_mu_unlock, free_mu_unlock) ? -1 : 0;
}

reqctx *reqctx_get(void)
{
    reqctx *c = tls_ctx;
    if (c)
        return c;
    pthread_mutex_lock(&free_mu);
    c = free_list;
    if (c)
        free_list = c->next_free;
    pthread_mutex_unlock(&free_mu);
    if (!c && !(c = calloc(1, sizeof *c)))
        return NULL;
    c->environ = NULL;
    c->test = 0;
    c->active = 0;
    c->thread = (uint64_t)pthread_self();
    c->next_free = NULL;
    pthread_setspecific(ctx_key, c);
    tls_ctx = c;
    return c;
}

/* ---- status, groups, address -------------------------------------------- */

static int status_from_text(PyObject *s)
{
    const char *t = PyUnicode_Check(s) ? PyUnicode_AsUTF8(s) : PyBytes_AsString(s);
    if (!t) {
        PyErr_Clear();
        return 200;
    }
    int v = atoi(t);
    return v > 0 ? v : 200;
}

static int status_of(Binding *b, PyObject *res)
{
    if (PyUnicode_Check(res) || PyBytes_Check(res) || PyDict_Check(res) || PyList_Check(res))
        return 200;
    if (PyTuple_Check(res)) {
        Py_ssize_t n = PyTuple_GET_SIZE(res);
        if (n >= 2) {
            PyObject *x = PyTuple_GET_ITEM(res, 1);
            if (PyLong_Check(x)) {
                long v = PyLong_AsLong(x);
                if (v == -1 && PyErr_Occurred()) {
                    PyErr_Clear();
                    return 200;
                }
                return (int)v;
            }
            if (PyUnicode_Check(x) || PyBytes_Check(x))
                return status_from_text(x);
        }
        /* (body,) or (body, headers): the body decides */
        return n >= 1 ? status_of(b, PyTuple_GET_ITEM(res, 0)) : 200;
    }
    /* A Response (status_code) or a returned HTTPException (code). */
    int is_exc = b->http_exc ? PyObject_IsInstance(res, b->http_exc) : 0;
    if (is_exc < 0) {
        PyErr_Clear();
        is_exc = 0;
    }
    PyObject *code = PyObject_GetAttrString(res, is_exc ? "code" : "status_code");
    if (!code) {
        PyErr_Clear();
        return 200;
    }
    long v = PyLong_Check(code) ? PyLong_AsLong(code) : 200;
    Py_DECREF(code);
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        v = 200;
    }
    return (int)v;
}

/* Append s to buf[*at..cap), keeping it NUL-terminated. */
static void append(char *buf, size_t cap, size_t *at, const char *s)
{
    size_t n = strlen(s);
    if (*at + n >= cap)
        n = cap - 1 - *at;
    memcpy(buf + *at, s, n);
    *at += n;
    buf[*at] = 0;
}

/* "value" for one unnamed grouping, else "name=value" pairs joined with
 * ";".  A grouping function that fails is skipped (the request is still
 * recorded).  Returns buf, or NULL when there are no groups. */
static const char *groups_of(Binding *b, char *buf, size_t cap)
{
    /* Our own reference: a grouping function may let another thread run
     * and replace config.group_by meanwhile. */
    PyObject *list = b->group_by ? Py_NewRef(b->group_by) : NULL;
    Py_ssize_t n = list ? PyList_GET_SIZE(list) : 0;
    size_t at = 0;
    buf[0] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyList_GET_ITEM(list, i);
        PyObject *name = PyTuple_GET_ITEM(pair, 0), *fn = PyTuple_GET_ITEM(pair, 1);
        PyObject *v = PyObject_CallNoArgs(fn);
        PyObject *s = v ? PyObject_Str(v) : NULL;
        const char *t = s ? PyUnicode_AsUTF8(s) : NULL;
        if (t) {
            if (at)
                append(buf, cap, &at, ";");
            if (name != Py_None) {
                const char *nm = PyUnicode_AsUTF8(name);
                append(buf, cap, &at, nm ? nm : "?");
                append(buf, cap, &at, "=");
            }
            append(buf, cap, &at, t);
        }
        if (PyErr_Occurred())
            PyErr_Clear();
        Py_XDECREF(s);
        Py_XDECREF(v);
    }
    Py_XDECREF(list);
    return at ? buf : NULL;
}

static int is_trusted(Binding *b, const char *addr, size_t len)
{
    PyObject *s = PyUnicode_FromStringAndSize(addr, (Py_ssize_t)len);
    if (!s) {
        PyErr_Clear();
        return 0;
    }
    int r = PySet_Contains(b->trusted, s);
    Py_DECREF(s);
    if (r < 0) {
        PyErr_Clear();
        return 0;
    }
    return r;
}

/* The client address: get_ip() when configured; else REMOTE_ADDR, unless
 * that is a trusted proxy: then the right-most X-Forwarded-For entry that
 * is not itself a trusted proxy (entries further left are client-supplied
 * and could be forged). */
static const char *ip_of(Binding *b, reqctx *c, char *buf, size_t cap)
{
    if (b->get_ip && b->get_ip != Py_None) {
        PyObject *fn = Py_NewRef(b->get_ip);
        PyObject *v = PyObject_CallNoArgs(fn);
        Py_DECREF(fn);
        PyObject *s = v && v != Py_None ? PyObject_Str(v) : NULL;
        const char *t = s ? PyUnicode_AsUTF8(s) : NULL;
        if (t)
            snprintf(buf, cap, "%s", t);
        if (PyErr_Occurred())
            PyErr_Clear();
        Py_XDECREF(s);
        Py_XDECREF(v);
        return t ? buf : NULL;
    }
    if (!c || !c->environ || !PyDict_Check(c->environ))
        return NULL;
    /* an interned key: no string is built per request */
    static PyObject *key_remote;
    if (!key_remote && !(key_remote = PyUnicode_InternFromString("REMOTE_ADDR"))) {
        PyErr_Clear();
        return NULL;
    }
    PyObject *ra = PyDict_GetItemWithError(c->environ, key_remote);
    const char *remote = ra && PyUnicode_Check(ra) ? PyUnicode_AsUTF8(ra) : NULL;
    if (!remote) {
        PyErr_Clear();
        return NULL;
    }
    /* borrowed from the environ, which holds it: the caller hands it to
     * evd_req_end (which copies it) before any Python code runs */
    if (!b->trusted || PySet_GET_SIZE(b->trusted) == 0 || !is_trusted(b, remote, strlen(remote)))
        return remote;
    snprintf(buf, cap, "%s", remote);
    PyObject *xff = PyDict_GetItemString(c->environ, "HTTP_X_FORWARDED_FOR");
    const char *x = xff && PyUnicode_Check(xff) ? PyUnicode_AsUTF8(xff) : NULL;
    if (!x) {
        PyErr_Clear();
        return buf;
    }
    const char *end = x + strlen(x);
    while (end > x) {
        const char *comma = end;
        while (comma > x && comma[-1] != ',')
            comma--;
        const char *s = comma, *e = end;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > s) {
            snprintf(buf, cap, "%.*s", (int)(e - s), s);
            if (!is_trusted(b, s, (size_t)(e - s)))
                break;
        }
        end = comma > x ? comma - 1 : x;
    }
    return buf;
}

/* ---- Wrapper -------------------------------------------------------------- */

static PyObject *wrapper_vcall(PyObject *self, PyObject *const *args, size_t nargsf,
                               PyObject *kwnames)
{
    Wrapper *w = (Wrapper *)self;
    Binding *b = w->b;
    reqctx *c = reqctx_get();
    if (!c || b->closed)
        return PyObject_Vectorcall(w->orig, args, nargsf, kwnames);
    c->active++;
    evd_req r = evd_req_begin_ctx(b->agent, w->ep, c);
    if (c->test)
        evd_req_set_test(&r, c->test);
    PyObject *res = PyObject_Vectorcall(w->orig, args, nargsf, kwnames);
    PyObject *et = NULL, *ev = NULL, *tb = NULL;
    int status;
    if (res) {
        status = status_of(b, res);
    } else {
        PyErr_Fetch(&et, &ev, &tb);
        status = 500;
        if (et && b->http_exc && PyErr_GivenExceptionMatches(et, b->http_exc)) {
            PyErr_NormalizeException(&et, &ev, &tb);
            PyObject *code = ev ? PyObject_GetAttrString(ev, "code") : NULL;
            if (code && PyLong_Check(code))
                status = (int)PyLong_AsLong(code);
            Py_XDECREF(code);
            if (PyErr_Occurred())
                PyErr_Clear();
        }
    }
    char gbuf[256], ipbuf[128];
    const char *group = b->group_by ? groups_of(b, gbuf, sizeof gbuf) : NULL;
    const char *ip = ip_of(b, c, ipbuf, sizeof ipbuf);
    evd_req_end(&r, status, group, ip);
    c->active--;
    if (!res)
        PyErr_Restore(et, ev, tb);
    return res;
}

PyObject *wrapper_new(Binding *b, PyObject *orig, int ep, PyObject *name, int is_async)
{
    Wrapper *w = PyObject_GC_New(Wrapper, &Wrapper_Type);
    if (!w)
        return NULL;
    w->vectorcall = wrapper_vcall;
    Py_INCREF(b);
    w->b = b;
    Py_INCREF(orig);
    w->orig = orig;
    Py_INCREF(name);
    w->name = name;
    w->dict = NULL;
    w->ep = ep;
    w->is_async = is_async;
    PyObject_GC_Track(w);
    return (PyObject *)w;
}

PyObject *wrapper_orig(PyObject *obj)
{
    return Py_IS_TYPE(obj, &Wrapper_Type) ? ((Wrapper *)obj)->orig : NULL;
}

int wrapper_endpoint(PyObject *obj)
{
    return Py_IS_TYPE(obj, &Wrapper_Type) ? ((Wrapper *)obj)->ep : -1;
}

static int wrapper_traverse(PyObject *self, visitproc visit, void *arg)
{
    Wrapper *w = (Wrapper *)self;
    Py_VISIT(w->b);
    Py_VISIT(w->orig);
    Py_VISIT(w->name);
    Py_VISIT(w->dict);
    return 0;
}

static int wrapper_clear(PyObject *self)
{
    Wrapper *w = (Wrapper *)self;
    Py_CLEAR(w->b);
    Py_CLEAR(w->orig);
    Py_CLEAR(w->name);
    Py_CLEAR(w->dict);
    return 0;
}

static void wrapper_dealloc(PyObject *self)
{
    PyObject_GC_UnTrack(self);
    wrapper_clear(self);
    PyObject_GC_Del(self);
}

/* Flask and debuggers look at __name__, __module__ and __wrapped__. */
static PyObject *wrapper_getattro(PyObject *self, PyObject *name)
{
    PyObject *r = PyObject_GenericGetAttr(self, name);
    if (r || !PyErr_ExceptionMatches(PyExc_AttributeError))
        return r;
    PyErr_Clear();
    return PyObject_GetAttr(((Wrapper *)self)->orig, name);
}

static PyObject *wrapper_get_wrapped(PyObject *self, void *unused)
{
    (void)unused;
    Py_INCREF(((Wrapper *)self)->orig);
    return ((Wrapper *)self)->orig;
}

static PyObject *wrapper_get_endpoint_id(PyObject *self, void *unused)
{
    (void)unused;
    return PyLong_FromLong(((Wrapper *)self)->ep);
}

/* Flask's ensure_sync() asks inspect.iscoroutinefunction() about every
 * view on every request, which reads these attributes: served from
 * descriptors they cost a lookup, through the AttributeError fallback of
 * wrapper_getattro they would cost an exception each (~2.5 us in all). */
static PyObject *wrapper_forward(PyObject *self, void *name)
{
    return PyObject_GetAttrString(((Wrapper *)self)->orig, (const char *)name);
}

#define FORWARD(n)                                                                                 \
    {                                                                                              \
        n, wrapper_forward, NULL, "the original view's " n, n                                      \
    }

static PyGetSetDef wrapper_getset[] = {
    {"__wrapped__", wrapper_get_wrapped, NULL, "the original view", NULL},
    FORWARD("__name__"),
    FORWARD("__qualname__"),
    FORWARD("__module__"),
    FORWARD("__doc__"),
    FORWARD("__code__"),
    FORWARD("__defaults__"),
    FORWARD("__kwdefaults__"),
    FORWARD("__annotations__"),
    {"evodash_endpoint_id", wrapper_get_endpoint_id, NULL, "the agent's endpoint id", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject Wrapper_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "evodash._evodash.Wrapper",
    .tp_basicsize = sizeof(Wrapper),
    .tp_dealloc = wrapper_dealloc,
    .tp_vectorcall_offset = offsetof(Wrapper, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_getattro = wrapper_getattro,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "A monitored Flask view (see evodash.bind).",
    .tp_traverse = wrapper_traverse,
    .tp_clear = wrapper_clear,
    .tp_getset = wrapper_getset,
    .tp_dictoffset = offsetof(Wrapper, dict),
};

/* ---- Middleware ----------------------------------------------------------- */

static PyObject *mw_vcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    BoundCall *m = (BoundCall *)self;
    Binding *b = m->b;
    if (!b->closed &&
        (mono_ns() >= b->next_sync_ns || PyDict_GET_SIZE(b->view_functions) != b->seen_views)) {
        if (binding_sync(b) < 0)
            PyErr_WriteUnraisable(self); /* monitoring never fails a request */
    }
    reqctx *c = reqctx_get();
    PyObject *saved = c ? c->environ : NULL;
    int saved_test = c ? c->test : 0;
    if (c && PyVectorcall_NARGS(nargsf) >= 1) {
        c->environ = args[0];
        /* only with TEST_HEADER on: a header must not hide live traffic */
        c->test = b->test_header && !b->closed ? ci_header_test(b, args[0]) : 0;
    }
    PyObject *res = PyObject_Vectorcall(m->inner, args, nargsf, kwnames);
    if (c) {
        c->environ = saved;
        c->test = saved_test;
    }
    return res;
}

PyObject *middleware_new(Binding *b, PyObject *inner)
{
    return boundcall_new(&Middleware_Type, mw_vcall, b, inner);
}

static PyObject *mw_get_inner(PyObject *self, void *unused)
{
    (void)unused;
    return Py_NewRef(((BoundCall *)self)->inner);
}

static PyGetSetDef mw_getset[] = {
    {"__wrapped__", mw_get_inner, NULL, "the wrapped WSGI callable", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject Middleware_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "evodash._evodash.Middleware",
    .tp_basicsize = sizeof(BoundCall),
    .tp_dealloc = boundcall_dealloc,
    .tp_vectorcall_offset = offsetof(BoundCall, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "WSGI middleware that gives evodash each request's environ.",
    .tp_traverse = boundcall_traverse,
    .tp_clear = boundcall_clear,
    .tp_getset = mw_getset,
};

/* ---- ensure_sync ------------------------------------------------------------ */

/* Flask calls app.ensure_sync(view) on every request; its answer for a
 * plain view is the view itself, but finding that out costs
 * inspect.iscoroutinefunction(), which for a C callable walks five
 * attributes in Python (~2 us).  Our Wrappers know whether their view is a
 * coroutine function, so they answer at once; everything else goes to
 * Flask's own ensure_sync. */
/* Level 0 keeps the endpoint's last access time.  Its original function
 * runs untouched, but Flask passes it through here just before calling it:
 * a dict lookup (only while some endpoint is at level 0) finds it, and
 * evd_req_begin/end at level 0 is a clock read and a relaxed store. */
static void note_access_off(Binding *b, PyObject *view)
{
    PyObject *w = b->off_views ? PyDict_GetItemWithError(b->off_views, view) : NULL;
    int id = w ? wrapper_endpoint(w) : -1;
    if (id >= 0 && b->agent) {
        evd_req r = evd_req_begin(b->agent, id);
        evd_req_end(&r, 0, NULL, NULL);
    } else if (PyErr_Occurred()) {
        PyErr_Clear(); /* unhashable: not a view of ours */
    }
}

static PyObject *es_vcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    BoundCall *e = (BoundCall *)self;
    if (PyVectorcall_NARGS(nargsf) == 1 && !kwnames) {
        if (Py_IS_TYPE(args[0], &Wrapper_Type) && !((Wrapper *)args[0])->is_async)
            return Py_NewRef(args[0]);
        if (e->b->n_off > 0 && !e->b->closed)
            note_access_off(e->b, args[0]);
    }
    return PyObject_Vectorcall(e->inner, args, nargsf, kwnames);
}

PyTypeObject EnsureSync_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "evodash._evodash.EnsureSync",
    .tp_basicsize = sizeof(BoundCall),
    .tp_dealloc = boundcall_dealloc,
    .tp_vectorcall_offset = offsetof(BoundCall, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "app.ensure_sync that answers for evodash's wrappers in C.",
    .tp_traverse = boundcall_traverse,
    .tp_clear = boundcall_clear,
};

PyObject *ensure_sync_new(Binding *b, PyObject *inner)
{
    return boundcall_new(&EnsureSync_Type, es_vcall, b, inner);
}
