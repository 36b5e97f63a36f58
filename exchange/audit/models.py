"""The audit log: one row per recorded change, written in the changing transaction
(see recording.py)."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..util import utcnow


class AuditEvent(db.Model):
    """One change: the action, the object, the cities it concerns, the actor and origin."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_city_id_at", "city_id", "at"),
        sa.Index("ix_audit_events_other_city_id_at", "other_city_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: "experience.created", "interest.removed", "user.role_changed", … (recording.py).
    action: Mapped[str] = mapped_column(sa.String(40))
    object_type: Mapped[str] = mapped_column(sa.String(30))
    object_id: Mapped[int | None]
    #: The title or name of the object at the time, so the log stays readable after a
    #: deletion.
    label: Mapped[str] = mapped_column(sa.String(200), default="")
    #: The city whose admins see the event, and a second one (the other city of a visit,
    #: the invited city of a proposal).
    city_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cities.id", ondelete="SET NULL"))
    other_city_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("cities.id", ondelete="SET NULL"))
    #: Who: None for the command line, the worker, or an account deleted since.
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                 index=True)
    #: From where: "web", "api" or "cli", and the client address of a request.
    via: Mapped[str] = mapped_column(sa.String(10), default="cli")
    address: Mapped[str | None] = mapped_column(sa.String(45))
    #: Changed fields as {"field": [old, new]} (texts are not copied, only named).
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    actor = relationship("User", foreign_keys=[actor_id])
    city = relationship("City", foreign_keys=[city_id])
    other_city = relationship("City", foreign_keys=[other_city_id])
