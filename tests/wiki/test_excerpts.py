"""The stored excerpt: kept with the current revision by every writer, read by the lists.

List pages rendered and sanitised the Markdown of each listed body on every request; the
excerpt (`Experience.excerpt`, the rule `excerpt_of`) is now written whenever the current
revision changes: by the wiki services, by the importer's batches and, for rows that
existed before, by migration 0011.
"""
import io
import json

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from conftest import fresh_database_url
from exchange import create_app
from exchange.extensions import db
from exchange.transfer import import_jsonl
from exchange.wiki.models import EXCERPT_CHARS, Experience, excerpt_of
from exchange.wiki.services import restore_revision, update_experience

BODY = "## Warum?\n\nDie **eAkte** spart [Wege](https://example.org/wege) im Bürgerbüro."


def stored_excerpt(experience) -> str:
    """The column as the database has it (not the session's copy)."""
    return db.session.scalar(sa.select(Experience.excerpt).where(Experience.id == experience.id))


def test_excerpt_of_is_plain_text_cut_at_a_word():
    assert excerpt_of(BODY) == "Warum? Die eAkte spart Wege im Bürgerbüro."
    long = excerpt_of("Wort " * 200)
    assert long.endswith(" …") and len(long) <= EXCERPT_CHARS + 2
    assert excerpt_of("<script>alert(1)</script>Text") == "Text"
    assert excerpt_of("") == ""


BLOCKS = [
    "Ein Absatz mit **fett** und *kursiv* über die eAkte im Bürgerbüro der Stadt.",
    "- erster Punkt\n- zweiter Punkt mit [Link](https://example.org/a)",
    "1. eins\n\n2. zwei, nach einer Leerzeile (lockere Liste)",
    "```\nCode über\n\neine Leerzeile hinweg\n```",
    "<!-- ein Kommentar\n\nüber eine Leerzeile -->",
    "> ein Zitat\n> in zwei Zeilen",
    "Überschrift\n===========",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "    eingerückter Code\n\n    nach der Leerzeile",
    "<div>\nein HTML-Block\n\n</div>",
    "Ein langer Absatz " + "mit vielen Wörtern " * 30,
]


def test_the_head_of_a_text_gives_the_excerpt_of_the_whole_text():
    """excerpt() renders only the head of a long text; the result is the same."""
    import random

    from exchange.markup import excerpt, markdown_to_text, shorten

    r = random.Random(7)
    for _ in range(300):
        text = "\n\n".join(r.choice(BLOCKS) for _ in range(r.randint(1, 14)))
        for length in (40, 240, EXCERPT_CHARS):
            assert excerpt(text, length) == shorten(markdown_to_text(text), length), text
    # A reference defined at the end makes the link at the start: no head is cut.
    referenced = ("[Verweis][r] am Anfang\n\n" + BLOCKS[0] * 20 + "\n\n" + BLOCKS[0]
                  + "\n\n[r]: https://example.org/r")
    assert excerpt(referenced, 240).startswith("Verweis am Anfang")


def test_every_save_keeps_the_excerpt_of_the_current_body(anna, make_experience):
    experience = make_experience(anna, body=BODY)
    assert stored_excerpt(experience) == "Warum? Die eAkte spart Wege im Bürgerbüro."
    update_experience(anna, experience, experience.current_revision_id,
                      body="Neuer *Text* für alle.")
    db.session.commit()
    assert stored_excerpt(experience) == "Neuer Text für alle."
    update_experience(anna, experience, experience.current_revision_id, title="Neuer Titel")
    db.session.commit()
    assert stored_excerpt(experience) == "Neuer Text für alle."
    restore_revision(anna, experience, experience.revisions[0])
    db.session.commit()
    assert stored_excerpt(experience) == "Warum? Die eAkte spart Wege im Bürgerbüro."


def test_the_list_shows_the_stored_excerpt(client, login, anna, make_experience):
    """The list reads the column and renders no Markdown: a changed column shows."""
    experience = make_experience(anna, body=BODY, status="published")
    login(anna)
    assert "Warum? Die eAkte spart Wege im Bürgerbüro." in client.get("/erfahrungen").text
    db.session.execute(sa.update(Experience).where(Experience.id == experience.id)
                       .values(excerpt="Gespeicherter Anriss"))
    db.session.commit()
    page = client.get("/erfahrungen").text
    assert "Gespeicherter Anriss" in page and "Warum? Die eAkte" not in page


