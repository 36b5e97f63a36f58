"""Operator commands: `mail status | retry` (the mail outbox that `flask worker` sends)."""
import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup
from flask_babel import gettext as _

from ..extensions import db
from ..util import utcnow
from .mail import MAIL_LAG_ALERT_SECONDS, backlog
from .models import OutgoingMail

mail_cli = AppGroup("mail", help="Ausgehende E-Mails (Warteschlange des Workers).")

#: Failed mails listed by `mail status`.
SHOWN_ERRORS = 5


def register(app: Flask) -> None:
    """Add the `mail` command group."""
    app.cli.add_command(mail_cli)


@mail_cli.command("status")
def status_command():
    """Waiting and given-up mails, the oldest waiting one, the latest errors."""
    info = backlog(db.session)
    lag, alert = round(info["lag_seconds"]), round(MAIL_LAG_ALERT_SECONDS)
    click.echo(_("Wartend: %(pending)s, älteste seit %(lag)s s", pending=info["pending"],
                 lag=lag))
    click.echo(_("Aufgegeben: %(count)s", count=info["given_up"]))
    if info["lag_seconds"] > MAIL_LAG_ALERT_SECONDS:
        click.echo(_("Warnung: E-Mails warten länger als %(seconds)s s (läuft `flask worker`? "
                     "Antwortet der Mailserver?)", seconds=alert))
    failed = db.session.scalars(
        sa.select(OutgoingMail).where(OutgoingMail.sent_at.is_(None),
                                      OutgoingMail.last_error.is_not(None))
        .order_by(OutgoingMail.id.desc()).limit(SHOWN_ERRORS)).all()
    for row in failed:
        at = row.next_attempt_at.strftime("%Y-%m-%d %H:%M") if row.next_attempt_at else ""
        when = _("nächster Versuch %(at)s UTC", at=at) if at else _("aufgegeben")
        click.echo(_("Nr. %(id)s an %(to)s (Versuche: %(attempts)s, %(when)s): %(error)s",
                     id=row.id, to=row.recipient, attempts=row.attempts, when=when,
                     error=row.last_error))


@mail_cli.command("retry")
def retry_command():
    """Send the given-up mails again (after the mail server was fixed): due now, attempts
    counted afresh."""
    count = db.session.execute(
        sa.update(OutgoingMail)
        .where(OutgoingMail.sent_at.is_(None), OutgoingMail.next_attempt_at.is_(None))
        .values(next_attempt_at=utcnow(), attempts=0)).rowcount
    db.session.commit()
    click.echo(_("%(count)s aufgegebene E-Mails werden erneut gesendet.", count=count))
