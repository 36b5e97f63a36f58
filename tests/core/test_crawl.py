"""Crawl the whole site as each kind of demo user: no 5xx, every page has a title and a heading.

The demo data is loaded and completed with one joint project and one planned visit (with
an agenda session), so the project, visit, dossier and calendar pages are reached too.
Each user starts at "/" and follows every same-site link with GET. PDF, iCalendar and
API responses are fetched but not parsed. The crawl is bounded: at most
`MAX_PAGES` pages per user, a few query-string variants per path, and only a sample of
the ~600 OZG topic pages.
"""
import logging
import traceback
from collections import deque
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
import sqlalchemy as sa

from exchange.extensions import db

DEMO_PASSWORD = "exchange-demo"
#: Upper bound of pages fetched per user, so the crawl stays a few seconds per user.
MAX_PAGES = 400
#: Query-string variants followed per path (facets and pagination multiply quickly).
MAX_VARIANTS_PER_PATH = 6
#: OZG topic pages followed per user; they share one template, a sample finds its bugs.
MAX_OZG_TOPIC_PAGES = 12
#: Paths never followed: they change the session (logout, language) or are assets.
SKIPPED_PREFIXES = ("/logout", "/lang/", "/static/")
#: Responses that are fetched but not parsed as HTML.
UNPARSED_SUFFIXES = (".pdf", ".ics")

#: What people type into the search box in the header (a GET form, not a link).
SEARCHES = ["/suche?q=eAkte", "/suche?q=Digital+MoverS", "/suche?q=", "/suche?q=%22OZG",
            "/suche?q=xyzzy+nichts"]

#: Links that end in a 4xx and are reported to their page's owner, per user: (page
#: prefix, target prefix). Remove an entry when its bug is fixed.
KNOWN_BAD_LINKS = {
    # templates/visits/show.html offers planners "Projekt zu … vorschlagen", but only
    # city admins may open /projekte/neu (403).
    "planer@stuttgart.example": [("/besuche/", "/projekte/neu")],
}

USERS = [
    "anna@stuttgart.example",
    "cdo@stuttgart.example",
    "planer@stuttgart.example",
    "admin@city-exchange.example",
]


class PageParser(HTMLParser):
    """Collects the <title> text, whether an <h1> exists, every <a href> and every form
    (its method, action and fields as a browser would send them)."""

    def __init__(self):
        super().__init__()
        self.title = ""
        self.h1_count = 0
        self.links: list[str] = []
        self.forms: list[dict] = []
        self._in_title = False
        self._form: dict | None = None
        self._select: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "title":
            self._in_title = True
        elif tag == "h1":
            self.h1_count += 1
        elif tag == "a":
            href = attributes.get("href")
            if href:
                self.links.append(href)
        elif tag == "form":
            self._form = {"method": (attributes.get("method") or "get").lower(),
                          "action": attributes.get("action") or "", "fields": []}
            self.forms.append(self._form)
        elif self._form is None or "disabled" in attributes:
            return
        elif tag in ("input", "button"):
            self._input(attributes, default_type="text" if tag == "input" else "submit")
        elif tag == "select" and attributes.get("name"):
            self._select = {"name": attributes["name"], "options": [], "selected": [],
                            "multiple": "multiple" in attributes}
            self._form["fields"].append(self._select)
        elif tag == "option" and self._select is not None:
            value = attributes.get("value", "")
            self._select["options"].append(value)
            if "selected" in attributes:
                self._select["selected"].append(value)
        elif tag == "textarea" and attributes.get("name"):
            self._textarea = {"name": attributes["name"], "value": ""}
            self._form["fields"].append(self._textarea)

    def _input(self, attributes: dict, default_type: str) -> None:
        name = attributes.get("name")
        kind = (attributes.get("type") or default_type).lower()
        if not name or kind in ("file", "reset", "image"):
            return
        if kind in ("checkbox", "radio") and "checked" not in attributes:
            return
        if kind == "submit" and any(f.get("submit") for f in self._form["fields"]):
            return  # a browser sends only the button that was pressed: the first one
        self._form["fields"].append({"name": name, "value": attributes.get("value", ""),
                                     "number": kind in ("number", "range"),
                                     "submit": kind == "submit"})

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._textarea is not None:
            self._textarea["value"] += data


