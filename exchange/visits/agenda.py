"""Agenda proposal: sessions built from the two cities' match, with experiences and contacts.

For the visiting city (guest) at the host city, `explain_pair(host, guest)` (matching
domain) gives reasons from the host's point of view: "we_offer" is what the host offers
and the guests seek, "they_offer" what the guests bring and the host seeks, and
"joint_working"/"joint_seeking" are topics both work on or both look for. Each reason
becomes one session; the visit's goal topics come first. Experiences for a session come
from the search index (search domain), falling back to experiences tagged with the topic.
"""
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from ..cities.models import Interest, Topic
from ..extensions import db
from ..formatting import format_short_day
from ..generated import N_, Message
from ..util import utcnow
from .models import TITLE_MAX, AgendaSession, Visit
from .services import VisitError, _link_experiences, require_edit
from .timeutil import at, days_between, format_clock

#: The first day opens with a welcome at 09:30 (or when the visit starts, if later).
FIRST_DAY_START = time(9, 30)
#: Further days start at 09:00.
NEXT_DAY_START = time(9, 0)
#: A day's programme ends at 17:30 at the latest (or when the visit ends, if earlier).
DAY_END = time(17, 30)
WELCOME_MINUTES = 30
#: A topic session is 45 minutes: long enough for a talk and discussion.
SESSION_MINUTES = 45
#: 15 minutes between sessions for changing rooms and people.
CHANGEOVER_MINUTES = 15
#: Lunch is placed when a session would run past 12:15, and only before 14:00.
LUNCH_LATEST_SESSION_END = time(12, 15)
LUNCH_LATEST_START = time(14, 0)
LUNCH_MINUTES = 60
WRAP_UP_MINUTES = 30
#: How many experiences each session lists.
EXPERIENCES_PER_SESSION = 3

#: Order of the session kinds: first what the guests came to learn, then what they
#: bring, then the topics both sides work on.
KIND_ORDER = {"transfer_host_offers": 0, "transfer_guest_offers": 1, "joint": 2}
#: Reason directions (from the host's view) to session kinds.
DIRECTION_KIND = {"we_offer": "transfer_host_offers", "they_offer": "transfer_guest_offers",
                  "we_offer_working": "transfer_host_offers",
                  "they_offer_working": "transfer_guest_offers",
                  "joint_working": "joint", "joint_seeking": "joint"}


@dataclass
class TopicProposal:
    """One topic the agenda should cover, why, and which city presents it."""

    topic: Topic
    kind: str
    weight: float
    #: Why, as messages (the session's description; exchange/generated.py).
    messages: list[Message] = field(default_factory=list)
    presenter: object = None
    is_goal: bool = False
    evidence: list = field(default_factory=list)


def session_time_text(session: AgendaSession) -> str:
    """"Di., 20.04. 09:30–10:00" for lists and the report (the reader's language)."""
    return (f"{format_short_day(session.starts_at)} "
            f"{format_clock(session.starts_at)}–{format_clock(session.ends_at)}")


# --- which topics ------------------------------------------------------------------------

def _covers(goal: Topic, topic: Topic) -> bool:
    return goal.id == topic.id or goal in topic.ancestors() or topic in goal.ancestors()


def topic_proposals(visit: Visit) -> list[TopicProposal]:
    """Topics for the agenda from the cities' match, goals first, then by weight."""
    from ..matching.services import explain_pair

    host, guest = visit.host_city, visit.visiting_city
    match = explain_pair(host, guest)
    proposals: dict[int, TopicProposal] = {}
    for reason in match.reasons:
        kind = DIRECTION_KIND.get(reason.direction)
        if kind is None or reason.topic.id in proposals:
            continue
        presenter = {"transfer_host_offers": host, "transfer_guest_offers": guest}.get(kind)
        proposals[reason.topic.id] = TopicProposal(
            topic=reason.topic, kind=kind, weight=float(reason.weight or 0),
            messages=list(getattr(reason, "messages", None) or []), presenter=presenter,
            evidence=list(getattr(reason, "evidence", None) or []))
    for goal in visit.topics:
        matching = [p for p in proposals.values() if _covers(goal, p.topic)]
        for proposal in matching:
            proposal.is_goal = True
        if not matching:
            proposals[goal.id] = TopicProposal(
                topic=goal, kind="joint", weight=0.0, is_goal=True,
                messages=[N_("Ziel des Besuchs: %(topic)s.", topic=goal)])
    return sorted(proposals.values(),
                  key=lambda p: (not p.is_goal, -p.weight, p.topic.name_de))


# --- which experiences -------------------------------------------------------------------

def _published(experience) -> bool:
    return experience is not None and experience.is_published


