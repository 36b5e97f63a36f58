"""Mail: senders, the outbox (same transaction, retries, never twice), headers, links.

Mails are queued by real service calls and sent by the worker's mail round
(`mail.send_due()`, what `flask worker` calls); the SMTP side is a small real server
on a local port, or a port nobody listens on.
"""
import email
import email.utils
import logging
import socket
import socketserver
import threading
import time
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa

from exchange import create_app
from exchange.extensions import db
from exchange.projects import mail, services
from exchange.projects.models import OutgoingMail
from exchange.util import utcnow


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive messages: greets, accepts commands, stores DATA."""

    def handle(self):
        self.wfile.write(b"220 localhost test ESMTP\r\n")
        in_data, lines = False, []
        for line in self.rfile:
            if in_data:
                if line == b".\r\n":
                    time.sleep(self.server.delay)
                    with self.server.lock:
                        self.server.received.append(b"".join(lines))
                    in_data, lines = False, []
                    self.wfile.write(b"250 2.0.0 queued\r\n")
                else:
                    lines.append(line[1:] if line.startswith(b"..") else line)
                continue
            command = line[:4].upper()
            if command == b"EHLO":
                self.wfile.write(b"250-localhost\r\n250 8BITMIME\r\n")
            elif command == b"DATA":
                in_data = True
                self.wfile.write(b"354 end with <CRLF>.<CRLF>\r\n")
            elif command == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.server.commands.append(line.strip().decode())
                self.wfile.write(b"250 OK\r\n")


@pytest.fixture
def smtp_server():
    """A local SMTP server on a free port; `.received` holds the raw messages."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.daemon_threads = True
    server.received, server.commands = [], []
    server.delay, server.lock = 0.0, threading.Lock()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def use_smtp(app, port):
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=port)


