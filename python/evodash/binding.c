/* binding.c — one Flask app bound to one agent.
 *
 * DESIGN
 *
 * Binding(app, config) opens the agent (its writer, watchdog and sampler
 * threads start here), installs the capture callbacks and wraps every view
 * in app.view_functions.  binding_sync() is the only code that edits
 * view_functions: it runs under the GIL at bind, after add_url_rule, and
 * from the middleware at most every SYNC_PERIOD_NS.  An endpoint at level 0
 * gets its original function back, so it pays nothing; when the dashboard
 * raises its level, the writer pulls the new level from the store (about a
 * second) and the next sync puts the Wrapper back.
 *
 * Every agent call that may wait (open, set_callbacks, flush, close) runs
 * with the GIL released: the watchdog and sampler may hold the agent's
 * capture lock while they wait for the GIL in our callbacks.
 */
#include <time.h>
#include <unistd.h>

#include "module.h"

#define SYNC_PERIOD_NS (200LL * 1000000)

int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* endpoint -> (rule, "GET,POST") for the first rule of each endpoint.  New
 * reference, or NULL with an exception. */
static PyObject *rules_by_endpoint(Binding *b)
{
    PyObject *out = PyDict_New(), *url_map = NULL, *it = NULL, *rule = NULL;
    if (!out)
        return NULL;
    if (!(url_map = PyObject_GetAttrString(b->app, "url_map")) ||
        !(it = PyObject_CallMethod(url_map, "iter_rules", NULL)))
        goto fail;
    PyObject *iter = PyObject_GetIter(it);
    Py_DECREF(it);
    it = iter;
    if (!it)
        goto fail;
    while ((rule = PyIter_Next(it))) {
        PyObject *ep = PyObject_GetAttrString(rule, "endpoint");
        PyObject *text = PyObject_GetAttrString(rule, "rule");
        PyObject *methods = PyObject_GetAttrString(rule, "methods");
        PyObject *joined = NULL;
        if (ep && text && methods && PyDict_GetItemWithError(out, ep) == NULL &&
            !PyErr_Occurred()) {
            PyObject *list = methods == Py_None ? PyList_New(0) : PySequence_List(methods);
            if (list && PyList_Sort(list) == 0) {
                PyObject *keep = PyList_New(0);
                for (Py_ssize_t i = 0; keep && i < PyList_GET_SIZE(list); i++) {
                    PyObject *m = PyList_GET_ITEM(list, i);
                    if (PyUnicode_CompareWithASCIIString(m, "HEAD") &&
                        PyUnicode_CompareWithASCIIString(m, "OPTIONS"))
                        PyList_Append(keep, m);
                }
                PyObject *comma = PyUnicode_FromString(",");
                if (keep && comma)
                    joined = PyUnicode_Join(comma, keep);
                Py_XDECREF(comma);
                Py_XDECREF(keep);
            }
            Py_XDECREF(list);
            PyObject *pair = joined ? PyTuple_Pack(2, text, joined) : NULL;
            if (pair)
                PyDict_SetItem(out, ep, pair);
            Py_XDECREF(pair);
        }
        Py_XDECREF(joined);
        Py_XDECREF(ep);
        Py_XDECREF(text);
        Py_XDECREF(methods);
        Py_DECREF(rule);
        if (PyErr_Occurred())
            goto fail;
    }
    if (PyErr_Occurred())
        goto fail;
    Py_DECREF(it);
    Py_DECREF(url_map);
    return out;
fail:
    Py_XDECREF(it);
    Py_XDECREF(url_map);
    Py_DECREF(out);
    return NULL;
}

/* Register endpoint `name` and return a new Wrapper around func. */
static PyObject *wrap_new_view(Binding *b, PyObject **rules, PyObject *name, PyObject *func)
{
    if (!*rules && !(*rules = rules_by_endpoint(b)))
        return NULL;
    const char *nm = PyUnicode_AsUTF8(name), *rule = NULL, *methods = NULL;
    if (!nm)
        return NULL;
    PyObject *pair = PyDict_GetItemWithError(*rules, name);
    if (pair) {
        rule = PyUnicode_AsUTF8(PyTuple_GET_ITEM(pair, 0));
        methods = PyUnicode_AsUTF8(PyTuple_GET_ITEM(pair, 1));
        if (!rule || !methods)
            return NULL;
    } else if (PyErr_Occurred()) {
        return NULL;
    }
    int id = -1;
    int rc = evd_endpoint_register(b->agent, nm, rule, methods, &id);
    if (rc) {
        PyErr_Format(EvodashError, "cannot register endpoint %s: %s", nm, evd_errmsg(b->agent));
        return NULL;
    }
    /* A view that is already one of our wrappers (a second bind) is timed once. */
    PyObject *orig = wrapper_orig(func);
    if (!orig)
        orig = func;
    PyObject *co = PyObject_CallOneArg(b->iscoro, orig);
    int is_async = co ? PyObject_IsTrue(co) : -1;
    Py_XDECREF(co);
    if (is_async < 0)
        return NULL;
    return wrapper_new(b, orig, id, name, is_async);
}

