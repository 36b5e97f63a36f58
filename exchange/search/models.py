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
