"""A small Flask shop monitored by evodash, with its own test suite in
tests/: the example of CI timings (docs/ci.md).  Run the suite with the
plugin (pytest.ini enables it) and every test's requests are recorded as
its endpoint timings in the app's store:

    EVODASH_DATABASE=sqlite:///shop.db python3 -m pytest
"""
import time

import flask

import evodash

app = flask.Flask("shop")
ITEMS = {1: "tea", 2: "coffee", 3: "cocoa"}


@app.route("/")
def index():
    return "shop"


@app.route("/items")
def items():
    return {"items": sorted(ITEMS.values())}


@app.route("/items/<int:item_id>")
def item(item_id):
    if item_id not in ITEMS:
        flask.abort(404)
    return {"id": item_id, "name": ITEMS[item_id]}


@app.route("/checkout", methods=["POST"])
def checkout():
    time.sleep(0.002)  # a payment provider's round trip
    return {"ok": True}, 201


evodash.config.init_from(envvar="EVODASH_CONFIG")
evodash.bind(app)
