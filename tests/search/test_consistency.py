"""The index never loses an edit: writer processes killed mid-way, several writers at once."""
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from exchange.extensions import db
from exchange.search import services
from exchange.search.indexer import apply_outbox, get_engine, pending_count
from exchange.wiki.models import Experience

SCRIPT = Path(__file__).with_name("writer_process.py")
pytestmark = pytest.mark.slow


def _config(app) -> str:
    return json.dumps({key: app.config[key] for key in (
        "SQLALCHEMY_DATABASE_URI", "INDEX_DIR", "SECRET_KEY", "MAIL_LOG")} |
        {"INSTANCE_PATH": app.instance_path, "TESTING": True})


def _start(app, task) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(SCRIPT), _config(app), json.dumps(task)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _indexed_titles() -> dict[int, str]:
    """Experience id -> title as the index finds it (searching each title)."""
    found = {}
    db.session.expire_all()
    for experience in db.session.scalars(sa.select(Experience)):
        results = services.search(f'"{experience.title}"', per_page=50)
        if experience.id in {hit.experience_id for hit in results.hits}:
            found[experience.id] = experience.title
    return found


@pytest.mark.parametrize("point", ["in_writer", "before_toc", "mid_toc", "after_index_commit"])
def test_writer_killed_mid_way_loses_nothing(app, corpus, anna, point):
    apply_outbox(blocking=True)
    engine = get_engine()
    experience = corpus["eakte"]
    process = _start(app, {"user_id": anna.id, "kill": point,
                           "edits": [[experience.id, "Die E-Akte im Standesamt"]]})
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL, stderr
    # The database has the edit and still records the index work ...
    db.session.expire_all()
    assert db.session.get(Experience, experience.id).title == "Die E-Akte im Standesamt"
    assert pending_count() == 1
    # ... the index is readable (not corrupt) ...
    assert engine.doc_count() == 5
    # ... and the next apply gets the index right (replaying is harmless).
    assert apply_outbox(blocking=True) == 1
    assert pending_count() == 0
    results = services.search("Standesamt")
    assert [hit.experience_id for hit in results.hits] == [experience.id]
    assert services.search('"Einführung der E-Akte"').total == 0  # the old title
    assert engine.doc_count() == 5


def test_concurrent_writer_processes_lose_no_edit(app, corpus, anna):
    apply_outbox(blocking=True)
    published = [e for e in corpus.values() if e.status == "published"]
    processes = []
    for number, experience in enumerate(published[:3]):
        edits = [[experience.id, f"Fassung {number} Nummer {step} Schulung"] for step in range(4)]
        processes.append(_start(app, {"user_id": experience.city.users[0].id
                                      if experience.city.users else anna.id,
                                      "apply": "try", "edits": edits}))
    for process in processes:
        _, stderr = process.communicate(timeout=180)
        assert process.returncode == 0, stderr
    apply_outbox(blocking=True)
    assert pending_count() == 0
    db.session.expire_all()
    for number, experience in enumerate(published[:3]):
        title = db.session.get(Experience, experience.id).title
        assert title == f"Fassung {number} Nummer 3 Schulung"
        hits = services.search(f'"Fassung {number} Nummer 3"').hits
        assert [hit.experience_id for hit in hits] == [experience.id]
        for step in range(3):  # older versions are gone from the index
            assert services.search(f'"Fassung {number} Nummer {step}"').total == 0
    assert get_engine().doc_count() == 5


def test_searches_keep_working_while_another_process_rebuilds(app, corpus, anna):
    apply_outbox(blocking=True)
    engine = get_engine()
    first = engine.current_generation()
    process = _start(app, {"user_id": anna.id, "edits": [], "reindex": 5})
    answers = []
    while process.poll() is None:
        answers.append(services.search("Lotsen").total)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    answers.append(services.search("Lotsen").total)
    assert len(answers) > 10 and set(answers) == {2}  # every search answered, the same
    assert engine.current_generation() != first
