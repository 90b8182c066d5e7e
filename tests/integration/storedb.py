"""storedb.py — what the integration tests need of a store, on either backend.

A test's store is a SQLite file, or a PostgreSQL database on the throwaway
server that tests/pg/with_pg.sh starts (EVODASH_TEST_PG).  connect() opens
either with the same small interface (execute with ? parameters, fetchone,
fetchall, commit, close), so that a test's reference queries read the same
on both.
"""
import os
import re


def is_pg(db):
    return db.startswith("postgresql://") or db.startswith("postgres://")


class _PgConn:
    def __init__(self, url):
        import psycopg2  # Debian's python3-psycopg2
        self.con = psycopg2.connect(url)

    def execute(self, sql, params=()):
        cur = self.con.cursor()
        cur.execute(re.sub(r"\?", "%s", sql), tuple(params))
        return cur

    def commit(self):
        self.con.commit()

    def close(self):
        self.con.close()


def connect(db):
    """db: a SQLite path or a postgresql:// URL."""
    if is_pg(db):
        return _PgConn(db)
    import sqlite3
    return sqlite3.connect(db)


def server():
    url = os.environ.get("EVODASH_TEST_PG")
    if not url:
        raise SystemExit("no PostgreSQL server: run this under tests/pg/with_pg.sh")
    return url


def fresh_pg_db(name):
    """A new, empty database on the test server; returns its URL."""
    import psycopg2
    con = psycopg2.connect(server() + "/postgres")
    con.autocommit = True
    cur = con.cursor()
    cur.execute('DROP DATABASE IF EXISTS "%s"' % name)
    cur.execute('CREATE DATABASE "%s"' % name)
    con.close()
    return "%s/%s" % (server(), name)


def database_url(db):
    """The DATABASE value for a config: a URL as it is, a path as sqlite:///."""
    return db if is_pg(db) else "sqlite:///" + db
