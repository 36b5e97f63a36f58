"""Security headers on every kind of response, and HTML pages without inline script or style.

The Content-Security-Policy (exchange/config.py) allows our own files only, so an inline
<script>, <style>, style="" or on…="" handler would silently stop working in a browser;
the tests render the pages a member reaches and look for them, and read every template.
"""
import re
from collections import deque
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

from exchange.extensions import db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
#: Pages fetched by the inline check (all links of a small site, bounded).
MAX_PAGES = 150


def assert_security_headers(response):
    """The headers every response carries, whatever made it."""
    policy = response.headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:]
                  for part in (p.strip() for p in policy.split(";")) if part}
    assert directives.get("default-src") == ["'self'"], policy
    assert directives.get("object-src") == ["'none'"], policy
    assert directives.get("base-uri") == ["'self'"], policy
    assert directives.get("form-action") == ["'self'"], policy
    assert directives.get("frame-ancestors") == ["'none'"], policy
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    for name in ("script-src", "style-src"):
        assert name not in directives or directives[name] == ["'self'"], policy
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("X-Frame-Options") == "DENY"
    assert response.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin"


def test_headers_on_an_html_page(client):
    response = client.get("/login")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert_security_headers(response)


def test_headers_on_a_logged_in_page_and_a_redirect(client, auth, anna):
    assert_security_headers(client.get("/"))  # the redirect to the login page
    auth.login()
    response = client.get("/")
    assert response.status_code == 200
    assert_security_headers(response)


def test_headers_on_json_api_responses(client, api, anna):
    response = api(anna).get("/api/v1/cities")
    assert response.status_code == 200 and response.is_json
    assert_security_headers(response)
    response = client.get("/api/v1/cities")  # no login: a JSON error
    assert response.status_code == 401 and response.is_json
    assert_security_headers(response)
    assert_security_headers(client.get("/healthz"))


def test_headers_on_error_pages(client, app):
    response = client.get("/gibt-es-nicht")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert_security_headers(response)
    response = client.get("/api/v1/gibt-es-nicht")
    assert response.status_code == 404 and response.is_json
    assert_security_headers(response)


def test_headers_on_an_unexpected_error(app, client):
    """Even a 500 (here from a route that fails on purpose) carries the headers."""
    @app.route("/_boom")
    def boom():
        raise RuntimeError("boom")

    response = client.get("/_boom")
    assert response.status_code == 500
    assert_security_headers(response)


