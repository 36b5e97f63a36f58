"""Matchmaking services: rank and explain partners on the cached snapshot (snapshot.py)."""
import importlib.util
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa
from flask_babel import gettext as _, lazy_gettext as _l

from ..cities.models import City, Topic
from ..cities.services import STATES as GERMAN_STATES
from ..errors import DomainError
from ..extensions import db
from ..wiki.models import Experience
from . import scoring
from .models import MATCHING, PARTNERSHIPS, read_version
from .snapshot import Snapshot, cached, current_versions, snapshot

KINDS = ("transfer", "joint")
#: City size bands by population: (lower bound inclusive, upper bound exclusive or None).
SIZE_BANDS = {
    "klein": (0, 20_000),
    "mittel": (20_000, 100_000),
    "gross": (100_000, 500_000),
    "metropole": (500_000, None),
}
SIZE_BAND_LABELS = {
    "klein": _l("Kleinstadt (unter 20.000)"),
    "mittel": _l("Mittelstadt (20.000–100.000)"),
    "gross": _l("Großstadt (100.000–500.000)"),
    "metropole": _l("Metropole (über 500.000)"),
}
MAX_LIMIT = 100
#: Backing experiences listed per reason (newest first).
MAX_EVIDENCE = 5


class MatchError(DomainError, ValueError):
    """Invalid matchmaking request (unknown kind, size band, state, limit); 400."""

    status = 400


class UnknownTopic(MatchError):
    """The topic filter names no known topic (422, as the API has always answered)."""

    status = 422


@dataclass
class Reason:
    """Why a partner fits: one topic, one direction, its weight and backing experiences."""

    topic: Topic
    direction: str
    weight: float
    their_maturity: int | None
    our_maturity: int | None
    evidence: list[Experience]
    inferred_from_wiki: bool
    text: str
    #: Sub-topics the match came through when it was propagated up the topic tree.
    via: list[Topic] = field(default_factory=list)
    #: `text` as messages to store (reason_messages), e.g. in an agenda session.
    messages: list = field(default_factory=list)
    #: This reason's part of the partner's combined score (0-1).
    share: float = 0.0

    @property
    def kind(self) -> str:
        """"transfer" or "joint"."""
        return "transfer" if self.direction in scoring.TRANSFER_DIRECTIONS else "joint"


@dataclass
class Match:
    """A partner city with its scores (transfer, joint, combined) and reasons."""

    city: City
    score: float
    transfer_score: float
    joint_score: float
    reasons: list[Reason]
    #: The combined score as a share (0-1) of the asking city's best partner's, on the
    #: same topics (a topic filter, active projects left out); filters on the partners
    #: (state, size band, kind) do not change the reference.
    score_share: float = 0.0

    @property
    def transfer_share(self) -> float:
        """The knowledge-transfer part of the combined score (0-1)."""
        return _share(scoring.TRANSFER_WEIGHT * self.transfer_score, self.score)

    @property
    def joint_share(self) -> float:
        """The joint-project part of the combined score (0-1)."""
        return _share(scoring.JOINT_WEIGHT * self.joint_score, self.score)


def _share(part: float, whole: float) -> float:
    """part / whole, capped to 0-1 and rounded to four places; 0 when whole is 0."""
    if whole <= 0:
        return 0.0
    return round(min(max(part / whole, 0.0), 1.0), 4)


def size_band_of(population: int | None) -> str | None:
    """The named size band of a population, or None when unknown."""
    if population is None or population < 0:
        return None
    for band, (low, high) in SIZE_BANDS.items():
        if population >= low and (high is None or population < high):
            return band
    return None


def resolve_topic(topic) -> Topic:
    """A Topic from a Topic or a slug; UnknownTopic when there is none."""
    if isinstance(topic, Topic):
        return topic
    found = db.session.scalar(sa.select(Topic).where(Topic.slug == str(topic)))
    if found is None:
        raise UnknownTopic(_("Unbekanntes Thema: %(topic)s", topic=topic))
    return found


