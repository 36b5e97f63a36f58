"""Login throttling: too many wrong passwords for one address lock it for a while.

The failures are kept in memory, per process (see docs/auth-and-cities.md): no table
and no migration, but each worker process counts on its own and a restart forgets.
"""
import threading
from collections import deque
from datetime import datetime, timedelta

from flask import current_app

from ..util import utcnow

#: Wrong passwords for one address within `FAILURE_WINDOW` that trigger a lockout.
MAX_FAILURES = 5
#: How far back failures count: five typos spread over a day lock nobody out.
FAILURE_WINDOW = timedelta(minutes=15)
#: How long an address is refused after the fifth failure.
LOCKOUT = timedelta(minutes=15)
#: Addresses tracked at most; beyond that the stalest entries are dropped, so a flood of
#: made-up addresses cannot grow the process without bound.
MAX_TRACKED = 10_000


class LoginThrottle:
    """Failed login attempts per (lower-cased) e-mail address, in this process."""

    def __init__(self, clock=utcnow):
        self.clock = clock
        self._failures: dict[str, deque[datetime]] = {}
        self._locked_until: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def locked_until(self, email: str) -> datetime | None:
        """The end of the lockout for this address, or None when it may try now."""
        with self._lock:
            until = self._locked_until.get(email)
            if until is not None and until <= self.clock():
                del self._locked_until[email]
                until = None
            return until

    def record_failure(self, email: str) -> datetime | None:
        """Count a wrong password; returns the lockout's end if this one triggered it."""
        now = self.clock()
        with self._lock:
            failures = self._failures.setdefault(email, deque())
            failures.append(now)
            while failures and failures[0] <= now - FAILURE_WINDOW:
                failures.popleft()
            locked = None
            if len(failures) >= MAX_FAILURES:
                locked = self._locked_until[email] = now + LOCKOUT
                del self._failures[email]
            self._prune(now)
            return locked

    def record_success(self, email: str) -> None:
        """A correct password clears the address's earlier failures."""
        with self._lock:
            self._failures.pop(email, None)

    def _prune(self, now: datetime) -> None:
        """Forget expired entries once too many addresses are tracked."""
        if len(self._failures) + len(self._locked_until) <= MAX_TRACKED:
            return
        for email in [e for e, times in self._failures.items()
                      if not times or times[-1] <= now - FAILURE_WINDOW]:
            del self._failures[email]
        for email in [e for e, until in self._locked_until.items() if until <= now]:
            del self._locked_until[email]
        if len(self._failures) > MAX_TRACKED // 2:
            newest = sorted(self._failures, key=lambda e: self._failures[e][-1])
            for email in newest[:len(newest) - MAX_TRACKED // 2]:
                del self._failures[email]


def login_throttle() -> LoginThrottle:
    """The current app's throttle (one per app object, so each test starts clean)."""
    return current_app.extensions.setdefault("login_throttle", LoginThrottle())
