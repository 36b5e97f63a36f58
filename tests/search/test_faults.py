"""Faults of the index and its worker: read-only or full folder, damaged segments, errors.

The faults are real: the index folder becomes a read-only bind mount or a full tmpfs
(as root; as another user, read-only is a folder without write permission), a segment
file is truncated under an open searcher. Searches must keep answering, the fault is
reported (`search status`, /healthz, the page), and the worker rebuilds.
"""
import logging
import os
import shutil
import subprocess
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from exchange.extensions import db
from exchange.search import services, worker
from exchange.search.engine import IndexDamaged
from exchange.search.indexer import apply_outbox, get_engine, pending_count, reindex, status
from exchange.search.models import IndexRebuildRequest, IndexTask, WorkerHeartbeat
from exchange.util import utcnow
from exchange.wiki import services as wiki

AS_ROOT = os.geteuid() == 0


def _mount(*arguments):
    subprocess.run(["mount", *arguments], check=True, capture_output=True)


def _can_mount() -> bool:
    if not AS_ROOT or not shutil.which("mount"):
        return False
    probe = Path(f"/tmp/cx-mount-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    try:
        _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe))
    except (subprocess.CalledProcessError, OSError):
        return False
    finally:
        subprocess.run(["umount", str(probe)], capture_output=True)
        probe.rmdir()
    return True


CAN_MOUNT = _can_mount()
needs_mount = pytest.mark.skipif(not CAN_MOUNT, reason="needs root with mount rights")


@contextmanager
def read_only(path: Path):
    """Make the folder read-only for this process, for real."""
    if AS_ROOT:
        if not CAN_MOUNT:
            pytest.skip("root without mount rights ignores permissions")
        _mount("--bind", str(path), str(path))
        try:
            _mount("-o", "remount,bind,ro", str(path), str(path))
            yield
        finally:
            subprocess.run(["umount", str(path)], check=True)
        return
    modes = {}
    for folder in [path, *(p for p in path.rglob("*") if p.is_dir())]:
        modes[folder] = folder.stat().st_mode
        folder.chmod(modes[folder] & ~0o222)
    try:
        yield
    finally:
        for folder, mode in modes.items():
            folder.chmod(mode)


@pytest.fixture
def index_dir(app):
    return Path(app.config["INDEX_DIR"])


@pytest.fixture
def built(app, corpus):
    """The corpus indexed, a searcher open on it."""
    apply_outbox(blocking=True)
    assert services.search("Lotsen").total >= 1
    return corpus


def edit(anna, experience, title):
    wiki.update_experience(anna, experience, experience.current_revision_id, title=title)
    db.session.commit()


# --- read-only and full index folder --------------------------------------------------------

def test_search_answers_from_a_read_only_index_folder(app, client, login, built, anna,
                                                      index_dir, caplog):
    edit(anna, built["lotsen"], "Lotsen im Amt für Telefonanlagen")
    with read_only(index_dir):
        with caplog.at_level(logging.ERROR, logger="exchange.search"):
            results = services.search("Lotsen")
        assert results.total >= 1 and results.stale and not results.unavailable
        assert any("not updated" in record.getMessage() for record in caplog.records)
        assert services.search("Telefonanlagen").total == 0  # not yet in the index
        assert pending_count() == 1  # the edit waits in the outbox, nothing lost

        login(anna)
        page = client.get("/suche?q=Lotsen")
        assert page.status_code == 200
        assert "die neuesten Änderungen fehlen möglicherweise" in page.get_data(as_text=True)
        health = client.get("/healthz").get_json()
        assert health["status"] == "degraded"
        assert health["search"]["index_folder"] == "read_only"
        assert health["search"]["outbox_pending"] == 1
    results = services.search("Telefonanlagen")  # writable again: the edit is applied
    assert results.total == 1 and not results.stale
    assert pending_count() == 0
    assert client.get("/healthz").get_json()["status"] == "ok"


@pytest.fixture
def small_disk(app_config, tmp_path):
    """INDEX_DIR on a 2 MB tmpfs of its own (set before the app is built)."""
    disk = tmp_path / "small-disk"
    disk.mkdir()
    _mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk))
    app_config["INDEX_DIR"] = str(disk / "index")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=True)