def _validate(kind, state, size_band, limit) -> None:
    if kind not in (None, *KINDS):
        raise MatchError(_("Unbekannte Art der Passung: %(kind)s (erlaubt: transfer, joint)",
                           kind=kind))
    if size_band is not None and size_band not in SIZE_BANDS:
        raise MatchError(_("Unbekannte Größenklasse: %(band)s (erlaubt: %(bands)s)",
                           band=size_band, bands=", ".join(SIZE_BANDS)))
    if state is not None and state.casefold() not in {s.casefold() for s in GERMAN_STATES}:
        raise MatchError(_("Unbekanntes Bundesland: %(state)s", state=state))
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise MatchError(_("Die Anzahl muss zwischen 1 und %(max)s liegen.", max=MAX_LIMIT))


def _partnerships(version: tuple) -> dict[int, dict[int, list[int]]]:
    """city id -> partner city id -> topic ids of their active joint projects (cached)."""
    if importlib.util.find_spec("exchange.projects.services") is None:
        return {}
    from ..projects.services import active_partnerships

    def group() -> dict[int, dict[int, list[int]]]:
        grouped: dict[int, dict[int, list[int]]] = {}
        for city_id, other_id, topic_id in active_partnerships():
            grouped.setdefault(city_id, {}).setdefault(other_id, []).append(topic_id)
        return grouped

    return cached(PARTNERSHIPS, lambda: (read_version(db.session, PARTNERSHIPS), group()),
                  lambda _session: group(), version)


def _active_topics(snap: Snapshot, city: City, version: tuple) -> dict[int, list[int]]:
    """Partner row -> topic columns of active joint projects with `city` (projects domain)."""
    result: dict[int, list[int]] = {}
    for other_id, topic_ids in _partnerships(version).get(city.id, {}).items():
        if other_id in snap.city_row:
            result[snap.city_row[other_id]] = [snap.topic_col[t] for t in topic_ids
                                               if t in snap.topic_col]
    return result


def find_partners(city: City, *, kind: str | None = None, topic=None, state: str | None = None,
                  size_band: str | None = None, limit: int = 10,
                  include_active: bool = False) -> list[Match]:
    """Rank partner cities for `city`, best first, each with scores and reasons.

    `kind` ranks by "transfer" or "joint" fit only (None: combined); `topic` (Topic or
    slug) restricts scoring to that topic and its sub-topics; `state` and `size_band`
    filter the partners. Topics of active joint projects with a partner do not count
    for that partner unless `include_active`.
    """
    _validate(kind, state, size_band, limit)
    topic_obj = resolve_topic(topic) if topic is not None else None
    versions = current_versions((MATCHING, PARTNERSHIPS))  # one SELECT for both
    snap = snapshot(versions[MATCHING])
    model = snap.model
    if city.id not in snap.city_row or (topic_obj is not None
                                        and topic_obj.id not in snap.topic_col):
        return []  # not stored yet: nothing to match on
    row = snap.city_row[city.id]
    mask = (scoring.subtree_mask(model.parent, snap.topic_col[topic_obj.id])
            if topic_obj is not None else None)
    transfer, joint = scoring.score_city(model, row, mask)

    pair_masks: dict[int, np.ndarray] = {}
    if not include_active:
        for other, cols in _active_topics(snap, city, versions[PARTNERSHIPS]).items():
            excluded = np.zeros(model.n_topics, dtype=bool)
            for col in cols:
                excluded |= scoring.subtree_mask(model.parent, col)
            pair_mask = ~excluded if mask is None else mask & ~excluded
            pair_masks[other] = pair_mask
            transfer[other], joint[other] = scoring.pair_scores(model, row, other, pair_mask)

    ranking = {"transfer": transfer, "joint": joint}.get(kind)
    if ranking is None:
        ranking = scoring.combine(transfer, joint)
    candidates = np.ones(model.n_cities, dtype=bool)
    candidates[row] = False
    if state is not None:
        candidates &= snap.states == state.casefold()
    if size_band is not None:
        low, high = SIZE_BANDS[size_band]
        candidates &= snap.populations >= low
        if high is not None:
            candidates &= snap.populations < high
    best = scoring.top_k(ranking, limit, candidates)
    pairs = [(int(other), float(transfer[other]), float(joint[other]),
              pair_masks.get(int(other), mask)) for other in best]
    return _build_matches(snap, city, row, pairs, _best_score(transfer, joint, row))