def _search_query(topic: Topic) -> str:
    """The topic's name and aliases as one query (any of them may match)."""
    terms = [topic.name_de] + [alias.alias for alias in topic.aliases]
    return " OR ".join(f'"{term}"' if " " in term else term for term in terms)


def _searched(topic: Topic, city=None) -> list:
    """Search hits on the topic (optionally from one city), as published Experience rows."""
    try:
        from ..search.services import search
    except ImportError:  # search domain not installed: tagged experiences stand in
        return []
    from ..wiki.models import Experience

    kwargs = {"topic": topic.slug}
    if city is not None:
        kwargs["city"] = city.slug
    results = search(_search_query(topic), per_page=EXPERIENCES_PER_SESSION * 2, **kwargs)
    found = [db.session.get(Experience, hit.experience_id) for hit in results.hits]
    return [experience for experience in found if _published(experience)]


def _tagged(topic: Topic, city=None) -> list:
    """Published experiences tagged with the topic or one of its sub-topics, newest first."""
    from ..wiki.models import Experience, experience_topics

    ids, frontier = {topic.id}, [topic]
    while frontier:
        node = frontier.pop()
        for child in node.children:
            if child.id not in ids:
                ids.add(child.id)
                frontier.append(child)
    query = (sa.select(Experience).join(experience_topics)
             .where(experience_topics.c.topic_id.in_(ids), Experience.status == "published",
                    Experience.deleted_at.is_(None))
             .order_by(Experience.published_at.desc(), Experience.id).distinct())
    if city is not None:
        query = query.where(Experience.city_id == city.id)
    return list(db.session.scalars(query.limit(EXPERIENCES_PER_SESSION * 2)))


def relevant_experiences(topic: Topic, presenter=None, evidence=(),
                         limit: int = EXPERIENCES_PER_SESSION) -> list:
    """The most relevant published experiences on a topic, the presenting city's first.

    Order of sources: search hits from the presenting city, the match's evidence, search
    hits from any city, then experiences tagged with the topic (which also covers pages
    not yet in the index). Earlier visit reports come last: they retell, not teach.
    """
    sources = []
    if presenter is not None:
        sources.append(lambda: _searched(topic, presenter))
    sources.append(lambda: [e for e in evidence if _published(e)])
    sources.append(lambda: _searched(topic))
    if presenter is not None:
        sources.append(lambda: _tagged(topic, presenter))
    sources.append(lambda: _tagged(topic))
    chosen = []
    for source in sources:
        if len(chosen) >= limit * 2:
            break
        for experience in source():
            if experience not in chosen:
                chosen.append(experience)
    # Lessons learned, practices and project reports before earlier visit reports.
    chosen.sort(key=lambda experience: experience.kind == "visit_report")
    return chosen[:limit]


# --- when --------------------------------------------------------------------------------

@dataclass
class _Slot:
    starts_at: datetime
    ends_at: datetime
    kind: str


def _day_slots(visit: Visit, wanted: int) -> tuple[list[_Slot], list[_Slot]]:
    """Fixed programme items (welcome, lunch, wrap-up) and up to `wanted` topic slots.

    Days are filled one after another; the wrap-up follows the last topic session (on the
    last day at the latest), so a short agenda does not leave empty days before it.
    """
    fixed, free = [], []
    days = days_between(visit.starts_at, visit.ends_at)
    session = timedelta(minutes=SESSION_MINUTES)
    step = timedelta(minutes=SESSION_MINUTES + CHANGEOVER_MINUTES)
    wrap_up = timedelta(minutes=WRAP_UP_MINUTES)
    welcomed = False
    for number, day in enumerate(days):
        start = max(at(day, FIRST_DAY_START if number == 0 else NEXT_DAY_START),
                    visit.starts_at)
        end = min(at(day, DAY_END), visit.ends_at)
        if start >= end:
            continue
        cursor = start
        if not welcomed and cursor + timedelta(minutes=WELCOME_MINUTES) <= end:
            fixed.append(_Slot(cursor, cursor + timedelta(minutes=WELCOME_MINUTES), "welcome"))
            cursor += timedelta(minutes=WELCOME_MINUTES)
            welcomed = True
        last_day = number == len(days) - 1
        # Keep room for the wrap-up, which follows the day's last topic session.
        limit = end - wrap_up
        lunched = not (start < at(day, LUNCH_LATEST_SESSION_END)
                       and end > at(day, LUNCH_LATEST_START))
        while len(free) < wanted:
            if (not lunched and cursor + session > at(day, LUNCH_LATEST_SESSION_END)
                    and cursor <= at(day, LUNCH_LATEST_START)
                    and cursor + timedelta(minutes=LUNCH_MINUTES) + session <= limit):
                fixed.append(_Slot(cursor, cursor + timedelta(minutes=LUNCH_MINUTES), "break"))
                cursor += timedelta(minutes=LUNCH_MINUTES)
                lunched = True
                continue
            if cursor + session > limit:
                break
            free.append(_Slot(cursor, cursor + session, "topic"))
            cursor += step
        done = len(free) >= wanted
        if done or last_day:
            wrap_start = min(cursor, end - wrap_up)
            if wrap_start >= start:
                fixed.append(_Slot(wrap_start, wrap_start + wrap_up, "wrap_up"))
            break
    return fixed, free


