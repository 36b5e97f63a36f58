"""Throttles for login, registration, password reset and API tokens, on `limits`.

Each rule is a fixed-window limit ("5 per 15 minutes") on one kind of key: an account
(the lower-cased e-mail address) or a client address. The counters live in a storage
that every web process shares, so two gunicorn workers allow five wrong passwords, not
ten, and a restart forgets nothing:

- by default the database (`DatabaseStorage`, table rate_limits): one atomic
  `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` per counted attempt, on SQLite as on
  PostgreSQL, on a connection of its own (a rolled-back request keeps its count);
- any storage `limits` knows when RATELIMIT_STORAGE_URI (EXCHANGE_RATELIMIT_STORAGE_URI)
  names one, e.g. redis://127.0.0.1:6379 ("memory://" counts per process again).

A window starts with its first counted attempt and the key is refused until it ends
(docs/auth-and-cities.md, "Throttling"). If the storage fails, attempts are let through
and the failure is logged: a broken counter must not lock everybody out.
"""
import hashlib
import logging
import time

import sqlalchemy as sa
from flask import current_app
from limits import parse
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from .models import RateLimitCounter

log = logging.getLogger(__name__)

#: The rules, by name: `<what>_<key kind>`. THROTTLE_LIMITS in the config overrides any.
RULES = {
    # Five wrong passwords for one address within 15 minutes lock it for the rest of
    # the window: five typos are plenty, guessing gets five tries per quarter hour.
    "login_account": "5 per 15 minutes",
    # Password spraying (one password against many accounts) from one client address.
    # Generous, because a whole city hall may share one address behind its NAT.
    "login_address": "30 per 15 minutes",
    # Registration and reset requests each write a mail: a few per address and hour.
    "register_account": "3 per hour",
    "register_address": "10 per hour",
    "reset_account": "3 per hour",
    "reset_address": "10 per hour",
    # Wrong API tokens from one address (a token names no account before it is found).
    "token_address": "20 per 15 minutes",
}
#: The database storage deletes ended windows once every this many counted attempts,
#: so a flood of made-up addresses leaves the table no larger than one window's worth.
PURGE_EVERY = 200


class DatabaseStorage(Storage):
    """A `limits` storage for fixed windows over our own table (rate_limits)."""

    STORAGE_SCHEME = None  # built by throttle() with the app's engine, not from a URI

    def __init__(self, engine: sa.Engine, clock=time.time):
        super().__init__()
        self.engine = engine
        #: Seconds since the epoch; tests pass a clock they move by hand.
        self.clock = clock
        self._counted = 0

    @property
    def base_exceptions(self):
        return sa.exc.SQLAlchemyError

    @staticmethod
    def _hash(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count `amount` in the key's window (a new one if it ended); the new count."""
        now = self.clock()
        table = RateLimitCounter.__table__
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        ended = table.c.expires_at <= now
        statement = dialect.insert(table).values(
            key_hash=self._hash(key), hits=amount, expires_at=now + expiry,
        ).on_conflict_do_update(
            index_elements=[table.c.key_hash],
            set_={"hits": sa.case((ended, amount), else_=table.c.hits + amount),
                  "expires_at": sa.case((ended, now + expiry), else_=table.c.expires_at)},
        ).returning(table.c.hits)
        with self.engine.begin() as connection:
            hits = connection.execute(statement).scalar_one()
            self._counted += 1
            if self._counted % PURGE_EVERY == 0:
                connection.execute(sa.delete(table).where(table.c.expires_at <= now))
        return hits

    def _live(self, key: str, column):
        table = RateLimitCounter.__table__
        with self.engine.connect() as connection:
            return connection.execute(sa.select(column).where(
                table.c.key_hash == self._hash(key), table.c.expires_at > self.clock()
            )).scalar()

    def get(self, key: str) -> int:
        """The count in the key's current window (0 when none)."""
        return self._live(key, RateLimitCounter.__table__.c.hits) or 0

    def get_expiry(self, key: str) -> float:
        """When the key's current window ends (now when there is none)."""
        return self._live(key, RateLimitCounter.__table__.c.expires_at) or self.clock()

    def check(self) -> bool:
        """True while the database answers."""
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.select(1))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def reset(self) -> int:
        """Forget every counter; how many there were."""
        with self.engine.begin() as connection:
            return connection.execute(sa.delete(RateLimitCounter.__table__)).rowcount

    def clear(self, key: str) -> None:
        """Forget one key's counter."""
        table = RateLimitCounter.__table__
        with self.engine.begin() as connection:
            connection.execute(sa.delete(table).where(table.c.key_hash == self._hash(key)))


class Throttle:
    """The named rules over one shared storage. Times are seconds since the epoch."""

    def __init__(self, storage: Storage, rules: dict | None = None, clock=None):
        self.storage = storage
        self.limiter = FixedWindowRateLimiter(storage)
        self.clock = clock or getattr(storage, "clock", time.time)
        self.items = {name: parse(text) for name, text in {**RULES, **(rules or {})}.items()}

    def _guarded(self, action, fallback=None):
        try:
            return action()
        except self.storage.base_exceptions:
            log.exception("throttle storage failed; the attempt is let through")
            return fallback

    def locked_until(self, rule: str, key: str) -> float | None:
        """The end of the lock when `key` has used up `rule`, else None."""
        item = self.items[rule]

        def check():
            if self.limiter.test(item, rule, key):
                return None
            return self.limiter.get_window_stats(item, rule, key).reset_time
        return self._guarded(check)

    def hit(self, rule: str, key: str) -> float | None:
        """Count one attempt; the end of the lock if this attempt used up `rule`."""
        self._guarded(lambda: self.limiter.hit(self.items[rule], rule, key))
        return self.locked_until(rule, key)

    def admit(self, *checks: tuple[str, str]) -> tuple[str, float] | None:
        """For attempts that always count (registration, reset requests): the first
        (rule, end of lock) that refuses, else None after counting the attempt in all."""
        for rule, key in checks:
            until = self.locked_until(rule, key)
            if until is not None:
                return rule, until
        for rule, key in checks:
            self._guarded(lambda: self.limiter.hit(self.items[rule], rule, key))
        return None

    def clear(self, rule: str, key: str) -> None:
        """Forget `key`'s attempts under `rule` (a correct password clears its account's)."""
        self._guarded(lambda: self.limiter.clear(self.items[rule], rule, key))

    def seconds_left(self, until: float) -> float:
        """Seconds from now until `until`."""
        return until - self.clock()


def make_throttle(app) -> Throttle:
    """The throttle for `app`'s configuration: RATELIMIT_STORAGE_URI or the database."""
    uri = app.config.get("RATELIMIT_STORAGE_URI")
    if uri:
        storage = storage_from_string(uri, **(app.config.get("RATELIMIT_STORAGE_OPTIONS") or {}))
    else:
        storage = DatabaseStorage(db.engine)
    return Throttle(storage, rules=app.config.get("THROTTLE_LIMITS"))


def login_throttle() -> Throttle:
    """The current app's throttle (one per app object, built on first use)."""
    extensions = current_app.extensions
    if "login_throttle" not in extensions:
        extensions["login_throttle"] = make_throttle(current_app)
    return extensions["login_throttle"]
