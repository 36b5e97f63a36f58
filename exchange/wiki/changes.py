"""Recent changes grouped by page: each experience once, with how often it changed.

/aenderungen listed every revision on its own, so a page edited six times in a morning
filled the list six times. Changes are now grouped per experience over a window of days
(like MediaWiki's grouped recent changes): the latest revision, the number of revisions
in the window, the first of them (for the "compare" link) and who wrote them.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..auth.models import User
from ..extensions import db
from ..util import utcnow
from .models import Experience, Revision

#: The window /aenderungen groups by default, and the windows a reader may choose (days).
DEFAULT_DAYS = 30
DAY_CHOICES = (7, 30, 90, 365)
#: Authors named per page before "and n more".
MAX_AUTHORS = 3


@dataclass
class PageChanges:
    """The changes of one experience within the window."""

    latest: Revision
    count: int
    #: Number of the oldest revision in the window (1: the page is new in the window).
    first_number: int
    authors: list[str] = field(default_factory=list)
    more_authors: int = 0

    @property
    def experience(self) -> Experience:
        """The experience that changed."""
        return self.latest.experience


def window_start(days: int, now: datetime | None = None) -> datetime:
    """The earliest revision time a window of `days` days shows (naive UTC)."""
    return (now or utcnow()) - timedelta(days=days)


def _grouped(user, since: datetime, city=None):
    from .services import visible_condition

    query = (sa.select(Revision.experience_id.label("experience_id"),
                       sa.func.max(Revision.id).label("latest_id"),
                       sa.func.count(Revision.id).label("changes"),
                       sa.func.min(Revision.number).label("first_number"),
                       sa.func.max(Revision.created_at).label("latest_at"))
             .join(Experience, Revision.experience_id == Experience.id)
             .where(visible_condition(user), Revision.created_at >= since)
             .group_by(Revision.experience_id))
    if city is not None:
        query = query.where(Experience.city_id == city.id)
    return query


def recent_changes(user, since: datetime, *, city=None, limit: int | None = None,
                   offset: int = 0) -> tuple[int, list[PageChanges]]:
    """(number of changed pages, one page of them newest first) for what `user` may read,
    revisions since `since`."""
    grouped = _grouped(user, since, city).subquery()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(grouped)) or 0
    rows_query = (sa.select(grouped).order_by(grouped.c.latest_at.desc(),
                                              grouped.c.latest_id.desc()).offset(offset))
    if limit is not None:
        rows_query = rows_query.limit(limit)
    rows = db.session.execute(rows_query).all()
    if not rows:
        return total, []
    latest = {revision.id: revision for revision in db.session.scalars(
        sa.select(Revision).where(Revision.id.in_([row.latest_id for row in rows]))
        .options(selectinload(Revision.experience).selectinload(Experience.city),
                 selectinload(Revision.author)))}
    authors = _authors(since, [row.experience_id for row in rows])
    pages = []
    for row in rows:
        names = authors.get(row.experience_id, [])
        pages.append(PageChanges(latest[row.latest_id], row.changes, row.first_number,
                                 names[:MAX_AUTHORS], max(0, len(names) - MAX_AUTHORS)))
    return total, pages


def _authors(since: datetime, experience_ids: list[int]) -> dict[int, list[str]]:
    """Per experience, the names of the people who wrote its revisions since `since`,
    most recent first."""
    rows = db.session.execute(
        sa.select(Revision.experience_id, User.display_name)
        .join(User, Revision.author_id == User.id)
        .where(Revision.experience_id.in_(experience_ids), Revision.created_at >= since)
        .order_by(Revision.created_at.desc(), Revision.id.desc())).all()
    names: dict[int, list[str]] = {}
    for experience_id, name in rows:
        seen = names.setdefault(experience_id, [])
        if name not in seen:
            seen.append(name)
    return names
