"""One safe-redirect helper (util.safe_next) for every `next=`, the referrer and stored links."""
import re

import pytest
from conftest import PASSWORD

from exchange.extensions import db
from exchange.util import safe_next

#: Values that must never become a redirect target: each one leaves the site in some
#: browser, or names no page of ours.
HOSTILE = [
    "https:evil.example",
    "https:/evil.example",
    "https:///evil.example",
    "http:evil.example/x",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "%2F%2Fevil.example",
    "evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/\x00/evil.example",
    "/\u200b/evil.example",
    "/\u3000/evil.example",
    "https://evil.example/",
    "https://localhost.evil.example/",
    "https://user@localhost/",
    "http://localhost//evil.example",
    "ftp://localhost/",
    "http://[::1",
    "/" + "a" * 2000,
    "",
    None,
]

#: Values that stay on the site (the test client's host is "localhost").
LOCAL = [
    ("/", "/"),
    ("/staedte", "/staedte"),
    ("/staedte?land=Bayern", "/staedte?land=Bayern"),
    ("/erfahrungen/e-akte#verlauf", "/erfahrungen/e-akte#verlauf"),
    ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),  # a path of ours, not a host
    ("http://localhost/staedte?q=x", "/staedte?q=x"),  # our own host: reduced to its path
    ("https://LOCALHOST", "/"),
]


#: Requests carrying NUL are refused with 400 before any view (core/guard.py).
HOSTILE_IN_REQUESTS = [value for value in HOSTILE if value and "\x00" not in value]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_targets_give_the_fallback(app, value):
    with app.test_request_context("/"):
        assert safe_next(value, "/fallback") == "/fallback"


@pytest.mark.parametrize("value, expected", LOCAL)
def test_local_targets_are_kept_as_paths(app, value, expected):
    with app.test_request_context("/"):
        assert safe_next(value, "/fallback") == expected


@pytest.mark.parametrize("value", HOSTILE_IN_REQUESTS)
def test_language_switch_never_leaves_the_site(client, value):
    response = client.get("/lang/de", query_string={"next": value})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_language_switch_reported_case(client):
    """The case from the issue: https:evil.example became https:///evil.example."""
    response = client.get("/lang/de?next=https:evil.example")
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("referrer, expected", [
    ("http://localhost/staedte?land=Bayern", "/staedte?land=Bayern"),
    ("https://evil.example/staedte", "/"),
    ("http://localhost//evil.example", "/"),
])
def test_language_switch_follows_only_our_own_referrer(client, referrer, expected):
    response = client.get("/lang/en", headers={"Referer": referrer})
    assert response.headers["Location"] == expected


def test_language_switch_keeps_a_local_next(client):
    assert client.get("/lang/en?next=/themen?x=1").headers["Location"] == "/themen?x=1"


@pytest.mark.parametrize("value", HOSTILE_IN_REQUESTS)
def test_login_next_never_leaves_the_site(client, anna, value):
    response = client.post("/login", data={"email": anna.email, "password": PASSWORD,
                                           "next": value})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_form_does_not_carry_a_hostile_next(client):
    page = client.get("/login", query_string={"next": "https:evil.example"}).get_data(
        as_text=True)
    # (hidden fields carry no id: several forms on a page would repeat it)
    assert re.search(r'<input name="next" type="hidden" value="">', page)


def test_logged_in_user_on_login_page_is_sent_to_a_safe_next(client, auth, anna):
    auth.login()
    assert client.get("/login?next=//evil.example").headers["Location"] == "/"
    assert client.get("/login?next=/themen").headers["Location"] == "/themen"


def test_a_stored_notification_link_leading_away_goes_to_the_inbox(client, auth, anna):
    from exchange.projects.services import notify

    notification = notify(anna, "registration", "Test", "/\\evil.example")
    db.session.commit()
    auth.login()
    response = client.get(f"/postfach/{notification.id}/oeffnen")
    assert response.status_code == 302
    assert response.headers["Location"] == "/postfach"