int binding_sync(Binding *b)
{
    PyObject *items = NULL, *rules = NULL, *off = NULL;
    int rc = -1, n_off = 0;
    b->next_sync_ns = mono_ns() + SYNC_PERIOD_NS;
    if (b->closed)
        return 0;
    /* A snapshot: wrapping may run Python code, which may let another
     * thread add a route meanwhile (the next sync sees it). */
    if (!(items = PyDict_Items(b->view_functions)) || !(off = PyDict_New()))
        goto done;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
        PyObject *name = PyTuple_GET_ITEM(PyList_GET_ITEM(items, i), 0);
        PyObject *func = PyTuple_GET_ITEM(PyList_GET_ITEM(items, i), 1);
        if (!PyUnicode_Check(name) ||
            (b->dash_endpoint && PyUnicode_Compare(name, b->dash_endpoint) == 0))
            continue;
        PyObject *w = PyDict_GetItemWithError(b->wrappers, name);
        if (!w && PyErr_Occurred())
            goto done;
        if (!w || (func != w && func != wrapper_orig(w))) {
            if (!(w = wrap_new_view(b, &rules, name, func)))
                goto done;
            int bad = PyDict_SetItem(b->wrappers, name, w);
            Py_DECREF(w); /* the dict holds it */
            if (bad)
                goto done;
        }
        int level = evd_endpoint_level(b->agent, wrapper_endpoint(w));
        PyObject *want = level == EVD_LEVEL_OFF ? wrapper_orig(w) : w;
        if (level == EVD_LEVEL_OFF) {
            if (PyDict_SetItem(off, wrapper_orig(w), w))
                goto done;
            n_off++;
        }
        if (func != want && PyDict_SetItem(b->view_functions, name, want))
            goto done;
    }
    rc = 0;
    Py_XSETREF(b->off_views, Py_NewRef(off));
    b->n_off = n_off;
done:
    Py_XDECREF(off);
    b->seen_views = PyDict_GET_SIZE(b->view_functions);
    Py_XDECREF(items);
    Py_XDECREF(rules);
    return rc;
}

/* ---- the Binding type ------------------------------------------------------ */

static int set_groupings(Binding *b, PyObject *spec)
{
    /* accepted: None, f, (name, f), or a list/tuple-of-pairs of those */
    PyObject *list = PyList_New(0);
    if (!list)
        return -1;
    PyObject *items = NULL;
    if (spec == Py_None) {
        items = PyList_New(0);
    } else if (PyCallable_Check(spec) || (PyTuple_Check(spec) && PyTuple_GET_SIZE(spec) == 2 &&
                                          PyUnicode_Check(PyTuple_GET_ITEM(spec, 0)))) {
        items = PyList_New(1);
        if (items) {
            Py_INCREF(spec);
            PyList_SET_ITEM(items, 0, spec);
        }
    } else if (PyList_Check(spec) || PyTuple_Check(spec)) {
        items = PySequence_List(spec);
    } else {
        PyErr_SetString(PyExc_TypeError,
                        "group_by: expected a function, a (name, function) pair or a list");
    }
    if (!items)
        goto fail;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
        PyObject *it = PyList_GET_ITEM(items, i), *pair = NULL;
        if (PyCallable_Check(it)) {
            pair = PyTuple_Pack(2, Py_None, it);
        } else if (PyTuple_Check(it) && PyTuple_GET_SIZE(it) == 2 &&
                   PyUnicode_Check(PyTuple_GET_ITEM(it, 0)) &&
                   PyCallable_Check(PyTuple_GET_ITEM(it, 1))) {
            pair = Py_NewRef(it);
        } else {
            PyErr_Format(PyExc_TypeError,
                         "group_by[%zd]: expected a function or a (name, function) pair", i);
            goto fail;
        }
        if (!pair || PyList_Append(list, pair)) {
            Py_XDECREF(pair);
            goto fail;
        }
        Py_DECREF(pair);
    }
    Py_DECREF(items);
    Py_XSETREF(b->group_by, PyList_GET_SIZE(list) ? list : NULL);
    if (!b->group_by)
        Py_DECREF(list);
    return 0;
