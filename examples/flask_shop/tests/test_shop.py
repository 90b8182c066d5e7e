"""The shop's own tests: each one's requests become its endpoint timings."""
import pytest

from shop import app


@pytest.fixture
def client():
    return app.test_client()


def test_index(client):
    assert client.get("/").data == b"shop"


def test_items(client):
    assert client.get("/items").json["items"] == ["cocoa", "coffee", "tea"]


@pytest.mark.parametrize("item_id", [1, 2])
def test_item(client, item_id):
    assert client.get("/items/%d" % item_id).status_code == 200


def test_missing_item(client):
    assert client.get("/items/99").status_code == 404


def test_checkout(client):
    assert client.get("/items/1").status_code == 200
    for _ in range(3):
        assert client.post("/checkout").status_code == 201


def test_prices_add_up():
    # hits no endpoint: recorded as a test with no calls
    assert sum([1, 2]) == 3


class TestBasket:
    def test_basket(self, client):
        assert client.get("/items").status_code == 200
