"""The matching snapshot is built once per version and kept; every change of its inputs,
in this process or another one, moves the version and shows in the next result."""
import json
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from exchange.cities.models import Interest
from exchange.extensions import db
from exchange.matching import snapshot as snapshot_module
from exchange.matching.models import MATCHING, PARTNERSHIPS, bump, read_version
from exchange.matching.services import explain_pair, find_partners
from exchange.matching.snapshot import cache

SCRIPT = Path(__file__).with_name("change_process.py")
#: Seconds the other process may take to start, change one interest and commit.
TIMEOUT = 120


def partners(city, **filters) -> set[str]:
    return {m.city.slug for m in find_partners(city, **filters)}


def reason_keys(match) -> set[tuple[str, str]]:
    return {(r.topic.slug, r.direction) for r in match.reasons}


def builds(name=MATCHING) -> int:
    return cache(name).builds


@contextmanager
def full_reads_of(table: str):
    """Collect the SQL statements that read all of `table` (no WHERE) while the block runs."""
    seen = []

    def record(_conn, _cursor, statement, *_args):
        if f"FROM {table}" in statement and "WHERE" not in statement:
            seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture
def ulm_author(make_user, world):
    return make_user("it@ulm.example", city=world.ulm)


# --- kept across requests ------------------------------------------------------------

def test_snapshot_is_built_once_and_kept_across_requests(world, client, api, login, anna):
    caller = api(anna)
    with full_reads_of("interests") as reads:
        first = caller.get("/api/v1/cities/stuttgart/matches").get_json()
        second = caller.get("/api/v1/cities/stuttgart/matches?kind=joint")
        third = caller.get("/api/v1/cities/muenchen/matches")
        login(anna)
        page = client.get("/partner")
        city_page = client.get("/staedte/muenchen")  # "Warum passt München …" slot
    assert [r.status_code for r in (second, third, page, city_page)] == [200] * 4
    assert first["matches"][0]["city"] == "muenchen"
    assert "Warum passt München zu meiner Stadt?" in city_page.text
    assert builds() == 1
    assert len(reads) == 1  # all interests were read once, for the one build


def test_version_is_one_upsert_per_commit(app, world):
    before = read_version(db.session)
    bump(db.session.connection())
    bump(db.session.connection())
    db.session.commit()
    after = read_version(db.session)
    assert after[0] == before[0] + 2 and after[1] >= before[1]
    assert read_version(db.session, "nothing-yet") == (0, None)


# --- every change of the inputs is seen at once ----------------------------------------

def test_interest_added_changed_and_removed(world):
    from exchange.cities.services import remove_interest, set_interest

    assert partners(world.stuttgart, kind="transfer") == {"muenchen", "ulm", "karlsruhe"}
    assert builds() == 1
    set_interest(None, world.tuebingen, world.innovation, "offers", 5)  # added
    db.session.commit()
    assert partners(world.stuttgart, kind="transfer") == {"muenchen", "ulm", "tuebingen",
                                                          "karlsruhe"}
    assert builds() == 2
    set_interest(None, world.ulm, world.mobilitaet, "seeks", 1)  # maturity changed
    db.session.commit()
    [reason] = [r for r in explain_pair(world.stuttgart, world.ulm).reasons
                if r.topic == world.mobilitaet]
    assert reason.their_maturity == 1 and builds() == 3
    set_interest(None, world.ulm, world.mobilitaet, "offers", 1)  # stance changed
    db.session.commit()
    assert "ulm" not in partners(world.stuttgart, kind="transfer")
    assert builds() == 4
    remove_interest(None, world.tuebingen, world.innovation)  # removed
    db.session.commit()
    assert "tuebingen" not in partners(world.stuttgart, kind="transfer")
    assert builds() == 5


