"""The background worker: search index and mail in one process, one loop, a clean stop.

`flask --app exchange worker` runs `Worker.run()`. Each pass of the loop runs every
part that is due: the index rounds of exchange/search/worker.py (outbox, rebuilds,
heartbeat) and the mail rounds of exchange/projects/mail.py (send the due mails of the
outbox). Each part says how long to pause before its next round (the poll interval, or
its own back-off after a failure), so a failing mail server does not slow indexing and
a read-only index folder does not delay mail.

SIGTERM or SIGINT sets a flag: the round under way finishes (the mail part stops
between two mails, each of which is its own transaction), then the loop ends, the index
part reports "stopped" and the command exits 0. A second signal stops at once.
"""
import logging
import signal
import time

log = logging.getLogger(__name__)

#: Seconds between polls of the outboxes: an edit is searchable and a mail leaves about
#: this long after the commit. An empty poll is one SELECT per part.
POLL_INTERVAL = 0.5
#: Longest nap while waiting for the next round, so a stop request is seen quickly.
NAP = 0.1


class Worker:
    """Runs the index and mail parts in turns until it is asked to stop."""

    def __init__(self, interval: float = POLL_INTERVAL, parts=None):
        from .projects.mail import MailRounds
        from .search.worker import IndexRounds

        self.stopping = False
        self.parts = parts if parts is not None else [
            IndexRounds(interval), MailRounds(interval, stopping=lambda: self.stopping)]

    def request_stop(self, signum=None, _frame=None) -> None:
        """Signal handler: finish the current round, then end; a second signal ends now."""
        if signum is not None:
            log.info("worker: %s received, stopping after this round",
                     signal.Signals(signum).name)
            signal.signal(signum, signal.SIG_DFL)
        self.stopping = True

    def install_signal_handlers(self) -> None:
        """Stop cleanly on SIGTERM (service managers) and SIGINT (Ctrl-C)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.request_stop)

    def run(self, rounds: int | None = None) -> None:
        """Run passes until stopped (or `rounds` passes; every part runs in each of those)."""
        for part in self.parts:
            part.start()
        due = [0.0] * len(self.parts)
        done = 0
        try:
            while not self.stopping and (rounds is None or done < rounds):
                done += 1
                for number, part in enumerate(self.parts):
                    if self.stopping:
                        break
                    if rounds is not None or due[number] <= time.monotonic():
                        due[number] = time.monotonic() + part.step()
                if rounds is None:
                    self._nap_until(min(due))
        finally:
            for part in self.parts:
                part.stop()

    def _nap_until(self, moment: float) -> None:
        while not self.stopping:
            left = moment - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, NAP))