def explain_pair(city: City, other: City) -> Match:
    """Why `other` fits `city`: the scores and reasons of this one pair (no filters)."""
    if city.id == other.id:
        raise MatchError(_("Eine Stadt kann nicht ihr eigener Partner sein."))
    snap = snapshot()
    if city.id not in snap.city_row or other.id not in snap.city_row:  # not stored yet
        return Match(other, 0.0, 0.0, 0.0, [])
    row, other_row = snap.city_row[city.id], snap.city_row[other.id]
    transfer, joint = scoring.pair_scores(snap.model, row, other_row)
    best = _best_score(*scoring.score_city(snap.model, row), row)
    return _build_matches(snap, city, row, [(other_row, transfer, joint, None)], best)[0]


def _best_score(transfer: np.ndarray, joint: np.ndarray, row: int) -> float:
    """The best combined score of any partner of city `row` (the 100 % of score_share)."""
    combined = scoring.combine(transfer, joint)
    combined[row] = 0.0
    return float(combined.max()) if len(combined) else 0.0


def _build_matches(snap: Snapshot, city: City, row: int, pairs,
                   best_score: float) -> list[Match]:
    """Turn scored pairs into Match objects, loading cities, topics and experiences at once."""
    raw = {other: scoring.explain(snap.model, row, other, mask) for other, _t, _j, mask in pairs}
    other_ids = [int(snap.city_ids[other]) for other, *_ in pairs]
    cities = {c.id: c for c in db.session.scalars(sa.select(City).where(City.id.in_(other_ids)))}
    topic_cols = {c for reasons in raw.values() for r in reasons
                  for c in (r.topic, r.our_origin, r.their_origin)}
    topics = {t.id: t for t in db.session.scalars(
        sa.select(Topic).where(Topic.id.in_([int(snap.topic_ids[c]) for c in topic_cols])))}
    evidence_ids = {other: {r: _evidence_ids(snap, row, other, r) for r in reasons}
                    for other, reasons in raw.items()}
    wanted = {i for per in evidence_ids.values() for ids in per.values() for i in ids}
    experiences = {e.id: e for e in db.session.scalars(
        sa.select(Experience).where(Experience.id.in_(wanted)))} if wanted else {}

    def topic_at(col):
        return topics[int(snap.topic_ids[col])]

    matches = []
    for other, transfer, joint, _mask in pairs:
        partner = cities[int(snap.city_ids[other])]
        score = float(scoring.combine(transfer, joint))
        reasons = []
        for r in raw[other]:
            via = [topic_at(c) for c in dict.fromkeys((r.our_origin, r.their_origin))
                   if c != r.topic]
            messages = reason_messages(r.direction, topic_at(r.topic), city, partner,
                                       int(round(r.our_maturity)),
                                       int(round(r.their_maturity)), r.inferred_from_wiki, via)
            reasons.append(Reason(
                topic=topic_at(r.topic), direction=r.direction, weight=round(r.weight, 4),
                their_maturity=int(round(r.their_maturity)),
                our_maturity=int(round(r.our_maturity)),
                evidence=[experiences[i] for i in evidence_ids[other][r] if i in experiences],
                inferred_from_wiki=r.inferred_from_wiki,
                text=" ".join(message.render() for message in messages),
                via=via, messages=messages, share=_share(r.weight, score)))
        matches.append(Match(partner, round(score, 4), round(transfer, 4), round(joint, 4),
                             reasons, score_share=_share(score, best_score)))
    return matches


def _evidence_ids(snap: Snapshot, row: int, other: int, reason: scoring.RawReason) -> list[int]:
    """Published experiences backing a reason: the offering side's, or both sides' for joint.

    Experiences on the reason's origin topic come first, then those on its sub-topics.
    """
    if reason.direction in scoring.THEY_OFFER_DIRECTIONS:
        cells = [(other, reason.their_origin)]
    elif reason.direction in scoring.TRANSFER_DIRECTIONS:
        cells = [(row, reason.our_origin)]
    else:
        cells = [(other, reason.their_origin), (row, reason.our_origin)]
    ids: list[int] = []
    for city_row, origin in cells:
        exact, below = [], []
        for col, experience_ids in snap.evidence_by_row.get(city_row, ()):
            if col == origin:
                exact.extend(experience_ids)
            elif _is_ancestor(snap.model.parent, origin, col):
                below.extend(experience_ids)
        ids.extend(i for i in dict.fromkeys(exact + below) if i not in ids)
    return ids[:MAX_EVIDENCE]


