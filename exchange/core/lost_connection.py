"""A database connection that dies while a request uses it.

`pool_pre_ping` replaces connections that died while they sat in the pool. One that
dies while a request holds it (the server restarted, `pg_terminate_backend`, a failover)
fails that request's next statement. Such a request is answered once more, from the
start, when that is safe — a GET or HEAD changes nothing, and the failed transaction was
rolled back by the server — and otherwise (a form or API write) with 503 and
Retry-After, so the client sends it again: nothing half-done was stored.

`RetryOnLostConnection` is WSGI middleware around the app; the app's error handler
(`lost_connection`) marks the answer it gives for a lost connection with a header that
the middleware consumes.
"""
import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import ServiceUnavailable

from ..extensions import db

log = logging.getLogger(__name__)

#: Header on the app's answer for a lost connection (never sent to clients).
RETRY_HEADER = "X-Exchange-Lost-Connection"
#: environ key: this is the second attempt.
RETRIED = "exchange.lost_connection.retried"
#: Seconds a client is asked to wait before sending a refused write again.
RETRY_AFTER_SECONDS = 1
SAFE_METHODS = ("GET", "HEAD")


class RetryOnLostConnection:
    """Answer a GET or HEAD once more when the app says its database connection died."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") not in SAFE_METHODS:
            return self._without_marker(environ, start_response)
        captured = []

        def capture(status, headers, exc_info=None):
            captured[:] = [status, headers, exc_info]
            return lambda _data: None

        body = self.wsgi_app(environ, capture)
        status, headers, exc_info = captured
        if any(name == RETRY_HEADER for name, _ in headers) and not environ.get(RETRIED):
            if hasattr(body, "close"):
                body.close()
            environ[RETRIED] = True
            return self._without_marker(environ, start_response)
        start_response(status, _strip(headers), exc_info)
        return body

    def _without_marker(self, environ, start_response):
        def strip(status, headers, exc_info=None):
            return start_response(status, _strip(headers), exc_info)
        return self.wsgi_app(environ, strip)


def _strip(headers):
    return [(name, value) for name, value in headers if name != RETRY_HEADER]


def is_lost_connection(error: BaseException) -> bool:
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def lost_connection(error: DBAPIError):
    """503 with Retry-After (marked, so the middleware may answer a GET once more)."""
    log.warning("database connection lost during %s %s: %s", request.method, request.path,
                str(error.orig).splitlines()[0] if error.orig else error)
    db.session.remove()  # its connection is gone; the next checkout pings a fresh one
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), RETRY_HEADER: "1"}
    message = _("Die Datenbank war kurz nicht erreichbar; nichts wurde gespeichert. "
                "Bitte senden Sie die Anfrage noch einmal.")
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify(error={"status": 503, "name": "Service Unavailable",
                              "message": message}), 503, headers
    try:  # the page's layout reads the database too; it may still be away
        page = render_template("errors.html", error=ServiceUnavailable(message))
    except Exception:  # noqa: BLE001 (any failure: answer in plain text)
        db.session.remove()
        page, headers["Content-Type"] = message, "text/plain; charset=utf-8"
    return page, 503, headers


def install(app: Flask) -> None:
    """Wrap the WSGI app; the error handler is called by the app's catch-all handler."""
    app.wsgi_app = RetryOnLostConnection(app.wsgi_app)