@pytest.fixture
def demo_site(app):
    """Demo data plus a joint project (Stuttgart invites München) and a planned visit."""
    from exchange.auth.models import User
    from exchange.cities.models import City
    from exchange.demo import load_demo
    from exchange.projects.services import propose_project
    from exchange.visits.services import add_session, create_visit
    from exchange.wiki.models import Experience
    from exchange.wiki.services import create_experience, update_experience

    load_demo()
    db.session.commit()

    def city(slug):
        return db.session.scalar(sa.select(City).where(City.slug == slug))

    def user(email):
        return db.session.scalar(sa.select(User).where(User.email == email))

    propose_project(user("cdo@stuttgart.example"), "Gemeinsames Lotsen-Netzwerk",
                    "Wir bauen ein Netzwerk der Digitalisierungslotsen auf.",
                    ["digitalisierungslotsen"], ["muenchen"])
    visit = create_visit(
        user("planer@stuttgart.example"), title="Besuch des CDO aus München",
        host_city=city("stuttgart"), visiting_city=city("muenchen"),
        starts_at=datetime(2026, 12, 8, 9, 30), ends_at=datetime(2026, 12, 8, 17, 0),
        place="Rathaus Stuttgart", status="planned", topics=["digitalisierungslotsen"],
        members=[{"user": "cdo@stuttgart.example", "role": "Gastgeber", "side": "host"},
                 {"user": "cdo@muenchen.example", "role": "CDO"}])
    add_session(user("planer@stuttgart.example"), visit, title="Digital MoverS im Amt",
                starts_at=datetime(2026, 12, 8, 10, 0), ends_at=datetime(2026, 12, 8, 11, 0),
                topics=["digitalisierungslotsen"])
    lotsen = db.session.scalar(sa.select(Experience).where(
        Experience.slug == "digitalisierungslotsen-in-jedem-amt"))
    update_experience(user("anna@stuttgart.example"), lotsen, lotsen.current_revision_id,
                      body=lotsen.body + "\n\nNachtrag: Inzwischen gibt es 120 Lotsen.",
                      summary="Nachtrag")
    create_experience(user("anna@stuttgart.example"), city("stuttgart"),
                      "Entwurf: Chatbot im Bürgerbüro", "Noch nicht fertig.", status="draft")
    db.session.commit()


