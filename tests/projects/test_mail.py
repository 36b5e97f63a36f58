"""Mail senders: the development log, a real SMTP conversation, and choosing by config."""
import email
import socketserver
import threading
from email import policy

import pytest

from exchange.extensions import db
from exchange.projects import mail, services


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive messages: greets, accepts commands, stores DATA."""

    def handle(self):
        self.wfile.write(b"220 localhost test ESMTP\r\n")
        in_data, lines = False, []
        for line in self.rfile:
            if in_data:
                if line == b".\r\n":
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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_smtp_backend_delivers_after_commit(app, smtp_server, proposal, cdo_muenchen):
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1",
                      SMTP_PORT=smtp_server.server_address[1])
    services.respond(cdo_muenchen, proposal, True, "Wir freuen uns!")
    assert smtp_server.received == []
    db.session.commit()
    assert len(smtp_server.received) == 2  # the answer and the state change, to Stuttgart's CDO
    assert "rcpt to:<cdo@stuttgart.example>" in [c.lower() for c in smtp_server.commands]
    messages = [email.message_from_bytes(raw, policy=policy.default)
                for raw in smtp_server.received]
    subjects = sorted(str(m["Subject"]) for m in messages)
    assert subjects == [
        "[City Exchange] München hat die Einladung zu „Gemeinsame eAkte-Einführung“ angenommen",
        "[City Exchange] Projekt „Gemeinsame eAkte-Einführung“: jetzt Aktiv",
    ]
    answer = [m for m in messages if "angenommen" in str(m["Subject"])][0]
    assert "Wir freuen uns!" in answer.get_content()
    assert "Guten Tag Dr. Thomas Berger," in answer.get_content()


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


def test_unknown_backend_is_logged_and_the_commit_stands(app, cdo_stuttgart, muenchen,
                                                         cdo_muenchen, caplog):
    app.config["MAIL_BACKEND"] = "brieftaube"
    project = services.propose_project(cdo_stuttgart, "Trotzdem gespeichert", "", [], [muenchen])
    db.session.commit()
    assert project.id is not None and services.unread_count(cdo_muenchen) == 1
    assert "cannot create the sender" in caplog.text


def test_log_sender_appends_readable_messages(tmp_path):
    path = tmp_path / "sub" / "mail.log"
    sender = mail.LogMailSender(str(path))
    for number in (1, 2):
        sender.send(mail.build_message("a@example.org", f"Grüße Nr. {number}",
                                       "Schöne Grüße aus Stuttgart", "CX <cx@example.org>"))
    text = path.read_text(encoding="utf-8")
    assert text.count("Schöne Grüße aus Stuttgart") == 2
    assert "Subject: Grüße Nr. 2" in text
