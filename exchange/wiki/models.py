"""Experiences (the wiki pages) and their append-only revisions."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..util import utcnow

KINDS = ("lesson_learned", "practice", "project_report", "visit_report")
STATUSES = ("draft", "published")
#: Characters of plain text an experience keeps as its excerpt (lists show 240 of them,
#: the dossier 260); " …" marks a cut.
EXCERPT_CHARS = 300


def excerpt_of(body: str | None) -> str:
    """The stored excerpt of a body: its plain text, cut at a word after EXCERPT_CHARS.

    The one rule for `Experience.excerpt`: the wiki services apply it whenever the
    current revision changes, the importer for each experience it writes, migration
    0011 for the rows that existed before."""
    from ..markup import excerpt

    return excerpt(body, EXCERPT_CHARS)

experience_topics = sa.Table(
    "experience_topics",
    db.metadata,
    sa.Column("experience_id", sa.ForeignKey("experiences.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("topic_id", sa.ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
    # The primary key serves experience -> topics; topic pages go the other way.
    sa.Index("ix_experience_topics_topic_id", "topic_id", "experience_id"),
)


class Experience(db.Model):
    """A lesson learned, practice, project or visit report written by a city."""

    __tablename__ = "experiences"
    __table_args__ = (
        sa.CheckConstraint(
            "kind IN ('lesson_learned', 'practice', 'project_report', 'visit_report')",
            name="kind_known",
        ),
        sa.CheckConstraint("status IN ('draft', 'published')", name="status_known"),
        # Lists are newest change first: read in index order and stop after one page.
        sa.Index("ix_experiences_updated_at", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    #: Mirrors the current revision's title, for listing and sorting without a join.
    title: Mapped[str] = mapped_column(sa.String(200))
    #: The current revision's excerpt (excerpt_of its body): lists show it without
    #: loading the body or rendering Markdown.
    excerpt: Mapped[str] = mapped_column(sa.String(EXCERPT_CHARS + 10), default="")
    kind: Mapped[str] = mapped_column(sa.String(20), default="lesson_learned")
    status: Mapped[str] = mapped_column(sa.String(20), default="draft")
    city_id: Mapped[int] = mapped_column(sa.ForeignKey("cities.id"), index=True)
    contact_name: Mapped[str | None] = mapped_column(sa.String(120))
    contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    current_revision_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("revisions.id", use_alter=True), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    #: Deleted pages keep their history; they vanish from lists, search and the API.
    deleted_at: Mapped[datetime | None]

    city = relationship("City")
    topics = relationship("Topic", secondary=experience_topics, order_by="Topic.name_de")
    current_revision = relationship(
        "Revision", foreign_keys=[current_revision_id], post_update=True
    )
    revisions = relationship(
        "Revision", foreign_keys="Revision.experience_id", back_populates="experience",
        order_by="Revision.number", cascade="all, delete-orphan",
    )

    @property
    def body(self) -> str:
        """The Markdown text of the current revision."""
        return self.current_revision.body if self.current_revision else ""

    @property
    def is_published(self) -> bool:
        """Visible to everyone logged in and in the search index."""
        return self.status == "published" and self.deleted_at is None

    def __repr__(self) -> str:
        return f"<Experience {self.slug}>"


class Revision(db.Model):
    """One immutable saved version of an experience's title and text."""

    __tablename__ = "revisions"
    __table_args__ = (
        sa.UniqueConstraint("experience_id", "number"),
        # Recent changes (/aenderungen, the dashboard) are newest first.
        sa.Index("ix_revisions_created_at", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    experience_id: Mapped[int] = mapped_column(sa.ForeignKey("experiences.id"), index=True)
    #: 1, 2, 3 ... within the experience.
    number: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    summary: Mapped[str] = mapped_column(sa.String(300), default="")
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set when this revision re-instates an older one.
    restored_from_id: Mapped[int | None] = mapped_column(sa.ForeignKey("revisions.id"))

    experience = relationship("Experience", foreign_keys=[experience_id],
                              back_populates="revisions")
    author = relationship("User")