@needs_mount
def test_search_answers_from_a_full_index_folder(small_disk, app, built, anna):
    filler = small_disk / "filler"
    with open(filler, "wb") as handle:  # fill the disk to the last block
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    edit(anna, built["lotsen"], "Lotsen im Amt für Telefonanlagen")
    results = services.search("Lotsen")
    assert results.total >= 1 and results.stale
    assert pending_count() == 1
    assert worker.index_writable(app.config["INDEX_DIR"]) == "full"
    filler.unlink()
    assert services.search("Telefonanlagen").total == 1 and pending_count() == 0
    get_engine().close()


# --- damaged segments ---------------------------------------------------------------------------

def _truncate_segments(generation: Path) -> None:
    """Cut every segment file after its first bytes: whatever a search reads from it
    next (postings not cached yet, or the hits' stored fields) is gone."""
    for path in generation.iterdir():
        if path.suffix == ".seg":
            with open(path, "r+b") as handle:
                handle.truncate(64)


def test_a_truncated_segment_is_answered_from_the_previous_generation(app, built, anna,
                                                                      caplog):
    engine = get_engine()
    reindex()  # now there is an intact previous generation beside the current one
    damaged = engine.current_generation()
    assert services.search("Lotsen").total >= 1  # a searcher is open on it
    _truncate_segments(engine.current_path())  # would be SIGBUS with memory-mapped files

    app.config["SEARCH_REBUILD_WAIT"] = 0  # look at the answer before the rebuild ends
    with caplog.at_level(logging.ERROR, logger="exchange.search"):
        results = services.search("Lotsen")
    assert results.total >= 1 and results.stale
    assert any("damaged" in record.getMessage() for record in caplog.records)
    assert db.session.query(IndexRebuildRequest).count() == 1

    worker.join_background_rebuild(60)  # no worker runs: this process rebuilt in a thread
    assert engine.current_generation() != damaged
    results = services.search("Lotsen")
    assert results.total >= 1 and not results.stale
    assert db.session.query(IndexRebuildRequest).count() == 0
    assert damaged not in [path.name for path in engine.root.glob("gen-*")]


def test_a_generation_still_being_built_is_no_stand_in(app, built):
    """A rebuild's folder has no manifest until its commit: trying it as a stand-in would
    mark it damaged for good, and the process would refuse it once it is swapped in."""
    engine = get_engine()
    reindex()
    damaged = engine.current_generation()
    services.search("Lotsen")
    in_progress = engine.root / "gen-99991231235959-ffffffff"  # newest by name
    in_progress.mkdir()
    _truncate_segments(engine.current_path())
    app.config["SEARCH_REBUILD_WAIT"] = 0
    results = services.search("Lotsen")
    assert results.total >= 1 and results.stale
    assert engine.health()["damaged"] == [damaged]
    worker.join_background_rebuild(60)
    assert not services.search("Lotsen").stale


def test_damage_detected_on_open_by_sizes_and_by_checksums(app, built):
    engine = get_engine()
    engine.close()
    generation = engine.current_path()
    assert engine.verify() == []
    segment = next(path for path in generation.iterdir() if path.suffix == ".seg")
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: same size, other checksum
    segment.write_bytes(bytes(data))
    assert engine.verify() == [f"{segment.name}: checksum differs"]
    assert "checksum differs" in "; ".join(status(verify=True)["problems"])
    _truncate_segments(generation)
    assert "expected" in engine.verify()[0]
    engine.close()  # status() opened a searcher (and its warming cached what it read)
    with pytest.raises(IndexDamaged):
        engine.search(services.parse_query("Lotsen", services.SynonymTable([])))


def test_without_any_readable_index_search_says_it_is_being_rebuilt(app, client, api, built,
                                                                     anna, index_dir):
    engine = get_engine()
    _truncate_segments(engine.current_path())  # the only generation
    app.config["SEARCH_REBUILD_WAIT"] = 0
    worker._beat(activity="idle", started=True, ok=True)  # a worker runs: it rebuilds

    results = services.search("Lotsen")
    assert results.unavailable and results.total == 0
    response = api(anna).get("/api/v1/search?q=Lotsen")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "neu aufgebaut" in response.get_json()["error"]["message"]
    page = api(anna).get("/suche?q=Lotsen")
    assert page.status_code == 503
    assert "wird gerade neu aufgebaut" in page.get_data(as_text=True)
    assert worker._background["thread"] is None or not worker._background["thread"].is_alive()

    assert worker.run_round() == 0  # the worker's round: the requested rebuild
    assert db.session.query(IndexRebuildRequest).count() == 0
    assert services.search("Lotsen").total >= 1


