"""Export and import as JSON Lines: round trip, minimal files, revisions, bad lines, CLI."""
import json
from datetime import datetime

import pytest
import sqlalchemy as sa

from exchange.auth.models import ApiToken, User
from exchange.auth.services import create_token
from exchange.cities.models import City, Interest, Topic, TopicAlias
from exchange.demo import load_demo
from exchange.extensions import db
from exchange.search.models import IndexTask
from exchange.transfer import importer as transfer_module
from exchange.transfer import TransferError, import_records
from exchange.wiki import services as wiki
from exchange.wiki.models import Experience, Revision

TABLES = (City, User, Topic, TopicAlias, Interest, Experience, Revision)


def row_counts():
    return {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in TABLES}


def lines(*records) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def experience(slug):
    return db.session.scalar(sa.select(Experience).where(Experience.slug == slug))


def city(slug):
    return db.session.scalar(sa.select(City).where(City.slug == slug))


def topic(slug):
    return db.session.scalar(sa.select(Topic).where(Topic.slug == slug))


@pytest.fixture
def history(app):
    """Demo data plus an edited, a restored, a draft and a deleted experience and a token."""
    load_demo()
    anna = db.session.scalar(sa.select(User).where(User.email == "anna@stuttgart.example"))
    max_ = db.session.scalar(sa.select(User).where(User.email == "max@muenchen.example"))
    page = experience("digitalisierungslotsen-in-jedem-amt")
    wiki.update_experience(anna, page, page.current_revision_id,
                           body=page.body + "\nNachtrag: 70 Lotsen.\n", summary="Nachtrag")
    wiki.update_experience(anna, page, page.current_revision_id, title="Lotsen in jedem Amt")
    wiki.restore_revision(anna, page, page.revisions[0], summary="Zurück")
    wiki.create_experience(anna, anna.city, "Entwurf: Chatbot", "Noch nicht fertig.",
                           status="draft", topics=["eakte"])
    gone = wiki.create_experience(max_, max_.city, "Alter Bericht", "Veraltet.",
                                  status="published")
    wiki.delete_experience(max_, gone)
    create_token(anna, "Skript")
    db.session.commit()
    return page


def test_export_contains_every_type_and_no_secrets(history, transfer):
    text = transfer.export()
    records = [json.loads(line) for line in text.splitlines()]
    types = [record["type"] for record in records]
    assert types == sorted(types, key=["city", "user", "topic", "interest", "experience",
                                       "project", "visit", "notification"].index)
    assert types.count("city") == 6 and types.count("experience") == 18
    assert types.count("topic") == 642 and types.count("interest") == 33
    assert "password" not in text and "scrypt" not in text and "pbkdf2" not in text
    assert "Skript" not in text and "token" not in text
    lotsen = next(r for r in records if r.get("slug") == "digitalisierungslotsen-in-jedem-amt"
                  and r["type"] == "experience")
    assert [r["number"] for r in lotsen["revisions"]] == [1, 2, 3, 4]
    assert lotsen["current_revision"] == 4
    assert lotsen["revisions"][3]["restored_from"] == 1
    assert lotsen["revisions"][1]["summary"] == "Nachtrag"
    assert lotsen["revisions"][1]["author"] == "anna@stuttgart.example"
    assert lotsen["body"] == lotsen["revisions"][0]["body"]
    eakte = next(r for r in records if r["type"] == "topic" and r["slug"] == "eakte")
    assert eakte["parent"] == "verwaltungsdigitalisierung"
    assert eakte["aliases"] == ["E-Akte", "e-file", "elektronische Akte"]
    seen = set()
    for record in records:
        if record["type"] == "topic":
            assert record["parent"] is None or record["parent"] in seen
            seen.add(record["slug"])


