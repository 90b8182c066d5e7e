/* fmd_glue.c — evodash._evodash.import_fmd(): the Python face of the
 * importer in src/store/fmd_import.c, which the CLI shares. */
#include "module.h"
#include "store/fmd_import.h"

PyObject *fmd_import_py(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"source", "into", NULL};
    const char *into = "sqlite:///evodash.db";
    PyObject *srcb = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|s", kwlist, PyUnicode_FSConverter, &srcb, &into))
        return NULL;
    char err[512];
    fmd_counts c;
    PyThreadState *ts = PyEval_SaveThread();
    int rc = fmd_import(PyBytes_AS_STRING(srcb), into, NULL, &c, err, sizeof err);
    PyEval_RestoreThread(ts);
    Py_DECREF(srcb);
    if (rc) {
        PyErr_SetString(EvodashError, err);
        return NULL;
    }
    return Py_BuildValue("{s:l,s:l,s:l,s:l,s:l}", "endpoints", c.endpoints, "versions", c.versions,
                         "requests", c.requests, "outliers", c.outliers, "profile_lines",
                         c.profile_lines);
}