fail:
    Py_XDECREF(items);
    Py_DECREF(list);
    return -1;
}

static int binding_init(PyObject *self, PyObject *args, PyObject *kw)
{
    Binding *b = (Binding *)self;
    static char *kwlist[] = {"app", "config", "group_by", "get_ip", "trusted_proxies", NULL};
    PyObject *app, *config, *group_by = Py_None, *get_ip = Py_None, *trusted = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OOO", kwlist, &app, &config, &group_by, &get_ip,
                                     &trusted))
        return -1;
    if (b->agent) {
        PyErr_SetString(EvodashError, "Binding is already initialised");
        return -1;
    }
    evd_config *cfg = config_of(config);
    if (!cfg)
        return -1;
    if (evd_config_apply_env(cfg)) {
        PyErr_SetString(EvodashError, evd_config_errmsg(cfg));
        return -1;
    }
    PyObject *exc_mod = PyImport_ImportModule("werkzeug.exceptions");
    if (!exc_mod)
        return -1;
    b->http_exc = PyObject_GetAttrString(exc_mod, "HTTPException");
    Py_DECREF(exc_mod);
    if (!b->http_exc)
        return -1;
    PyObject *inspect = PyImport_ImportModule("inspect");
    if (!inspect)
        return -1;
    b->iscoro = PyObject_GetAttrString(inspect, "iscoroutinefunction");
    Py_DECREF(inspect);
    if (!b->iscoro)
        return -1;
    if (!(b->view_functions = PyObject_GetAttrString(app, "view_functions")))
        return -1;
    if (!PyDict_Check(b->view_functions)) {
        PyErr_SetString(PyExc_TypeError, "app.view_functions is not a dict: is this a Flask app?");
        return -1;
    }
    b->app = Py_NewRef(app);
    b->config = Py_NewRef(config);
    if (!(b->wrappers = PyDict_New()) || set_groupings(b, group_by))
        return -1;
    b->get_ip = get_ip == Py_None ? NULL : Py_NewRef(get_ip);
    if (!(b->trusted = PyFrozenSet_New(trusted && trusted != Py_None ? trusted : NULL)))
        return -1;
    if (!(b->dash_endpoint = PyUnicode_FromString("evodash_dashboard")))
        return -1;

    evd_agent *a = NULL;
    int rc;
    PyThreadState *ts = PyEval_SaveThread();
    rc = evd_open(cfg, &a);
    PyEval_RestoreThread(ts);
    if (!a) {
        PyErr_NoMemory();
        return -1;
    }
    b->agent = a;
    if (rc == EVD_EINVAL || rc == EVD_ENOMEM || rc == EVD_ESCHEMA || rc == EVD_ECORRUPT ||
        rc == EVD_ENOENT) {
        PyErr_Format(EvodashError, "evodash: %s", evd_errmsg(a));
        return -1;
    }
    if (rc &&
        PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                         "evodash: %s (recording continues; the store is retried)", evd_errmsg(a)))
        return -1;
    b->test_header = evd_test_header(a);
    ts = PyEval_SaveThread();
    evd_set_callbacks(a, capture_stack, capture_details, b);
    PyEval_RestoreThread(ts);
    return binding_sync(b);
}

static void binding_close_agent(Binding *b)
{
    if (!b->agent)
        return;
    b->closed = 1;
    evd_agent *a = b->agent;
    b->agent = NULL;
    PyThreadState *ts = PyEval_SaveThread();
    evd_close(a);
    PyEval_RestoreThread(ts);
}

static PyObject *binding_close(PyObject *self, PyObject *unused)
{
    (void)unused;
    Binding *b = (Binding *)self;
    /* Put the original views back so the app runs untouched. */
    if (b->wrappers && b->view_functions && !b->closed) {
        PyObject *name, *w;
        Py_ssize_t pos = 0;
        while (PyDict_Next(b->wrappers, &pos, &name, &w)) {
            PyObject *cur = PyDict_GetItemWithError(b->view_functions, name);
            if (cur == w && PyDict_SetItem(b->view_functions, name, wrapper_orig(w)))
                return NULL;
        }
        if (PyErr_Occurred())
            return NULL;
    }
    dashview_close(b);
    binding_close_agent(b);
    Py_RETURN_NONE;
}

