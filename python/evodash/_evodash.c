/* _evodash.c — the module: types, the fork hooks and the exit hook.
 *
 * The agent is linked in statically (libevodash.a, built -fPIC
 * -fvisibility=hidden), so the installed module needs no libevodash.so. */
#include "module.h"

PyObject *EvodashError;

static PyObject *shutdown(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    capture_shutdown();
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"_before_fork", capture_before_fork, METH_NOARGS, "os.register_at_fork(before=...)"},
    {"_after_fork", capture_after_fork, METH_NOARGS, "os.register_at_fork(after_in_parent=...)"},
    {"_after_fork_child", capture_after_fork_child, METH_NOARGS,
     "os.register_at_fork(after_in_child=...)"},
    {"_shutdown", shutdown, METH_NOARGS, "Stop the capture callbacks (interpreter exit)."},
    {"ci_store", ci_store_py, METH_VARARGS,
     "ci_store(database, report_json) -> dict: store a CI build (the pytest plugin)."},
    {"ci_attach", ci_attach_py, METH_VARARGS,
     "ci_attach(database, report_json) -> report_json with the calls recorded there."},
    {"import_fmd", (PyCFunction)(void (*)(void))fmd_import_py, METH_VARARGS | METH_KEYWORDS,
     "import_fmd(source, into, service=None, force=False) -> dict of counts: copy a "
     "Flask-MonitoringDashboard SQLite database into an evodash store.  A database imported "
     "into that store before is refused (EvodashError with already_imported set) unless "
     "force."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, .m_name = "evodash._evodash", .m_doc = "evodash's Flask binding, in C.",
    .m_size = -1,          .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__evodash(void);

PyMODINIT_FUNC PyInit__evodash(void)
{
    PyTypeObject *types[] = {&Binding_Type,  &Wrapper_Type, &Middleware_Type,
                             &DashView_Type, &Config_Type,  &EnsureSync_Type};
    const char *names[] = {"Binding", "Wrapper", "Middleware", "DashView", "Config", "EnsureSync"};
    if (reqctx_setup()) {
        PyErr_SetString(PyExc_RuntimeError, "cannot create a thread-local key");
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (PyType_Ready(types[i]) || PyModule_AddObjectRef(m, names[i], (PyObject *)types[i]))
            goto fail;
    EvodashError = PyErr_NewException("evodash.EvodashError", PyExc_RuntimeError, NULL);
    if (!EvodashError || PyModule_AddObjectRef(m, "EvodashError", EvodashError) ||
        PyModule_AddStringConstant(m, "EVD_VERSION", EVD_VERSION))
        goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
