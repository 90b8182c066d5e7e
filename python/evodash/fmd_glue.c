/* fmd_glue.c — evodash._evodash.import_fmd(): the Python face of the
 * importer in src/fmd/fmd_import.c (in libevdtools.a), which the CLI
 * shares. */
#include "module.h" /* Python.h comes first */

#include "fmd/fmd_import.h"

PyObject *fmd_import_py(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"source", "into", "service", "force", NULL};
    fmd_options o = {.into = "sqlite:///evodash.db"};
    PyObject *srcb = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|szp", kwlist, PyUnicode_FSConverter, &srcb,
                                     &o.into, &o.service, &o.force))
        return NULL;
    char err[1024];
    fmd_counts c;
    o.source = PyBytes_AS_STRING(srcb);
    PyThreadState *ts = PyEval_SaveThread();
    int rc = fmd_import(&o, &c, err, sizeof err);
    PyEval_RestoreThread(ts);
    Py_DECREF(srcb);
    if (rc) {
        /* already_imported tells a refusal (nothing done) from a failure */
        PyObject *e = PyObject_CallFunction(EvodashError, "s", err);
        if (e && !PyObject_SetAttrString(e, "already_imported",
                                         rc == FMD_EIMPORTED ? Py_True : Py_False))
            PyErr_SetObject(EvodashError, e);
        Py_XDECREF(e);
        return NULL;
    }
    return Py_BuildValue("{s:l,s:l,s:l,s:l,s:l}", "endpoints", c.endpoints, "versions", c.versions,
                         "requests", c.requests, "outliers", c.outliers, "profile_lines",
                         c.profile_lines);
}
