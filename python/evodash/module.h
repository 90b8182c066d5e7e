/* module.h — what the files of the _evodash extension share.
 *
 * The extension is the Flask binding of evodash, written in C: a Binding
 * owns one agent (linked statically from libevodash.a), the per-request
 * wrappers that time views, the WSGI middleware that hands each request's
 * environ to them, the capture callbacks the watchdog and sampler call, and
 * the dashboard view. */
#ifndef EVD_PY_MODULE_H
#define EVD_PY_MODULE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdatomic.h>
#include <stdint.h>

#include "evodash.h"

/* Per-thread request context handed to evd_req_begin_ctx().  It is never
 * freed while the module is loaded (threads that end return theirs to a
 * free list), so a capture callback that reads one late reads memory that
 * is still valid; `active` (read under the GIL) tells it whether a request
 * is still running. */
typedef struct reqctx {
    PyObject *environ; /* borrowed from the WSGI call, valid while it runs */
    int active;        /* nesting depth of monitored views on this thread */
    int test;          /* the X-Evodash-Test of the request (agent's id), 0: none */
    uint64_t thread;   /* pthread_self() of the owner */
    struct reqctx *next_free;
} reqctx;

typedef struct Binding {
    PyObject_HEAD evd_agent *agent;
    PyObject *config;         /* the Config object (evd_config), strong */
    PyObject *app;            /* strong */
    PyObject *view_functions; /* app.view_functions, strong */
    PyObject *wrappers;       /* endpoint name -> Wrapper */
    PyObject *wsgi_app;       /* the app's WSGI callable we wrap */
    PyObject *group_by;       /* list of (name or None, callable) */
    PyObject *get_ip;         /* callable or None */
    PyObject *trusted;        /* frozenset of proxy addresses */
    PyObject *http_exc;       /* werkzeug.exceptions.HTTPException */
    PyObject *iscoro;         /* inspect.iscoroutinefunction */
    PyObject *dash_endpoint;  /* str: our own endpoint, never wrapped */
    Py_ssize_t seen_views;    /* len(view_functions) at the last sync */
    int n_off;                /* endpoints at level 0 at the last sync */
    PyObject *off_views;      /* original function -> Wrapper, for level 0 */
    int64_t next_sync_ns;
    int closed;
    int test_header;    /* the agent honours X-Evodash-Test (TEST_HEADER) */
    PyObject *test_ids; /* test name -> the agent's id, for the header */
    /* dashboard, opened lazily in the process that serves it */
    void *dash;
    long dash_pid;
} Binding;

/* A callable object bound to a Binding and (except the dashboard view)
 * wrapping another callable: the layout of the Middleware, EnsureSync and
 * DashView types, which share its GC functions (binding.c). */
typedef struct BoundCall {
    PyObject_HEAD vectorcallfunc vectorcall;
    Binding *b;
    PyObject *inner; /* may be NULL */
} BoundCall;
/* A new tracked object of `type` (whose basicsize is a BoundCall's) calling
 * fn; b and inner (may be NULL) gain a reference.  New reference. */
PyObject *boundcall_new(PyTypeObject *type, vectorcallfunc fn, Binding *b, PyObject *inner);
int boundcall_traverse(PyObject *self, visitproc visit, void *arg);
int boundcall_clear(PyObject *self);
void boundcall_dealloc(PyObject *self);

/* wrapper.c */
extern PyTypeObject Wrapper_Type;
extern PyTypeObject Middleware_Type;
/* A new Wrapper (new reference) timing `orig` as endpoint id `ep`. */
PyObject *wrapper_new(Binding *b, PyObject *orig, int ep, PyObject *name, int is_async);
extern PyTypeObject EnsureSync_Type;
/* A callable for app.ensure_sync that answers for Wrappers itself and
 * calls inner (Flask's) for anything else.  New reference. */
PyObject *ensure_sync_new(Binding *b, PyObject *inner);
/* The Wrapper's original function (borrowed) if obj is a Wrapper of b. */
PyObject *wrapper_orig(PyObject *obj);
int wrapper_endpoint(PyObject *obj);
PyObject *middleware_new(Binding *b, PyObject *inner);
/* This thread's context (never NULL once the module is loaded, unless out
 * of memory).  Borrowed; owned by the module. */
reqctx *reqctx_get(void);
int reqctx_setup(void);

/* binding.c */
extern PyTypeObject Binding_Type;
/* Register new views and swap wrappers in or out as levels change.
 * Called with the GIL.  Returns 0 or -1 with a Python exception set. */
int binding_sync(Binding *b);
int64_t mono_ns(void);

/* capture.c: the agent's callbacks; `user` is the Binding. */
int capture_stack(void *user, uint64_t thread, void *ctx, char *buf, size_t cap);
int capture_details(void *user, uint64_t thread, void *ctx, char *buf, size_t cap);
/* Called from os.register_at_fork hooks and at exit. */
PyObject *capture_before_fork(PyObject *self, PyObject *unused);
PyObject *capture_after_fork(PyObject *self, PyObject *unused);
PyObject *capture_after_fork_child(PyObject *self, PyObject *unused);
void capture_shutdown(void);

/* dashview.c: the dashboard view (a callable: returns (body, status, headers)). */
extern PyTypeObject DashView_Type;
PyObject *dashview_new(Binding *b);
void dashview_close(Binding *b);

/* config.c: evodash.Config, a wrapper of evd_config. */
extern PyTypeObject Config_Type;
/* Borrowed evd_config of a Config object, or NULL with TypeError set. */
evd_config *config_of(PyObject *obj);

/* ci_glue.c: the pytest plugin's and the X-Evodash-Test header's side */
/* Binding.test_set(name or None), .database(), .service() */
PyObject *ci_test_set(PyObject *self, PyObject *arg);
PyObject *ci_database(PyObject *self, PyObject *unused);
PyObject *ci_service(PyObject *self, PyObject *unused);
PyObject *ci_store_py(PyObject *self, PyObject *args);
PyObject *ci_attach_py(PyObject *self, PyObject *args);
/* The agent's id of the test named by environ's X-Evodash-Test, or 0. */
int ci_header_test(Binding *b, PyObject *environ);

/* fmd_glue.c */
PyObject *fmd_import_py(PyObject *self, PyObject *args, PyObject *kw);

extern PyObject *EvodashError;

#endif
