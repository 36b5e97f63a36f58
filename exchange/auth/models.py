"""Users, their logins (one row per browser session), personal API tokens, password-reset
links and the throttle's counters."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..util import utcnow

#: Roles a user has within their city; platform administration is the separate is_admin flag.
ROLES = ("staff", "city_admin", "visit_planner")

#: What a personal API token may do: "read" (GET, HEAD, OPTIONS) and "write" (every other
#: method). Stored space-separated in this order, as OAuth writes scopes; write implies read.
TOKEN_SCOPES = ("read", "write")
#: A token's last day is a day in German time, the platform's time (as on every page).
TOKEN_ZONE = ZoneInfo("Europe/Berlin")


class User(UserMixin, db.Model):
    """A person working for a city (or a platform administrator without a city)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased, which makes the unique constraint case-insensitive.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    city_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cities.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(20), default="staff")
    is_admin: Mapped[bool] = mapped_column(default=False)
    #: Staff who registered themselves wait for their city admin's approval.
    is_approved: Mapped[bool] = mapped_column(default=False)
    locale: Mapped[str | None] = mapped_column(sa.String(5))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set when an admin deactivates the account: no login, no session, no API token
    #: until it is reactivated (services.deactivate_user / reactivate_user).
    deactivated_at: Mapped[datetime | None]

    city = relationship("City", back_populates="users")
    tokens = relationship("ApiToken", back_populates="user", cascade="all, delete-orphan")
    logins = relationship("LoginSession", back_populates="user", cascade="all, delete-orphan")
    password_resets = relationship("PasswordReset", back_populates="user",
                                   cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:
        """Approved users who are not deactivated may log in (Flask-Login asks this)."""
        return self.is_approved and self.deactivated_at is None

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class LoginSession(db.Model):
    """One login in one browser. The signed session cookie carries a random key whose
    SHA-256 is stored here and checked on every request, so deleting the row (logout,
    password change, deactivation) ends the session in every copy of that cookie."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user = relationship("User", back_populates="logins")


class ApiToken(db.Model):
    """A named personal token; only its SHA-256 hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: First characters of the token, shown so the owner can tell tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    #: "read" or "read write" (TOKEN_SCOPES, space-separated, write implies read).
    scopes: Mapped[str] = mapped_column(sa.String(40), default="read")
    #: The first moment (naive UTC) the token no longer works: midnight German time after
    #: its last day. Every token expires (services.MAX_TOKEN_DAYS at most).
    expires_at: Mapped[datetime]

    user = relationship("User", back_populates="tokens")

    @property
    def scope_list(self) -> list[str]:
        """The token's scopes in TOKEN_SCOPES order."""
        granted = set((self.scopes or "").split())
        return [scope for scope in TOKEN_SCOPES if scope in granted]

    def allows(self, scope: str) -> bool:
        """True when the token carries `scope` ("write" includes "read")."""
        granted = self.scope_list
        return scope in granted or (scope == "read" and "write" in granted)

    def is_expired(self, now: datetime) -> bool:
        """True from `expires_at` on (`now` naive UTC)."""
        return self.expires_at is not None and now >= self.expires_at

    @property
    def last_day(self) -> date:
        """The last day (German time) on which the token works."""
        return token_last_day(self.expires_at)


def token_expires_at(last_day: date) -> datetime:
    """The naive-UTC moment a token with this last day (German time) stops working:
    the following midnight in Berlin."""
    midnight = datetime.combine(last_day + timedelta(days=1), datetime.min.time(),
                                tzinfo=TOKEN_ZONE)
    return midnight.astimezone(timezone.utc).replace(tzinfo=None)


def token_last_day(expires_at: datetime) -> date:
    """The inverse of token_expires_at: the German-time day before `expires_at`."""
    local = expires_at.replace(tzinfo=timezone.utc).astimezone(TOKEN_ZONE)
    return (local - timedelta(microseconds=1)).date()


def local_today(now: datetime) -> date:
    """The German-time day of the naive-UTC moment `now`."""
    return now.replace(tzinfo=timezone.utc).astimezone(TOKEN_ZONE).date()


class PasswordReset(db.Model):
    """A password-reset link sent by e-mail: only the SHA-256 of its random token is
    stored; it works once (used_at) and until expires_at, and a newer reset or a
    password change makes the user's other outstanding ones useless."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    #: Set when the link was used, or withdrawn because another one was used.
    used_at: Mapped[datetime | None]

    user = relationship("User", back_populates="password_resets")


class RateLimitCounter(db.Model):
    """One fixed-window counter of the throttle (auth/throttle.py DatabaseStorage),
    shared by all web processes. The key is stored as its SHA-256: keys name e-mail
    addresses and client addresses, which need not be readable here."""

    __tablename__ = "rate_limits"

    key_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    hits: Mapped[int]
    #: End of the counter's window in seconds since the epoch (UTC), as `limits` wants it.
    expires_at: Mapped[float] = mapped_column(sa.Float, index=True)
