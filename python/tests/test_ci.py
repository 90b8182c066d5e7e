"""CI timings in the binding: a test's requests go to the CI tables, named
by the pytest plugin (evodash._set_test) or by the X-Evodash-Test header,
which counts only with TEST_HEADER on.  The plugin end to end, on the
example shop and its own suite, is tests/integration/ci_test.py."""
import evodash
import evodash.pytest as plugin
from conftest import new_app, rows


def app_with_views():
    app = new_app()

    @app.route("/a")
    def a():
        return "a"

    @app.route("/b")
    def b():
        return "b"

    return app


def calls(path):
    return rows(path, "SELECT test, endpoint, status FROM ci_calls ORDER BY id")


def live(path):
    return rows(path, "SELECT count(*) FROM requests")[0][0]


def test_running_test_takes_the_requests(bound, store_path):
    app = app_with_views()
    b = bound(app)
    c = app.test_client()
    c.get("/a")
    evodash._set_test("tests.test_x::test_one")
    c.get("/a")
    c.get("/b")
    evodash._set_test(None)
    c.get("/b")
    assert b.flush(5000)
    assert calls(store_path) == [("tests.test_x::test_one", "a", 200),
                                 ("tests.test_x::test_one", "b", 200)]
    assert live(store_path) == 2


def test_app_bound_inside_a_test_records_for_it(bound, store_path):
    evodash._set_test("tests.test_x::test_factory")
    try:
        app = app_with_views()
        b = bound(app)
        app.test_client().get("/a")
    finally:
        evodash._set_test(None)
    assert b.flush(5000)
    assert calls(store_path) == [("tests.test_x::test_factory", "a", 200)]


def test_header_only_with_test_header(bound, store_path, monkeypatch):
    app = app_with_views()
    b = bound(app)
    app.test_client().get("/a", headers={"X-Evodash-Test": "t::sneaky"})
    assert b.flush(5000)
    assert calls(store_path) == [] and live(store_path) == 1, "ignored without TEST_HEADER"
    b.close()
    monkeypatch.setenv("EVODASH_TEST_HEADER", "true")
    app2 = app_with_views()
    b2 = bound(app2)
    c = app2.test_client()
    c.get("/b", headers={"X-Evodash-Test": "tests.api::test_b"})
    c.get("/b")
    assert b2.flush(5000)
    assert calls(store_path) == [("tests.api::test_b", "b", 200)]
    assert live(store_path) == 2


def test_names_as_junitxml_writes_them():
    assert plugin._names("tests/test_api.py::test_list") == ("tests.test_api", "test_list")
    assert plugin._names("tests/test_api.py::TestCart::test_add[2-x]") == (
        "tests.test_api.TestCart", "test_add[2-x]")
    assert plugin._names("test_top.py::test_a") == ("test_top", "test_a")