def test_round_trip_into_an_empty_database_is_byte_identical(history, transfer):
    first = transfer.export()
    transfer.empty()
    assert row_counts()["Experience"] == 0
    transfer.load(first)
    second = transfer.export()
    assert second == first
    page = experience("digitalisierungslotsen-in-jedem-amt")
    assert page.current_revision.number == 4
    assert page.revisions[3].restored_from_id == page.revisions[0].id
    assert page.revisions[1].author.email == "anna@stuttgart.example"
    assert experience("alter-bericht").deleted_at is not None
    assert experience("entwurf-chatbot").status == "draft"
    imported_user = db.session.scalar(sa.select(User).where(User.email == "anna@stuttgart.example"))
    assert imported_user.password_hash is None
    queued = set(db.session.scalars(sa.select(IndexTask.experience_id)))
    assert {item.id for item in db.session.scalars(sa.select(Experience))} <= queued


def test_reimporting_an_export_changes_nothing(history, transfer):
    text = transfer.export()
    before = row_counts()
    tasks = db.session.scalar(sa.select(sa.func.count(IndexTask.id)))
    summary = transfer.load(text)
    assert "0 geändert; 0 neue Versionen" in summary
    assert row_counts() == before
    assert db.session.scalar(sa.select(sa.func.count(IndexTask.id))) == tasks
    assert transfer.export() == text


def test_history_that_grew_elsewhere_is_appended_exactly(history, transfer):
    old = transfer.export()
    page = history
    anna = page.current_revision.author
    wiki.update_experience(anna, page, page.current_revision_id, body="Ganz neu.\n",
                           summary="Neu")
    db.session.commit()
    newer = transfer.export()
    transfer.empty()
    transfer.load(old)
    summary = transfer.load(newer)
    assert "1 neue Versionen" in summary
    assert transfer.export() == newer


MINIMAL = lines(
    {"type": "city", "slug": "freiburg", "name": "Freiburg im Breisgau",
     "state": "Baden-Württemberg"},
    {"type": "topic", "slug": "verwaltung", "name_de": "Verwaltung"},
    {"type": "topic", "slug": "e-rechnung", "name_de": "E-Rechnung", "parent": "verwaltung",
     "aliases": ["XRechnung", "elektronische Rechnung"]},
    {"type": "interest", "city": "freiburg", "topic": "e-rechnung", "stance": "offers"},
    {"type": "experience", "city": "freiburg", "title": "XRechnung im Rechnungseingang",
     "body": "## Ausgangslage\n\nWir empfangen Rechnungen elektronisch.\n",
     "topics": ["e-rechnung"]},
)


def test_minimal_hand_written_file(app, transfer):
    summary = transfer.load(MINIMAL)
    assert "1 Städte" in summary and "2 Themen" in summary and "1 Erfahrungen" in summary
    freiburg = city("freiburg")
    assert (freiburg.name, freiburg.state, freiburg.ags, freiburg.profile) == (
        "Freiburg im Breisgau", "Baden-Württemberg", None, "")
    invoice = topic("e-rechnung")
    assert invoice.parent == topic("verwaltung")
    assert {a.alias for a in invoice.aliases} == {"XRechnung", "elektronische Rechnung"}
    interest = freiburg.interests[0]
    assert (interest.topic, interest.stance, interest.maturity) == (invoice, "offers", 3)
    page = experience("xrechnung-im-rechnungseingang")
    assert page.city == freiburg and page.kind == "lesson_learned"
    assert page.is_published and page.published_at is not None
    assert page.topics == [invoice]
    assert [r.number for r in page.revisions] == [1] and page.current_revision.summary == "Import"
    assert page.title == "XRechnung im Rechnungseingang"
    assert db.session.scalar(sa.select(IndexTask.id).where(IndexTask.experience_id == page.id))


def test_reimport_is_idempotent_and_changed_text_makes_a_new_revision(app, transfer):
    transfer.load(MINIMAL)
    before = row_counts()
    summary = transfer.load(MINIMAL)
    assert row_counts() == before
    assert "0 geändert; 0 neue Versionen" in summary

    changed = MINIMAL.replace("Wir empfangen Rechnungen elektronisch.",
                              "Seit 2025 nur noch XRechnung.")
    summary = transfer.load(changed)
    assert "1 neue Versionen" in summary
    page = experience("xrechnung-im-rechnungseingang")
    assert [r.number for r in page.revisions] == [1, 2]
    assert "Seit 2025 nur noch XRechnung." in page.body
    assert "Wir empfangen" in page.revisions[0].body
    assert row_counts()["Experience"] == before["Experience"]


