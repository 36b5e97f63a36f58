"""The search outbox: index work recorded in the same transaction as the change."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..util import utcnow


class IndexTask(db.Model):
    """A pending index update for one experience; applied and deleted by the indexer."""

    __tablename__ = "index_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: No foreign key: the row must survive the experience's deletion.
    experience_id: Mapped[int] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IndexRebuildRequest(db.Model):
    """A full rebuild asked for (a web process found the index missing or damaged).

    Web requests never rebuild themselves (at 50,000 documents that outlasts any request
    timeout); the index worker takes these rows, rebuilds and deletes them.
    """

    __tablename__ = "index_rebuild_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")


class WorkerHeartbeat(db.Model):
    """What a background worker last reported: alive, busy with what, last success, errors.

    One row per worker name; written by the worker in its own transactions, read by
    `search status` and the health check to tell a working worker from a dead, stuck
    or failing one.
    """

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    host: Mapped[str] = mapped_column(sa.String(255), default="")
    pid: Mapped[int] = mapped_column(default=0)
    #: "idle", "applying" or "rebuilding": a rebuild may take minutes without a beat.
    activity: Mapped[str] = mapped_column(sa.String(20), default="idle")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    beat_at: Mapped[datetime] = mapped_column(default=utcnow)
    ok_at: Mapped[datetime | None] = mapped_column(default=None)
    #: Failed rounds in a row (0 after a round that succeeded).
    failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text, default=None)
    last_error_at: Mapped[datetime | None] = mapped_column(default=None)
