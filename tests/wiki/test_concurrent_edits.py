"""Writer processes editing one experience at once lose no acknowledged edit (issue 16).

Each process (tests/wiki/edit_process.py, its own app and connections on the session's
database) reads the page, appends a line and saves with the revision it read as the base,
through the JSON API or the edit form. Every save answered as saved must be in the
stored history, in a linear chain: the revision after n was written on base n, so
nothing a client was told is saved was replaced by a text that never saw it. Every other
answer must be an edit conflict (409 / the conflict page), never a 500.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from exchange.extensions import db
from exchange.wiki.models import Experience, Revision

SCRIPT = Path(__file__).with_name("edit_process.py")
#: About 5 s, most of it starting the writer processes.
pytestmark = pytest.mark.slow
WRITERS = 4
EDITS_PER_WRITER = 15
#: Seconds a writer may take for start-up and all its edits.
TIMEOUT = 120


def _config(app) -> str:
    """The test app's settings for a writer process (same database, no CSRF)."""
    keys = ("SQLALCHEMY_DATABASE_URI", "INDEX_DIR", "SECRET_KEY", "MAIL_LOG",
            "PASSWORD_HASH_METHOD", "BABEL_DEFAULT_LOCALE", "WTF_CSRF_ENABLED", "TESTING")
    return json.dumps({key: app.config[key] for key in keys}
                      | {"INSTANCE_PATH": app.instance_path})


def _run_writers(app, tasks) -> list[list[dict]]:
    """Start one process per task, let them all begin at once, return their outcomes."""
    processes = [subprocess.Popen([sys.executable, str(SCRIPT), _config(app), json.dumps(task)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for task in tasks]
    try:
        for process in processes:
            ready = process.stdout.readline()
            assert ready.strip() == "ready", (ready, process.stderr.read())
        for process in processes:  # the start signal
            process.stdin.write("go\n")
            process.stdin.flush()
        results = []
        for process in processes:
            stdout, stderr = process.communicate(timeout=TIMEOUT)
            assert process.returncode == 0, stderr
            results.append(json.loads(stdout.strip().splitlines()[-1]))
        return results
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def writers(make_user, stuttgart, token_for):
    """WRITERS Stuttgart staff members, each with an API token."""
    users = [make_user(f"writer{n}@stuttgart.example", city=stuttgart) for n in range(WRITERS)]
    return [(user, token_for(user)) for user in users]


def test_concurrent_read_modify_write_loses_no_acknowledged_edit(app, writers, make_experience):
    experience = make_experience(writers[0][0], body="Anfang")
    experience_id, first = experience.id, experience.current_revision_id
    tasks = [{"slug": experience.slug, "token": token, "user_id": user.id, "name": f"w{n}",
              "edits": EDITS_PER_WRITER, "via": "api" if n % 2 == 0 else "form"}
             for n, (user, token) in enumerate(writers)]
    outcomes = [outcome for result in _run_writers(app, tasks) for outcome in result]

    # Every answer is "saved" or an edit conflict (never a 500 or anything else).
    assert [o for o in outcomes if o["outcome"] not in ("saved", "conflict")] == []
    acknowledged = [outcome for outcome in outcomes if outcome["outcome"] == "saved"]
    conflicts = [outcome for outcome in outcomes if outcome["outcome"] == "conflict"]

    db.session.expire_all()
    chain = db.session.scalars(sa.select(Revision).where(Revision.experience_id == experience_id)
                               .order_by(Revision.number)).all()
    stored = db.session.get(Experience, experience_id)
    assert [revision.number for revision in chain] == list(range(1, len(chain) + 1))
    assert chain[0].id == first and stored.current_revision_id == chain[-1].id
    # Nothing lost, nothing extra: one revision per acknowledged save, each holding the
    # text that save sent (and the API answered the id of the revision it wrote) ...
    assert len(chain) - 1 == len(acknowledged), (len(chain) - 1, len(acknowledged))
    by_body = {outcome["body"]: outcome for outcome in acknowledged}
    assert len(by_body) == len(acknowledged)
    previous = chain[0]
    for revision in chain[1:]:
        outcome = by_body[revision.body]
        if outcome["via"] == "api":
            assert outcome["revision"] == revision.id, (outcome, revision.id)
        # ... and linear: written on the revision before it, so it contains that text.
        assert outcome["base"] == previous.id, (revision.number, outcome, previous.id)
        assert revision.body.startswith(previous.body + "\n")
        previous = revision
    # A conflict only when someone else had saved on that base; it names a later revision.
    chain_ids = [revision.id for revision in chain]
    for outcome in conflicts:
        assert outcome["base"] in chain_ids[:-1], outcome
        assert outcome["revision"] in chain_ids, outcome
        assert chain_ids.index(outcome["revision"]) > chain_ids.index(outcome["base"]), outcome