def test_reimport_updates_fields_and_keeps_unmentioned_ones(app, transfer, stuttgart):
    stuttgart.profile = "Profil bleibt"
    db.session.commit()
    transfer.load(lines({"type": "city", "slug": "stuttgart", "name": "Stuttgart",
                         "state": "Baden-Württemberg", "population": 620000},
                        {"type": "topic", "slug": "eakte", "name_de": "eAkte",
                         "aliases": ["E-Akte"]},
                        {"type": "topic", "slug": "eakte", "name_de": "E-Akte",
                         "aliases": ["elektronische Akte"]}))
    assert (stuttgart.population, stuttgart.profile, stuttgart.ags) == (
        620000, "Profil bleibt", "08111000")
    assert topic("eakte").name_de == "E-Akte"
    assert {a.alias for a in topic("eakte").aliases} == {"E-Akte", "elektronische Akte"}


def test_imported_text_updates_an_existing_wiki_page(app, transfer, anna, make_experience):
    page = make_experience(anna, title="Erfahrungen mit der eAkte", body="Alt")
    transfer.load(lines({"type": "experience", "city": "stuttgart", "slug": page.slug,
                         "title": page.title, "body": "Neu", "kind": "practice",
                         "author": "anna@stuttgart.example", "summary": "Aus Altsystem"}))
    db.session.refresh(page)
    assert page.body == "Neu" and page.kind == "practice"
    assert page.current_revision.number == 2
    assert page.current_revision.author == anna
    assert page.current_revision.summary == "Aus Altsystem"


BAD_LINES = [
    ('{"type": "city", "slug": "x"', "kein gültiges JSON"),
    ('["city"]', "JSON-Objekt"),
    ('{"type": "stadt", "slug": "x"}', "unbekannter Typ „stadt“"),
    ('{"type": "city", "slug": "x", "name": "X"}', "Feld „state“ fehlt"),
    ('{"type": "city", "slug": "X Y", "name": "X", "state": "Bayern"}', "Feld „slug“"),
    ('{"type": "city", "slug": "x", "name": "X", "state": "Bayern", "ags": "123"}',
     "8 Ziffern"),
    ('{"type": "city", "slug": "x", "name": "X", "state": "Bayern", "ags": "08111000"}',
     "gehört schon zur Stadt „stuttgart“"),
    ('{"type": "city", "slug": "x", "name": "' + "X" * 121 + '", "state": "Bayern"}',
     "höchstens 120 Zeichen"),
    ('{"type": "city", "slug": "x", "name": "X", "state": "Bayern", "einwohner": 5}',
     "unbekanntes Feld „einwohner“"),
    ('{"type": "interest", "city": "atlantis", "topic": "eakte", "stance": "offers"}',
     "unbekannte Stadt „atlantis“"),
    ('{"type": "interest", "city": "stuttgart", "topic": "blockchain", "stance": "offers"}',
     "unbekanntes Thema „blockchain“"),
    ('{"type": "interest", "city": "stuttgart", "topic": "eakte", "stance": "loves"}',
     "„loves“ ist nicht erlaubt"),
    ('{"type": "interest", "city": "stuttgart", "topic": "eakte", "stance": "offers", '
     '"maturity": 7}', "zwischen 1 und 5"),
    ('{"type": "interest", "city": "stuttgart", "topic": "eakte", "stance": "offers", '
     '"maturity": "hoch"}', "ganze Zahl"),
    ('{"type": "experience", "city": "stuttgart", "title": "T", "body": "B", "kind": "rant"}',
     "„rant“ ist nicht erlaubt"),
    ('{"type": "experience", "city": "stuttgart", "title": "  ", "body": "B"}',
     "darf nicht leer sein"),
    ('{"type": "experience", "city": "stuttgart", "title": "T", "body": "B", '
     '"topics": ["eakte", "quantencomputer"]}', "unbekannte Themen: quantencomputer"),
    ('{"type": "experience", "city": "muenchen", "title": "Alt", "body": "B", "slug": "alt"}',
     "gehört zur Stadt „stuttgart“"),
    ('{"type": "experience", "city": "stuttgart", "title": "T", "body": "B", '
     '"author": "niemand@example.org"}', "unbekannter Benutzer"),
    ('{"type": "topic", "slug": "eakte", "name_de": "eAkte", "parent": "eakte-unter"}',
     "kann nicht unter sich selbst stehen"),
    ('{"type": "user", "email": "kein-at-zeichen", "city": "stuttgart"}',
     "keine gültige E-Mail-Adresse"),
    ('{"type": "user", "email": "neu@stuttgart.example", "role": "king"}',
     "„king“ ist nicht erlaubt"),
    ('{"type": "city", "slug": "x", "name": "X", "state": "Bayern", "created_at": "gestern"}',
     "Zeitpunkt"),
]


