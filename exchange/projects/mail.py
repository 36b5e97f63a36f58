"""Outgoing e-mail: an outbox table written in the caller's transaction, sent by the worker.

`queue_mail()` adds an `OutgoingMail` row to the caller's session, so a mail exists
exactly when the change that causes it is committed (a rolled-back proposal sends
nothing) and no request waits for a mail server. The worker (`flask --app exchange
worker`, exchange/worker.py) calls `send_due()` every round: one due row at a time is
claimed, sent with the configured sender and marked sent in the same transaction. A
failure is recorded in the row (`attempts`, `last_error`) and retried after a pause that
doubles from RETRY_BASE up to RETRY_MAX; after MAX_ATTEMPTS the mail is given up.

Claiming. PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED` locks the row for the
transaction that sends it and marks it sent, so workers running side by side never take
the same mail. SQLite has no row locks and one worker is expected: a conditional UPDATE
(still due, not sent) moves the row's `next_attempt_at` CLAIM_LEASE ahead and is
committed before sending, so a second worker started by mistake skips it; the result
is recorded in a second transaction.

At least once, not exactly once: the SMTP server accepts a mail before our commit
records it. A crash or a lost database connection in that window (between one mail's
"250 queued" and one COMMIT) leaves the row unsent, and that one mail goes out again:
on PostgreSQL at the next round (the lock died with the transaction), on SQLite after
CLAIM_LEASE. Nothing else is ever sent twice. Both copies carry the same Message-ID
(derived from the row), so mail clients that deduplicate show one.
"""
import email.utils
import logging
import re
import smtplib
import threading
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from ..extensions import db
from ..util import utcnow
from .models import OutgoingMail

log = logging.getLogger(__name__)

#: Seconds to wait for the SMTP server before an attempt counts as failed.
SMTP_TIMEOUT = 10
#: Separator between messages in the development mail log (mbox-like).
LOG_SEPARATOR = "\n" + "=" * 72 + "\n"
#: Pause after the first failed attempt; it doubles with each further one ...
RETRY_BASE = timedelta(seconds=60)
#: ... up to this, so a mail server that is down for hours is asked once an hour.
RETRY_MAX = timedelta(hours=1)
#: Attempts before a mail is given up: 1+2+4+...+32 min, then hourly, about 4 hours in all.
MAX_ATTEMPTS = 10
#: SQLite: how long a claimed mail is left to its worker before another may take it;
#: far longer than one SMTP attempt (SMTP_TIMEOUT per step of the conversation).
CLAIM_LEASE = timedelta(minutes=5)
#: Mails claimed per worker round; the round then returns to the index work.
MAIL_BATCH = 50
#: Sent and given-up mails are deleted this long after they were written (they hold
#: names and addresses; the in-app inbox keeps the notification itself).
MAIL_KEEP = timedelta(days=30)
#: A mail waiting longer than this makes the health check "degraded" (no worker running,
#: or the mail server refuses: the first retries are over by then).
MAIL_LAG_ALERT_SECONDS = 900.0
#: Longest error text kept in a row.
MAX_ERROR = 2000

_log_lock = threading.Lock()
#: Characters never allowed in a header value: C0/C1 controls (CR and LF among them)
#: and the Unicode line and paragraph separators.
_HEADER_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class LogMailSender:
    """Development sender: appends each message as RFC 822 text to a log file."""

    def __init__(self, path: str):
        self.path = Path(path)

    def send(self, message: EmailMessage) -> None:
        """Append `message` (headers not encoded, so the log stays readable)."""
        # as_bytes keeps the 8-bit UTF-8 body (as_string would turn it into base64).
        policy = message.policy.clone(utf8=True, max_line_length=None)
        text = message.as_bytes(policy=policy).decode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _log_lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(text)
            handle.write(LOG_SEPARATOR)


class SmtpMailSender:
    """Production sender: smtplib with optional STARTTLS and login."""

    def __init__(self, host: str, port: int = 25, user: str | None = None,
                 password: str | None = None, starttls: bool = False,
                 timeout: float = SMTP_TIMEOUT):
        self.host, self.port = host, int(port)
        self.user, self.password = user, password
        self.starttls, self.timeout = starttls, timeout

    def send(self, message: EmailMessage) -> None:
        """Deliver `message` through the configured server."""
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(message)