def _is_ancestor(parent, ancestor: int, col: int) -> bool:
    """True when `ancestor` lies above `col` in the topic tree."""
    seen = 0
    node = parent[col]
    while node >= 0 and seen < len(parent):
        if node == ancestor:
            return True
        node, seen = parent[node], seen + 1
    return False


def reason_messages(direction: str, topic: Topic, city: City, partner: City,
                    our_maturity: int, their_maturity: int, inferred: bool,
                    via: list[Topic]) -> list:
    """The sentence that explains one reason, as messages (exchange/generated.py) that
    are rendered in the reader's language (`Reason.text`) or stored to be rendered later
    (an agenda session's description): the reason, then the sub-topics it came through."""
    from ..generated import N_

    if direction == "they_offer":
        if inferred:
            message = N_("%(they)s hat Erfahrungen zu %(topic)s im Wiki veröffentlicht (aus dem "
                         "Wiki abgeleitet), %(we)s sucht sie (Reife %(ours)s)",
                         they=partner.name, we=city.name, topic=topic, ours=our_maturity)
        else:
            message = N_("%(they)s bietet Erfahrung zu %(topic)s (Reife %(theirs)s), %(we)s "
                         "sucht sie (Reife %(ours)s)", they=partner.name, we=city.name,
                         topic=topic, theirs=their_maturity, ours=our_maturity)
    elif direction == "we_offer":
        if inferred:
            message = N_("%(we)s hat Erfahrungen zu %(topic)s im Wiki veröffentlicht (aus dem "
                         "Wiki abgeleitet), %(they)s sucht sie (Reife %(theirs)s)",
                         they=partner.name, we=city.name, topic=topic, theirs=their_maturity)
        else:
            message = N_("%(we)s bietet Erfahrung zu %(topic)s (Reife %(ours)s), %(they)s "
                         "sucht sie (Reife %(theirs)s)", they=partner.name, we=city.name,
                         topic=topic, theirs=their_maturity, ours=our_maturity)
    elif direction == "they_offer_working":
        if inferred:
            message = N_("%(they)s hat Erfahrungen zu %(topic)s im Wiki veröffentlicht (aus dem "
                         "Wiki abgeleitet), %(we)s arbeitet daran (Reife %(ours)s)",
                         they=partner.name, we=city.name, topic=topic, ours=our_maturity)
        else:
            message = N_("%(they)s bietet Erfahrung zu %(topic)s (Reife %(theirs)s), %(we)s "
                         "arbeitet daran (Reife %(ours)s)", they=partner.name, we=city.name,
                         topic=topic, theirs=their_maturity, ours=our_maturity)
    elif direction == "we_offer_working":
        if inferred:
            message = N_("%(we)s hat Erfahrungen zu %(topic)s im Wiki veröffentlicht (aus dem "
                         "Wiki abgeleitet), %(they)s arbeitet daran (Reife %(theirs)s)",
                         they=partner.name, we=city.name, topic=topic, theirs=their_maturity)
        else:
            message = N_("%(we)s bietet Erfahrung zu %(topic)s (Reife %(ours)s), %(they)s "
                         "arbeitet daran (Reife %(theirs)s)", they=partner.name, we=city.name,
                         topic=topic, theirs=their_maturity, ours=our_maturity)
    elif direction == "joint_working":
        message = N_("%(we)s (Reife %(ours)s) und %(they)s (Reife %(theirs)s) arbeiten beide "
                     "an %(topic)s", they=partner.name, we=city.name, topic=topic,
                     theirs=their_maturity, ours=our_maturity)
    else:
        message = N_("%(we)s (Reife %(ours)s) und %(they)s (Reife %(theirs)s) suchen beide "
                     "Erfahrung zu %(topic)s", they=partner.name, we=city.name, topic=topic,
                     theirs=their_maturity, ours=our_maturity)
    messages = [message]
    if via:
        messages.append(N_("(über das Unterthema %(names)s)", names=list(via)))
    return messages