@pytest.mark.parametrize("bad, message", BAD_LINES)
def test_a_bad_line_is_reported_with_its_number_and_nothing_is_written(
        app, transfer, stuttgart, muenchen, make_topic, anna, make_experience, bad, message):
    eakte = make_topic("eakte", "eAkte")
    make_topic("eakte-unter", "Unterthema", parent=eakte)
    make_experience(anna, title="Alt", body="Alt")
    before = row_counts()
    text = (lines({"type": "city", "slug": "neu", "name": "Neustadt", "state": "Bayern"},
                  {"type": "interest", "city": "stuttgart", "topic": "eakte",
                   "stance": "seeks"})
            + "\n" + bad + "\n"
            + lines({"type": "topic", "slug": "spaeter", "name_de": "Später"}))
    with pytest.raises(TransferError) as caught:
        transfer.load(text)
    assert f"Zeile 4: " in str(caught.value)
    assert message in str(caught.value)
    assert "Es wurde nichts importiert." in str(caught.value)
    db.session.rollback()
    assert row_counts() == before
    assert city("neu") is None


def test_references_must_come_before_their_use(app, transfer):
    text = lines({"type": "interest", "city": "spaet", "topic": "thema", "stance": "offers"},
                 {"type": "city", "slug": "spaet", "name": "Spät", "state": "Bayern"},
                 {"type": "topic", "slug": "thema", "name_de": "Thema"})
    with pytest.raises(TransferError) as caught:
        transfer.load(text)
    assert "Zeile 1: Feld „city“: unbekannte Stadt „spaet“" in str(caught.value)
    assert "unbekanntes Thema „thema“" in str(caught.value)
    assert row_counts()["City"] == 0


def test_all_bad_lines_are_listed(app, transfer):
    text = "kaputt\n" + lines({"type": "city", "slug": "a", "name": "A", "state": "Bayern"}) \
        + '{"type": "nix"}\n'
    with pytest.raises(TransferError) as caught:
        transfer.load(text)
    assert [line for line, _ in caught.value.errors] == [1, 3]


def test_full_export_lines_are_checked_too(app, transfer, stuttgart):
    record = {"type": "experience", "city": "stuttgart", "slug": "x", "title": "T", "body": "B",
              "current_revision": 2,
              "revisions": [{"number": 1, "title": "T", "body": "B", "author": None},
                            {"number": 1, "title": "T", "body": "B"}]}
    with pytest.raises(TransferError, match="Versionsnummern kommen doppelt vor"):
        transfer.load(lines(record))
    record["revisions"][1]["number"] = 2
    record["revisions"][1]["body"] = "anders"
    with pytest.raises(TransferError, match="aktuellen Version"):
        transfer.load(lines(record))
    record["revisions"][1]["restored_from"] = 9
    with pytest.raises(TransferError, match="unbekannte Version"):
        transfer.load(lines(record))
    assert row_counts()["Experience"] == 0