def closed_port() -> int:
    """A local port nobody listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=policy.default)


def outbox() -> list[OutgoingMail]:
    db.session.expire_all()
    return db.session.scalars(sa.select(OutgoingMail).order_by(OutgoingMail.id)).all()


# --- senders ------------------------------------------------------------------------------

def test_sender_is_chosen_by_config(tmp_path):
    sender = mail.sender_from_config({"MAIL_BACKEND": "log", "MAIL_LOG": str(tmp_path / "m.log")})
    assert isinstance(sender, mail.LogMailSender)
    sender = mail.sender_from_config({"MAIL_BACKEND": "smtp", "SMTP_HOST": "mail.example",
                                      "SMTP_PORT": 587, "SMTP_USER": "u", "SMTP_PASSWORD": "p",
                                      "SMTP_STARTTLS": True})
    assert isinstance(sender, mail.SmtpMailSender)
    assert (sender.host, sender.port, sender.user, sender.starttls) == ("mail.example", 587, "u",
                                                                       True)
    with pytest.raises(ValueError):
        mail.sender_from_config({"MAIL_BACKEND": "brieftaube"})


def test_log_sender_appends_readable_messages(tmp_path):
    path = tmp_path / "sub" / "mail.log"
    sender = mail.LogMailSender(str(path))
    for number in (1, 2):
        sender.send(mail.build_message("a@example.org", f"Grüße Nr. {number}",
                                       "Schöne Grüße aus Stuttgart", "CX <cx@example.org>"))
    text = path.read_text(encoding="utf-8")
    assert text.count("Schöne Grüße aus Stuttgart") == 2
    assert "Subject: Grüße Nr. 2" in text


# --- the outbox -------------------------------------------------------------------------------

def test_smtp_backend_delivers_from_the_outbox_not_in_the_request(app, smtp_server, proposal,
                                                                  cdo_muenchen):
    assert mail.send_due() == {"sent": 1, "failed": 0}  # the invitation, to the log
    use_smtp(app, smtp_server.server_address[1])
    services.respond(cdo_muenchen, proposal, True, "Wir freuen uns!")
    db.session.commit()
    assert smtp_server.received == []  # committed, but nothing left in the caller's time
    rows = [row for row in outbox() if row.sent_at is None]
    assert [row.recipient for row in rows] == ["cdo@stuttgart.example"] * 2

    assert mail.send_due() == {"sent": 2, "failed": 0}
    assert len(smtp_server.received) == 2  # the answer and the state change
    assert "rcpt to:<cdo@stuttgart.example>" in [c.lower() for c in smtp_server.commands]
    messages = [parse(raw) for raw in smtp_server.received]
    subjects = sorted(str(m["Subject"]) for m in messages)
    assert subjects == [
        "[City Exchange] München hat die Einladung zu „Gemeinsame eAkte-Einführung“ angenommen",
        "[City Exchange] Projekt „Gemeinsame eAkte-Einführung“ ist jetzt im Zustand „Aktiv“",
    ]
    answer = [m for m in messages if "angenommen" in str(m["Subject"])][0]
    assert "Wir freuen uns!" in answer.get_content()
    assert "Guten Tag Dr. Thomas Berger," in answer.get_content()
    assert all(row.sent_at is not None and row.next_attempt_at is None and row.attempts == 1
               for row in outbox() if row.recipient == "cdo@stuttgart.example")


def test_the_mail_is_written_in_the_transaction_of_its_cause(app, cdo_stuttgart, muenchen,
                                                             cdo_muenchen):
    services.propose_project(cdo_stuttgart, "Wird verworfen", "", [], [muenchen])
    pending = db.session.scalars(sa.select(OutgoingMail.recipient)).all()  # flushed, uncommitted
    assert pending == ["cdo@muenchen.example"]
    db.session.rollback()
    assert outbox() == []
    services.propose_project(cdo_stuttgart, "Wird gespeichert", "", [], [muenchen])
    db.session.commit()
    assert [row.recipient for row in outbox()] == ["cdo@muenchen.example"]


def test_two_rounds_never_send_one_mail_twice(app, proposal, cdo_muenchen, cdo_stuttgart):
    log = Path(app.config["MAIL_LOG"])
    services.comment(cdo_muenchen, proposal, "Erster Kommentar")
    services.comment(cdo_stuttgart, proposal, "Zweiter Kommentar")
    db.session.commit()
    waiting = len([row for row in outbox() if row.sent_at is None])
    assert waiting == 3  # the invitation (from the fixture) and the two comments

    assert mail.send_due() == {"sent": 3, "failed": 0}
    assert mail.send_due() == {"sent": 0, "failed": 0}
    text = log.read_text(encoding="utf-8")
    assert text.count("Erster Kommentar") == 1 and text.count("Zweiter Kommentar") == 1
    assert text.count("Subject: ") == 3
    assert mail.backlog(db.session) == {"pending": 0, "lag_seconds": 0.0, "given_up": 0}


def test_workers_side_by_side_send_each_mail_once(app, smtp_server, cdo_stuttgart, muenchen,
                                                  make_user):
    """Two workers at once against a slow server: each mail is claimed by one of them
    (PostgreSQL: row locks, SKIP LOCKED; SQLite: the conditional claim)."""
    for number in range(6):
        make_user(f"cdo{number}@muenchen.example", city=muenchen, role="city_admin")
    services.propose_project(cdo_stuttgart, "Viele Empfänger", "", [], [muenchen])
    db.session.commit()
    use_smtp(app, smtp_server.server_address[1])
    smtp_server.delay = 0.05
    counts, errors = [], []

    def work():
        with app.app_context():
            try:
                counts.append(mail.send_due())
            except Exception as error:  # noqa: BLE001  (reported below)
                errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(count["sent"] for count in counts) == 6
    recipients = sorted(str(parse(raw)["To"]) for raw in smtp_server.received)
    assert recipients == sorted(f"cdo{n}@muenchen.example" for n in range(6))
    assert all(row.attempts == 1 and row.sent_at for row in outbox())


def test_a_failing_server_is_retried_with_backoff_and_the_error_recorded(app, proposal,
                                                                         smtp_server):
    use_smtp(app, closed_port())
    start = utcnow()
    assert mail.send_due(now=start) == {"sent": 0, "failed": 1}
    (row,) = outbox()
    assert row.attempts == 1 and row.sent_at is None
    assert "ConnectionRefusedError" in row.last_error
    assert row.next_attempt_at == start + mail.RETRY_BASE

    assert mail.send_due(now=start + timedelta(seconds=30)) == {"sent": 0, "failed": 0}
    later = start + timedelta(seconds=61)
    assert mail.send_due(now=later) == {"sent": 0, "failed": 1}
    (row,) = outbox()
    assert row.attempts == 2 and row.next_attempt_at == later + 2 * mail.RETRY_BASE
    assert mail.retry_pause(30) == mail.RETRY_MAX  # the pause stops growing

    use_smtp(app, smtp_server.server_address[1])  # the mail server is back
    assert mail.send_due(now=later + timedelta(minutes=3)) == {"sent": 1, "failed": 0}
    (row,) = outbox()
    assert row.attempts == 3 and row.sent_at is not None and row.next_attempt_at is None
    assert len(smtp_server.received) == 1


def test_a_mail_is_given_up_after_max_attempts(app, proposal):
    use_smtp(app, closed_port())
    (row,) = outbox()
    row.attempts = mail.MAX_ATTEMPTS - 1
    db.session.commit()
    assert mail.send_due() == {"sent": 0, "failed": 1}
    (row,) = outbox()
    assert row.attempts == mail.MAX_ATTEMPTS and row.next_attempt_at is None
    assert row.sent_at is None and "ConnectionRefusedError" in row.last_error
    assert mail.send_due(now=utcnow() + timedelta(days=1)) == {"sent": 0, "failed": 0}
    assert mail.backlog(db.session)["given_up"] == 1


def test_given_up_mails_are_sent_again_on_request(app, runner, proposal):
    use_smtp(app, closed_port())
    (row,) = outbox()
    row.attempts = mail.MAX_ATTEMPTS - 1
    db.session.commit()
    mail.send_due()
    app.config["MAIL_BACKEND"] = "log"  # the operator fixed the mail server
    result = runner.invoke(args=["mail", "retry"])
    assert "1 aufgegebene E-Mails werden erneut gesendet." in result.output
    assert mail.send_due() == {"sent": 1, "failed": 0}
    (row,) = outbox()
    assert row.sent_at is not None and row.attempts == 1


def test_every_attempt_of_a_mail_carries_the_same_message_id(app, proposal, smtp_server):
    (row,) = outbox()
    first = mail.message_for(row, app.config)
    assert first["Message-ID"] == mail.message_for(row, app.config)["Message-ID"]
    assert first["Message-ID"] == f"<cx-mail-{row.id}.{row.created_at:%Y%m%d%H%M%S}@127.0.0.1>"
    assert email.utils.parsedate_to_datetime(first["Date"]).replace(tzinfo=None) \
        == row.created_at.replace(microsecond=0)


def test_no_sender_fails_the_round_and_keeps_the_mail(app, proposal, caplog):
    app.config["MAIL_BACKEND"] = "brieftaube"
    with pytest.raises(ValueError):
        mail.send_due()
    rounds = mail.MailRounds(interval=0.5)
    with caplog.at_level(logging.ERROR):
        assert rounds.step() == 1.0  # backs off
    assert "mail round failed" in caplog.text and "brieftaube" in caplog.text
    (row,) = outbox()
    assert row.attempts == 0 and row.sent_at is None
    app.config["MAIL_BACKEND"] = "log"
    assert rounds.step() == 0.5 and outbox()[0].sent_at is not None


def test_old_sent_mails_are_purged_waiting_ones_kept(app, proposal, cdo_muenchen):
    mail.send_due()
    services.comment(cdo_muenchen, proposal, "Noch offen")
    db.session.commit()
    assert mail.purge(now=utcnow() + mail.MAIL_KEEP + timedelta(minutes=1)) == 1
    assert [row.sent_at for row in outbox()] == [None]


# --- headers --------------------------------------------------------------------------------

def test_header_values_with_line_breaks_are_put_on_one_line():
    message = mail.build_message("a@example.org\r\nBcc: b@example.org",
                                 "Titel\nmit\rUmbruch\r\nX-Injected: ja\u2028Ende",
                                 "Text\nbleibt mehrzeilig", "CX\n <cx@example.org>")
    raw = message.as_bytes()
    head = raw.split(b"\n\n", 1)[0].decode()
    names = [line.split(":")[0] for line in head.splitlines() if not line[:1].isspace()]
    assert sorted(names) == ["Content-Transfer-Encoding", "Content-Type", "Date", "From",
                             "MIME-Version", "Message-ID", "Subject", "To"]
    parsed = parse(raw)
    assert str(parsed["Subject"]) == "Titel mit Umbruch X-Injected: ja Ende"
    assert parsed["Bcc"] is None and parsed["X-Injected"] is None
    assert parsed.get_content() == "Text\nbleibt mehrzeilig\n"
    assert mail.header_value("a\x00b\x85c\td") == "a b c d"
    assert mail.header_value("Lone \ud800 surrogate") == "Lone ? surrogate"


def test_old_rows_with_newlines_in_titles_and_names_are_mailed(app, client, login, proposal,
                                                                cdo_stuttgart, cdo_muenchen):
    """Titles and names stored before newlines were refused (or imported) still make a
    mail: the header is put on one line, the request answers and the worker sends."""
    proposal.title = "Alte\nZeile\r\nmit Umbrüchen"
    cdo_muenchen.display_name = "Laura\r\nDornheim"
    db.session.commit()
    login(cdo_muenchen)
    response = client.post(f"/projekte/{proposal.id}/kommentare",
                           data={"body": "Ein Kommentar"})
    assert response.status_code == 303
    services.respond(cdo_muenchen, proposal, True, "Gern")
    db.session.commit()
    assert mail.send_due() == {"sent": 4, "failed": 0}
    messages = Path(app.config["MAIL_LOG"]).read_text(encoding="utf-8").split(mail.LOG_SEPARATOR)
    subjects = [line for text in messages for line in text.splitlines()
                if line.startswith("Subject: ")]
    assert len(subjects) == 4
    assert any("„Alte Zeile mit Umbrüchen“" in line for line in subjects), subjects


# --- links ----------------------------------------------------------------------------------

STRONG_PASSWORD = "Gänseblümchen auf der Wiese 42"


def test_links_in_mails_come_from_the_public_url_not_the_host_header(app, client, stuttgart,
                                                                     cdo_stuttgart):
    app.config["PUBLIC_URL"] = "https://exchange.stuttgart.example"
    response = client.post("/registrieren", headers={"Host": "evil.example"}, data={
        "email": "lena@stuttgart.example", "display_name": "Lena Vogel", "city": "stuttgart",
        "password": STRONG_PASSWORD, "password_confirm": STRONG_PASSWORD})
    assert response.status_code == 302
    (row,) = outbox()
    assert row.recipient == "cdo@stuttgart.example" and "evil.example" not in row.body
    links = [word for word in row.body.split() if "://" in word]
    assert links == ["https://exchange.stuttgart.example/freigaben"]


def test_the_worker_builds_the_same_links_without_a_request(app, cdo_stuttgart, muenchen,
                                                            cdo_muenchen):
    app.config["PUBLIC_URL"] = "https://cx.example/austausch"
    project = services.propose_project(cdo_stuttgart, "Ohne Anfrage", "", [], [muenchen])
    db.session.commit()
    assert f"https://cx.example/austausch/projekte/{project.id}" in outbox()[0].body
    assert services._absolute("//evil.example/freigaben?x=1") \
        == "https://cx.example/austausch/freigaben?x=1"
    assert services._absolute("/austausch/freigaben") == "https://cx.example/austausch/freigaben"


def test_public_url_from_the_environment_checked_and_defaulted(app_config, monkeypatch, caplog):
    monkeypatch.setenv("EXCHANGE_PUBLIC_URL", "https://exchange.stadt.example/")
    assert create_app(app_config).config["PUBLIC_URL"] == "https://exchange.stadt.example"
    monkeypatch.setenv("EXCHANGE_PUBLIC_URL", "exchange.stadt.example")
    with pytest.raises(ValueError, match="PUBLIC_URL must be an http"):
        create_app(app_config)
    monkeypatch.delenv("EXCHANGE_PUBLIC_URL")
    with caplog.at_level(logging.WARNING, logger="exchange.config"):
        assert create_app(app_config).config["PUBLIC_URL"] == "http://127.0.0.1:5000"
        assert "EXCHANGE_PUBLIC_URL" not in caplog.text  # testing: no warning
        production = create_app(app_config | {"TESTING": False})
    assert production.config["PUBLIC_URL"] == "http://127.0.0.1:5000"
    assert "EXCHANGE_PUBLIC_URL (PUBLIC_URL) is not set" in caplog.text


# --- monitoring -----------------------------------------------------------------------------

def test_health_check_and_cli_report_the_mail_queue(app, client, runner, proposal):
    body = client.get("/healthz").get_json()
    assert body["mail"] == {"pending": 1, "lag_seconds": body["mail"]["lag_seconds"],
                            "given_up": 0}
    (row,) = outbox()
    row.created_at = utcnow() - timedelta(seconds=mail.MAIL_LAG_ALERT_SECONDS + 60)
    db.session.commit()
    body = client.get("/healthz").get_json()
    assert body["status"] == "degraded" and body["mail"]["lag_seconds"] > 900
    output = runner.invoke(args=["mail", "status"]).output
    assert "Wartend: 1" in output and "Warnung" in output

    use_smtp(app, closed_port())
    mail.send_due()
    output = runner.invoke(args=["mail", "status"]).output
    assert "(Versuche: 1, nächster Versuch" in output and "ConnectionRefusedError" in output
