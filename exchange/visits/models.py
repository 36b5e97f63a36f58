"""Delegation visits: the visit, its delegation members and its agenda sessions.

Times (`starts_at`, `ends_at`) are stored as naive Europe/Berlin wall-clock time: a visit
takes place in a German city and its invitation says "09:30", which must stay "09:30"
whatever the offset of that day is. `exchange.visits.timeutil` turns them into aware
datetimes at the edges (JSON with offset, iCalendar with TZID).
"""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..generated import GeneratedTexts, load_topics, topic_ids
from ..util import PUBLIC_KEY_MAX, public_key, utcnow

#: A visit's life: an idea, planned, confirmed with the host, done, or cancelled.
STATUSES = ("idea", "planned", "confirmed", "done", "cancelled")
#: Which city a delegation member belongs to.
SIDES = ("host", "guest")
#: Agenda session kinds: what the host shows, what the guests show, joint topics,
#: fixed programme items and the planner's own sessions.
SESSION_KINDS = ("welcome", "transfer_host_offers", "transfer_guest_offers", "joint",
                 "break", "wrap_up", "custom")

STATUS_LABELS = {"idea": _l("Idee"), "planned": _l("geplant"), "confirmed": _l("bestätigt"),
                 "done": _l("durchgeführt"), "cancelled": _l("abgesagt")}
SIDE_LABELS = {"host": _l("Gastgeber"), "guest": _l("Gäste")}
KIND_LABELS = {
    "welcome": _l("Begrüßung"), "transfer_host_offers": _l("Gastgeber zeigt"),
    "transfer_guest_offers": _l("Gäste zeigen"), "joint": _l("Gemeinsames Thema"),
    "break": _l("Pause"), "wrap_up": _l("Abschluss"), "custom": _l("Programmpunkt"),
}

TITLE_MAX = 200
PLACE_MAX = 200
ADDRESS_MAX = 300
NAME_MAX = 120
ROLE_MAX = 120
ORGANISATION_MAX = 200
ROOM_MAX = 120