def test_database_errors_roll_back_and_name_the_line(app, transfer, make_topic):
    make_topic("a", "A")
    make_topic("b", "B")
    db.session.execute(sa.update(Topic).where(Topic.slug == "a").values(ozg_key="k:1"))
    db.session.commit()
    # Swapping OZG keys passes the line checks but breaks the unique key when applied.
    text = lines({"type": "topic", "slug": "b", "name_de": "B", "ozg_key": "k:2"},
                 {"type": "city", "slug": "neu", "name": "Neu", "state": "Bayern"},
                 {"type": "topic", "slug": "b", "name_de": "B", "ozg_key": "k:1"})
    with pytest.raises(TransferError) as caught:
        transfer.load(text)
    assert "Zeile 3" in str(caught.value) or "Zeile 1" in str(caught.value)
    assert city("neu") is None
    assert topic("b").ozg_key is None


# --- CLI ---------------------------------------------------------------------------------

def test_export_and_import_commands(history, transfer, runner, tmp_path):
    path = tmp_path / "alles.jsonl"
    result = runner.invoke(args=["export", str(path)])
    assert result.exit_code == 0, result.output
    assert "Zeilen geschrieben" in result.output
    exported = path.read_text(encoding="utf-8")
    assert exported == transfer.export()
    transfer.empty()
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "16 Erfahrungen" not in result.output and "18 Erfahrungen, " in result.output
    assert "1 Besuche, 0 Benachrichtigungen neu" in result.output
    assert transfer.export() == exported


def test_import_command_reports_the_bad_line(app, runner, tmp_path):
    path = tmp_path / "kaputt.jsonl"
    path.write_text(MINIMAL + '{"type": "interest", "city": "freiburg"}\n', encoding="utf-8")
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 1
    assert "Zeile 6: Feld „topic“ fehlt." in result.output
    assert "Zeile 6: Feld „stance“ fehlt." in result.output
    assert row_counts()["City"] == 0 and row_counts()["Topic"] == 0


def test_import_command_rejects_a_file_that_is_not_utf8(app, runner, tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"type": "city", "slug": "k", "name": "Köln", "state": "NRW"}\n'
                     .encode("latin-1"))
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 1
    assert "UTF-8" in result.output
    assert row_counts()["City"] == 0


def test_export_to_stdout(app, runner, stuttgart):
    result = runner.invoke(args=["export", "-"])
    assert result.exit_code == 0
    assert json.loads(result.stdout.splitlines()[0])["slug"] == "stuttgart"


# --- experiences written in batches (issue 8) ---------------------------------------------

def full_line(slug, *texts, **fields):
    """A full-export experience line whose revisions carry `texts` (the last is current)."""
    revisions = [{"number": number, "title": "Lotsen", "body": body, "summary": f"Fassung {number}",
                  "author": "anna@stuttgart.example",
                  "created_at": f"2026-01-0{number}T10:00:00", "restored_from": None}
                 for number, body in enumerate(texts, start=1)]
    return {"type": "experience", "slug": slug, "city": "stuttgart", "title": "Lotsen",
            "body": texts[-1], "kind": "practice", "status": "published", "topics": [],
            "created_at": "2026-01-01T10:00:00",
            "updated_at": f"2026-01-0{len(texts)}T10:00:00",
            "published_at": "2026-01-01T10:00:00", "deleted_at": None,
            "current_revision": len(texts), "revisions": revisions, **fields}


def test_round_trip_in_small_batches_is_byte_identical(history, transfer, monkeypatch):
    monkeypatch.setattr(transfer_module, "EXPERIENCE_BATCH", 2)
    first = transfer.export()
    transfer.empty()
    transfer.load(first)
    assert transfer.export() == first


def test_reimport_of_a_grown_history_appends_its_new_revisions(app, transfer, anna):
    transfer.load(lines(full_line("lotsen", "Eins")))
    db.session.execute(sa.delete(IndexTask))  # as after an index build
    db.session.commit()
    page = experience("lotsen")
    assert page.current_revision.number == 1
    grown = full_line("lotsen", "Eins", "Zwei", "Eins")
    grown["revisions"][2]["restored_from"] = 1

    summary = import_records(lines(grown).splitlines())  # not committed yet
    assert "1 geändert; 2 neue Versionen" in summary
    # The page loaded before the import shows what the batch statements wrote.
    assert [r.number for r in page.revisions] == [1, 2, 3]
    assert page.current_revision.number == 3 and page.body == "Eins"
    assert page.revisions[2].restored_from_id == page.revisions[0].id
    assert page.revisions[1].author == anna and page.revisions[1].summary == "Fassung 2"
    assert page.revisions[1].created_at == datetime(2026, 1, 2, 10)
    assert (page.created_at, page.updated_at) == (datetime(2026, 1, 1, 10),
                                                  datetime(2026, 1, 3, 10))
    assert list(db.session.scalars(sa.select(IndexTask.experience_id))) == [page.id]
    db.session.commit()
    assert "0 geändert; 0 neue Versionen" in transfer.load(lines(grown))