static PyObject *binding_flush(PyObject *self, PyObject *args)
{
    Binding *b = (Binding *)self;
    int timeout_ms = 5000, rc = 0;
    if (!PyArg_ParseTuple(args, "|i", &timeout_ms))
        return NULL;
    if (!b->agent)
        Py_RETURN_FALSE;
    PyThreadState *ts = PyEval_SaveThread();
    rc = evd_flush(b->agent, timeout_ms);
    PyEval_RestoreThread(ts);
    return PyBool_FromLong(rc == 0);
}

static PyObject *binding_sync_meth(PyObject *self, PyObject *unused)
{
    (void)unused;
    if (binding_sync((Binding *)self))
        return NULL;
    Py_RETURN_NONE;
}

static int endpoint_id(Binding *b, PyObject *name)
{
    const char *nm = PyUnicode_AsUTF8(name);
    if (!nm)
        return -1;
    int id = b->agent ? evd_endpoint_find(b->agent, nm) : EVD_ESTATE;
    if (id < 0)
        PyErr_Format(PyExc_KeyError, "%s: no such endpoint", nm);
    return id;
}

static PyObject *binding_level(PyObject *self, PyObject *name)
{
    Binding *b = (Binding *)self;
    int id = endpoint_id(b, name);
    return id < 0 ? NULL : PyLong_FromLong(evd_endpoint_level(b->agent, id));
}

