"""Outgoing e-mail: pluggable senders, queued in the session and sent after commit.

Services call `queue_mail()` inside the request's transaction. Nothing leaves the
machine until that transaction commits (a rolled-back proposal sends no invitation),
and a failing mail server is logged, never turned into an error page: the in-app
inbox already holds the notification.
"""
import logging
import smtplib
import threading
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: Key in `Session.info` under which messages wait for the commit.
QUEUE_KEY = "exchange_outgoing_mail"
#: Seconds to wait for the SMTP server before giving up (the request is waiting too).
SMTP_TIMEOUT = 10
#: Separator between messages in the development mail log (mbox-like).
LOG_SEPARATOR = "\n" + "=" * 72 + "\n"

_log_lock = threading.Lock()


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


def build_message(to: str, subject: str, body: str, sender: str) -> EmailMessage:
    """A plain-text UTF-8 message."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain="city-exchange")
    message.set_content(body, charset="utf-8", cte="8bit")
    return message


def queue_mail(session: Session, to: str, subject: str, body: str) -> None:
    """Queue a message in `session`; it is sent once the session commits."""
    app = current_app._get_current_object()
    message = build_message(to, subject, body, app.config["MAIL_FROM"])
    session.info.setdefault(QUEUE_KEY, []).append((app, message))


def deliver(app, messages: list[EmailMessage]) -> int:
    """Send `messages` with the app's sender; log failures. Returns how many were sent."""
    sent = 0
    try:
        sender = sender_from_config(app.config)
    except Exception:  # noqa: BLE001  (a bad config must not break the request)
        log.exception("mail: cannot create the sender; %d message(s) dropped", len(messages))
        return 0
    for message in messages:
        try:
            sender.send(message)
            sent += 1
        except Exception:  # noqa: BLE001  (mail is best effort; the inbox has it)
            log.exception("mail: sending to %s failed", message["To"])
    return sent


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    """The transaction is stored: now the queued messages may leave."""
    queued = session.info.pop(QUEUE_KEY, None)
    if not queued:
        return
    by_app: dict = {}
    for app, message in queued:
        by_app.setdefault(app, []).append(message)
    for app, messages in by_app.items():
        deliver(app, messages)


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    """Nothing was stored, so nobody is told about it."""
    session.info.pop(QUEUE_KEY, None)