def test_a_page_named_twice_in_one_file_gets_both_texts(app, transfer, stuttgart):
    line = {"type": "experience", "city": "stuttgart", "title": "Lotsen", "body": "Eins"}
    summary = transfer.load(lines(line, {**line, "body": "Zwei"}))
    assert "1 Erfahrungen, 0 Projekte" in summary and "; 1 geändert; 2 neue Versionen" in summary
    page = experience("lotsen")
    assert [r.body for r in page.revisions] == ["Eins", "Zwei"] and page.body == "Zwei"


@pytest.fixture
def index(app):
    """The test's search index (its own INDEX_DIR), closed afterwards."""
    from exchange.search.indexer import get_engine

    engine = get_engine()
    yield engine
    engine.close()


def test_every_imported_experience_is_queued_once_for_one_index_build(app, transfer, index):
    from exchange.search.indexer import pending_count, reindex

    text = MINIMAL + lines(
        {"type": "experience", "city": "freiburg", "title": "Entwurf", "body": "Noch nicht.",
         "status": "draft"},
        {"type": "experience", "city": "freiburg", "title": "Bürgerkonto", "body": "Läuft."})
    transfer.load(text)
    ids = sorted(db.session.scalars(sa.select(Experience.id)))
    assert len(ids) == 3
    assert sorted(db.session.scalars(sa.select(IndexTask.experience_id))) == ids
    assert reindex() == 2  # the draft is not searchable
    assert pending_count() == 0  # the build covered every queued row
    assert len(index.document_ids()) == 2
    transfer.load(text)
    assert pending_count() == 0  # unchanged experiences are not queued again


def test_an_import_of_experiences_bumps_the_matching_version(app, transfer, anna, make_topic):
    from exchange.matching.models import MATCHING, TAXONOMY, read_version

    make_topic("eakte", "eAkte")
    make_topic("dms", "DMS")
    before = read_version(db.session, MATCHING)[0]
    taxonomy = read_version(db.session, TAXONOMY)
    line = {"type": "experience", "city": "stuttgart", "title": "E-Akte im Amt", "body": "Text",
            "topics": ["eakte"], "kind": "practice"}
    transfer.load(lines(line))
    assert read_version(db.session, MATCHING)[0] == before + 1
    transfer.load(lines(line))  # nothing changed: no rebuild
    assert read_version(db.session, MATCHING)[0] == before + 1
    transfer.load(lines({**line, "topics": ["dms"]}))
    assert read_version(db.session, MATCHING)[0] == before + 2
    assert [t.slug for t in experience("e-akte-im-amt").topics] == ["dms"]
    assert read_version(db.session, TAXONOMY) == taxonomy


def test_a_database_error_in_an_experience_batch_names_its_lines(
        app, transfer, anna, make_experience, monkeypatch):
    page = make_experience(anna, title="Schon da", body="Alt")
    before = row_counts()
    loaded = transfer_module._Importer.__init__

    def unaware(self):
        loaded(self)
        del self.experience_ids[page.slug]  # as if another writer had just created it

    monkeypatch.setattr(transfer_module._Importer, "__init__", unaware)
    text = lines({"type": "city", "slug": "neu", "name": "Neu", "state": "Bayern"},
                 {"type": "experience", "city": "stuttgart", "title": "Neu", "body": "B"},
                 {"type": "experience", "city": "stuttgart", "title": "Schon da", "body": "B"})
    with pytest.raises(TransferError) as caught:
        transfer.load(text)
    assert "Zeilen 2–3: Datenbankfehler" in str(caught.value)
    db.session.rollback()
    assert row_counts() == before and city("neu") is None