def test_experience_published_retopiced_unpublished_and_deleted(world, ulm_author,
                                                                make_experience):
    from exchange.wiki.services import delete_experience, publish, unpublish, update_experience

    def inferred_web():
        return ("web", "they_offer") in reason_keys(explain_pair(world.stuttgart, world.ulm))

    assert not inferred_web()
    draft = make_experience(ulm_author, title="Unser neuer Webauftritt", topics=[world.web],
                            status="draft")
    assert not inferred_web() and builds() == 1  # a draft is not read: no rebuild
    publish(ulm_author, draft)
    db.session.commit()
    assert inferred_web() and builds() == 2
    update_experience(ulm_author, draft, draft.current_revision_id, topics=[world.innovation])
    db.session.commit()
    assert not inferred_web() and builds() == 3
    assert ("innovation", "they_offer") in reason_keys(explain_pair(world.stuttgart, world.ulm))
    unpublish(ulm_author, draft)
    db.session.commit()
    assert ("innovation", "they_offer") not in reason_keys(
        explain_pair(world.stuttgart, world.ulm))
    publish(ulm_author, draft)
    db.session.commit()
    assert explain_pair(world.stuttgart, world.ulm).reasons
    delete_experience(ulm_author, draft)
    db.session.commit()
    assert ("innovation", "they_offer") not in reason_keys(
        explain_pair(world.stuttgart, world.ulm))
    assert builds() == 6


def test_city_changed_and_created(world):
    from exchange.cities.services import create_city, set_interest, update_city

    assert "ulm" not in partners(world.stuttgart, size_band="klein")
    update_city(None, world.ulm, population=15_000)
    db.session.commit()
    assert "ulm" in partners(world.stuttgart, size_band="klein")
    update_city(None, world.ulm, state="Bayern")
    db.session.commit()
    assert "ulm" in partners(world.stuttgart, state="Bayern")
    esslingen = create_city(None, "Esslingen am Neckar", "Baden-Württemberg",
                            slug="esslingen", population=94_000)
    set_interest(None, esslingen, world.innovation, "offers", 4)
    db.session.commit()
    assert "esslingen" in partners(world.stuttgart)
    assert builds() == 4


def test_topic_created_and_moved(world, make_topic, set_interests):
    barrierefrei = make_topic("barrierefrei", "Barrierefreie Webseiten", parent=world.web)
    set_interests(world.ulm, (barrierefrei, "offers", 5))
    [reason] = [r for r in explain_pair(world.stuttgart, world.ulm).reasons
                if r.topic == world.web]
    assert reason.via == [barrierefrei]
    assert ("ozg", "joint_working") in reason_keys(explain_pair(world.stuttgart,
                                                                world.karlsruhe))
    world.ozg_mobil.parent = world.mobilitaet  # Karlsruhe works on it, now below Mobilität
    db.session.commit()
    assert ("ozg", "joint_working") not in reason_keys(explain_pair(world.stuttgart,
                                                                    world.karlsruhe))
    assert builds() == 2


def test_project_activated_rebuilds_the_partnerships_only(world, make_user):
    from exchange.projects.services import propose_project, respond

    assert ("eakte", "joint_working") in reason_keys(
        find_partners(world.stuttgart, kind="joint")[0])
    cdo = make_user("cdo@stuttgart.example", city=world.stuttgart, role="city_admin")
    cdo_m = make_user("cdo@muenchen.example", city=world.muenchen, role="city_admin")
    project = propose_project(cdo, "Gemeinsame eAkte", "Gemeinsam einführen.",
                              [world.eakte], [world.muenchen])
    db.session.commit()
    assert ("eakte", "joint_working") in reason_keys(
        {m.city.slug: m for m in find_partners(world.stuttgart)}["muenchen"])
    respond(cdo_m, project, accept=True)
    db.session.commit()
    assert project.state == "active"
    muenchen = {m.city.slug: m for m in find_partners(world.stuttgart)}["muenchen"]
    assert ("eakte", "joint_working") not in reason_keys(muenchen)
    assert builds() == 1  # the scoring snapshot stayed; only the partnerships were re-read
    assert builds(PARTNERSHIPS) == 3


def test_import_bumps_the_version(world):
    from exchange.transfer import import_records

    before = read_version(db.session)[0]
    line = {"type": "interest", "city": "tuebingen", "topic": "innovation",
            "stance": "offers", "maturity": 5}
    import_records([json.dumps(line)])
    db.session.commit()
    assert read_version(db.session)[0] == before + 1
    assert "tuebingen" in partners(world.stuttgart, kind="transfer")


