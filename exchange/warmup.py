"""Warm a web process at start: open the search index and build the cached models.

The first request of a fresh gunicorn worker paid for everything a process keeps:
opening the index (pyphen's dictionary alone ~1.8 s), the matching snapshot (~0.5 s
at 11,000 cities) and the synonym table; measured 4-7 s at Germany scale. `wsgi.py`
starts this in a background thread, so requests are answered meanwhile (a request that
needs a model before it is ready builds or waits for it as before). Tests and CLI
commands do not warm.
"""
import logging
import threading

log = logging.getLogger(__name__)


def warm(app) -> None:
    """Build the matching snapshot and synonyms, then open and warm the index, in app's
    context. The models first: they take a second, the index warming several (at full
    size the first matches call waited 2.4-3.2 s behind it)."""
    with app.app_context():
        from .extensions import db
        from .matching.snapshot import snapshot
        from .search.engine import IndexUnavailable
        from .search.indexer import get_engine
        from .search.services import synonym_table

        for build in (snapshot, synonym_table):
            try:
                build()
            except Exception:  # a cold start must not fail the worker
                log.exception("warm-up of %s failed", build.__name__)
        db.session.remove()
        try:
            get_engine().warm()
        except IndexUnavailable as error:  # the first search asks for a rebuild
            log.warning("search index not warmed: %s", error)


def warm_in_background(app) -> threading.Thread:
    """Start warm(app) in a daemon thread."""
    thread = threading.Thread(target=warm, args=(app,), daemon=True, name="warm-up")
    thread.start()
    return thread
