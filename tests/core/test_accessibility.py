"""Accessibility of the rendered pages (BITV 2.0 / WCAG 2.1 AA, issue 10), checked on the
server's HTML: skip link first, one <main id="inhalt">, no duplicate ids, every
aria-describedby pointing at ids that exist, fields tied to their errors and help texts,
the error summary and the "Fehler:" title, no links inside a <summary>, wide tables in a
scrolling region, and a confirmation step before each delete of a visit's parts."""
from datetime import datetime
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from exchange.extensions import db

DEMO_PASSWORD = "exchange-demo"
FOCUSABLE = {"a", "button", "input", "select", "textarea", "summary"}


class Page(HTMLParser):
    """The facts of one page the tests look at."""

    def __init__(self, html: str):
        super().__init__()
        self.ids: list[str] = []
        self.elements: list[tuple[str, dict]] = []
        self.first_focusable: tuple[str, dict] | None = None
        self.title = ""
        self._in_title = False
        self._summary_depth = 0
        self.links_in_summary = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        if "id" in attrs:
            self.ids.append(attrs["id"])
        focusable = (tag in FOCUSABLE and attrs.get("type") != "hidden"
                     and not (tag == "a" and "href" not in attrs))
        if self.first_focusable is None and focusable:
            self.first_focusable = (tag, attrs)
        if tag == "summary":
            self._summary_depth += 1
        elif self._summary_depth and tag in ("a", "button", "input", "select", "textarea"):
            self.links_in_summary += 1
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        if tag == "summary":
            self._summary_depth -= 1
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def duplicate_ids(self) -> set[str]:
        return {i for i in self.ids if self.ids.count(i) > 1}

    def dangling_describedby(self) -> list[str]:
        known = set(self.ids)
        return [ref for _, attrs in self.elements
                for ref in (attrs.get("aria-describedby") or "").split() if ref not in known]

    def with_attr(self, name: str, value: str | None = None) -> list[tuple[str, dict]]:
        return [(tag, attrs) for tag, attrs in self.elements
                if name in attrs and (value is None or attrs[name] == value)]

    def by_id(self, element_id: str) -> dict:
        return next(attrs for _, attrs in self.elements if attrs.get("id") == element_id)


def check_page(html: str, url: str) -> Page:
    """The checks every page passes; returns the parsed page for more."""
    page = Page(html)
    assert page.first_focusable is not None, url
    tag, attrs = page.first_focusable
    assert (tag, attrs.get("href"), attrs.get("class")) == ("a", "#inhalt", "skip-link"), url
    assert [a.get("id") for t, a in page.elements if t == "main"] == ["inhalt"], url
    assert not page.duplicate_ids(), (url, page.duplicate_ids())
    assert not page.dangling_describedby(), (url, page.dangling_describedby())
    assert page.links_in_summary == 0, url
    # Every table scrolls inside a focusable, named region (1.4.10).
    for index, (tag, _) in enumerate(page.elements):
        if tag == "table":
            wrappers = [a for t, a in page.elements[:index] if t == "div"
                        and a.get("class") == "table-scroll"]
            assert wrappers and wrappers[-1].get("role") == "region" \
                and wrappers[-1].get("tabindex") == "0" and wrappers[-1].get("aria-label"), url
    assert 'datetime="' not in html or all(
        _valid_datetime(attrs["datetime"]) for _, attrs in page.with_attr("datetime")), url
    return page


def _valid_datetime(value: str) -> bool:
    for pattern in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"):
        try:
            datetime.strptime(value, pattern)
            return True
        except ValueError:
            pass
    return False


