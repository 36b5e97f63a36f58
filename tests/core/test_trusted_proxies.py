"""Behind a reverse proxy the client's address comes from X-Forwarded-For, only when set."""
import pytest
from flask import request

from exchange import create_app


@pytest.fixture
def address_app(app_config):
    def make(**config):
        app = create_app(app_config | config)
        app.add_url_rule("/_test/address", "address", lambda: request.remote_addr or "")
        return app.test_client()
    return make


def test_forwarded_addresses_count_only_behind_configured_proxies(address_app):
    headers = {"X-Forwarded-For": "203.0.113.7"}
    assert address_app().get("/_test/address", headers=headers).text == "127.0.0.1"
    behind_one = address_app(TRUSTED_PROXIES=1)
    assert behind_one.get("/_test/address", headers=headers).text == "203.0.113.7"
    # A client that adds its own header in front of the proxy's cannot choose its address.
    forged = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    assert behind_one.get("/_test/address", headers=forged).text == "203.0.113.7"


def test_the_environment_sets_the_number_of_proxies(app_config, monkeypatch):
    monkeypatch.setenv("EXCHANGE_TRUSTED_PROXIES", "1")
    assert create_app(app_config).config["TRUSTED_PROXIES"] == 1
    monkeypatch.setenv("EXCHANGE_TRUSTED_PROXIES", "eins")
    with pytest.raises(ValueError, match="EXCHANGE_TRUSTED_PROXIES"):
        create_app(app_config)
