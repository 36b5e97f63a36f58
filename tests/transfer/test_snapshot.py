"""An export is one snapshot even while another process edits; import refuses broken histories."""
import io
import json
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import _test_config, fresh_database_url
from exchange import create_app
from exchange.cities.models import City
from exchange.extensions import db
from exchange.transfer import TransferError, export_jsonl, import_jsonl
from exchange.wiki.models import Experience, Revision

SCRIPT = Path(__file__).with_name("edit_writer.py")
#: Experiences the writer process edits round-robin.
EXPERIENCES = 20
#: Edits the export waits for at its pause: each is an experience whose newest revision
#: a non-snapshot export would list without making it current.
EDITS_DURING_PAUSE = 3
#: Longest wait at the pause (s); a snapshot on SQLite holds off the writer's commits,
#: so there the whole wait passes. Below SQLite's 5 s busy timeout for the writer.
PAUSE_SECONDS = 1.0
#: Upper bound for the writer process to start and commit its first edit (s).
STARTUP_SECONDS = 60


def _edits(progress: Path) -> int:
    try:
        return int(progress.read_text() or 0)
    except FileNotFoundError:
        return 0


@contextmanager
def writer_process(app, user, experiences, tmp_path):
    """Another OS process with its own app editing `experiences` until the block ends."""
    progress, stop = tmp_path / "progress", tmp_path / "stop"
    config = {key: app.config[key] for key in (
        "SQLALCHEMY_DATABASE_URI", "INDEX_DIR", "SECRET_KEY", "MAIL_LOG")} | {
        "INSTANCE_PATH": str(tmp_path / "writer"), "TESTING": True}
    task = {"user_id": user.id, "experience_ids": [e.id for e in experiences],
            "progress": str(progress), "stop": str(stop), "max_seconds": 120}
    process = subprocess.Popen([sys.executable, str(SCRIPT), json.dumps(config),
                                json.dumps(task)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while _edits(progress) == 0:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the writer process made no edit"
            time.sleep(0.05)
        yield progress
    finally:
        stop.touch()
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert int(stdout) > 0


@contextmanager
def pause_before_reading_revisions(progress: Path):
    """Make the export wait, before it reads revisions, until the writer committed more.

    Without a snapshot the experiences read before the pause then point at revisions
    older than the ones read after it. Yields a dict counting the pauses and the edits
    the writer committed during them.
    """
    seen = {"pauses": 0, "edits": 0}

    def pause(conn, cursor, statement, parameters, context, executemany):
        if "FROM revisions" not in statement or seen["pauses"] >= 3:
            return
        seen["pauses"] += 1
        start = _edits(progress)
        deadline = time.monotonic() + PAUSE_SECONDS
        while _edits(progress) < start + EDITS_DURING_PAUSE and time.monotonic() < deadline:
            time.sleep(0.01)
        seen["edits"] += _edits(progress) - start

    sa.event.listen(db.engine, "before_cursor_execute", pause)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", pause)


def inconsistencies(text: str) -> list[str]:
    """Experiences whose current revision is not their newest, listed revision."""
    found = []
    for line in text.splitlines():
        record = json.loads(line)
        if record["type"] != "experience":
            continue
        revisions = {revision["number"]: revision for revision in record["revisions"]}
        current = revisions.get(record["current_revision"])
        if current is None or record["current_revision"] != max(revisions):
            found.append(f"{record['slug']}: current {record['current_revision']}, "
                         f"newest {max(revisions)}")
        elif (current["title"], current["body"]) != (record["title"], record["body"]):
            found.append(f"{record['slug']}: text is not the current revision's")
    return found


@pytest.fixture
def pages(anna, make_experience):
    """Stuttgart experiences for the writer to edit."""
    return [make_experience(anna, title=f"Erfahrung Nummer {number}", body="Erste Fassung\n")
            for number in range(EXPERIENCES)]


@pytest.mark.slow
def test_export_while_another_process_edits_is_a_snapshot(app, transfer, anna, pages, tmp_path):
    with writer_process(app, anna, pages, tmp_path) as progress:
        with pause_before_reading_revisions(progress) as seen:
            before = _edits(progress)
            text = transfer.export()
    assert seen["pauses"] >= 1
    if db.engine.dialect.name == "postgresql":
        # Commits happened mid-export; the snapshot hides them. (SQLite without WAL makes
        # the writer wait for the read transaction instead.)
        assert seen["edits"] >= EDITS_DURING_PAUSE
    assert _edits(progress) > before  # the writer kept writing around the export
    assert sum(line.startswith('{"type": "experience"') for line in text.splitlines()) \
        == EXPERIENCES
    assert inconsistencies(text) == []

    with fresh_database_url(tmp_path / "restored.db", "r_") as url:
        restored = create_app(_test_config(url, tmp_path / "restored"))
        with restored.app_context():
            db.create_all()
            try:
                import_jsonl(io.StringIO(text))
                db.session.commit()
                newest = db.session.execute(
                    sa.select(Experience.slug, sa.func.max(Revision.number))
                    .join(Revision, Revision.experience_id == Experience.id)
                    .group_by(Experience.slug)).all()
                current = dict(db.session.execute(
                    sa.select(Experience.slug, Revision.number)
                    .join(Revision, Experience.current_revision_id == Revision.id)).all())
                assert len(newest) == EXPERIENCES
                assert {slug: current.get(slug) for slug, _ in newest} == dict(newest)
                again = io.StringIO()
                export_jsonl(again)
                assert again.getvalue() == text
            finally:
                db.session.remove()
                db.engine.dispose()


# --- import refuses a history whose current revision is not its newest -------------------

def _exported_page(transfer) -> tuple[list[str], int]:
    """The export's lines and the index of the one experience line."""
    text_lines = transfer.export().splitlines()
    index = next(i for i, line in enumerate(text_lines) if '"type": "experience"' in line)
    return text_lines, index


def _counts():
    return {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (City, Experience, Revision)}


@pytest.fixture
def edited_page(app, anna, make_experience):
    """An experience with two revisions."""
    from exchange.wiki import services as wiki

    page = make_experience(anna, title="Lotsen", body="Erste Fassung\n")
    wiki.update_experience(anna, page, page.current_revision_id, body="Zweite Fassung\n")
    db.session.commit()
    return page


def _refused(transfer, text_lines) -> str:
    transfer.empty()
    with pytest.raises(TransferError) as caught:
        transfer.load("\n".join(text_lines) + "\n")
    db.session.rollback()
    assert _counts() == {"City": 0, "Experience": 0, "Revision": 0}
    return str(caught.value)


def test_import_refuses_a_current_revision_missing_from_the_revisions(transfer, edited_page):
    text_lines, index = _exported_page(transfer)
    record = json.loads(text_lines[index])
    record["revisions"] = record["revisions"][:1]  # revision 2, the current one, is gone
    text_lines[index] = json.dumps(record, ensure_ascii=False)
    message = _refused(transfer, text_lines)
    assert f"Zeile {index + 1}: „current_revision“ 2 fehlt in „revisions“." in message
    assert "Es wurde nichts importiert." in message


def test_import_refuses_a_current_revision_older_than_the_newest(transfer, edited_page):
    text_lines, index = _exported_page(transfer)
    record = json.loads(text_lines[index])
    first = record["revisions"][0]
    # What a non-snapshot export wrote: the pointer and text from before revision 2.
    record.update(current_revision=1, title=first["title"], body=first["body"])
    text_lines[index] = json.dumps(record, ensure_ascii=False)
    message = _refused(transfer, text_lines)
    assert (f"Zeile {index + 1}: „current_revision“ 1 ist nicht die neueste Version "
            f"in „revisions“ (2).") in message
    assert "Es wurde nichts importiert." in message


def test_snapshot_session_is_one_read_only_transaction(app):
    from exchange.transfer import snapshot_session

    with snapshot_session() as session:
        session.execute(sa.select(City.id)).all()
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            assert session.execute(sa.text("SHOW transaction_isolation")).scalar() \
                == "repeatable read"
            assert session.execute(sa.text("SHOW transaction_read_only")).scalar() == "on"
        else:
            assert connection.connection.dbapi_connection.in_transaction
    if db.engine.dialect.name == "postgresql":  # the pooled connection is reset afterwards
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("SHOW transaction_isolation")).scalar() \
                == "read committed"


def test_import_refuses_a_current_revision_without_revisions(app, transfer):
    city = {"type": "city", "slug": "ulm", "name": "Ulm", "state": "Baden-Württemberg"}
    record = {"type": "experience", "city": "ulm", "title": "T", "body": "B",
              "current_revision": 3}
    message = _refused(transfer, [json.dumps(city), json.dumps(record)])
    assert "Zeile 2: „current_revision“ 3 fehlt in „revisions“." in message
