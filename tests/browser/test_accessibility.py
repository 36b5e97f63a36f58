"""axe-core (WCAG 2.1 A and AA rules) and the Nu HTML Checker on every main page, in
German and English, logged out and logged in, and on forms in their error state
(issue 10, BITV 2.0).

Every page is opened once in Chromium (a module fixture walks them all): its HTML as the
browser has it is saved under build/browser-html/, axe-core runs in the page, a
screenshot goes to build/screenshots/; then vnu.jar checks all saved files in one Java
run. Each page is then one test, so a failure names its page and its rules.
"""
import json
import re
import subprocess

import pytest
import sqlalchemy as sa
from browser.support import (AXE_SCRIPT, SAVED_HTML, VNU_JAR, log_in, screenshot,
                             set_language)

#: One xdist group, set at collection so that --dist loadgroup sees it: one server,
#: one browser, one worker (the conftest hook adding it came too late for xdist at times,
#: and two workers raced over build/browser-html).
pytestmark = pytest.mark.xdist_group("browser")

#: The axe-core tags of WCAG 2.0 and 2.1, levels A and AA (what BITV 2.0 requires).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: The person logged in for the logged-in pages: Stuttgart's city admin, who may write,
#: propose projects and sees the demo visit (Stuttgart hosts it).
MEMBER = "cdo@stuttgart.example"
LANGUAGES = ("de", "en")


def _submit(page):
    """Send the page's main form as it is (empty) to get the server's error state.

    The browser's own check of `required` fields is switched off for this (noValidate):
    it would stop the empty form before it is sent, and the server's error page is what
    this test checks (a person whose browser or assistive technology does not check
    fields sees it)."""
    form = page.locator("main form[method=post]").first
    form.evaluate("form => { form.noValidate = true; }")
    form.locator("[type=submit]").first.click()
    page.wait_for_load_state()


def _wrong_login(page):
    page.locator("main input[name=email]").fill(MEMBER)
    page.locator("main input[name=password]").fill("not the password")
    _submit(page)


#: name, logged in?, path ({experience} and {visit} are filled from the demo data),
#: what to do on the page before checking it.
PAGES = [
    ("start", False, "/", None),
    ("login", False, "/login", None),
    ("login-error", False, "/login", _wrong_login),
    ("register", False, "/registrieren", None),
    ("register-error", False, "/registrieren", _submit),
    ("reset-request", False, "/passwort-vergessen", None),
    ("accessibility-statement", False, "/barrierefreiheit", None),
    ("imprint", False, "/impressum", None),
    ("privacy", False, "/datenschutz", None),
    ("dashboard", True, "/", None),
    ("experiences", True, "/erfahrungen", None),
    ("experience", True, "/erfahrungen/{experience}", None),
    ("experience-history", True, "/erfahrungen/{experience}/versionen", None),
    ("experience-new", True, "/erfahrungen/neu", None),
    ("experience-new-error", True, "/erfahrungen/neu", _submit),
    ("changes", True, "/aenderungen", None),
    ("search", True, "/suche?q=Digitalisierung", None),
    ("cities", True, "/staedte", None),
    ("city", True, "/staedte/stuttgart", None),
    ("interests", True, "/staedte/stuttgart/interessen", None),
    ("topics", True, "/themen", None),
    ("topic", True, "/themen/eakte", None),
    ("partners", True, "/partner", None),
    ("projects", True, "/projekte", None),
    ("project-new", True, "/projekte/neu", None),
    ("project-new-error", True, "/projekte/neu", _submit),
    ("visits", True, "/besuche", None),
    ("visit", True, "/besuche/{visit}", None),
    ("visit-dossier", True, "/besuche/{visit}/dossier", None),
    ("visit-new", True, "/besuche/neu", None),
    ("visit-new-error", True, "/besuche/neu", _submit),
    ("inbox", True, "/postfach", None),
    ("profile", True, "/profil", None),
]
PAGE_IDS = [f"{language}-{name}" for language in LANGUAGES for name, *_ in PAGES]

#: Pages whose checks still fail, with the rules that fail them: expected failures
#: (strict, so a page that becomes clean must be taken off this list). Issue 10.
KNOWN_AXE: dict[str, str] = {}
KNOWN_VNU: dict[str, str] = {}


def _demo_ids(app) -> dict:
    """Slug of a published Stuttgart experience and the id of the demo visit."""
    from exchange.extensions import db
    from exchange.visits.models import Visit
    from exchange.wiki.models import Experience

    with app.app_context():
        experience = db.session.scalars(
            sa.select(Experience).where(Experience.status == "published",
                                        Experience.deleted_at.is_(None))
            .order_by(Experience.id)).first()
        visit = db.session.scalars(sa.select(Visit).order_by(Visit.id)).first()
        return {"experience": experience.slug, "visit": visit.id}