# --- the proposal ------------------------------------------------------------------------

def _title(proposal: TopicProposal, visit: Visit) -> Message:
    """The session's title as a message: the topic is named in each reader's language."""
    topic = proposal.topic
    if proposal.kind == "transfer_host_offers":
        return N_("%(topic)s: Erfahrungen aus %(city)s", topic=topic, city=visit.host_city.name)
    if proposal.kind == "transfer_guest_offers":
        return N_("%(topic)s: Erfahrungen aus %(city)s", topic=topic,
                  city=visit.visiting_city.name)
    return N_("Gemeinsames Thema: %(topic)s", topic=topic)


def _open_questions(proposal: TopicProposal, visit: Visit) -> str:
    """The seeking city's note on the topic is the best open question we know of."""
    notes = db.session.scalars(
        sa.select(Interest).where(Interest.topic_id == proposal.topic.id,
                                  Interest.city_id.in_([visit.host_city_id,
                                                        visit.visiting_city_id]))
    ).all()
    lines = [f"- {interest.city.name}: {interest.note.strip()}" for interest in notes
             if interest.note and interest.note.strip() and interest.stance != "offers"]
    return "\n".join(lines)


def propose_agenda(actor, visit: Visit, *, replace: bool = False) -> list[AgendaSession]:
    """Build the agenda from the two cities' match; an existing agenda is only replaced
    when `replace` is given, so no planner's work is lost by accident."""
    require_edit(actor, visit)
    if visit.sessions and not replace:
        raise VisitError(_("Die Agenda enthält bereits Sitzungen. Bestätigen Sie, dass der "
                           "Vorschlag die bisherige Agenda ersetzen soll."),
                         errors={"replace": _("Bitte bestätigen Sie das Ersetzen.")})
    proposals = topic_proposals(visit)
    fixed, free = _day_slots(visit, len(proposals))
    chosen = proposals[:len(free)]
    left_over = proposals[len(free):]
    chosen.sort(key=lambda p: (KIND_ORDER.get(p.kind, 9), not p.is_goal, -p.weight))
    # Read everything (search included) before the first write: the search service
    # applies its outbox in a session of its own, which must not wait for our lock.
    found = [relevant_experiences(p.topic, p.presenter, p.evidence) for p in chosen]
    questions = [_open_questions(p, visit) for p in chosen]
    visit.sessions.clear()
    db.session.flush()
    items = []
    for slot, proposal, experiences, open_questions in zip(free, chosen, found, questions):
        session = AgendaSession(starts_at=slot.starts_at, ends_at=slot.ends_at,
                                kind=proposal.kind, topics=[proposal.topic],
                                open_questions=open_questions)
        session.generate("title", _title(proposal, visit), maximum=TITLE_MAX)
        if proposal.messages:
            # One paragraph: the reason and the sub-topics it came through.
            session.generate("description", [proposal.messages])
        _link_experiences(session, experiences)
        items.append(session)
    for slot in fixed:
        items.append(_fixed_session(slot, visit, left_over))
    items.sort(key=lambda s: s.starts_at)
    for number, session in enumerate(items, start=1):
        session.position = number
        visit.sessions.append(session)
    visit.updated_at = utcnow()
    db.session.flush()
    return list(visit.sessions)


def _fixed_session(slot: _Slot, visit: Visit, left_over) -> AgendaSession:
    """Welcome, lunch or wrap-up (the slot's kind), with generated title and description."""
    if slot.kind == "welcome":
        title = N_("Begrüßung und Vorstellung der Delegationen")
        description = [N_("%(host)s begrüßt die Delegation aus %(guest)s; Ziele des Besuchs.",
                          host=visit.host_city.name, guest=visit.visiting_city.name)]
    elif slot.kind == "break":
        title, description = N_("Mittagspause"), []
    else:
        title = N_("Abschluss: Vereinbarungen und nächste Schritte")
        description = [N_("Was nehmen wir mit? Vereinbarungen, Ansprechpersonen und nächste "
                          "Schritte, mögliche gemeinsame Projekte.")]
        if left_over:
            description.append(N_("Weitere mögliche Themen: %(topics)s",
                                  topics=[proposal.topic for proposal in left_over]))
    session = AgendaSession(kind=slot.kind, starts_at=slot.starts_at, ends_at=slot.ends_at)
    session.generate("title", title, maximum=TITLE_MAX)
    if description:
        session.generate("description", description)
    return session
