"""Cities, the topic taxonomy and each city's stance on topics."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..util import utcnow

#: A city's stance on a topic.
STANCES = ("offers", "seeks", "working_on")
MATURITY_MIN, MATURITY_MAX = 1, 5
#: Maturity assumed when an import or form does not give one: "some experience".
DEFAULT_MATURITY = 3


class City(db.Model):
    """A German municipality taking part in the exchange."""

    __tablename__ = "cities"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    state: Mapped[str] = mapped_column(sa.String(40))
    #: Amtlicher Gemeindeschlüssel, 8 digits, leading zeros kept.
    ags: Mapped[str | None] = mapped_column(sa.String(8), unique=True)
    population: Mapped[int | None]
    profile: Mapped[str] = mapped_column(sa.Text, default="")
    website: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    users = relationship("User", back_populates="city")
    interests = relationship("Interest", back_populates="city", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<City {self.slug}>"


class Topic(db.Model):
    """A node of the topic tree (e.g. Verwaltungsdigitalisierung > eAkte)."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name_de: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str | None] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: The English description; None falls back to the German one.
    description_en: Mapped[str | None] = mapped_column(sa.Text)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("topics.id"), index=True)
    #: Key in the OZG catalogue ("themenfeld:9", "lebenslage:12", "leistung:10123").
    ozg_key: Mapped[str | None] = mapped_column(sa.String(40), unique=True)

    parent = relationship("Topic", remote_side=[id], back_populates="children")
    children = relationship("Topic", back_populates="parent", order_by="Topic.name_de")
    aliases = relationship(
        "TopicAlias", back_populates="topic", cascade="all, delete-orphan",
        order_by="TopicAlias.alias",
    )

    def name(self, locale: str = "de") -> str:
        """The topic's name in `locale`, falling back to German."""
        return (self.name_en if locale == "en" and self.name_en else self.name_de)

    def ancestors(self) -> list["Topic"]:
        """Parents from the root down to the direct parent."""
        chain, node = [], self.parent
        while node is not None and node not in chain:
            chain.insert(0, node)
            node = node.parent
        return chain

    def __repr__(self) -> str:
        return f"<Topic {self.slug}>"


class TopicAlias(db.Model):
    """Another name for a topic: abbreviation, spelling variant or English term."""

    __tablename__ = "topic_aliases"
    __table_args__ = (sa.UniqueConstraint("topic_id", "alias"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("topics.id"), index=True)
    alias: Mapped[str] = mapped_column(sa.String(120))

    topic = relationship("Topic", back_populates="aliases")


class Interest(db.Model):
    """A city's stance on one topic: it offers experience, seeks it, or works on it."""

    __tablename__ = "interests"
    __table_args__ = (
        sa.UniqueConstraint("city_id", "topic_id"),
        sa.CheckConstraint("maturity BETWEEN 1 AND 5", name="maturity_range"),
        sa.CheckConstraint("stance IN ('offers', 'seeks', 'working_on')", name="stance_known"),
        # Topic pages and /themen count and list a topic's cities per stance: without it
        # the GROUP BY over 165,000 interests read the whole table on every /themen.
        sa.Index("ix_interests_topic_id_stance", "topic_id", "stance"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(sa.ForeignKey("cities.id"), index=True)
    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("topics.id"), index=True)
    stance: Mapped[str] = mapped_column(sa.String(20))
    maturity: Mapped[int] = mapped_column(default=DEFAULT_MATURITY)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    city = relationship("City", back_populates="interests")
    topic = relationship("Topic")
