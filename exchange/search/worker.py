"""The index worker: applies the outbox, rebuilds on request, survives errors, reports.

`flask --app exchange search apply --loop` runs `run()`; `flask --app exchange worker`
(exchange/worker.py) runs the same rounds (`IndexRounds`) and sends mail in one loop.
Each round rebuilds the index when one was requested (a web process found it missing
or damaged) or is unreadable, then applies the outbox. A round that fails is logged
with its traceback and retried after a pause that doubles up to MAX_BACKOFF; the
worker itself only ends on a signal. It reports every round in `worker_heartbeats`,
which `search status` and the health check read (`report()`).

Web requests never rebuild inside the request. They call `request_rebuild()`, which
records the request and, when no worker reports (the embedded default runs none),
rebuilds in a background thread of the web process, once at a time; the request waits
for it at most SEARCH_REBUILD_WAIT seconds (a small index is back by then).
"""
import logging
import os
import socket
import threading
import time

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from ..extensions import db
from ..util import utcnow
from .engine import EngineBusy
from .models import IndexRebuildRequest, WorkerHeartbeat

log = logging.getLogger(__name__)

#: Name of the index worker's heartbeat row.
WORKER_NAME = "search-index"
#: Longest pause between failed rounds, in seconds; the pause doubles from the poll
#: interval, so a broken database or disk is not hammered and recovery is quick.
MAX_BACKOFF = 60.0
#: An idle or applying worker that has not reported for this many seconds is dead or
#: stuck: it reports at least once per round, and a round is at most the longest pause
#: (the poll interval is capped at MAX_BACKOFF) plus applying a few batches of 500 rows.
BEAT_TIMEOUT = 2 * MAX_BACKOFF
#: A rebuilding worker may be silent this long: 50,000 documents take ~90 s on 2 cores.
REBUILD_TIMEOUT = 1800.0
#: Outbox rows older than this mean search lags visibly behind the database.
LAG_ALERT_SECONDS = 300.0
#: Worker states that mean a worker is running and taking rebuild requests.
LIVE_STATES = ("ok", "failing")
#: Seconds between routine heartbeats (far below BEAT_TIMEOUT).
HEARTBEAT_EVERY = 10.0
#: Seconds a web process trusts what it last read of the worker's state.
STATE_CACHE_SECONDS = 5.0
#: Less free space than this under the index folder counts as full: a commit of one
#: outbox batch writes far less; a rebuild needs about the index's size again.
INDEX_MIN_FREE_BYTES = 64 * 1024 * 1024


# --- the loop -------------------------------------------------------------------------------

class IndexRounds:
    """The index worker's rounds with their back-off; driven by run() and by the combined
    worker (exchange/worker.py), which interleaves them with sending mail."""

    def __init__(self, interval: float):
        self.interval = min(interval, MAX_BACKOFF)
        self.failures = 0
        self.verify_first = True

    def start(self) -> None:
        """Report the worker as started (its heartbeat row)."""
        _beat(activity="idle", started=True)

    def step(self) -> float:
        """One round that never raises; returns the pause before the next one."""
        try:
            applied = run_round(verify=self.verify_first)
            self.verify_first = False
        except Exception as error:  # the worker must outlive any single failure
            self.failures += 1
            pause = min(self.interval * 2 ** self.failures, MAX_BACKOFF)
            log.exception("search worker round failed (%d in a row); next try in %.0f s",
                          self.failures, pause)
            _beat(activity="idle", error=error, failures=self.failures)
            return pause
        self.failures = 0
        if applied:
            log.info("search worker applied %d outbox rows", applied)
        _beat(activity="idle", ok=True)
        return self.interval

    def stop(self) -> None:
        """Report the worker as stopped."""
        _beat(activity="stopped")


def run(interval: float, rounds: int | None = None, sleep=time.sleep) -> None:
    """Run worker rounds forever (or `rounds` times); never ends on an exception."""
    worker = IndexRounds(interval)
    worker.start()
    done = 0
    try:
        while rounds is None or done < rounds:
            done += 1
            pause = worker.step()
            if rounds is None or done < rounds:
                sleep(pause)
    finally:
        worker.stop()


def run_round(verify: bool = False) -> int:
    """One round: rebuild if requested or needed, then apply the outbox; rows applied.

    verify=True (the first round) also checks the index files' checksums.
    """
    from .indexer import apply_outbox, get_engine

    _rebuild_if_needed(get_engine(), verify, lambda: _beat(activity="rebuilding"))
    _beat(activity="applying")
    return apply_outbox(blocking=True) or 0


