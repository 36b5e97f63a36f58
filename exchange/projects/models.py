"""Joint projects between cities, their participants, comments, history and notifications."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..generated import GeneratedTexts
from ..util import PUBLIC_KEY_MAX, public_key, utcnow
from .states import STATES

#: A participant either started the project or was invited to it.
ROLES = ("initiator", "invited")
#: An invited city's answer; the initiator is "accepted" from the start.
RESPONSES = ("pending", "accepted", "declined")
#: What the history of a project records.
EVENT_KINDS = ("created", "proposed", "invited", "accepted", "declined", "commented",
               "activated", "rejected", "completed", "withdrawn", "report", "edited")


def _in(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK constraint `column IN (...)`."""
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


project_topics = sa.Table(
    "project_topics",
    db.metadata,
    sa.Column("project_id", sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("topic_id", sa.ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True,
              index=True),
)


class Project(db.Model):
    """A joint project one city proposes to others; its state follows states.TRANSITIONS."""

    __tablename__ = "projects"
    __table_args__ = (sa.CheckConstraint(_in("state", STATES), name="state_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The project's name in exports: a random UUID given at creation, never changed, so
    #: a backup imported elsewhere finds the same project again (ids differ per database).
    key: Mapped[str] = mapped_column(sa.String(PUBLIC_KEY_MAX), unique=True, default=public_key)
    title: Mapped[str] = mapped_column(sa.String(200))
    #: Markdown, rendered sanitised.
    description: Mapped[str] = mapped_column(sa.Text, default="")
    state: Mapped[str] = mapped_column(sa.String(20), default="draft", index=True)
    initiator_city_id: Mapped[int] = mapped_column(sa.ForeignKey("cities.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: Set when the proposal was started from a partner suggestion for that city.
    from_match_city_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cities.id"))
    #: The `project_report` experience written after completion.
    report_experience_id: Mapped[int | None] = mapped_column(sa.ForeignKey("experiences.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    initiator_city = relationship("City", foreign_keys=[initiator_city_id])
    created_by = relationship("User", foreign_keys=[created_by_id])
    from_match_city = relationship("City", foreign_keys=[from_match_city_id])
    report_experience = relationship("Experience")
    topics = relationship("Topic", secondary=project_topics, order_by="Topic.name_de")
    participants = relationship(
        "ProjectParticipant", back_populates="project", cascade="all, delete-orphan",
        order_by="ProjectParticipant.id",
    )
    comments = relationship(
        "ProjectComment", back_populates="project", cascade="all, delete-orphan",
        order_by=lambda: [ProjectComment.created_at, ProjectComment.id],
    )
    events = relationship(
        "ProjectEvent", back_populates="project", cascade="all, delete-orphan",
        order_by=lambda: [ProjectEvent.created_at, ProjectEvent.id],
    )

    def participant(self, city) -> "ProjectParticipant | None":
        """The participation row of `city`, if it takes part or was invited."""
        if city is None:
            return None
        for participant in self.participants:
            if participant.city_id == city.id:
                return participant
        return None

    @property
    def invited(self) -> list["ProjectParticipant"]:
        """Participation rows of the invited cities (not the initiator)."""
        return [p for p in self.participants if p.role == "invited"]

    @property
    def taking_part(self) -> list["ProjectParticipant"]:
        """The initiator and every city that accepted."""
        return [p for p in self.participants if p.response == "accepted"]

    def __repr__(self) -> str:
        return f"<Project {self.id} {self.state}>"


class ProjectParticipant(db.Model):
    """One city's part in a project: initiator or invited, and its answer."""

    __tablename__ = "project_participants"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "city_id"),
        sa.CheckConstraint(_in("role", ROLES), name="role_known"),
        sa.CheckConstraint(_in("response", RESPONSES), name="response_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    city_id: Mapped[int] = mapped_column(sa.ForeignKey("cities.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(20), default="invited")
    response: Mapped[str] = mapped_column(sa.String(20), default="pending")
    #: The invited city's message with its answer.
    message: Mapped[str] = mapped_column(sa.Text, default="")
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[datetime | None]
    responded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    project = relationship("Project", back_populates="participants")
    city = relationship("City")
    responded_by = relationship("User")


class ProjectComment(db.Model):
    """A comment on a project by a member of a participating city."""

    __tablename__ = "project_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    project = relationship("Project", back_populates="comments")
    author = relationship("User")


class ProjectEvent(db.Model):
    """One entry of a project's history: who did what, for which city, and when."""

    __tablename__ = "project_events"
    __table_args__ = (sa.CheckConstraint(_in("kind", EVENT_KINDS), name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    city_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cities.id"))
    #: The answer's message, for accepted/declined events.
    message: Mapped[str] = mapped_column(sa.Text, default="")
    comment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("project_comments.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    project = relationship("Project", back_populates="events")
    actor = relationship("User")
    city = relationship("City")
    comment = relationship("ProjectComment")


class Notification(GeneratedTexts, db.Model):
    """An entry in a user's in-app inbox (also sent by e-mail).

    `title` and `body` are generated texts (exchange/generated.py) where the app wrote
    them: the inbox shows them in the reader's language of the day (`display_title`,
    `display_body`), the columns hold the German rendering. A comment's or an answer's
    text in the body is the person's own and stays as written."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: What happened, e.g. "invitation", "answer", "comment", "state".
    kind: Mapped[str] = mapped_column(sa.String(30))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    #: Site-relative URL of the thing the notification is about.
    link: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    user = relationship("User")

    @property
    def display_title(self) -> str:
        """The title in the reader's language."""
        return self.text("title")

    @property
    def display_body(self) -> str:
        """The body in the reader's language."""
        return self.text("body")

    @property
    def is_read(self) -> bool:
        """True once the user opened or dismissed it."""
        return self.read_at is not None


class OutgoingMail(db.Model):
    """An e-mail in the outbox: written in the transaction that causes it, sent by the
    worker (`flask worker`, see mail.py), kept MAIL_KEEP_DAYS after sending.

    `next_attempt_at` is set while the mail waits to be sent (retries move it later) and
    cleared once it is sent or given up; so "due" is one range on its index.
    """

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.Text)
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Sending attempts so far (successful or not).
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(sa.Text, default=None)
