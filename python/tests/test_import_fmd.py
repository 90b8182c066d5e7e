"""import-fmd on a database built here from Flask-MonitoringDashboard's
documented schema (flask_monitoringdashboard/database/__init__.py)."""
import json
import sqlite3
import subprocess
import sys

import pytest

import evodash
from evodash import _evodash
from conftest import rows

SCHEMA = """
CREATE TABLE "{p}Endpoint" (id INTEGER PRIMARY KEY, name VARCHAR(250) NOT NULL UNIQUE,
    monitor_level INTEGER, time_added DATETIME, version_added VARCHAR(100),
    last_requested DATETIME);
CREATE TABLE "{p}Request" (id INTEGER PRIMARY KEY, endpoint_id INTEGER REFERENCES
    "{p}Endpoint"(id), duration FLOAT NOT NULL, time_requested DATETIME,
    version_requested VARCHAR(100), group_by VARCHAR(100), ip VARCHAR(100) NOT NULL,
    status_code INTEGER);
CREATE TABLE "{p}Outlier" (id INTEGER PRIMARY KEY, request_id INTEGER REFERENCES
    "{p}Request"(id), request_header TEXT, request_environment TEXT,
    request_url VARCHAR(2100), cpu_percent VARCHAR(150), memory TEXT, stacktrace TEXT);
CREATE TABLE "{p}CodeLine" (id INTEGER PRIMARY KEY, filename VARCHAR(250) NOT NULL,
    line_number INTEGER NOT NULL, function_name VARCHAR(250) NOT NULL,
    code VARCHAR(250) NOT NULL);
CREATE TABLE "{p}StackLine" (request_id INTEGER NOT NULL REFERENCES "{p}Request"(id),
    code_id INTEGER REFERENCES "{p}CodeLine"(id), position INTEGER NOT NULL,
    indent INTEGER NOT NULL, duration FLOAT NOT NULL, PRIMARY KEY (request_id, position));
CREATE TABLE "{p}User" (id INTEGER PRIMARY KEY, username VARCHAR(250) NOT NULL UNIQUE,
    password_hash VARCHAR(162) NOT NULL, is_admin BOOLEAN);
"""

STACK = ('  File "/srv/app.py", line 10, in index\n    return slow()\n'
         '  File "/srv/app.py", line 20, in slow\n    time.sleep(1)\n')


def build_fmd(path, prefix=""):
    db = sqlite3.connect(path)
    db.executescript(SCHEMA.format(p=prefix))
    e, r, o = prefix + "Endpoint", prefix + "Request", prefix + "Outlier"
    db.execute('INSERT INTO "%s" VALUES (1, "index", 2, "2024-01-01 00:00:00", "v1", '
               '"2024-03-02 10:00:00.500000")' % e)
    db.execute('INSERT INTO "%s" VALUES (5, "api.users", 0, "2024-01-01 00:00:00", "v1", NULL)'
               % e)
    reqs = [
        (1, 1, 12.5, "2024-03-01 10:15:00.250000", "v1", "alice", "10.0.0.1", 200),
        (2, 1, 7.5, "2024-03-01 10:45:00", "v1", None, "10.0.0.2", 200),
        (3, 1, 1500.0, "2024-03-01 11:05:00", "v1", "bob", "10.0.0.1", 500),
        (4, 1, 3.25, "2024-03-02 09:00:00", "v2", None, "10.0.0.3", 200),
        (5, 5, 2.0, "2024-03-02 09:30:00", "v2", None, "10.0.0.3", 404),
        (6, 5, 4.0, "2024-03-02 09:31:00", "v2", None, "10.0.0.3", None),
    ]
    db.executemany('INSERT INTO "%s" VALUES (?,?,?,?,?,?,?,?)' % r, reqs)
    db.execute('INSERT INTO "%s" VALUES (1, 3, ?, ?, ?, ?, ?, ?)' % o,
               ("Host: example.org\r\nAuthorization: Basic c2VjcmV0\r\nAccept: */*",
                "{'REQUEST_METHOD': 'GET'}", "http://example.org/?x=1", "[10.5, 20.0]",
                "svmem(total=100, available=50)", STACK))
    db.execute('INSERT INTO "%sCodeLine" VALUES (1, "/srv/app.py", 10, "index", "slow()")'
               % prefix)
    db.execute('INSERT INTO "%sCodeLine" VALUES (2, "/srv/app.py", 20, "slow", "sleep")'
               % prefix)
    db.execute('INSERT INTO "%sStackLine" VALUES (3, 1, 0, 0, 1500.0)' % prefix)
    db.execute('INSERT INTO "%sStackLine" VALUES (3, 2, 1, 1, 1490.0)' % prefix)
    db.commit()
    db.close()