@pytest.fixture
def demo(app):
    """The demo data plus one visit of Stuttgart to Munich with a session."""
    from exchange.auth.models import User
    from exchange.cities.models import City
    from exchange.demo import load_demo
    from exchange.visits.services import add_session, create_visit

    load_demo()
    db.session.commit()
    planner = db.session.scalar(sa.select(User).where(User.email == "planer@stuttgart.example"))
    city = {slug: db.session.scalar(sa.select(City).where(City.slug == slug))
            for slug in ("stuttgart", "muenchen")}
    visit = create_visit(planner, title="Gegenbesuch in München", host_city=city["muenchen"],
                         visiting_city=city["stuttgart"], starts_at=datetime(2027, 4, 20, 9, 30),
                         ends_at=datetime(2027, 4, 21, 15, 0),
                         members=[{"guest_name": "Jürgen Weiß", "role": "Bürgermeister"}])
    add_session(planner, visit, title="Rundgang", starts_at=datetime(2027, 4, 20, 10, 0),
                ends_at=datetime(2027, 4, 20, 11, 0))
    db.session.commit()
    return visit


def log_in(client, email):
    response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, email


MAIN_PAGES = ["/", "/erfahrungen", "/staedte", "/themen", "/partner", "/projekte",
              "/besuche", "/postfach", "/profil", "/suche?q=eAkte", "/erfahrungen/neu",
              "/staedte/stuttgart", "/staedte/stuttgart/interessen", "/freigaben",
              "/protokoll", "/barrierefreiheit", "/impressum", "/datenschutz"]


@pytest.mark.parametrize("email", ["cdo@stuttgart.example", "planer@stuttgart.example"])
def test_main_pages_pass_the_page_checks(client, demo, email):
    log_in(client, email)
    pages = MAIN_PAGES + [f"/besuche/{demo.id}", f"/besuche/{demo.id}/bearbeiten"]
    checked = 0
    for url in pages:
        response = client.get(url)
        if response.status_code in (403, 404):   # not every role reaches every page
            continue
        assert response.status_code == 200, url
        check_page(response.get_data(as_text=True), url)
        checked += 1
    assert checked >= 14


@pytest.mark.parametrize("url", ["/login", "/registrieren", "/passwort-vergessen",
                                 "/barrierefreiheit", "/impressum", "/datenschutz"])
def test_pages_for_everyone_pass_the_page_checks(client, app, url):
    check_page(client.get(url).get_data(as_text=True), url)


def test_a_form_with_errors_ties_them_to_the_fields_and_sums_them_up(client, app):
    response = client.post("/login", data={"email": "", "password": ""})
    html = response.get_data(as_text=True)
    page = check_page(html, "/login")
    assert page.title.startswith("Fehler: ")
    invalid = [attrs["id"] for _, attrs in page.with_attr("aria-invalid", "true")]
    assert set(invalid) == {"email", "password"}
    for field in invalid:
        described = page.by_id(field)["aria-describedby"].split()
        assert described and all(ref in page.ids for ref in described)
    # The summary comes first in the content, takes the focus (app.js), links each field.
    summary = page.with_attr("data-error-summary")
    assert len(summary) == 1 and summary[0][1]["tabindex"] == "-1"
    assert html.index("data-error-summary") < html.index("<h1>")
    links = [attrs["href"] for tag, attrs in page.elements if tag == "a"
             and attrs.get("href", "").startswith("#") and attrs["href"] != "#inhalt"]
    assert links == ["#email", "#password"]


def test_no_errors_no_summary_and_the_plain_title(client, app):
    page = check_page(client.get("/login").get_data(as_text=True), "/login")
    assert not page.title.startswith("Fehler")
    assert not page.with_attr("data-error-summary") and not page.with_attr("aria-invalid")


def test_help_texts_are_tied_to_their_fields(client, demo):
    log_in(client, "cdo@stuttgart.example")
    page = check_page(client.get("/profil").get_data(as_text=True), "/profil")
    assert page.by_id("name")["aria-describedby"] == "name-hilfe"