static PyObject *binding_set_level(PyObject *self, PyObject *args)
{
    Binding *b = (Binding *)self;
    PyObject *name;
    int level;
    if (!PyArg_ParseTuple(args, "Ui", &name, &level))
        return NULL;
    int id = endpoint_id(b, name);
    if (id < 0)
        return NULL;
    if (evd_endpoint_set_level(b->agent, id, level)) {
        PyErr_Format(PyExc_ValueError, "level must be 0..3, got %d", level);
        return NULL;
    }
    if (binding_sync(b))
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *binding_counters(PyObject *self, PyObject *unused)
{
    (void)unused;
    Binding *b = (Binding *)self;
    evd_counters c = {0};
    if (b->agent)
        evd_get_counters(b->agent, &c);
    return Py_BuildValue(
        "{s:K,s:K,s:K,s:K,s:K,s:K}", "recorded", (unsigned long long)c.recorded, "dropped",
        (unsigned long long)c.dropped, "written", (unsigned long long)c.written, "write_errors",
        (unsigned long long)c.write_errors, "truncated", (unsigned long long)c.truncated,
        "outliers", (unsigned long long)c.outliers);
}

static PyObject *binding_middleware(PyObject *self, PyObject *inner)
{
    return middleware_new((Binding *)self, inner);
}

static PyObject *binding_ensure_sync(PyObject *self, PyObject *inner)
{
    return ensure_sync_new((Binding *)self, inner);
}

static PyObject *binding_dashboard_view(PyObject *self, PyObject *unused)
{
    (void)unused;
    return dashview_new((Binding *)self);
}

static PyObject *binding_set_group_by(PyObject *self, PyObject *spec)
{
    if (set_groupings((Binding *)self, spec))
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *binding_set_get_ip(PyObject *self, PyObject *fn)
{
    Binding *b = (Binding *)self;
    if (fn != Py_None && !PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "get_ip: expected a function or None");
        return NULL;
    }
    Py_XSETREF(b->get_ip, fn == Py_None ? NULL : Py_NewRef(fn));
    Py_RETURN_NONE;
}

static PyObject *binding_set_trusted(PyObject *self, PyObject *addrs)
{
    Binding *b = (Binding *)self;
    PyObject *s = PyFrozenSet_New(addrs == Py_None ? NULL : addrs);
    if (!s)
        return NULL;
    Py_XSETREF(b->trusted, s);
    Py_RETURN_NONE;
}

static PyObject *binding_get_version(PyObject *self, void *unused)
{
    (void)unused;
    Binding *b = (Binding *)self;
    return PyUnicode_FromString(b->agent ? evd_version(b->agent) : "");
}

static PyObject *binding_get_prefix(PyObject *self, void *unused)
{
    (void)unused;
    const char *link = evd_config_get(config_of(((Binding *)self)->config), "CUSTOM_LINK");
    return PyUnicode_FromFormat("/%s", link && *link ? link : "dashboard");
}

static PyObject *binding_get_endpoints(PyObject *self, void *unused)
{
    (void)unused;
    return PyDict_Copy(((Binding *)self)->wrappers);
}

static int binding_traverse(PyObject *self, visitproc visit, void *arg)
{
    Binding *b = (Binding *)self;
    Py_VISIT(b->app);
    Py_VISIT(b->config);
    Py_VISIT(b->view_functions);
    Py_VISIT(b->wrappers);
    Py_VISIT(b->off_views);
    Py_VISIT(b->group_by);
    Py_VISIT(b->get_ip);
    return 0;
}

static int binding_clear(PyObject *self)
{
    Binding *b = (Binding *)self;
    Py_CLEAR(b->app);
    Py_CLEAR(b->view_functions);
    Py_CLEAR(b->wrappers);
    Py_CLEAR(b->off_views);
    Py_CLEAR(b->group_by);
    Py_CLEAR(b->get_ip);
    return 0;
}

static void binding_dealloc(PyObject *self)
{
    Binding *b = (Binding *)self;
    PyObject_GC_UnTrack(self);
    dashview_close(b);
    binding_close_agent(b);
    binding_clear(self);
    Py_CLEAR(b->config); /* after the agent: the dashboard may have used it */
    Py_CLEAR(b->trusted);
    Py_CLEAR(b->http_exc);
    Py_CLEAR(b->iscoro);
    Py_CLEAR(b->dash_endpoint);
    Py_CLEAR(b->wsgi_app);
    Py_CLEAR(b->test_ids);
    Py_TYPE(self)->tp_free(self);
}

static PyMethodDef binding_methods[] = {
    {"sync", binding_sync_meth, METH_NOARGS, "Wrap new views; swap wrappers for level changes."},
    {"close", binding_close, METH_NOARGS, "Restore the views, flush and close the agent."},
    {"flush", binding_flush, METH_VARARGS, "flush(timeout_ms=5000): write what is queued."},
    {"level", binding_level, METH_O, "level(endpoint) -> the endpoint's level."},
    {"set_level", binding_set_level, METH_VARARGS, "set_level(endpoint, level)."},
    {"counters", binding_counters, METH_NOARGS, "This process's counters, as a dict."},
    {"middleware", binding_middleware, METH_O, "middleware(wsgi_app) -> the wrapped callable."},
    {"ensure_sync", binding_ensure_sync, METH_O, "ensure_sync(app.ensure_sync) -> the hook."},
    {"dashboard_view", binding_dashboard_view, METH_NOARGS, "The dashboard's view callable."},
    {"set_group_by", binding_set_group_by, METH_O, "Replace the groupings."},
    {"set_get_ip", binding_set_get_ip, METH_O, "Replace the client-address function."},
    {"set_trusted_proxies", binding_set_trusted, METH_O, "Replace the trusted proxies."},
    {"test_set", ci_test_set, METH_O, "test_set(name or None): the running test."},
    {"database", ci_database, METH_NOARGS, "The DATABASE the agent records into."},
    {"service", ci_service, METH_NOARGS, "The service the agent records as."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef binding_getset[] = {
    {"version", binding_get_version, NULL, "the version recorded", NULL},
    {"dashboard_prefix", binding_get_prefix, NULL, "/<CUSTOM_LINK>", NULL},
    {"endpoints", binding_get_endpoints, NULL, "endpoint name -> Wrapper", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject Binding_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "evodash._evodash.Binding",
    .tp_basicsize = sizeof(Binding),
    .tp_dealloc = binding_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Binding(app, config, group_by=None, get_ip=None, trusted_proxies=None)",
    .tp_traverse = binding_traverse,
    .tp_clear = binding_clear,
    .tp_methods = binding_methods,
    .tp_getset = binding_getset,
    .tp_init = binding_init,
    .tp_new = PyType_GenericNew,
};

/* ---- BoundCall: the GC functions of the small callable types -------------- */

PyObject *boundcall_new(PyTypeObject *type, vectorcallfunc fn, Binding *b, PyObject *inner)
{
    BoundCall *o = PyObject_GC_New(BoundCall, type);
    if (!o)
        return NULL;
    o->vectorcall = fn;
    o->b = (Binding *)Py_NewRef(b);
    o->inner = Py_XNewRef(inner);
    PyObject_GC_Track(o);
    return (PyObject *)o;
}

int boundcall_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(((BoundCall *)self)->b);
    Py_VISIT(((BoundCall *)self)->inner);
    return 0;
}

int boundcall_clear(PyObject *self)
{
    Py_CLEAR(((BoundCall *)self)->b);
    Py_CLEAR(((BoundCall *)self)->inner);
    return 0;
}

void boundcall_dealloc(PyObject *self)
{
    PyObject_GC_UnTrack(self);
    boundcall_clear(self);
    PyObject_GC_Del(self);
}
