"""The Flask app bench_capacity.py runs under gunicorn: three endpoints of
different CPU costs, each a fixed amount of work (a spin on the thread's
CPU time, so it takes longer when the CPU is shared, as real work does),
bound to evodash (unless CAPACITY_NO_EVODASH=1: bench/capacity_levels.py
--bare measures the app alone)."""
import os
import time

import flask

import evodash

app = flask.Flask(__name__)


def spin(ms):
    end = time.thread_time() + ms / 1000.0
    x = 0
    while time.thread_time() < end:
        for i in range(200):
            x += i
    return x


@app.route("/light")
def light():
    spin(2)
    return "light"


@app.route("/medium")
def medium():
    spin(6)
    return "medium"


@app.route("/heavy")
def heavy():
    spin(15)
    return "heavy"


if os.environ.get("CAPACITY_NO_EVODASH") != "1":
    evodash.bind(app)