def _rebuild_if_needed(engine, verify: bool, starting=lambda: None) -> bool:
    """Rebuild when a rebuild was requested or the index needs one; True when it did.

    Only the requests seen before the rebuild are cleared: a later one asks again.
    """
    from .indexer import reindex

    requested = _pending_requests()
    reason = "requested" if requested else _rebuild_reason(engine, verify)
    if not reason:
        return False
    log.warning("rebuilding the search index (%s)", reason)
    starting()
    reindex()
    _clear_requests(max(requested) if requested else None)
    return True


def _rebuild_reason(engine, verify: bool) -> str | None:
    """Why the index must be rebuilt now, or None."""
    health = engine.health()
    if health["serving"] is None:
        return "no readable index"
    if health["stale"]:
        return f"generation {health['current']} is damaged"
    if verify:
        problems = engine.verify()
        if problems:
            return "; ".join(problems[:3])
    return None


# --- rebuild requests -------------------------------------------------------------------------

_background = {"thread": None}
_background_guard = threading.Lock()


def request_rebuild(reason: str, record: bool = True) -> threading.Thread | None:
    """Ask for a full rebuild; without a live worker, rebuild in a background thread.

    Returns that thread (None when a worker takes the request). record=False skips
    the database row (a caller whose own unfinished SQLite write would block it).
    Never raises: it is called on the error path of a search request.
    """
    state = "absent"
    try:
        with Session(db.engine) as session:
            if record and not session.scalar(
                    sa.select(sa.func.count()).select_from(IndexRebuildRequest)):
                session.add(IndexRebuildRequest(reason=reason[:500]))
                session.commit()
            state = worker_state(session.get(WorkerHeartbeat, WORKER_NAME))
    except sa.exc.SQLAlchemyError as error:
        log.error("search rebuild request not recorded: %s", error)
    if state in LIVE_STATES:
        return None
    return start_background_rebuild()


def start_background_rebuild() -> threading.Thread:
    """The thread rebuilding in this process: a new one unless one runs already."""
    app = current_app._get_current_object()
    with _background_guard:
        thread = _background["thread"]
        if thread is None or not thread.is_alive():
            thread = threading.Thread(target=_rebuild_in_background, args=(app,),
                                      daemon=True, name="search-rebuild")
            _background["thread"] = thread
            thread.start()
        return thread


def join_background_rebuild(timeout: float | None = None) -> None:
    """Wait for this process's background rebuild (tests, shutdown)."""
    thread = _background["thread"]
    if thread is not None:
        thread.join(timeout)


def _rebuild_in_background(app) -> None:
    from .indexer import get_engine

    with app.app_context():
        try:
            engine = get_engine()
            with engine.exclusive(blocking=False):  # another process rebuilds: leave it
                _rebuild_if_needed(engine, verify=False)
        except EngineBusy:
            log.info("search index busy in another process; no background rebuild here")
        except Exception:
            log.exception("background rebuild of the search index failed")


def _pending_requests() -> list[int]:
    with Session(db.engine) as session:
        return list(session.scalars(sa.select(IndexRebuildRequest.id)))


def _clear_requests(up_to: int | None) -> None:
    """Delete the requests a rebuild answered (later ones stay for the next round)."""
    if up_to is None:
        return
    with Session(db.engine) as session:
        session.execute(sa.delete(IndexRebuildRequest).where(IndexRebuildRequest.id <= up_to))
        session.commit()


# --- heartbeat and report ---------------------------------------------------------------------

_last_beat = {"at": -HEARTBEAT_EVERY, "failures": 0}