def sender_from_config(config) -> LogMailSender | SmtpMailSender:
    """The sender chosen by MAIL_BACKEND ("log" or "smtp")."""
    backend = config.get("MAIL_BACKEND", "log")
    if backend == "log":
        return LogMailSender(config["MAIL_LOG"])
    if backend == "smtp":
        return SmtpMailSender(config["SMTP_HOST"], config.get("SMTP_PORT", 25),
                              config.get("SMTP_USER"), config.get("SMTP_PASSWORD"),
                              bool(config.get("SMTP_STARTTLS")))
    raise ValueError(f"unknown MAIL_BACKEND {backend!r} (use 'log' or 'smtp')")


# --- building messages ----------------------------------------------------------------

def _encodable(text: str) -> str:
    """`text` with lone surrogates (never valid UTF-8) replaced, so encoding cannot fail."""
    return str(text).encode("utf-8", "replace").decode("utf-8")


def header_value(text) -> str:
    """A header value on one line: line breaks and control characters become spaces.

    Titles and names come from users and old rows or imports may hold "\\n" or "\\r";
    the email package refuses those in a header (and they would inject headers).
    """
    return " ".join(_HEADER_BREAKS.sub(" ", _encodable(text)).split())


def build_message(to: str, subject: str, body: str, sender: str, *,
                  message_id: str | None = None, date: datetime | None = None) -> EmailMessage:
    """A plain-text UTF-8 message; every header value is put on one line first.

    `date` is naive UTC (now when None); long headers are folded when the message is
    written out.
    """
    message = EmailMessage()
    message["From"] = header_value(sender)
    message["To"] = header_value(to)
    message["Subject"] = header_value(subject)
    moment = (date or utcnow()).replace(tzinfo=timezone.utc)
    message["Date"] = email.utils.format_datetime(moment, usegmt=True)
    message["Message-ID"] = header_value(message_id or email.utils.make_msgid(
        domain="city-exchange"))
    message.set_content(_encodable(body), charset="utf-8", cte="8bit")
    return message


def _message_id(row: OutgoingMail, config) -> str:
    """The same Message-ID for every attempt of one mail (a resent copy is a duplicate)."""
    domain = urlsplit(config.get("PUBLIC_URL") or "").hostname or "city-exchange"
    return f"<cx-mail-{row.id}.{row.created_at:%Y%m%d%H%M%S}@{domain}>"


def message_for(row: OutgoingMail, config) -> EmailMessage:
    """The message a stored mail becomes: From from the config, Date when it was written."""
    return build_message(row.recipient, row.subject, row.body, config["MAIL_FROM"],
                         message_id=_message_id(row, config), date=row.created_at)


# --- the outbox -------------------------------------------------------------------------

def queue_mail(session: Session, to: str, subject: str, body: str) -> OutgoingMail:
    """Write a mail into the outbox in `session`'s transaction; the worker sends it."""
    row = OutgoingMail(recipient=to.strip(), subject=subject, body=body, created_at=utcnow())
    row.next_attempt_at = row.created_at
    session.add(row)
    return row


def retry_pause(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    return min(RETRY_BASE * 2 ** (attempts - 1), RETRY_MAX)


def _due(now: datetime):
    return sa.and_(OutgoingMail.sent_at.is_(None), OutgoingMail.next_attempt_at <= now)


def _next_due(now: datetime):
    return (sa.select(OutgoingMail).where(_due(now))
            .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id).limit(1))


def _claim(session: Session, now: datetime) -> OutgoingMail | None:
    """The next due mail, now ours until the session's transaction ends; None if none."""
    if session.get_bind().dialect.name == "postgresql":
        return session.scalars(_next_due(now).with_for_update(skip_locked=True)).first()
    while True:
        row = session.scalars(_next_due(now)).first()
        if row is None:
            return None
        claimed = session.execute(
            sa.update(OutgoingMail).where(OutgoingMail.id == row.id, _due(now))
            .values(next_attempt_at=now + CLAIM_LEASE)
            .execution_options(synchronize_session=False)).rowcount
        session.commit()  # the claim is stored before anything leaves the machine
        if claimed:
            return session.get(OutgoingMail, row.id, populate_existing=True)


def _attempt(row: OutgoingMail, sender, config, now: datetime) -> bool:
    """Send one stored mail and record the outcome in `row`; True when it was sent."""
    row.attempts += 1
    try:
        message = message_for(row, config)
    except Exception as error:  # noqa: BLE001  (e.g. a stored address no header can hold)
        row.last_error = f"{type(error).__name__}: {error}"[:MAX_ERROR]
        row.next_attempt_at = None
        log.error("mail %d to %r cannot be built, given up: %s", row.id, row.recipient, error)
        return False
    try:
        sender.send(message)
    except Exception as error:  # noqa: BLE001  (any failure is retried later)
        row.last_error = f"{type(error).__name__}: {error}"[:MAX_ERROR]
        if row.attempts >= MAX_ATTEMPTS:
            row.next_attempt_at = None
            log.error("mail %d to %s failed %d times, given up: %s", row.id, row.recipient,
                      row.attempts, error)
        else:
            row.next_attempt_at = now + retry_pause(row.attempts)
            log.warning("mail %d to %s failed (attempt %d), next try at %s UTC: %s", row.id,
                        row.recipient, row.attempts, f"{row.next_attempt_at:%H:%M:%S}", error)
        return False
    row.sent_at, row.next_attempt_at = now, None
    return True


