/* config.c — evodash._evodash.Config: an evd_config seen from Python.
 *
 * The INI reading, validation and error messages (file, line, key) are the
 * core's (evd_config_load); this type only carries them across. */
#include "module.h"

typedef struct Config {
    PyObject_HEAD evd_config *cfg;
} Config;

evd_config *config_of(PyObject *obj)
{
    if (!PyObject_TypeCheck(obj, &Config_Type)) {
        PyErr_SetString(PyExc_TypeError, "expected an evodash Config");
        return NULL;
    }
    return ((Config *)obj)->cfg;
}

static int config_init(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {NULL};
    Config *c = (Config *)self;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "", kwlist))
        return -1;
    evd_config_free(c->cfg);
    if (!(c->cfg = evd_config_new())) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void config_dealloc(PyObject *self)
{
    evd_config_free(((Config *)self)->cfg);
    Py_TYPE(self)->tp_free(self);
}

static PyObject *config_load(PyObject *self, PyObject *arg)
{
    PyObject *path = NULL;
    if (!PyUnicode_FSConverter(arg, &path))
        return NULL;
    evd_config *cfg = ((Config *)self)->cfg;
    int rc = evd_config_load(cfg, PyBytes_AS_STRING(path));
    Py_DECREF(path);
    if (rc) {
        PyErr_SetString(EvodashError, evd_config_errmsg(cfg));
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *config_set(PyObject *self, PyObject *args)
{
    const char *key, *value;
    if (!PyArg_ParseTuple(args, "ss", &key, &value))
        return NULL;
    evd_config *cfg = ((Config *)self)->cfg;
    if (evd_config_set(cfg, key, value)) {
        PyErr_SetString(EvodashError, evd_config_errmsg(cfg));
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *config_get(PyObject *self, PyObject *args)
{
    const char *key;
    if (!PyArg_ParseTuple(args, "s", &key))
        return NULL;
    const char *v = evd_config_get(((Config *)self)->cfg, key);
    if (!v)
        Py_RETURN_NONE;
    return PyUnicode_FromString(v);
}

static PyObject *config_apply_env(PyObject *self, PyObject *unused)
{
    (void)unused;
    evd_config *cfg = ((Config *)self)->cfg;
    if (evd_config_apply_env(cfg)) {
        PyErr_SetString(EvodashError, evd_config_errmsg(cfg));
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef config_methods[] = {
    {"load", config_load, METH_O, "load(path): read an INI file (Flask-MonitoringDashboard keys)."},
    {"set", config_set, METH_VARARGS, "set(key, value): set one key, validated."},
    {"get", config_get, METH_VARARGS, "get(key) -> the value as text, or None."},
    {"apply_env", config_apply_env, METH_NOARGS, "Apply EVODASH_<KEY> variables."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject Config_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "evodash._evodash.Config",
    .tp_basicsize = sizeof(Config),
    .tp_dealloc = config_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An evodash configuration (see docs/config.md).",
    .tp_methods = config_methods,
    .tp_init = config_init,
    .tp_new = PyType_GenericNew,
};