@pytest.mark.parametrize("prefix", ["", "fmd_"])
def test_import_fmd(tmp_path, prefix):
    src, dst = str(tmp_path / "fmd.db"), str(tmp_path / "evodash.db")
    build_fmd(src, prefix)
    n = _evodash.import_fmd(src, "sqlite:///" + dst)
    assert n == {"endpoints": 2, "versions": 2, "requests": 6, "outliers": 1,
                 "profile_lines": 2}
    assert rows(dst, "SELECT name, level FROM endpoints ORDER BY name") == [
        ("api.users", 0), ("index", 2)]
    got = rows(dst, "SELECT e.name, r.ts_us, r.duration_us, v.name, r.group_name, r.ip, "
                    "r.status FROM requests r JOIN endpoints e ON e.id = r.endpoint_id "
                    "JOIN versions v ON v.id = r.version_id ORDER BY r.ts_us")
    assert got[0] == ("index", 1709288100250000, 12500, "v1", "alice", "10.0.0.1", 200)
    assert [g[6] for g in got] == [200, 200, 500, 200, 404, 0]
    assert [g[2] for g in got] == [12500, 7500, 1500000, 3250, 2000, 4000]
    # rollups: index/v1 has two hours (10h: 2 requests, 11h: 1)
    roll = rows(dst, "SELECT e.name, v.name, r.hour, r.count, r.sum_us, r.min_us, r.max_us, "
                     "r.s2xx, r.s5xx FROM rollups r JOIN endpoints e ON e.id = r.endpoint_id "
                     "JOIN versions v ON v.id = r.version_id ORDER BY e.name, r.hour")
    assert ("index", "v1", 1709288100 // 3600, 2, 20000, 7500, 12500, 2, 0) in roll
    assert ("index", "v1", 1709290800 // 3600, 1, 1500000, 1500000, 1500000, 0, 1) in roll
    assert sum(r[3] for r in roll) == 6
    (stack, details, cpu) = rows(dst, "SELECT stack, details, cpu FROM outliers")[0]
    assert stack == "index\t/srv/app.py\t10\nslow\t/srv/app.py\t20\n"
    d = json.loads(details)
    assert d["url"] == "http://example.org/?x=1"
    assert d["headers"]["Host"] == "example.org"
    assert d["headers"]["Authorization"] == "***"
    assert json.loads(cpu) == [10.5, 20.0]
    prof = rows(dst, "SELECT position, indent, function, file, line, duration_us FROM "
                     "profiler_samples ORDER BY position")
    assert prof == [(0, 0, "index", "/srv/app.py", 10, 1500000),
                    (1, 1, "slow", "/srv/app.py", 20, 1490000)]
    assert rows(dst, "SELECT last_access_us FROM endpoints WHERE name='index'") == [
        (1709373600500000,)]


def test_import_fmd_command_line(tmp_path):
    src, dst = str(tmp_path / "flask_monitoringdashboard.db"), str(tmp_path / "e.db")
    build_fmd(src)
    out = subprocess.run([sys.executable, "-m", "evodash", "import-fmd", src, "--into",
                          "sqlite:///" + dst], capture_output=True, text=True, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "6 requests" in out.stdout
    assert rows(dst, "SELECT count(*) FROM requests") == [(6,)]


def test_import_fmd_evodash_command(tmp_path):
    """The same importer behind `evodash import-fmd` (the C command line)."""
    import os
    cli = os.path.join(os.path.dirname(__file__), "..", "..", "build", "rel", "evodash")
    if not os.path.exists(cli):
        pytest.skip("build/rel/evodash is not built")
    src, dst = str(tmp_path / "flask_monitoringdashboard.db"), str(tmp_path / "e.db")
    build_fmd(src)
    out = subprocess.run([cli, "import-fmd", src, "--into", "sqlite:///" + dst],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "6 requests" in out.stdout
    assert rows(dst, "SELECT count(*) FROM requests") == [(6,)]
    bad = subprocess.run([cli, "import-fmd", str(tmp_path / "missing.db")],
                         capture_output=True, text=True, cwd=str(tmp_path))
    assert bad.returncode == 1 and "missing.db" in bad.stderr


def test_import_fmd_bad_input(tmp_path):
    dst = "sqlite:///" + str(tmp_path / "e.db")
    with pytest.raises(evodash.EvodashError, match="cannot open"):
        _evodash.import_fmd(str(tmp_path / "missing.db"), dst)
    other = str(tmp_path / "other.db")
    sqlite3.connect(other).executescript("CREATE TABLE t(x);")
    with pytest.raises(evodash.EvodashError, match="not a Flask-MonitoringDashboard"):
        _evodash.import_fmd(other, dst)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(evodash.EvodashError):
        _evodash.import_fmd(str(junk), dst)
    bad = str(tmp_path / "bad.db")
    build_fmd(bad)
    db = sqlite3.connect(bad)
    db.execute('UPDATE "Request" SET time_requested = "yesterday" WHERE id = 4')
    db.commit()
    db.close()
    with pytest.raises(evodash.EvodashError, match="Request id 4: time_requested"):
        _evodash.import_fmd(bad, dst)
    # all or nothing: the failed import left no rows
    assert rows(str(tmp_path / "e.db"), "SELECT count(*) FROM requests") == [(0,)]
    r = subprocess.run([sys.executable, "-m", "evodash", "import-fmd", bad, "--into", dst],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "Request id 4" in r.stderr


def test_import_fmd_twice(tmp_path):
    """The store remembers the database: a second import is refused, the
    store unchanged; force=True (--force) imports it again."""
    src, dst = str(tmp_path / "fmd.db"), str(tmp_path / "e.db")
    build_fmd(src)
    _evodash.import_fmd(src, "sqlite:///" + dst)
    with pytest.raises(evodash.EvodashError, match="imported into .* already") as e:
        _evodash.import_fmd(src, "sqlite:///" + dst)
    assert e.value.already_imported
    assert rows(dst, "SELECT count(*) FROM requests") == [(6,)]
    r = subprocess.run([sys.executable, "-m", "evodash", "import-fmd", src, "--into",
                        "sqlite:///" + dst], capture_output=True, text=True)
    assert r.returncode == 3 and "--force" in r.stderr
    n = _evodash.import_fmd(src, "sqlite:///" + dst, force=True)
    assert n["requests"] == 6
    assert rows(dst, "SELECT count(*) FROM requests") == [(12,)]
    r = subprocess.run([sys.executable, "-m", "evodash", "import-fmd", src, "--into",
                        "sqlite:///" + dst, "--force", "--service", "shop"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert rows(dst, "SELECT count(*) FROM imports") == [(3,)]
    # a failure is not a refusal
    with pytest.raises(evodash.EvodashError) as e:
        _evodash.import_fmd(str(tmp_path / "missing.db"), "sqlite:///" + dst)
    assert not e.value.already_imported


def test_import_fmd_stack_format(tmp_path):
    """FMD's own outlier stack format becomes frames; the URL's secret is masked."""
    src, dst = str(tmp_path / "fmd.db"), str(tmp_path / "e.db")
    build_fmd(src)
    db = sqlite3.connect(src)
    db.execute('UPDATE "Outlier" SET stacktrace = ?, request_url = ?',
               ('File: "/srv/app.py", line 10, in "index": "return slow()"<br />'
                'File: "/srv/app.py", line 20, in "slow": "time.sleep(1)"',
                b"http://example.org/?password=hunter2&x=1"))
    db.commit()
    db.close()
    _evodash.import_fmd(src, "sqlite:///" + dst)
    (stack, details) = rows(dst, "SELECT stack, details FROM outliers")[0]
    assert stack == "index\t/srv/app.py\t10\nslow\t/srv/app.py\t20\n"
    d = json.loads(details)
    assert d["url"] == "http://example.org/?password=***&x=1"
    assert d["values"] == {"password": "***", "x": "1"}
