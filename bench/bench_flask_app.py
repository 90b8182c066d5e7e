"""The app bench_flask_overhead.py runs under gunicorn: hello world, bound to
evodash unless EVODASH_BENCH_OFF is set."""
import os

import flask

app = flask.Flask(__name__)


@app.route("/")
def hello():
    return "Hello, World!"


if not os.environ.get("EVODASH_BENCH_OFF"):
    import evodash

    evodash.bind(app)
