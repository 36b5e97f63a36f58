"""The English UI shows no German, except user content and German names marked lang="de".

A reader who chose English crawls the demo site (the crawl of test_crawl.py) as a staff
member, a city admin, a visit planner and the platform admin. On every page, the text
outside elements marked `lang="de"` (and the attributes a person reads: title, alt,
aria-label, placeholder) is checked for German: words with umlauts or ß, and German
function words that are no English words. Proper names are not German text (WCAG 3.1.2
leaves them out): the names of cities and their states, and people's names
are taken from the database and allowed.
"""
import logging
import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from exchange.extensions import db

from .test_crawl import DEMO_PASSWORD, USERS, crawl, demo_site  # noqa: F401 (fixture)

#: German function and common UI words that are not also English words.
GERMAN_WORDS = frozenset("""
    und oder der das des dem den nicht mit für von vom zum zur ist sind eine einer einen
    eines werden wird wurde sie ihre ihr bitte keine kein noch auch über bei nach sich wir
    unsere uns kann können müssen soll sollen hat haben alle neue neuer neues noch schon
    hier jetzt ohne wenn dann weil diese dieser dieses stadt städte thema themen erfahrung
    erfahrungen besuch besuche projekt projekte verwaltung anmelden abmelden speichern
    suche suchen bearbeiten löschen entfernen zurück weiter seite seiten einstellungen
    ändern änderungen angelegt veröffentlicht entwurf vergleichen
    """.split())
#: Names of the product, of the programmes the demo content is about, and the street of
#: the federal arbitration body in the accessibility statement.
PRODUCT_NAMES = ("City Exchange", "Digital MoveS", "Digital MoverS", "muenchen.digital",
                 "Innovation-Center", "Mauerstraße")
#: Elements whose text is not read as page text, is being edited as user content, or
#: cannot carry a language (the <title>: a page about a German experience has its title).
SKIPPED_ELEMENTS = {"script", "style", "textarea", "code", "pre", "title"}
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                 "source", "track", "wbr"}
READ_ATTRIBUTES = ("title", "alt", "aria-label", "placeholder")
WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
#: Web addresses are not words of a language.
URL = re.compile(r"\b(?:https?://|www\.)\S+")


class EnglishTextParser(HTMLParser):
    """Collects text that a reader meets outside lang="de" elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str, bool]] = [("", "en", False)]
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        _, lang, skipped = self.stack[-1]
        lang = (attributes.get("lang") or lang).lower()
        skipped = skipped or tag in SKIPPED_ELEMENTS
        if not skipped and not lang.startswith("de"):
            self.texts.extend(attributes[name] for name in READ_ATTRIBUTES
                              if attributes.get(name))
        if tag not in VOID_ELEMENTS:
            self.stack.append((tag, lang, skipped))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self.stack.pop()

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        _, lang, skipped = self.stack[-1]
        if not skipped and not lang.startswith("de") and data.strip():
            self.texts.append(data)


def german_words(text: str, allowed: tuple[str, ...]) -> list[str]:
    """The German-looking words of `text`, after removing the allowed names."""
    text = URL.sub(" ", text)
    for name in allowed:
        text = text.replace(name, " ")
    return [word for word in WORD.findall(text)
            if re.search("[äöüßÄÖÜ]", word) or word.lower() in GERMAN_WORDS]


def unmarked_german(html: str, allowed: tuple[str, ...]) -> list[str]:
    """The text fragments of a page that look German and are not marked lang="de"."""
    parser = EnglishTextParser()
    parser.feed(html)
    found = []
    for text in parser.texts:
        words = german_words(text, allowed)
        if words:
            found.append(f"{' '.join(text.split())[:120]!r} ({', '.join(words[:4])})")
    return found


def test_detector_finds_unmarked_german_and_respects_lang():
    page = ('<html lang="en"><body><p>Saved.</p><p>Gespeichert für Sie.</p>'
            '<div lang="de"><p>Erfahrungen mit der eAkte</p></div>'
            '<button aria-label="Suche starten">Go</button><br><p>Stuttgart und</p></body></html>')
    found = unmarked_german(page, ("Stuttgart",))
    assert len(found) == 3, found
    assert "Gespeichert" in found[0] and "Suche" in found[1] and "und" in found[2]
    assert unmarked_german('<p lang="de">Über uns</p><p>About München</p>', ("München",)) == []


def _proper_names() -> tuple[str, ...]:
    from exchange.auth.models import User
    from exchange.cities.models import City
    from exchange.cities.services import STATES

    names = set(PRODUCT_NAMES) | set(STATES)
    for name, state in db.session.execute(sa.select(City.name, City.state)):
        names.update(value for value in (name, state) if value)
    names.update(value for value in db.session.scalars(sa.select(User.display_name)) if value)
    # Longest first, so "Landeshauptstadt München" goes before "München".
    return tuple(sorted(names, key=len, reverse=True))


@pytest.mark.slow
@pytest.mark.parametrize("email", USERS)
def test_english_pages_show_no_unmarked_german(demo_site, client, auth, caplog, email):
    caplog.set_level(logging.ERROR)
    assert auth.login(email, DEMO_PASSWORD).status_code == 302
    client.get("/lang/en")
    pages: dict[str, str] = {}
    crawl(client, caplog, pages=pages)
    assert len(pages) > 100
    allowed = _proper_names()
    problems = {url: found for url, html in pages.items()
                if (found := unmarked_german(html, allowed))}
    report = "\n".join(f"{url}:\n  " + "\n  ".join(found[:8])
                       for url, found in sorted(problems.items())[:40])
    assert not problems, (f"German outside lang=\"de\" on {len(problems)} of {len(pages)} "
                          f"English pages as {email}:\n{report}")