def test_a_page_with_several_forms_keeps_ids_unique_with_errors(client, demo):
    log_in(client, "cdo@stuttgart.example")
    response = client.post("/profil/passwort", data={"current_password": "falsch",
                                                     "new_password": "kurz",
                                                     "new_password_confirm": "anders"})
    html = response.get_data(as_text=True)
    page = check_page(html, "/profil/passwort")
    assert page.title.startswith("Fehler: ")
    assert page.with_attr("aria-invalid", "true")
    assert 'id="csrf_token"' not in html and 'id="submit"' not in html


def test_header_menu_works_without_script(client, demo):
    """The main navigation sits in a <details> menu, so a phone shows one header line and
    the menu opens without JavaScript."""
    log_in(client, "cdo@stuttgart.example")
    html = client.get("/").get_data(as_text=True)
    menu = html[html.index('<details class="site-menu"'):html.index("</details>")]
    assert '<summary class="menu-toggle">' in menu and 'aria-label="Hauptnavigation"' in menu


def test_topic_tree_keeps_links_out_of_summaries(client, demo):
    log_in(client, "cdo@stuttgart.example")
    page = Page(client.get("/themen").get_data(as_text=True))
    assert page.links_in_summary == 0
    assert sum(1 for tag, _ in page.elements if tag == "summary") > 10


# --- confirm before delete (3.3.4) -------------------------------------------------------

def _confirm_then_post(client, url, still_there, gone):
    """GET shows a confirmation form posting to the same URL and deletes nothing; the POST
    deletes."""
    response = client.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = check_page(html, url)
    forms = [attrs for tag, attrs in page.elements if tag == "form"
             and attrs.get("method") == "post" and attrs.get("action") == url]
    assert forms and "Abbrechen" in html
    assert still_there()
    assert client.post(url, data={}).status_code == 302
    assert gone()


def test_agenda_session_is_removed_only_after_confirming(client, demo):
    from exchange.visits.models import AgendaSession

    log_in(client, "planer@stuttgart.example")
    session_id = demo.sessions[0].id
    url = f"/besuche/{demo.id}/sitzungen/{session_id}/loeschen"
    show = client.get(f"/besuche/{demo.id}").get_data(as_text=True)
    assert f'<a href="{url}">' in show and f'action="{url}"' not in show
    _confirm_then_post(client, url, lambda: db.session.get(AgendaSession, session_id),
                       lambda: db.session.get(AgendaSession, session_id) is None)


def test_delegation_member_is_removed_only_after_confirming(client, demo):
    from exchange.visits.models import VisitMember

    log_in(client, "planer@stuttgart.example")
    member_id = demo.members[0].id
    url = f"/besuche/{demo.id}/mitglieder/{member_id}/entfernen"
    _confirm_then_post(client, url, lambda: db.session.get(VisitMember, member_id),
                       lambda: db.session.get(VisitMember, member_id) is None)
    assert client.get(url).status_code == 404


def test_visit_is_deleted_only_after_confirming(client, demo):
    from exchange.visits.models import Visit

    log_in(client, "planer@stuttgart.example")
    visit_id = demo.id
    _confirm_then_post(client, f"/besuche/{visit_id}/loeschen",
                       lambda: db.session.get(Visit, visit_id),
                       lambda: db.session.get(Visit, visit_id) is None)


def test_confirm_pages_are_for_editors_only(client, demo):
    log_in(client, "anna@stuttgart.example")
    assert client.get(f"/besuche/{demo.id}/loeschen").status_code in (403, 404)


def test_other_deletes_sit_behind_a_confirmation(client, demo):
    """Deletes of other domains (interest, token, registration, experience, project
    withdrawal) post only from a button inside an opened <details> with the question."""
    log_in(client, "cdo@stuttgart.example")
    html = client.get("/staedte/stuttgart/interessen").get_data(as_text=True)
    assert html.count('<details class="confirm-inline">') >= 1
    for block in html.split('<details class="confirm-inline">')[1:]:
        block = block[:block.index("</details>")]
        assert "<summary" in block and 'type="submit"' in block.split("</summary>")[1]
    assert "entfernen</button>" not in html.replace("Ja, entfernen</button>", "")