def send_due(limit: int = MAIL_BATCH, now: datetime | None = None,
             stopping=lambda: False) -> dict:
    """Send up to `limit` due mails, one transaction each; counts of "sent" and "failed".

    `now` is the moment the round runs (tests move it to reach a retry). Raises when no
    sender can be made (e.g. an unknown MAIL_BACKEND): nothing is claimed then.
    `stopping()` is asked between mails (the worker was told to stop).
    """
    config = current_app.config
    sender = sender_from_config(config)
    counts = {"sent": 0, "failed": 0}
    with Session(db.engine, expire_on_commit=False) as session:
        for _ in range(limit):
            if stopping():
                break
            moment = now or utcnow()
            row = _claim(session, moment)
            if row is None:
                session.rollback()
                break
            sent = _attempt(row, sender, config, moment)
            session.commit()  # marks it sent (and, on PostgreSQL, releases the lock)
            counts["sent" if sent else "failed"] += 1
    return counts


def purge(now: datetime | None = None) -> int:
    """Delete sent and given-up mails written more than MAIL_KEEP ago; how many."""
    cutoff = (now or utcnow()) - MAIL_KEEP
    with Session(db.engine) as session:
        deleted = session.execute(sa.delete(OutgoingMail).where(
            OutgoingMail.next_attempt_at.is_(None), OutgoingMail.created_at < cutoff)).rowcount
        session.commit()
    return deleted


def backlog(session, now: datetime | None = None) -> dict:
    """The mail queue in one SELECT: waiting, oldest waiting (seconds), given up."""
    waiting = OutgoingMail.sent_at.is_(None) & OutgoingMail.next_attempt_at.is_not(None)
    given_up = OutgoingMail.sent_at.is_(None) & OutgoingMail.next_attempt_at.is_(None)
    pending, oldest, failed = session.execute(sa.select(
        sa.func.count(OutgoingMail.id).filter(waiting),
        sa.func.min(OutgoingMail.created_at).filter(waiting),
        sa.func.count(OutgoingMail.id).filter(given_up),
    )).one()
    lag = ((now or utcnow()) - oldest).total_seconds() if oldest else 0.0
    return {"pending": pending, "lag_seconds": round(max(lag, 0.0), 1), "given_up": failed}


def health() -> dict:
    """The mail part of the health check: the backlog and whether it lags ("degraded")."""
    with Session(db.engine) as session:
        info = backlog(session)
    info["status"] = "degraded" if info["lag_seconds"] > MAIL_LAG_ALERT_SECONDS else "ok"
    return info


# --- the worker's part ----------------------------------------------------------------------

class MailRounds:
    """The mail part of the worker: send what is due, with a back-off of its own when a
    round fails as a whole (no sender, database gone); purge old rows once an hour."""

    #: Longest pause after failed rounds, in seconds (as the index worker's).
    MAX_BACKOFF = 60.0
    #: Seconds between purges of old rows.
    PURGE_EVERY = 3600.0

    def __init__(self, interval: float, stopping=lambda: False):
        self.interval = min(interval, self.MAX_BACKOFF)
        self.stopping = stopping
        self.failures = 0
        self._purged_at = None

    def start(self) -> None:
        """Nothing to announce: the index part's heartbeat stands for the process."""

    def step(self) -> float:
        """One round that never raises; returns the pause before the next one."""
        try:
            counts = send_due(stopping=self.stopping)
            if self._purged_at is None or time.monotonic() - self._purged_at > self.PURGE_EVERY:
                purged = purge()
                self._purged_at = time.monotonic()
                if purged:
                    log.info("mail outbox: %d old mails deleted", purged)
        except Exception:  # the worker must outlive any single failure
            self.failures += 1
            pause = min(self.interval * 2 ** self.failures, self.MAX_BACKOFF)
            log.exception("mail round failed (%d in a row); next try in %.0f s",
                          self.failures, pause)
            return pause
        self.failures = 0
        if counts["sent"] or counts["failed"]:
            log.info("mail: %d sent, %d failed", counts["sent"], counts["failed"])
        return self.interval

    def stop(self) -> None:
        """Nothing is held between rounds."""
