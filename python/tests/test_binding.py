"""Flask test-client tests of what a bound app records."""
import sqlite3
import time

import flask
import pytest
from werkzeug.exceptions import NotFound, Forbidden

import evodash
from conftest import new_app, requests, rows, wait_for


def make_app():
    app = new_app()

    @app.route("/")
    def index():
        return "hello"

    @app.route("/created", methods=["POST"])
    def created():
        return "made", 201

    @app.route("/text-status")
    def text_status():
        return "teapot", "418 I'M A TEAPOT"

    @app.route("/response")
    def response():
        return flask.Response("r", status=202)

    @app.route("/abort")
    def aborted():
        flask.abort(404)

    @app.route("/returned-exc")
    def returned_exc():
        return Forbidden()

    @app.route("/json")
    def as_json():
        return {"a": 1}

    @app.route("/users/<int:uid>")
    def user(uid):
        return str(uid)

    return app


def test_records_endpoint_status_version_ip(bound, store_path):
    app = make_app()
    b = bound(app)
    c = app.test_client()
    expected = [("/", "get", "index", 200), ("/created", "post", "created", 201),
                ("/text-status", "get", "text_status", 418),
                ("/response", "get", "response", 202), ("/abort", "get", "aborted", 404),
                ("/returned-exc", "get", "returned_exc", 403), ("/json", "get", "as_json", 200),
                ("/users/7", "get", "user", 200)]
    for path, method, _, status in expected:
        assert getattr(c, method)(path).status_code == status
    assert b.flush(5000)
    got = requests(store_path)
    assert [(r[0], r[1]) for r in got] == [(e[2], e[3]) for e in expected]
    assert all(r[4] == "1.2.3" for r in got)
    assert all(r[3] == "127.0.0.1" for r in got)
    assert all(r[5] >= 0 for r in got)
    rules = dict(rows(store_path, "SELECT name, rule FROM endpoints"))
    assert rules["user"] == "/users/<int:uid>"
    assert rows(store_path, "SELECT methods FROM endpoints WHERE name='created'") == [("POST",)]


def test_duration_is_measured(bound, store_path):
    app = new_app()

    @app.route("/sleep")
    def sleepy():
        time.sleep(0.05)
        return "z"

    b = bound(app)
    app.test_client().get("/sleep")
    b.flush(5000)
    (dur,) = [r[5] for r in requests(store_path)]
    assert 45000 <= dur < 5000000


def test_exception_recorded_as_500_and_reraised_unchanged(bound, store_path):
    app = new_app()
    boom = ValueError("boom")

    @app.route("/boom")
    def explode():
        raise boom

    b = bound(app)
    with pytest.raises(ValueError) as info:
        app.test_client().get("/boom")
    assert info.value is boom
    assert info.value.__traceback__ is not None
    b.flush(5000)
    assert [(r[0], r[1]) for r in requests(store_path)] == [("explode", 500)]


def test_http_exception_raised_keeps_its_code(bound, store_path):
    app = new_app()

    @app.route("/nf")
    def nf():
        raise NotFound()

    b = bound(app)
    assert app.test_client().get("/nf").status_code == 404
    b.flush(5000)
    assert [(r[0], r[1]) for r in requests(store_path)] == [("nf", 404)]


def test_route_added_after_bind_and_blueprint(bound, store_path):
    app = new_app()

    @app.route("/early")
    def early():
        return "e"

    b = bound(app)

    @app.route("/late")
    def late():
        return "l"

    bp = flask.Blueprint("shop", __name__)

    @bp.route("/cart")
    def cart():
        return "c"

    app.register_blueprint(bp, url_prefix="/shop")
    app.add_url_rule("/direct", "direct", lambda: ("d", 203))
    c = app.test_client()
    assert c.get("/late").status_code == 200
    assert c.get("/shop/cart").status_code == 200
    assert c.get("/direct").status_code == 203
    b.flush(5000)
    assert [(r[0], r[1]) for r in requests(store_path)] == [
        ("late", 200), ("shop.cart", 200), ("direct", 203)]
    names = {n for (n,) in rows(store_path, "SELECT name FROM endpoints")}
    assert {"early", "late", "shop.cart", "direct", "static"} <= names
    assert "evodash_dashboard" not in names
    w = app.view_functions["late"]
    assert isinstance(w, evodash._evodash.Wrapper)
    assert w.__wrapped__ is late and w.__name__ == "late" and w.__code__ is late.__code__
    assert app.ensure_sync(w) is w  # answered in C, without inspect


def index_app():
    """An app with the one route "/" (endpoint "index")."""
    app = new_app()

    @app.route("/")
    def index():
        return "g"

    return app