def _beat(*, activity: str, started: bool = False, ok: bool = False, error=None,
          failures: int | None = None) -> None:
    """Record what the worker does now; a database that fails here is only logged.

    Routine beats (idle or applying, nothing failed) are written at most every
    HEARTBEAT_EVERY seconds: a worker polling twice a second must not write as often.
    """
    routine = (not started and error is None and activity in ("idle", "applying")
               and _last_beat["failures"] == 0)
    if routine and time.monotonic() - _last_beat["at"] < HEARTBEAT_EVERY:
        return
    now = utcnow()
    try:
        with Session(db.engine) as session:
            row = session.get(WorkerHeartbeat, WORKER_NAME)
            if row is None:
                row = WorkerHeartbeat(name=WORKER_NAME, started_at=now, failures=0)
                session.add(row)
            if started:
                row.started_at, row.failures = now, 0
                row.host, row.pid = socket.gethostname()[:255], os.getpid()
            row.activity, row.beat_at = activity, now
            if ok:
                row.ok_at, row.failures = now, 0
            if error is not None:
                row.last_error = f"{type(error).__name__}: {error}"[:2000]
                row.last_error_at = now
                row.failures = failures or (row.failures or 0) + 1
            session.commit()
            _last_beat.update(at=time.monotonic(), failures=row.failures)
    except sa.exc.SQLAlchemyError as db_error:
        log.error("search worker heartbeat not recorded: %s", db_error)


def worker_state(row: WorkerHeartbeat | None, now=None) -> str:
    """absent | stopped | ok | failing | dead | stuck, from the worker's heartbeat."""
    if row is None:
        return "absent"
    if row.activity == "stopped":
        return "stopped"
    now = now or utcnow()
    timeout = REBUILD_TIMEOUT if row.activity == "rebuilding" else BEAT_TIMEOUT
    if (now - row.beat_at).total_seconds() > timeout:
        if row.host == socket.gethostname() and not _alive(row.pid):
            return "dead"
        return "stuck"
    return "failing" if row.failures else "ok"


_state_cache = {"at": -STATE_CACHE_SECONDS, "running": False}


def is_running() -> bool:
    """True when a worker reports (read at most every STATE_CACHE_SECONDS per process).

    Searches then leave the outbox to it: no index writes on the request path.
    """
    now = time.monotonic()
    if now - _state_cache["at"] >= STATE_CACHE_SECONDS:
        try:
            with Session(db.engine) as session:
                state = worker_state(session.get(WorkerHeartbeat, WORKER_NAME))
        except sa.exc.SQLAlchemyError as error:
            log.warning("search worker state unreadable: %s", error)
            state = "absent"
        _state_cache.update(at=now, running=state in LIVE_STATES)
    return _state_cache["running"]


def forget_state() -> None:
    """Read the worker's state anew on the next search (tests; after a worker starts)."""
    _state_cache["at"] = -STATE_CACHE_SECONDS


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def report() -> dict:
    """The worker's state and last error, and whether a rebuild is waiting (for status)."""
    with Session(db.engine) as session:
        row = session.get(WorkerHeartbeat, WORKER_NAME)
        rebuild_requested = bool(session.scalar(
            sa.select(sa.func.count()).select_from(IndexRebuildRequest)))
        return {
            "worker": worker_state(row),
            "worker_beat_at": row.beat_at if row else None,
            "worker_failures": row.failures if row else 0,
            "worker_last_error": row.last_error if row else None,
            "rebuild_requested": rebuild_requested,
        }


def index_writable(index_dir) -> str:
    """"ok", "read_only" or "full" for the index folder (as the writer would find it)."""
    import shutil

    path = os.fspath(index_dir)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    if not os.access(path, os.W_OK):
        return "read_only"
    if shutil.disk_usage(path).free < INDEX_MIN_FREE_BYTES:
        return "full"
    return "ok"



def health() -> dict:
    """The search part of the health check: index, outbox lag, worker; and if degraded."""
    from .indexer import get_engine, outbox_backlog

    engine = get_engine()
    try:
        index = engine.health()
    except Exception as error:  # the health check reports, it does not fail
        index = {"serving": None, "stale": False, "error": repr(error)}
    if index["serving"] is None:
        index_state = "unavailable"
    elif index["stale"]:
        index_state = "damaged"
    else:
        index_state = "ok"
    with Session(db.engine) as session:
        pending, lag = outbox_backlog(session)
    info = report()
    writable = index_writable(current_app.config["INDEX_DIR"])
    degraded = (index_state != "ok" or writable != "ok" or lag > LAG_ALERT_SECONDS
                or info["worker"] in ("dead", "stuck", "failing"))
    return {
        "status": "degraded" if degraded else "ok",
        "index": index_state,
        "index_folder": writable,
        "outbox_pending": pending,
        "outbox_lag_seconds": round(lag, 1),
        "worker": info["worker"],
        "worker_failures": info["worker_failures"],
        "rebuild_requested": info["rebuild_requested"],
    }
