"""`flask --app exchange worker`: search index and mail in one loop, a clean stop on signals."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from exchange.extensions import db
from exchange.projects import services as projects
from exchange.projects.models import OutgoingMail
from exchange.search.indexer import pending_count
from exchange.search.models import WorkerHeartbeat
from exchange.search.worker import WORKER_NAME, worker_state
from exchange.worker import Worker

ROOT = Path(__file__).resolve().parents[2]
#: Seconds a worker subprocess may take to start and send the first mail.
START_TIMEOUT = 60


def _heartbeat():
    db.session.expire_all()
    return db.session.get(WorkerHeartbeat, WORKER_NAME)


def _unsent():
    return db.session.scalar(sa.select(sa.func.count(OutgoingMail.id))
                             .where(OutgoingMail.sent_at.is_(None)))


def test_one_worker_round_sends_a_proposals_mail_and_applies_the_search_outbox(
        app, cdo_stuttgart, muenchen, cdo_muenchen, make_experience):
    log = Path(app.config["MAIL_LOG"])
    make_experience(cdo_stuttgart, title="Digitale Akte im Bürgerbüro")
    projects.propose_project(cdo_stuttgart, "Gemeinsame Lotsen", "", [], [muenchen])
    db.session.commit()
    assert not log.exists() and _unsent() == 1 and pending_count() == 1

    Worker().run(rounds=1)
    text = log.read_text(encoding="utf-8")
    assert text.count("To: cdo@muenchen.example") == 1 and "„Gemeinsame Lotsen“" in text
    assert _unsent() == 0 and pending_count() == 0
    assert _heartbeat().activity == "stopped"

    Worker().run(rounds=1)  # a second worker round sends nothing again
    assert log.read_text(encoding="utf-8").count("To: cdo@muenchen.example") == 1


def test_a_failing_part_does_not_hold_up_the_other(app, cdo_stuttgart, muenchen, cdo_muenchen,
                                                   make_experience):
    app.config["MAIL_BACKEND"] = "brieftaube"  # every mail round fails
    make_experience(cdo_stuttgart, title="Digitale Akte im Bürgerbüro")
    projects.propose_project(cdo_stuttgart, "Gemeinsame Lotsen", "", [], [muenchen])
    db.session.commit()
    worker = Worker(interval=0.5)
    worker.run(rounds=1)
    assert pending_count() == 0 and _unsent() == 1
    assert worker.parts[1].failures == 1 and worker.parts[0].failures == 0


def test_worker_once_from_the_command_line(app, runner, cdo_stuttgart, muenchen, cdo_muenchen):
    projects.propose_project(cdo_stuttgart, "Gemeinsame Lotsen", "", [], [muenchen])
    db.session.commit()
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert _unsent() == 0 and "To: cdo@muenchen.example" in Path(
        app.config["MAIL_LOG"]).read_text(encoding="utf-8")


def test_a_stop_request_ends_the_loop_after_the_round(app):
    """What the signal handler does: the pass under way ends, then the loop."""
    calls = []

    class Part:
        def __init__(self, name):
            self.name = name

        def start(self):
            calls.append(("start", self.name))

        def step(self):
            calls.append(("step", self.name))
            if self.name == "index":
                worker.request_stop()  # arrives during the index round
            return 0.01

        def stop(self):
            calls.append(("stop", self.name))

    worker = Worker(parts=[Part("index"), Part("mail")])
    worker.run()
    assert calls == [("start", "index"), ("start", "mail"), ("step", "index"),
                     ("stop", "index"), ("stop", "mail")]


def _worker_environment(app, tmp_path) -> dict:
    """The test app's settings for `flask worker` in a subprocess (same database)."""
    instance = tmp_path / "worker-instance"
    instance.mkdir()
    settings = {key: app.config[key] for key in (
        "SQLALCHEMY_DATABASE_URI", "INDEX_DIR", "MAIL_LOG", "SECRET_KEY",
        "PASSWORD_HASH_METHOD", "TESTING")}
    (instance / "config.py").write_text(
        "".join(f"{key} = {value!r}\n" for key, value in settings.items()))
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("EXCHANGE_")}
    environment.update(EXCHANGE_INSTANCE_PATH=str(instance), PYTHONPATH=str(ROOT))
    return environment


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_a_running_worker_cleanly(app, tmp_path, cdo_stuttgart, muenchen,
                                                 cdo_muenchen, signum):
    projects.propose_project(cdo_stuttgart, "Gemeinsame Lotsen", "", [], [muenchen])
    db.session.commit()
    log = Path(app.config["MAIL_LOG"])
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "exchange", "worker", "--interval", "0.2"],
        cwd=ROOT, env=_worker_environment(app, tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not (log.exists() and "cdo@muenchen.example" in log.read_text(encoding="utf-8")):
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the worker sent nothing"
            time.sleep(0.1)
        assert worker_state(_heartbeat()) == "ok"
        process.send_signal(signum)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert f"{signal.Signals(signum).name} received, stopping after this round" in output
    assert "Traceback" not in output
    assert _heartbeat().activity == "stopped" and _unsent() == 0