def test_the_dossier_shows_the_stored_excerpt(client, login, make_user, stuttgart, muenchen,
                                              anna, make_experience):
    from datetime import datetime

    from exchange.visits.dossier import build_dossier
    from exchange.visits.services import add_session, create_visit

    planner = make_user("planer@stuttgart.example", city=stuttgart, role="visit_planner")
    experience = make_experience(anna, body=BODY, status="published")
    db.session.execute(sa.update(Experience).where(Experience.id == experience.id)
                       .values(excerpt="Gespeicherter Anriss"))
    visit = create_visit(planner, title="Besuch", host_city=muenchen, visiting_city=stuttgart,
                         starts_at=datetime(2027, 4, 20, 9, 30),
                         ends_at=datetime(2027, 4, 20, 16, 0))
    add_session(planner, visit, title="eAkte", starts_at=datetime(2027, 4, 20, 10, 0),
                ends_at=datetime(2027, 4, 20, 11, 0), experiences=[experience])
    db.session.commit()
    db.session.expire_all()
    excerpts = [item["excerpt"] for items in build_dossier(visit).experiences.values()
                for item in items]
    assert excerpts == ["Gespeicherter Anriss"]


def _line(**record) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def test_the_importer_writes_the_excerpt_of_each_experience(app, stuttgart):
    city = _line(type="city", slug="stuttgart", name="Stuttgart", state="Baden-Württemberg")
    minimal = _line(type="experience", slug="minimal", city="stuttgart", title="Minimal",
                    body="Erster **Text**.")
    history = _line(type="experience", slug="mit-verlauf", city="stuttgart", title="Verlauf",
                    body="Zweite _Fassung_.", current_revision=2, revisions=[
                        {"number": 1, "title": "Verlauf", "body": "Erste Fassung."},
                        {"number": 2, "title": "Verlauf", "body": "Zweite _Fassung_."}])
    import_jsonl(io.StringIO(city + minimal + history))
    db.session.commit()
    excerpts = dict(db.session.execute(sa.select(Experience.slug, Experience.excerpt)).all())
    assert excerpts == {"minimal": "Erster Text.", "mit-verlauf": "Zweite Fassung."}
    changed = minimal.replace("Erster **Text**.", "Geänderter Text.")
    import_jsonl(io.StringIO(city + changed + history))
    db.session.commit()
    excerpts = dict(db.session.execute(sa.select(Experience.slug, Experience.excerpt)).all())
    assert excerpts == {"minimal": "Geänderter Text.", "mit-verlauf": "Zweite Fassung."}


@pytest.fixture
def empty_database_url(tmp_path):
    with fresh_database_url(tmp_path / "excerpts.db", "x_") as url:
        yield url


def test_the_migration_fills_the_excerpt_of_existing_rows(empty_database_url, tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url,
                      "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path / "instance")})
    with app.app_context():
        upgrade(revision="0010")
        with db.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO cities (id, slug, name, state, profile, created_at) "
                "VALUES (1, 'stuttgart', 'Stuttgart', 'Baden-Württemberg', '', CURRENT_TIMESTAMP)"))
            for number in (1, 2, 3):
                connection.execute(sa.text(
                    "INSERT INTO experiences (id, slug, title, kind, status, city_id, "
                    "created_at, updated_at) VALUES (:n, :slug, 'T', 'practice', 'draft', 1, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"n": number, "slug": f"e{number}"})
                connection.execute(sa.text(
                    "INSERT INTO revisions (id, experience_id, number, title, body, summary, "
                    "created_at) VALUES (:n, :n, 1, 'T', :body, '', CURRENT_TIMESTAMP)"),
                    {"n": number, "body": f"Text **{number}** mit [Link](https://x.example)"})
            connection.execute(sa.text("UPDATE experiences SET current_revision_id = id "
                                       "WHERE id < 3"))
        upgrade()
        with db.engine.connect() as connection:
            excerpts = dict(connection.execute(sa.text(
                "SELECT slug, excerpt FROM experiences")).all())
        db.engine.dispose()
    assert excerpts == {"e1": "Text 1 mit Link", "e2": "Text 2 mit Link", "e3": ""}