def test_headers_on_static_files(client):
    for name in ("style.css", "app.js"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200
        assert_security_headers(response)
        response.close()


def test_policy_is_configurable(app_config):
    from exchange import create_app

    app = create_app({**app_config, "CONTENT_SECURITY_POLICY": "default-src 'none'"})
    response = app.test_client().get("/login")
    assert response.headers["Content-Security-Policy"] == "default-src 'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- no inline script or style --------------------------------------------------------

#: Template text that the policy would block in a browser.
INLINE_PATTERNS = {
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "<style> element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"(?<![\w-])style\s*=", re.I),
    "event handler attribute": re.compile(r"(?<![\w-])on[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def test_no_template_has_inline_script_or_style():
    problems = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for what, pattern in INLINE_PATTERNS.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{path.relative_to(TEMPLATES)}:{line}: {what}")
    assert not problems, "\n".join(problems)


class InlineFinder(HTMLParser):
    """Collects same-page links and everything the policy would block."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.problems: list[str] = []
        self._script_without_src = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            source = attributes.get("src") or ""
            if not source:
                self._script_without_src = True
                self.problems.append("inline <script>")
            elif urlsplit(source).netloc:
                self.problems.append(f"script from another site: {source}")
        if tag == "link" and "stylesheet" in (attributes.get("rel") or "") \
                and urlsplit(attributes.get("href") or "").netloc:
            self.problems.append(f"stylesheet from another site: {attributes['href']}")
        for name, value in attrs:
            if name == "style":
                self.problems.append(f'style="{value}" on <{tag}>')
            elif name.startswith("on"):
                self.problems.append(f'{name}="{value}" on <{tag}>')
            elif name in ("href", "src", "action", "formaction") and \
                    (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f'{name}="{value}" on <{tag}>')


@pytest.fixture
def small_site(app, stuttgart, muenchen, cdo_stuttgart, cdo_muenchen, anna, make_topic,
               make_experience, make_user):
    """Two cities with a topic, interests, a page with two revisions, a draft, a project,
    a planned visit with an agenda session and a notification: every page kind exists."""
    from exchange.cities.services import set_interest
    from exchange.projects.services import propose_project
    from exchange.visits.services import add_session, create_visit
    from exchange.wiki.services import update_experience

    topic = make_topic("digitalisierungslotsen", "Digitalisierungslotsen")
    set_interest(cdo_stuttgart, stuttgart, topic, "offers", maturity=4)
    set_interest(cdo_muenchen, muenchen, topic, "seeks", maturity=1)
    page = make_experience(anna, title="Lotsen in jedem Amt", body="Erster *Stand*.",
                           topics=[topic])
    update_experience(anna, page, page.current_revision_id, body="Zweiter **Stand**.",
                      summary="Nachtrag")
    make_experience(anna, title="Entwurf: Chatbot", body="Noch nicht fertig.", status="draft")
    propose_project(cdo_stuttgart, "Gemeinsames Lotsen-Netzwerk", "Ein Netzwerk.",
                    ["digitalisierungslotsen"], ["muenchen"])
    planner = make_user("planer@stuttgart.example", city=stuttgart, role="visit_planner")
    visit = create_visit(planner, title="Besuch aus München", host_city=stuttgart,
                         visiting_city=muenchen, starts_at=datetime(2027, 3, 8, 9, 30),
                         ends_at=datetime(2027, 3, 8, 17, 0), status="planned",
                         topics=["digitalisierungslotsen"])
    add_session(planner, visit, title="Lotsen im Amt", starts_at=datetime(2027, 3, 8, 10, 0),
                ends_at=datetime(2027, 3, 8, 11, 0), topics=["digitalisierungslotsen"])
    make_user("neu@stuttgart.example", city=stuttgart, is_approved=False)  # an approval
    db.session.commit()
    return visit


def test_pages_have_no_inline_script_or_style(small_site, client, auth, cdo_stuttgart):
    """Every page a city admin reaches by links from "/" (plus the dossier, search and the
    anonymous pages) has no inline script or style and loads scripts only from us."""
    paths = ["/login", "/registrieren", "/gibt-es-nicht"]
    problems: list[str] = []
    for path in paths:
        _check_page(client, path, problems)
    auth.login(cdo_stuttgart.email)
    seen = {"/", f"/besuche/{small_site.id}/dossier", "/suche?q=Lotsen"}
    queue = deque(sorted(seen))
    fetched = 0
    while queue and fetched < MAX_PAGES:
        url = queue.popleft()
        links = _check_page(client, url, problems)
        fetched += 1
        for href in links:
            target = urldefrag(urljoin("http://localhost" + url, href))[0]
            parts = urlsplit(target)
            if parts.netloc != "localhost" or parts.path.startswith(("/lang/", "/static/")):
                continue
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if local not in seen and "page=" not in local:
                seen.add(local)
                queue.append(local)
    assert fetched > 25, f"only {fetched} pages reached"
    assert not problems, "\n".join(problems)


def _check_page(client, url, problems) -> list[str]:
    """Fetch `url`; record what the policy would block; return its links."""
    response = client.get(url)
    assert response.status_code < 500, url
    if response.mimetype != "text/html" or urlsplit(url).path.startswith("/api/"):
        return [response.location] if response.location else []
    assert_security_headers(response)
    finder = InlineFinder()
    finder.feed(response.get_data(as_text=True))
    problems.extend(f"{url}: {problem}" for problem in finder.problems)
    return finder.links


def test_script_file_is_served_as_javascript(client):
    response = client.get("/static/app.js")
    assert response.mimetype in ("text/javascript", "application/javascript")
    text = response.get_data(as_text=True)
    response.close()
    for attribute in ("data-autosubmit", "data-confirm", "data-print"):
        assert attribute in text


# --- cookies and configurations -------------------------------------------------------

def session_cookie_header(app, response) -> str:
    """The Set-Cookie header of the session cookie in `response`."""
    name = app.config["SESSION_COOKIE_NAME"]
    headers = [value for value in response.headers.getlist("Set-Cookie")
               if value.startswith(f"{name}=")]
    assert headers, response.headers
    return headers[-1]


def login_response(app, anna):
    from conftest import PASSWORD

    return app.test_client().post("/login", data={"email": anna.email, "password": PASSWORD})


def cookie_flags(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


def test_session_cookie_is_httponly_and_lax_and_not_secure_in_development(app, anna):
    header = session_cookie_header(app, login_response(app, anna))
    assert "httponly" in cookie_flags(header)
    assert "samesite=lax" in header.lower()
    assert "secure" not in cookie_flags(header)
    assert app.config["REMEMBER_COOKIE_SECURE"] is False


def test_production_configuration_marks_cookies_secure(app_config, anna, monkeypatch):
    from exchange import create_app

    monkeypatch.setenv("EXCHANGE_CONFIG", "production")
    production = create_app(app_config)
    assert production.config["SESSION_COOKIE_SECURE"] is True
    assert production.config["REMEMBER_COOKIE_SECURE"] is True
    with production.app_context():
        header = session_cookie_header(production, login_response(production, anna))
    assert {"secure", "httponly"} <= cookie_flags(header)
    assert "samesite=lax" in header.lower()


@pytest.mark.parametrize("configuration, value, secure", [
    ("production", "0", False), ("production", "off", False),
    ("development", "1", True), ("development", "yes", True),
])
def test_secure_cookie_flag_from_the_environment(app_config, monkeypatch, configuration,
                                                 value, secure):
    from exchange import create_app

    monkeypatch.setenv("EXCHANGE_CONFIG", configuration)
    monkeypatch.setenv("EXCHANGE_SESSION_COOKIE_SECURE", value)
    app = create_app(app_config)
    assert app.config["SESSION_COOKIE_SECURE"] is secure
    assert app.config["REMEMBER_COOKIE_SECURE"] is secure


@pytest.mark.parametrize("variable, value", [
    ("EXCHANGE_CONFIG", "produktion"), ("EXCHANGE_SESSION_COOKIE_SECURE", "vielleicht"),
])
def test_misconfiguration_stops_the_start_with_a_clear_error(app_config, monkeypatch,
                                                              variable, value):
    from exchange import create_app

    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=value):
        create_app(app_config)


def test_the_mapping_can_choose_the_configuration(app_config):
    from exchange import create_app

    assert create_app({**app_config, "CONFIG": "production"}).config["SESSION_COOKIE_SECURE"]


# --- trusted hosts --------------------------------------------------------------------

def test_any_host_is_answered_when_no_trusted_hosts_are_configured(client):
    assert client.get("/login", base_url="http://evil.example").status_code == 200


@pytest.fixture
def trusting_app(app_config):
    from exchange import create_app

    return create_app({**app_config, "TRUSTED_HOSTS": ["exchange.stadt.example"]})


def test_a_foreign_host_is_refused_with_400(trusting_app):
    client = trusting_app.test_client()
    with trusting_app.app_context():
        response = client.get("/login", base_url="http://evil.example")
        assert response.status_code == 400
        assert "Host nicht vertrauenswürdig" in response.get_data(as_text=True)
        assert_security_headers(response)
        response = client.get("/api/v1/cities", base_url="http://evil.example")
        assert response.status_code == 400 and response.is_json
        assert response.json["error"]["status"] == 400
        response = client.post("/registrieren", base_url="http://evil.example",
                               data={"email": "x@evil.example"})
        assert response.status_code == 400
        assert client.get("/login", base_url="https://exchange.stadt.example").status_code == 200
        assert client.get("/login",
                          base_url="http://exchange.stadt.example:8000").status_code == 200


def test_trusted_hosts_from_the_environment(app_config, monkeypatch):
    from exchange import create_app

    monkeypatch.setenv("EXCHANGE_TRUSTED_HOSTS", " exchange.stadt.example, .stadt.example ,")
    app = create_app(app_config)
    assert app.config["TRUSTED_HOSTS"] == ["exchange.stadt.example", ".stadt.example"]
    client = app.test_client()
    with app.app_context():
        assert client.get("/login", base_url="http://www.stadt.example").status_code == 200
        assert client.get("/login", base_url="http://stadt.example.evil").status_code == 400