def test_statements_through_the_session_count_as_changes(world):
    partners(world.stuttgart)
    db.session.execute(sa.update(Interest).where(Interest.city_id == world.ulm.id)
                       .values(stance="offers"))
    db.session.commit()
    assert "ulm" not in partners(world.stuttgart, kind="transfer")
    assert builds() == 2


def test_changes_the_model_does_not_read_keep_the_snapshot(world, ulm_author,
                                                           make_experience):
    from exchange.cities.services import set_interest, update_city
    from exchange.wiki.services import update_experience

    page = make_experience(ulm_author, title="Mobilität in Ulm", topics=[world.mobilitaet])
    assert find_partners(world.stuttgart)
    version = read_version(db.session)
    update_city(None, world.muenchen, name="Minga", profile="Weltstadt mit Herz")
    set_interest(None, world.ulm, world.mobilitaet, "seeks", 3, note="Carsharing zuerst")
    update_experience(ulm_author, page, page.current_revision_id, body="Neuer Text")
    db.session.commit()
    assert read_version(db.session) == version and builds() == 1
    # Names are read per request: the new one is in the reasons at once.
    best = find_partners(world.stuttgart)[0]
    assert best.city.name == "Minga" and any("Minga" in r.text for r in best.reasons)
    assert builds() == 1


def test_uncommitted_changes_are_seen_by_their_own_transaction_only(world):
    from exchange.cities.services import set_interest

    assert "tuebingen" not in partners(world.stuttgart, kind="transfer")
    set_interest(None, world.tuebingen, world.innovation, "offers", 5)
    assert "tuebingen" in partners(world.stuttgart, kind="transfer")
    db.session.rollback()
    assert "tuebingen" not in partners(world.stuttgart, kind="transfer")
    assert builds() == 1  # the uncommitted snapshot was never cached


# --- other processes and threads -------------------------------------------------------

def _config(app) -> str:
    """The test app's settings for the other process (same database)."""
    keys = ("SQLALCHEMY_DATABASE_URI", "INDEX_DIR", "SECRET_KEY", "MAIL_LOG",
            "PASSWORD_HASH_METHOD", "BABEL_DEFAULT_LOCALE", "TESTING")
    return json.dumps({key: app.config[key] for key in keys}
                      | {"INSTANCE_PATH": app.instance_path})


def test_change_committed_by_another_process_is_seen_at_once(app, world):
    assert partners(world.stuttgart, kind="transfer") == {"muenchen", "ulm", "karlsruhe"}
    version = read_version(db.session)[0]
    db.session.rollback()  # hold no lock while the other process writes (SQLite)
    task = {"city": "tuebingen", "topic": "innovation", "stance": "offers", "maturity": 5}
    done = subprocess.run([sys.executable, str(SCRIPT), _config(app), json.dumps(task)],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == version + 1
    assert partners(world.stuttgart, kind="transfer") == {"muenchen", "ulm", "tuebingen",
                                                          "karlsruhe"}
    assert builds() == 2


def test_threads_share_one_build(app, world, monkeypatch):
    from exchange.cities.services import set_interest

    set_interest(None, world.tuebingen, world.innovation, "offers", 5)
    db.session.commit()
    started, release = threading.Event(), threading.Event()
    load = snapshot_module.load_snapshot
    calls = []

    def slow_load(connection):
        calls.append(1)
        started.set()
        release.wait(10)  # the others arrive while this build runs
        return load(connection)

    monkeypatch.setattr(snapshot_module, "load_snapshot", slow_load)
    results, errors = [], []

    def ask():
        try:
            with app.app_context():
                results.append(snapshot_module.snapshot())
        except Exception as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    threads[0].start()
    assert started.wait(10)
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.2)  # let them reach the lock
    release.set()
    for thread in threads:
        thread.join(30)
    assert not errors and len(results) == 4
    assert len(calls) == 1 and builds() == 1
    assert all(result is results[0] for result in results)
