/* pyhook.c — the Python side of the tracer: a CPython extension module,
 * _evodash_trace, whose C-level profile hook (PyEval_SetProfile) records
 * every Python and C function call into libevodash-trace.so.  No Python
 * callback runs per call.
 *
 * Built as its own module (build/rel/trace/_evodash_trace*.so), not into
 * libevdtools.a, because it needs Python.h; it belongs in the Python
 * extension once that exists.
 *
 * Names: a Python function is "module.qualname", module being its file's
 * name without ".py"; a C function is "module.name" or "type.name" for a
 * method.  Each name is interned once and cached per thread: Python code
 * objects by address, holding a reference so that the address cannot be
 * reused by another code object while cached; C functions by their
 * PyMethodDef, which is static. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>
#include <string.h>

#include "evodash_trace.h"

#define CACHE 1024 /* per thread, direct-mapped */

struct slot {
    const void *key;
    PyObject *ref; /* the code object kept alive while cached, or NULL */
    const void *name;
};

static __thread struct slot t_cache[CACHE];

static PyMethodDef methods[];

static size_t slot_of(const void *key)
{
    return ((uintptr_t)key >> 4) % CACHE;
}

static const void *name_of_code(PyCodeObject *code)
{
    struct slot *s = &t_cache[slot_of(code)];
    if (s->key == code)
        return s->name;
    char buf[512];
    PyObject *file = code->co_filename, *fn;
#if PY_VERSION_HEX >= 0x030B0000
    fn = code->co_qualname;
#else
    fn = code->co_name;
#endif
    const char *path = file ? PyUnicode_AsUTF8(file) : NULL;
    const char *func = fn ? PyUnicode_AsUTF8(fn) : NULL;
    if (!path || !func) {
        PyErr_Clear();
        return NULL;
    }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t blen = strlen(base);
    if (blen > 3 && !strcmp(base + blen - 3, ".py"))
        blen -= 3;
    snprintf(buf, sizeof buf, "%.*s.%s", (int)blen, base, func);
    const void *name = evd_trace_intern(buf);
    Py_XDECREF(s->ref);
    Py_INCREF((PyObject *)code);
    s->key = code;
    s->ref = (PyObject *)code;
    s->name = name;
    return name;
}

static const void *name_of_c(PyObject *arg)
{
    if (!PyCFunction_Check(arg))
        return NULL;
    PyCFunctionObject *f = (PyCFunctionObject *)arg;
    const PyMethodDef *ml = f->m_ml;
    if (ml >= methods && ml < methods + 8) /* our own start/stop/enable/...: not traced */
        return NULL;
    struct slot *s = &t_cache[slot_of(ml)];
    if (s->key == ml)
        return s->name;
    char buf[512];
    const char *owner = NULL;
    if (f->m_module && PyUnicode_Check(f->m_module))
        owner = PyUnicode_AsUTF8(f->m_module);
    else if (f->m_self && !PyModule_Check(f->m_self))
        owner = Py_TYPE(f->m_self)->tp_name;
    if (!owner) {
        PyErr_Clear();
        owner = "builtins";
    }
    snprintf(buf, sizeof buf, "%s.%s", owner, ml->ml_name);
    const void *name = evd_trace_intern(buf);
    Py_XDECREF(s->ref);
    s->key = ml;
    s->ref = NULL;
    s->name = name;
    return name;
}

static int hook(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj;
    switch (what) {
    case PyTrace_CALL:
    case PyTrace_RETURN: {
        PyCodeObject *code = PyFrame_GetCode(frame);
        const void *name = name_of_code(code);
        Py_DECREF(code);
        if (what == PyTrace_CALL)
            evd_trace_enter_named(name);
        else
            evd_trace_exit_named(name);
        break;
    }
    case PyTrace_C_CALL:
        evd_trace_enter_named(name_of_c(arg));
        break;
    case PyTrace_C_RETURN:
    case PyTrace_C_EXCEPTION:
        evd_trace_exit_named(name_of_c(arg));
        break;
    default:
        break;
    }
    return 0;
}

static PyObject *py_start(PyObject *self, PyObject *args)
{
    const char *path;
    (void)self;
    if (!PyArg_ParseTuple(args, "s", &path))
        return NULL;
    if (evd_trace_start(path) != 0) {
        PyErr_SetString(PyExc_RuntimeError, evd_trace_errmsg());
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *py_stop(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    int rc;
    /* Writing the log can take seconds: let other threads run meanwhile. */
    // clang-format off
    Py_BEGIN_ALLOW_THREADS
    rc = evd_trace_stop();
    Py_END_ALLOW_THREADS
        // clang-format on
        if (rc != 0)
    {
        PyErr_SetString(PyExc_OSError, evd_trace_errmsg());
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *py_enable(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
#if PY_VERSION_HEX >= 0x030C0000
    PyEval_SetProfileAllThreads(hook, NULL);
#else
    PyEval_SetProfile(hook, NULL);
#endif
    Py_RETURN_NONE;
}

static PyObject *py_disable(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
#if PY_VERSION_HEX >= 0x030C0000
    PyEval_SetProfileAllThreads(NULL, NULL);
#else
    PyEval_SetProfile(NULL, NULL);
#endif
    Py_RETURN_NONE;
}

static PyObject *py_root_begin(PyObject *self, PyObject *args)
{
    const char *name;
    (void)self;
    if (!PyArg_ParseTuple(args, "s", &name))
        return NULL;
    evd_trace_root_begin(name);
    Py_RETURN_NONE;
}

static PyObject *py_root_end(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    evd_trace_root_end();
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"start", py_start, METH_VARARGS, "start(path): start tracing into the call log at path"},
    {"stop", py_stop, METH_NOARGS, "stop(): stop tracing and write the call log"},
    {"enable", py_enable, METH_NOARGS,
     "enable(): install the profile hook (this thread; every thread on Python >= 3.12)"},
    {"disable", py_disable, METH_NOARGS, "disable(): remove the profile hook"},
    {"root_begin", py_root_begin, METH_VARARGS, "root_begin(name): start an interaction"},
    {"root_end", py_root_end, METH_NOARGS, "root_end(): end the innermost interaction"},
    {NULL, NULL, 0, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "_evodash_trace",
    "C-level function tracer writing the evodash call log",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__evodash_trace(void);
PyMODINIT_FUNC PyInit__evodash_trace(void)
{
    return PyModule_Create(&module);
}