def _normalise(base: str, href: str) -> str | None:
    """The local path?query for a link, or None when it leaves the site or is skipped."""
    url = urldefrag(urljoin(base, href))[0]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc not in ("localhost", ""):
        return None
    if not parts.path or parts.path.startswith(SKIPPED_PREFIXES):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(client, caplog, forms: dict | None = None,
          pages: dict | None = None) -> tuple[list[str], list[str], int]:
    """Breadth-first crawl from "/".

    Returns the broken pages (5xx, no title, no heading), the links that end in a 4xx
    and the number of pages fetched. With `forms` given, the forms of every page are
    put there under the page's URL; with `pages` given, the HTML of every page.
    """
    problems: list[str] = []
    bad_links: list[str] = []
    seen: set[str] = {"/"}
    variants: dict[str, int] = {}
    ozg_pages = 0
    queue = deque([("/", "(start)")] + [(url, "(search box)") for url in SEARCHES])
    seen.update(SEARCHES)
    fetched = 0
    while queue and fetched < MAX_PAGES:
        url, referrer = queue.popleft()
        caplog.clear()
        try:
            response = client.get(url)
        except Exception:  # noqa: BLE001 - report every crash, not just the first
            problems.append(f"{url} (linked from {referrer}): exception\n{traceback.format_exc()}")
            continue
        fetched += 1
        if 400 <= response.status_code < 500 and referrer.startswith("/"):
            bad_links.append(f"{referrer} links to {url}: {response.status_code}")
        if response.status_code >= 500:
            logged = [record for record in caplog.records if record.exc_info]
            detail = ("".join(traceback.format_exception(*logged[-1].exc_info))
                      if logged else response.get_data(as_text=True)[:500])
            problems.append(f"{url} (linked from {referrer}): {response.status_code}\n{detail}")
            continue
        path = urlsplit(url).path
        links = [response.location] if response.status_code in (301, 302, 303, 307, 308) else []
        if not links and (response.mimetype != "text/html" or path.startswith("/api/")
                or path.endswith(UNPARSED_SUFFIXES)):
            continue
        if not links:
            parser = PageParser()
            html = response.get_data(as_text=True)
            parser.feed(html)
            if pages is not None:
                pages[url] = html
            if not parser.title.strip():
                problems.append(f"{url} (linked from {referrer}): no <title>")
            if parser.h1_count == 0:
                problems.append(f"{url} (linked from {referrer}): no <h1>")
            links = parser.links
            if forms is not None and parser.forms:
                forms[url] = parser.forms
        for href in links:
            target = _normalise("http://localhost" + url, href)
            if target is None or target in seen:
                continue
            target_path = urlsplit(target).path
            if "?" in target:
                if variants.get(target_path, 0) >= MAX_VARIANTS_PER_PATH:
                    continue
                variants[target_path] = variants.get(target_path, 0) + 1
            if target_path.startswith("/themen/ozg-") and "?" not in target:
                if ozg_pages >= MAX_OZG_TOPIC_PAGES:
                    continue
                ozg_pages += 1
            seen.add(target)
            queue.append((target, url))
    return problems, bad_links, fetched


@pytest.mark.parametrize("email", USERS)
def test_crawl_as_demo_user(demo_site, client, auth, caplog, email):
    """Every page a demo user reaches by links renders (no 5xx, a <title>, an <h1>) and
    no link leads to a page that refuses them (4xx)."""
    caplog.set_level(logging.ERROR)
    response = auth.login(email, DEMO_PASSWORD)
    assert response.status_code == 302, f"login as {email} failed"
    problems, bad_links, fetched = crawl(client, caplog)
    assert fetched > 100, f"only {fetched} pages reached as {email}"
    assert not problems, f"{len(problems)} problem(s) as {email}:\n\n" + "\n\n".join(problems)
    known = KNOWN_BAD_LINKS.get(email, ())
    unexpected = [link for link in bad_links
                  if not any(link.startswith(page) and f" links to {target}" in link
                             for page, target in known)]
    assert not unexpected, f"links ending in 4xx as {email}:\n" + "\n".join(unexpected)


def test_crawl_anonymous(demo_site, client, caplog):
    """Without a login the crawl ends at the login and registration pages, all intact."""
    caplog.set_level(logging.ERROR)
    problems, bad_links, fetched = crawl(client, caplog)
    assert 3 <= fetched < 30, f"{fetched} pages reached without a login"
    assert not problems, f"{len(problems)} problem(s):\n\n" + "\n\n".join(problems)
    assert not bad_links, "\n".join(bad_links)



#: Numbers beyond PostgreSQL INTEGER and beyond SQLite's 64-bit INTEGER.
HUGE_IDS = (2**31, 10**20)


def _huge_id_requests(app):
    """(endpoint, method, url) for every route with an int argument, ids made huge."""
    from werkzeug.routing import IntegerConverter

    for rule in app.url_map.iter_rules():
        ints = [name for name, conv in rule._converters.items()
                if isinstance(conv, IntegerConverter)]
        if not ints:
            continue
        method = "GET" if "GET" in rule.methods else "POST"
        for huge in HUGE_IDS:
            values = {name: (huge if name in ints else "digitalisierungslotsen-in-jedem-amt"
                             if name == "slug" else "up" if name == "direction" else "x")
                      for name in rule.arguments}
            try:
                url = rule.build(values, append_unknown=False)[1]
            except Exception:  # noqa: BLE001 - a converter refuses the huge value: fine
                continue
            yield rule.endpoint, method, url