visit_topics = sa.Table(
    "visit_topics",
    db.metadata,
    sa.Column("visit_id", sa.ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("topic_id", sa.ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True,
              index=True),
)

session_topics = sa.Table(
    "agenda_session_topics",
    db.metadata,
    sa.Column("session_id", sa.ForeignKey("agenda_sessions.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("topic_id", sa.ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True,
              index=True),
)


class Visit(db.Model):
    """A delegation of `visiting_city` visiting `host_city` on given days."""

    __tablename__ = "visits"
    __table_args__ = (
        sa.CheckConstraint("status IN ('idea', 'planned', 'confirmed', 'done', 'cancelled')",
                           name="status_known"),
        sa.CheckConstraint("host_city_id <> visiting_city_id", name="two_cities"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The visit's name in exports: a random UUID given at creation, never changed, so a
    #: backup imported elsewhere finds the same visit again (ids differ per database).
    key: Mapped[str] = mapped_column(sa.String(PUBLIC_KEY_MAX), unique=True, default=public_key)
    title: Mapped[str] = mapped_column(sa.String(TITLE_MAX))
    host_city_id: Mapped[int] = mapped_column(sa.ForeignKey("cities.id"), index=True)
    visiting_city_id: Mapped[int] = mapped_column(sa.ForeignKey("cities.id"), index=True)
    #: Europe/Berlin wall-clock time (naive), see the module docstring.
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(sa.String(PLACE_MAX), default="")
    address: Mapped[str] = mapped_column(sa.String(ADDRESS_MAX), default="")
    status: Mapped[str] = mapped_column(sa.String(20), default="idea")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    #: What was agreed, in Markdown; recorded after the visit.
    outcomes: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: The `visit_report` experience written about this visit.
    report_experience_id: Mapped[int | None] = mapped_column(sa.ForeignKey("experiences.id"))

    host_city = relationship("City", foreign_keys=[host_city_id])
    visiting_city = relationship("City", foreign_keys=[visiting_city_id])
    created_by = relationship("User")
    report_experience = relationship("Experience")
    topics = relationship("Topic", secondary=visit_topics, order_by="Topic.name_de")
    members = relationship("VisitMember", back_populates="visit", cascade="all, delete-orphan",
                           order_by=lambda: (VisitMember.side.desc(), VisitMember.id))
    sessions = relationship("AgendaSession", back_populates="visit",
                            cascade="all, delete-orphan",
                            order_by=lambda: (AgendaSession.starts_at, AgendaSession.position,
                                              AgendaSession.id))

    @property
    def cities(self) -> tuple:
        """(host city, visiting city)."""
        return (self.host_city, self.visiting_city)

    def city_of_side(self, side: str):
        """The host city for "host", the visiting city for "guest"."""
        return self.host_city if side == "host" else self.visiting_city

    def agenda_topics(self, ids) -> dict:
        """Topics named by the agenda's generated texts, loaded for all sessions in one
        statement and kept on this object, so a page of n sessions does not ask n times."""
        cache = self.__dict__.setdefault("_agenda_topics", {})
        wanted = set(ids) - cache.keys()
        if wanted:
            for session in self.sessions:
                wanted |= topic_ids(session.generated)
            wanted -= cache.keys()
            loaded = load_topics(wanted)
            cache.update({number: loaded.get(number) for number in wanted})
        return {number: cache[number] for number in ids if cache.get(number) is not None}

    def __repr__(self) -> str:
        return f"<Visit {self.id} {self.title!r}>"


class VisitMember(db.Model):
    """A delegation member: a registered user, or an external guest with name and role."""

    __tablename__ = "visit_members"
    __table_args__ = (
        sa.UniqueConstraint("visit_id", "user_id"),
        sa.CheckConstraint("side IN ('host', 'guest')", name="side_known"),
        sa.CheckConstraint("user_id IS NOT NULL OR guest_name IS NOT NULL", name="who"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id", ondelete="CASCADE"),
                                          index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    guest_name: Mapped[str | None] = mapped_column(sa.String(NAME_MAX))
    #: Function in the delegation, e.g. "CDO" or "Leitung Bürgerbüro".
    role: Mapped[str] = mapped_column(sa.String(ROLE_MAX), default="")
    organisation: Mapped[str] = mapped_column(sa.String(ORGANISATION_MAX), default="")
    #: "host" or "guest": which city's side the person is on.
    side: Mapped[str] = mapped_column(sa.String(10), default="guest")

    visit = relationship("Visit", back_populates="members")
    user = relationship("User")

    @property
    def name(self) -> str:
        """Display name: the user's, or the external guest's."""
        return self.user.display_name if self.user is not None else (self.guest_name or "")

    @property
    def city(self):
        """The city whose side this member is on."""
        return self.visit.city_of_side(self.side)


class AgendaSessionExperience(db.Model):
    """An experience linked to an agenda session, ranked by relevance."""

    __tablename__ = "agenda_session_experiences"

    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("agenda_sessions.id", ondelete="CASCADE"), primary_key=True)
    experience_id: Mapped[int] = mapped_column(
        sa.ForeignKey("experiences.id", ondelete="CASCADE"), primary_key=True, index=True)
    rank: Mapped[int] = mapped_column(default=0)

    session = relationship("AgendaSession", back_populates="experience_links")
    experience = relationship("Experience")


class AgendaSession(GeneratedTexts, db.Model):
    """One item of a visit's agenda: a time slot with topics, experiences and questions.

    The agenda proposal writes `title` and `description` as generated texts
    (exchange/generated.py): `display_title` and `display_description` show them in the
    reader's language; the columns hold the German rendering or what a person typed."""

    __tablename__ = "agenda_sessions"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint(
            "kind IN ('welcome', 'transfer_host_offers', 'transfer_guest_offers', 'joint', "
            "'break', 'wrap_up', 'custom')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id", ondelete="CASCADE"),
                                          index=True)
    #: Order chosen by the planner (1, 2, 3 ...); times may disagree, which is flagged.
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(sa.String(TITLE_MAX))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    room: Mapped[str] = mapped_column(sa.String(ROOM_MAX), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    kind: Mapped[str] = mapped_column(sa.String(30), default="custom")
    open_questions: Mapped[str] = mapped_column(sa.Text, default="")

    visit = relationship("Visit", back_populates="sessions")
    topics = relationship("Topic", secondary=session_topics, order_by="Topic.name_de")
    experience_links = relationship(
        "AgendaSessionExperience", back_populates="session", cascade="all, delete-orphan",
        order_by="AgendaSessionExperience.rank",
    )

    @property
    def display_title(self) -> str:
        """The title in the reader's language (a person's own title as typed)."""
        return self.text("title")

    @property
    def display_description(self) -> str:
        """The description (Markdown) in the reader's language."""
        return self.text("description")

    def generated_topics(self, ids) -> dict:
        """Topics named in the generated texts, loaded once for the whole agenda."""
        return self.visit.agenda_topics(ids) if self.visit is not None else load_topics(ids)

    @property
    def experiences(self) -> list:
        """Linked experiences, most relevant first; only published pages (drafts and
        deleted pages stay private to their city)."""
        return [link.experience for link in self.experience_links
                if link.experience.is_published]

    @property
    def contacts(self) -> list[dict]:
        """Contact persons derived from the linked experiences (who wrote them)."""
        seen, people = set(), []
        for experience in self.experiences:
            person = contact_of(experience)
            key = (person["name"], person["email"])
            if person["name"] and key not in seen:
                seen.add(key)
                people.append(person)
        return people

    @property
    def minutes(self) -> int:
        """Length in minutes."""
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


def contact_of(experience) -> dict:
    """The contact person of an experience: its contact fields, else its first author."""
    name, email = experience.contact_name, experience.contact_email
    if not name:
        first = experience.revisions[0] if experience.revisions else None
        author = first.author if first is not None else None
        if author is not None:
            name, email = author.display_name, email or author.email
    return {"name": name or "", "email": email or "",
            "city": experience.city.name if experience.city else ""}