def test_a_small_index_is_back_within_the_same_request(app, built, index_dir):
    """No worker and SEARCH_REBUILD_WAIT: the request waits for its background rebuild."""
    get_engine().close()
    shutil.rmtree(index_dir)
    results = services.search("Lotsen")
    assert results.total >= 1 and not results.unavailable


# --- the worker -------------------------------------------------------------------------------------

def test_the_worker_survives_a_failing_round_and_backs_off(app, built, anna, index_dir):
    """A real fault (the index folder read-only) fails the first round; the worker logs
    it, waits longer, and goes on when the fault is gone."""
    edit(anna, built["eakte"], "Die E-Akte im Standesamt")
    pauses = []
    fault = read_only(index_dir)
    fault.__enter__()

    def sleep(seconds):
        pauses.append(seconds)
        row = db.session.get(WorkerHeartbeat, worker.WORKER_NAME)
        db.session.refresh(row)
        if len(pauses) == 1:
            assert row.failures == 1 and "Read-only" in row.last_error
            assert worker.worker_state(row) == "failing"
            fault.__exit__(None, None, None)  # the operator fixes the disk

    try:
        worker.run(interval=1.0, rounds=3, sleep=sleep)
    finally:
        if len(pauses) < 1:
            fault.__exit__(None, None, None)
    assert pauses == [2.0, 1.0]  # doubled after the failure, then the poll interval
    assert pending_count() == 0
    assert services.search("Standesamt").total == 1
    row = db.session.get(WorkerHeartbeat, worker.WORKER_NAME)
    db.session.refresh(row)
    assert row.failures == 0 and row.ok_at is not None and row.activity == "stopped"
    assert worker.worker_state(row) == "stopped"


def test_status_and_health_report_lag_and_a_dead_or_stuck_worker(app, client, runner, built):
    apply_outbox(blocking=True)
    db.session.add(IndexTask(experience_id=built["lotsen"].id,
                             created_at=utcnow() - timedelta(minutes=10)))
    gone = subprocess.Popen(["true"])
    gone.wait()
    long_ago = utcnow() - timedelta(seconds=worker.BEAT_TIMEOUT + 5)
    db.session.add(WorkerHeartbeat(name=worker.WORKER_NAME, host=os.uname().nodename,
                                   pid=gone.pid, activity="applying", beat_at=long_ago,
                                   started_at=long_ago, failures=0))
    db.session.commit()

    info = status()
    assert info["pending"] == 1 and info["lag_seconds"] >= 600 and info["worker"] == "dead"
    health = client.get("/healthz")
    assert health.status_code == 200
    body = health.get_json()
    assert body["status"] == "degraded" and body["database"] == "ok"
    assert body["search"]["worker"] == "dead" and body["search"]["outbox_lag_seconds"] >= 600
    output = runner.invoke(args=["search", "status"]).output
    assert "Worker: dead" in output and "ältester Eintrag vor" in output

    row = db.session.get(WorkerHeartbeat, worker.WORKER_NAME)
    row.pid = os.getpid()  # alive but silent: stuck
    db.session.commit()
    assert status()["worker"] == "stuck"
    row.activity = "rebuilding"  # a rebuild may be silent for longer
    db.session.commit()
    assert status()["worker"] == "ok"


def test_with_a_worker_running_searches_leave_the_outbox_to_it(app, built, anna):
    """No index writes on the request path while a worker reports; its round applies."""
    edit(anna, built["eakte"], "Die E-Akte im Standesamt")
    worker._beat(activity="idle", started=True, ok=True)
    worker.forget_state()
    assert services.search("Standesamt").total == 0 and pending_count() == 1
    assert worker.run_round() == 1
    assert services.search("Standesamt").total == 1 and pending_count() == 0