def _axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE_SCRIPT))
    return page.evaluate("""async (tags) => {
        const result = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                                resultTypes: ['violations']});
        return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
    }""", WCAG_TAGS)


def _vnu(files) -> dict[str, list[str]]:
    """Nu HTML Checker errors per file name, in one Java run over all files."""
    run = subprocess.run(["java", "-jar", str(VNU_JAR), "--format", "json", "--errors-only",
                          *map(str, files)], capture_output=True, text=True, timeout=600)
    report = json.loads(run.stderr or run.stdout)
    errors: dict[str, list[str]] = {path.name: [] for path in files}
    for message in report["messages"]:
        if message.get("type") == "error" or message.get("subType") == "fatal":
            name = message.get("url", "").rsplit("/", 1)[-1]
            errors.setdefault(name, []).append(
                f"line {message.get('lastLine')}: {message['message']}")
    return errors


def _pickers(page) -> tuple[int, int]:
    """Topic selects on the page and how many of them app.js has turned into the picker."""
    return page.evaluate("""() => [
        document.querySelectorAll('select[data-topic-picker]').length,
        document.querySelectorAll('select[data-topic-picker-enhanced] + .topic-picker').length]""")


@pytest.fixture(scope="module")
def checked(live_server, new_context):
    """Every page of PAGES in both languages: {page id: {"axe": [...], "vnu": [...]}}."""
    ids = _demo_ids(live_server.app)
    SAVED_HTML.mkdir(parents=True, exist_ok=True)
    for old in SAVED_HTML.glob("*.html"):
        old.unlink(missing_ok=True)
    results = {}
    for language in LANGUAGES:
        for logged_in in (False, True):
            page = new_context().new_page()
            if logged_in:
                log_in(page, MEMBER)
            set_language(page, language)
            for name, needs_login, path, action in PAGES:
                if needs_login != logged_in:
                    continue
                page_id = f"{language}-{name}"
                response = page.goto(path.format(**ids))
                assert response.ok, (page_id, response.status)
                if action:
                    action(page)
                (SAVED_HTML / f"{page_id}.html").write_text(page.content(), encoding="utf-8")
                screenshot(page, f"page-{page_id}")
                results[page_id] = {"axe": _axe(page), "lang": page.locator("html")
                                    .get_attribute("lang"), "pickers": _pickers(page)}
            page.close()
    errors = _vnu(sorted(SAVED_HTML.glob("*.html")))
    for page_id, result in results.items():
        result["vnu"] = errors.get(f"{page_id}.html", [])
    return results


def _known(table, page_id):
    if page_id in table:
        return [pytest.param(page_id, marks=pytest.mark.xfail(
            strict=True, reason=f"{table[page_id]} — issue 10, being fixed"))]
    return [page_id]


@pytest.mark.parametrize("page_id", [p for i in PAGE_IDS for p in _known(KNOWN_AXE, i)])
def test_no_axe_violations(checked, page_id):
    result = checked[page_id]
    assert result["lang"] == page_id.split("-")[0]
    summary = [f"{v['id']} ({v['impact']}): {v['help']} — {', '.join(v['nodes'])}"
               for v in result["axe"]]
    assert summary == [], "\n".join(summary)


@pytest.mark.parametrize("page_id", [p for i in PAGE_IDS for p in _known(KNOWN_VNU, i)])
def test_no_html_errors(checked, page_id):
    assert checked[page_id]["vnu"] == [], "\n".join(checked[page_id]["vnu"])


def test_error_states_are_error_states(checked):
    """The error-state pages really show the form's errors (else the check proves little)."""
    for page_id in [i for i in PAGE_IDS if i.endswith("-error")]:
        html = (SAVED_HTML / f"{page_id}.html").read_text(encoding="utf-8")
        assert re.search(r'class="[^"]*\berrors?\b', html), page_id


#: The pages with a topic picker (app.js's widget over a select, issue 10).
PICKER_PAGES = ("experience-new", "experience-new-error", "interests", "partners",
                "project-new", "project-new-error", "visit-new", "visit-new-error")


def test_topic_pickers_are_checked_enhanced(checked):
    """axe and vnu see the topic picker itself, not the plain select it replaces."""
    for page_id, result in checked.items():
        selects, enhanced = result["pickers"]
        assert selects == enhanced, page_id
        if page_id.split("-", 1)[1] in PICKER_PAGES:
            assert enhanced >= 1, page_id
