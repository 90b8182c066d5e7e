"""The app the server tests run under gunicorn.  The store and version come
from EVODASH_* environment variables, as in production."""
import os

import flask

import evodash

app = flask.Flask(__name__)


@app.route("/ok")
def ok():
    return str(os.getpid())


@app.route("/created", methods=["POST"])
def created():
    return "c", 201


@app.route("/missing")
def missing():
    flask.abort(404)


@app.route("/boom")
def boom():
    raise RuntimeError("boom")


evodash.bind(app)
