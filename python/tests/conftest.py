"""Shared fixtures: a fresh evodash configuration and store per test."""
import os
import sqlite3
import time

import flask
import pytest

import evodash


@pytest.fixture
def store_path(tmp_path):
    return str(tmp_path / "evodash.db")


@pytest.fixture
def fresh_config(store_path):
    evodash.config.__init__()
    evodash.config.database_name = "sqlite:///" + store_path
    evodash.config.username = "admin"
    evodash.config.password = "s3cret-pw"
    evodash.config.version = "1.2.3"
    yield evodash.config
    evodash.config.__init__()


@pytest.fixture
def bound(fresh_config):
    """make(app) binds app; every binding is closed at the end."""
    made = []

    def make(app):
        b = evodash.bind(app)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()
        evodash._bindings.remove(b)


def rows(path, sql, *args):
    db = sqlite3.connect(path, timeout=10)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def requests(path):
    """(endpoint, status, group, ip, version, duration_us) of every stored request."""
    return rows(path, "SELECT e.name, r.status, r.group_name, r.ip, v.name, r.duration_us "
                      "FROM requests r JOIN endpoints e ON e.id = r.endpoint_id "
                      "JOIN versions v ON v.id = r.version_id ORDER BY r.id")


def wait_for(pred, timeout=10.0, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def new_app():
    app = flask.Flask("t_" + os.urandom(4).hex())
    app.testing = True
    return app