@pytest.mark.parametrize("spec,expected", [
    (lambda: "alice", "alice"),
    (("user", lambda: "bob"), "user=bob"),
    ([("user", lambda: "carol"), ("plan", lambda: 42)], "user=carol;plan=42"),
    ([lambda: "x", ("team", lambda: "red")], "x;team=red"),
])
def test_group_by_variants(bound, store_path, fresh_config, spec, expected):
    fresh_config.group_by = spec
    app = index_app()
    b = bound(app)
    app.test_client().get("/")
    b.flush(5000)
    assert [r[2] for r in requests(store_path)] == [expected]


def test_group_by_reads_the_request(bound, store_path, fresh_config):
    fresh_config.group_by = ("user", lambda: flask.request.args.get("u", "anon"))
    app = index_app()
    b = bound(app)
    c = app.test_client()
    c.get("/?u=dora")
    c.get("/")
    b.flush(5000)
    assert [r[2] for r in requests(store_path)] == ["user=dora", "user=anon"]


def test_group_by_failure_still_records(bound, store_path, fresh_config):
    fresh_config.group_by = [("bad", lambda: 1 / 0), ("ok", lambda: "y")]
    app = index_app()
    b = bound(app)
    assert app.test_client().get("/").status_code == 200
    b.flush(5000)
    assert [r[2] for r in requests(store_path)] == ["ok=y"]


def test_group_by_several_names_are_separate_groupings(bound, store_path, fresh_config):
    # one text per request ("user=...;plan=..."), read by the dashboard as
    # two dimensions: the boxes per plan, not per (user, plan)
    fresh_config.group_by = [("user", lambda: flask.request.args.get("u", "anon")),
                             ("plan", lambda: flask.request.args.get("p", "free"))]
    app = index_app()
    b = bound(app)
    c = app.test_client()
    for u, p in (("ann", "pro"), ("bob", "pro"), ("cy", "free"), ("ann", "pro")):
        assert c.get("/?u=%s&p=%s" % (u, p)).status_code == 200
    b.flush(5000)
    assert [r[2] for r in requests(store_path)][:2] == ["user=ann;plan=pro", "user=bob;plan=pro"]
    assert c.post("/dashboard/login",
                  json={"username": "admin", "password": "s3cret-pw"}).status_code == 200
    (ep,) = [e for e in c.get("/dashboard/api/rules").get_json()["items"]
             if e["endpoint"] == "index"]
    path = "/dashboard/api/endpoints/%d/groups" % ep["id"]
    d = c.get(path).get_json()
    assert d["groupings"] == ["user", "plan"] and d["grouping"] == "user"
    assert {i["group"]: i["box"]["count"] for i in d["items"]} == {"ann": 2, "bob": 1, "cy": 1}
    d = c.get(path + "?grouping=plan").get_json()
    assert {i["group"]: i["box"]["count"] for i in d["items"]} == {"pro": 3, "free": 1}
    d = c.get("/dashboard/api/endpoints/%d/bubbles?by=group&grouping=plan" % ep["id"]).get_json()
    assert sorted((i["group"], i["count"]) for i in d["items"]) == [("free", 1), ("pro", 3)]


def test_group_by_rejects_bad_spec(fresh_config):
    fresh_config.group_by = 42
    with pytest.raises(TypeError):
        evodash.bind(new_app())


