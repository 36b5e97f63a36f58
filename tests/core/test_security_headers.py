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