def test_huge_ids_in_urls_are_never_a_server_error(demo_site, app, client, auth, caplog):
    """An id beyond the database's integer range is a 4xx, not an overflow 500."""
    caplog.set_level(logging.CRITICAL)
    auth.login("admin@city-exchange.example", DEMO_PASSWORD)
    failing = set()
    for endpoint, method, url in _huge_id_requests(app):
        response = client.open(url, method=method)
        if response.status_code >= 500:
            failing.add(endpoint)
    assert not failing, "huge ids answer 500 on: " + ", ".join(sorted(failing))


#: What a numeric form field or query parameter is set to: beyond every database integer.
HUGE_NUMBER = str(10**20)


def _looks_numeric(field: dict) -> bool:
    """A number input, a select (its values are ids or slugs; either may be tampered
    with) or a field whose value is digits (ids, page and version numbers)."""
    return (field.get("number", False) or "options" in field
            or field.get("value", "").strip().isdigit())


def _form_data(form: dict, huge_field: dict) -> dict:
    """What a browser sends for `form`, with `huge_field` set to HUGE_NUMBER."""
    data: dict[str, list[str]] = {}
    for field in form["fields"]:
        if field is huge_field:
            value = [HUGE_NUMBER]
        elif "options" in field:
            chosen = field["selected"] or [v for v in field["options"] if v][:1]
            value = chosen if field["multiple"] else chosen[:1]
        else:
            value = [field["value"]]
        data.setdefault(field["name"], []).extend(value)
    return data


def _huge_number_submissions(app, forms: dict):
    """(page, method, url, data) per form and numeric-looking field, that field set huge;
    each field of each endpoint once."""
    adapter = app.url_map.bind("localhost")
    done = set()
    for page, page_forms in forms.items():
        for form in page_forms:
            action = _normalise("http://localhost" + page, form["action"] or page)
            if action is None or urlsplit(action).path.startswith("/api/"):
                continue
            try:
                endpoint = adapter.match(urlsplit(action).path, form["method"].upper())[0]
            except Exception:  # noqa: BLE001 - not routable: sent once per URL
                endpoint = urlsplit(action).path
            for field in form["fields"]:
                key = (form["method"], endpoint, field["name"])
                if field.get("submit") or not _looks_numeric(field) or key in done:
                    continue
                done.add(key)
                yield page, form["method"], action, _form_data(form, field)


@pytest.mark.parametrize("email", ["cdo@stuttgart.example", "planer@stuttgart.example",
                                   "admin@city-exchange.example"])
def test_huge_numbers_in_forms_are_never_a_server_error(demo_site, app, client, auth, caplog,
                                                        email):
    """Every form the crawl reaches, sent with one numeric-looking field (an id in a select,
    a page number, a version number) set to 10**20: a form error or a 4xx, never a 5xx."""
    caplog.set_level(logging.ERROR)
    auth.login(email, DEMO_PASSWORD)
    forms: dict = {}
    crawl(client, caplog, forms)
    failing, sent = [], 0
    for page, method, action, data in _huge_number_submissions(app, forms):
        caplog.clear()
        if method == "post":
            response = client.post(action, data=data)
        else:
            response = client.get(action, query_string=data)
        sent += 1
        if response.status_code >= 500:
            huge = [name for name, values in data.items() if HUGE_NUMBER in values]
            logged = [record for record in caplog.records if record.exc_info]
            error = (traceback.format_exception(*logged[-1].exc_info)[-1].strip()
                     if logged else "")
            failing.append(f"{method.upper()} {action} (form on {page}) with "
                           f"{huge[0]}=10**20: {error[:200]}")
    assert sent > 10, f"only {sent} numeric form fields found as {email}"
    assert not failing, f"{len(failing)} server error(s) as {email}:\n" + "\n".join(failing)