def test_client_ip_proxy_rules(bound, store_path, fresh_config):
    app = new_app()

    @app.route("/")
    def index():
        return "ip"

    b = bound(app)
    c = app.test_client()
    xff = {"X-Forwarded-For": "6.6.6.6, 10.0.0.7"}
    # not trusted: X-Forwarded-For is ignored
    c.get("/", headers=xff, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    fresh_config.trusted_proxies = ["10.0.0.1", "10.0.0.7"]
    # trusted: the right-most address that is not a trusted proxy
    c.get("/", headers=xff, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    # a client that is not a proxy cannot forge its address
    c.get("/", headers=xff, environ_base={"REMOTE_ADDR": "8.8.8.8"})
    fresh_config.get_ip = lambda: flask.request.headers.get("X-Real-Ip", "none")
    c.get("/", headers={"X-Real-Ip": "1.2.3.4"})
    b.flush(5000)
    assert [r[3] for r in requests(store_path)] == ["10.0.0.1", "6.6.6.6", "8.8.8.8", "1.2.3.4"]


def test_level_zero_runs_the_original_function(bound, store_path):
    app = new_app()

    @app.route("/")
    def index():
        return "z"

    b = bound(app)
    assert isinstance(app.view_functions["index"], evodash._evodash.Wrapper)
    b.set_level("index", 0)
    assert app.view_functions["index"] is index
    c = app.test_client()
    c.get("/")
    b.flush(5000)
    # level 0 keeps the last access time, and nothing else
    assert wait_for(lambda: rows(store_path, "SELECT 1 FROM endpoints WHERE name='index' "
                                             "AND last_access_us > 0"))
    assert len(requests(store_path)) == 0
    b.set_level("index", 1)
    assert isinstance(app.view_functions["index"], evodash._evodash.Wrapper)
    c.get("/")
    b.flush(5000)
    assert len(requests(store_path)) == 1


def test_level_set_in_the_store_reaches_the_app(bound, store_path):
    app = new_app()

    @app.route("/")
    def index():
        return "z"

    b = bound(app)
    c = app.test_client()
    c.get("/")
    b.flush(5000)
    db = sqlite3.connect(store_path, timeout=10)
    db.execute("UPDATE endpoints SET level = 0 WHERE name = 'index'")
    db.commit()
    db.close()

    def swapped():
        c.get("/")
        return app.view_functions["index"] is index

    assert wait_for(swapped, timeout=5)
    n = len(requests(store_path))
    for _ in range(5):
        c.get("/")
    b.flush(5000)
    assert len(requests(store_path)) == n


def test_config_file_of_flask_monitoringdashboard(tmp_path, fresh_config, bound, monkeypatch):
    db = tmp_path / "fmd.db"
    cfg = tmp_path / "config.cfg"
    cfg.write_text(
        "[dashboard]\nAPP_VERSION=2.0\nCUSTOM_LINK=monitor\nMONITOR_LEVEL=1\n"
        "OUTLIER_DETECTION_CONSTANT=2.5\nSAMPLING_PERIOD=20\nENABLE_LOGGING=True\n\n"
        "[authentication]\nUSERNAME=admin\nPASSWORD=admin\nGUEST_USERNAME=guest\n"
        "GUEST_PASSWORD=['dashboardguest!', 'second_pw!']\n"
        "SECURITY_TOKEN=cc83733cb0af8b884ff6577086b87909\n\n"
        "[database]\nTABLE_PREFIX=fmd\nDATABASE=sqlite:///%s\n\n"
        "[visualization]\nTIMEZONE=Europe/Amsterdam\n"
        "COLORS={'main':'[0,97,255]',\n        'static':'[255,153,0]'}\n" % db)
    monkeypatch.setenv("FMD_CONFIG", str(cfg))
    evodash.config.init_from(envvar="FMD_CONFIG")
    assert evodash.config.link == "monitor"
    assert evodash.config.version == "2.0"
    app = new_app()

    @app.route("/")
    def index():
        return "x"

    b = bound(app)
    assert b.dashboard_prefix == "/monitor"
    app.test_client().get("/")
    b.flush(5000)
    assert [(r[0], r[4]) for r in requests(str(db))] == [("index", "2.0")]
    assert app.test_client().get("/monitor").status_code == 200


def test_bad_config_file_names_file_line_and_key(tmp_path, fresh_config):
    cfg = tmp_path / "bad.cfg"
    cfg.write_text("[dashboard]\nAPP_VERSION=1\nMONITOR_LEVEL=high\n")
    with pytest.raises(evodash.EvodashError) as info:
        evodash.config.init_from(file=str(cfg))
    assert "bad.cfg:3" in str(info.value) and "MONITOR_LEVEL" in str(info.value)
    with pytest.raises(evodash.EvodashError):
        evodash.config.monitor_level = 9


def test_dashboard_is_mounted(bound, store_path):
    app = make_app()
    b = bound(app)
    c = app.test_client()
    c.get("/")
    b.flush(5000)
    page = c.get("/dashboard")
    assert page.status_code == 200 and b"<" in page.data
    assert c.get("/dashboard/api/overview").status_code == 401
    login = c.post("/dashboard/login", json={"username": "admin", "password": "s3cret-pw"})
    assert login.status_code == 200
    over = c.get("/dashboard/api/overview")
    assert over.status_code == 200
    assert b"index" in over.data
    assert c.post("/dashboard/login", json={"username": "admin", "password": "no"}).status_code \
        in (401, 403)
    # the dashboard itself is not monitored
    b.flush(5000)
    assert all(r[0] != "evodash_dashboard" for r in requests(store_path))


def test_binding_twice_is_one_binding(bound, store_path):
    app = new_app()

    @app.route("/")
    def index():
        return "once"

    b = bound(app)
    assert evodash.bind(app) is b
    app.test_client().get("/")
    b.flush(5000)
    assert len(requests(store_path)) == 1
