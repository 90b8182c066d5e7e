"""evodash for Flask: ``import evodash; evodash.bind(app)``.

The binding is the C extension ``evodash._evodash``; this file is only the
glue Flask needs in Python: the ``config`` object (Flask-MonitoringDashboard
style), hooking ``app.add_url_rule`` and mounting the dashboard route.
"""
import atexit
import os

from . import _evodash
from ._evodash import EvodashError

__all__ = ["bind", "config", "EvodashError"]

# Flask-MonitoringDashboard attribute names -> evodash configuration keys.
_KEYS = {
    "version": "APP_VERSION", "git": "GIT", "link": "CUSTOM_LINK",
    "monitor_level": "MONITOR_LEVEL",
    "outlier_detection_constant": "OUTLIER_DETECTION_CONSTANT",
    "sampling_period": "SAMPLING_PERIOD", "enable_logging": "ENABLE_LOGGING",
    "database_name": "DATABASE", "table_prefix": "TABLE_PREFIX",
    "username": "USERNAME", "password": "PASSWORD", "security_token": "SECURITY_TOKEN",
    "guest_username": "GUEST_USERNAME", "guest_password": "GUEST_PASSWORD",
    "timezone": "TIMEZONE", "brand_name": "BRAND_NAME", "title_name": "TITLE_NAME",
    "service_name": "SERVICE_NAME",
}
_bindings = []
_test = None  # the running test, set by the pytest plugin (evodash.pytest)


class Config:
    """Configuration shared by every app bound in this process."""

    def __init__(self):
        object.__setattr__(self, "_cfg", _evodash.Config())
        object.__setattr__(self, "_group_by", None)
        object.__setattr__(self, "_get_ip", None)
        object.__setattr__(self, "_trusted", frozenset())

    def init_from(self, file=None, envvar=None):
        """Read an INI file, named directly or by an environment variable."""
        if envvar is not None:
            file = os.environ.get(envvar) or file
        if file:
            self._cfg.load(file)

    def __getattr__(self, name):
        if name in _KEYS:
            return self._cfg.get(_KEYS[name])
        raise AttributeError(name)

    def __setattr__(self, name, value):
        if name in _KEYS:
            self._cfg.set(_KEYS[name], str(value))
        elif name in ("group_by", "get_ip", "trusted_proxies"):
            object.__setattr__(self, "_" + {"trusted_proxies": "trusted"}.get(name, name),
                               frozenset(value or ()) if name == "trusted_proxies" else value)
            for b in _bindings:  # apply to apps already bound
                {"group_by": b.set_group_by, "get_ip": b.set_get_ip,
                 "trusted_proxies": b.set_trusted_proxies}[name](
                    frozenset(value or ()) if name == "trusted_proxies" else value)
        else:
            raise AttributeError("evodash.config has no setting %r" % name)

    group_by = property(lambda self: self._group_by)
    get_ip = property(lambda self: self._get_ip)
    trusted_proxies = property(lambda self: self._trusted)


config = Config()

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def bind(app):
    """Monitor every route of ``app`` and mount the dashboard at /<CUSTOM_LINK>.

    Returns the binding; binding the same app again returns the same one."""
    if "evodash" in app.extensions:
        return app.extensions["evodash"]
    # the service is the app, unless the configuration names it
    if config._cfg.get("SERVICE_NAME") is None and not os.environ.get("EVODASH_SERVICE_NAME"):
        config._cfg.set("SERVICE_NAME", app.import_name)
    b = _evodash.Binding(app, config._cfg, config._group_by, config._get_ip, config._trusted)
    add_url_rule = app.add_url_rule

    def hooked_add_url_rule(*args, **kwargs):
        add_url_rule(*args, **kwargs)
        b.sync()

    app.add_url_rule = hooked_add_url_rule
    app.wsgi_app = b.middleware(app.wsgi_app)
    app.ensure_sync = b.ensure_sync(app.ensure_sync)
    prefix = b.dashboard_prefix
    view = b.dashboard_view()
    add_url_rule(prefix, "evodash_dashboard", view, methods=_METHODS, strict_slashes=False)
    add_url_rule(prefix + "/<path:evodash_path>", "evodash_dashboard", view, methods=_METHODS)
    app.extensions["evodash"] = b
    _bindings.append(b)
    if _test is not None:  # an app made inside a test (a fixture's factory)
        b.test_set(_test)
    return b


def _set_test(name):
    """Record every request from now on as test ``name``'s (None: live)."""
    global _test
    _test = name
    for b in _bindings:
        b.test_set(name)


def _at_exit():
    # Python's atexit runs before the interpreter is torn down: stop the
    # capture callbacks, then drain every agent.
    _evodash._shutdown()
    for b in _bindings:
        b.close()


atexit.register(_at_exit)
os.register_at_fork(before=_evodash._before_fork, after_in_parent=_evodash._after_fork,
                    after_in_child=_evodash._after_fork_child)
