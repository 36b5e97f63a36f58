"""The search service: query parsing, outbox, engine, suggestions, snippets, results from the DB."""
import logging
import math
import re
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy.orm import Session, selectinload

from ..errors import DomainError
from ..extensions import db
from ..formatting import topic_name
from .analysis import fold
from .engine import FACET_FIELDS, SORTS, EngineResults, IndexUnavailable, QueryPlan
from .highlight import highlight, query_terms, snippet
from .indexer import apply_outbox, get_engine, reindex, status  # noqa: F401
from .worker import is_running, request_rebuild
from .query import SynonymGroup, SynonymTable, parse_query, plan_words, typed_words

log = logging.getLogger(__name__)

MAX_PER_PAGE = 100
#: Suggest a spelling when a query finds fewer results than this (or a word is unknown).
SUGGEST_BELOW = 3
#: Words shorter than this are not corrected (abbreviations like "OZG", "DMS").
MIN_CORRECTABLE_LENGTH = 5
#: Seconds a client is asked to wait while the index is rebuilt (Retry-After).
RETRY_AFTER_SECONDS = 30



class SearchError(DomainError, ValueError):
    """Bad search arguments (page, page size, sort); 400."""

    status = 400


@dataclass
class SearchHit:
    """One result, with what a result list shows."""

    slug: str
    title: str
    city: str
    city_name: str
    topics: list[str]
    kind: str
    score: float
    snippet: Markup
    experience_id: int
    date: datetime | None
    title_html: Markup = Markup("")
    #: The topics' names for HTML, in the reader's language (German ones marked).
    topic_names: list[Markup] = field(default_factory=list)


@dataclass
class SearchResults:
    """A page of results, facet counts over all matches, and a spelling suggestion."""

    query: str
    total: int
    page: int
    per_page: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]]
    suggestion: str | None = None
    #: When nothing matched as typed but the suggestion did, hits are for the suggestion.
    corrected: bool = False
    #: True when no page had all words and pages with any of them are shown instead.
    relaxed: bool = False
    #: The index could not take the newest changes (or is being repaired): results may
    #: miss recent edits.
    stale: bool = False
    #: No index could be read; it is being rebuilt.
    unavailable: bool = False
    sort: str = "relevance"
    filters: dict[str, str] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def is_empty_query(self) -> bool:
        return not self.query.strip()


def synonym_table() -> SynonymTable:
    """Synonym groups from the topics that have aliases, kept while the taxonomy's version
    does not move (reloading every alias on each search cost a fifth of a search page)."""
    from ..matching.models import TAXONOMY, read_version
    from ..matching.snapshot import cached

    def build():
        with Session(db.engine) as session:
            version = read_version(session, TAXONOMY)
            return version, _load_synonyms(session)

    return cached(TAXONOMY, build, _load_synonyms)


def _load_synonyms(session) -> SynonymTable:
    from ..cities.models import Topic, TopicAlias

    topics = session.scalars(
        sa.select(Topic).where(Topic.id.in_(sa.select(TopicAlias.topic_id)))
        .options(selectinload(Topic.aliases))
    ).all()
    groups = []
    for topic in topics:
        variants = [topic.name_de] + ([topic.name_en] if topic.name_en else [])
        variants += [alias.alias for alias in topic.aliases]
        # "Bürgerservice & Bürgerbüro", "Fortbildung & Qualifizierung": each half is a name too.
        for name in list(variants[:2]):
            variants += [half.strip() for half in re.split(r"&|\(|\)", name) if half.strip()]
        groups.append(SynonymGroup(tuple(dict.fromkeys(variants))))
    return SynonymTable(groups)


def _caller_holds_sqlite_write_lock() -> bool:
    """True when the caller's unit of work has written to SQLite and not yet committed.

    SQLite locks the whole database for writing: deleting outbox rows in our own
    session would wait for the caller's lock (the busy timeout) and fail. PostgreSQL
    locks rows, so this is only ever True on SQLite.
    """
    session = db.session()  # the request's Session behind the scoped_session
    if not session.in_transaction():
        return False
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return False
    return bool(getattr(connection.connection.dbapi_connection, "in_transaction", False))


def _check_arguments(page, per_page, sort) -> None:
    if not isinstance(page, int) or page < 1:
        raise SearchError(_l("Die Seite muss eine positive ganze Zahl sein."))
    if not isinstance(per_page, int) or not 1 <= per_page <= MAX_PER_PAGE:
        raise SearchError(_l("Pro Seite sind 1 bis %(max)s Treffer möglich.", max=MAX_PER_PAGE))
    if sort not in SORTS:
        raise SearchError(_l("Unbekannte Sortierung."))


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def suggest(engine, query: str, plan: QueryPlan, total: int) -> str | None:
    """A corrected query ("Meinten Sie …?") when a typed word looks misspelt, else None.

    A word is corrected when it does not occur in the index as typed and a close
    indexed word exists, and either its stem is unknown too (a typo:
    "Digitalisierng") or the close word is the same after umlaut folding (a missing
    umlaut: "Mobilitat" -> "Mobilität"). Known stems with other endings are left alone.
    """
    analysis = engine.analysis
    corrections = {}
    for word in dict.fromkeys(typed_words(plan)):
        lower = word.lower()
        if len(lower) < MIN_CORRECTABLE_LENGTH or not lower.isalpha():
            continue
        if engine.knows_word(lower):
            continue
        analysed = analysis.word(word)
        stem_known = analysed is not None and engine.knows_term(analysed.main)
        if stem_known and total >= SUGGEST_BELOW and not _has_umlaut_twin(engine, lower):
            continue
        best = None
        max_distance = 1 if len(lower) < 7 else 2
        for candidate, frequency in engine.similar_words(lower, max_distance):
            same_folded = fold(candidate) == fold(lower)
            if stem_known and not same_folded:
                continue
            rank = (0 if same_folded else 1, _levenshtein(candidate, lower), -frequency)
            if best is None or rank < best[0]:
                best = (rank, candidate)
        if best:
            replacement = best[1]
            if word[:1].isupper():
                replacement = replacement[:1].upper() + replacement[1:]
            corrections[word] = replacement
    if not corrections:
        return None
    pattern = re.compile(r"\b(" + "|".join(re.escape(word) for word in corrections) + r")\b")
    return pattern.sub(lambda match: corrections[match.group(1)], query)


def _has_umlaut_twin(engine, lower: str) -> bool:
    """True when an indexed word within 2 edits (same first letter) folds like `lower`."""
    return any(candidate[:1] == lower[:1] and _levenshtein(candidate, lower) <= 2
               for candidate in engine.same_folded_words(lower) if candidate != lower)


def search(query, *, city=None, topic=None, kind=None, year=None, page=1, per_page=10,
           sort="relevance") -> SearchResults:
    """Search published experiences; see docs/search.md for the query language."""
    _check_arguments(page, per_page, sort)
    query = (query or "").strip()
    filters = {name: str(value) for name, value in
               (("city", city), ("topic", topic), ("kind", kind), ("year", year)) if value}
    empty = SearchResults(query, 0, page, per_page, [], {name: {} for name in FACET_FIELDS},
                          sort=sort, filters=filters)
    not_updated = False
    holds_lock = _caller_holds_sqlite_write_lock()
    if current_app.config.get("SEARCH_APPLY_OUTBOX_ON_QUERY", True) and not is_running():
        not_updated = not _apply_pending(holds_lock)

    def run():
        return run_query(get_engine(), query, synonym_table(), filters=filters, sort=sort,
                         offset=(page - 1) * per_page, limit=per_page)

    try:
        outcome = run()
    except IndexUnavailable as error:
        # Missing or damaged with no intact stand-in. A rebuild inside the request would
        # outlast it at scale: the worker (or a background thread) rebuilds, and this
        # request waits a moment for it, then says the search is being rebuilt.
        log.error("search index unavailable (%s); rebuild requested", error)
        outcome = _after_rebuild(request_rebuild(str(error), record=not holds_lock), run)
        if outcome is False:
            empty.unavailable = True
            return empty
    if outcome is None:
        return empty
    if outcome.result.stale:
        request_rebuild("current search index generation damaged", record=not holds_lock)
    hits = _hydrate(outcome.result.hits, outcome.plan)
    return SearchResults(query, outcome.result.total, page, per_page, hits,
                         outcome.result.facets, suggestion=outcome.suggestion,
                         corrected=outcome.corrected, relaxed=outcome.relaxed, sort=sort,
                         filters=filters, stale=outcome.result.stale or not_updated)


def _after_rebuild(thread, run):
    """run() once `thread` (a background rebuild) ended within SEARCH_REBUILD_WAIT,
    else False (also when a worker rebuilds: it is not waited for)."""
    wait = current_app.config.get("SEARCH_REBUILD_WAIT", 0)
    if thread is None or wait <= 0:
        return False
    thread.join(wait)
    if thread.is_alive():
        return False
    try:
        return run()
    except IndexUnavailable:
        return False


def _apply_pending(holds_lock: bool) -> bool:
    """Apply the outbox before a query; False when the index could not be updated.

    Never fails the search: the index is derived, and its last good state answers.
    """
    try:
        apply_outbox(blocking=False, delete_rows=not holds_lock, rebuild_if_unavailable=False)
    except sa.exc.OperationalError as error:
        # E.g. SQLite locked by the caller's own unfinished write: search the
        # current index; the rows stay and the next search or worker applies them.
        log.warning("search outbox not applied before the query: %s", error)
    except IndexUnavailable:
        pass  # the search below reads a stand-in generation or asks for a rebuild
    except OSError as error:
        # A read-only or full index folder: the rows stay in the outbox.
        log.error("search index not updated before the query, searching its last good "
                  "state: %s", error)
        return False
    return True


@dataclass
class QueryOutcome:
    """What run_query found: engine results, the plan they are for, and how it got there."""

    result: EngineResults
    plan: QueryPlan
    suggestion: str | None
    corrected: bool
    relaxed: bool


def run_query(engine, query: str, synonyms: SynonymTable, *, filters=None, sort="relevance",
              offset=0, limit=10, rebuild=None) -> QueryOutcome | None:
    """Parse, search, relax AND to OR when nothing matched, suggest and correct spelling.

    Needs no database (the relevance test and the benchmark call it on bare engines);
    None for an empty query. `rebuild` is called once if the index is unavailable.
    """
    plan = parse_query(query, synonyms)
    if plan.is_empty:
        return None
    options = {"filters": filters or {}, "sort": sort, "offset": offset, "limit": limit}

    def engine_search(some_plan):
        try:
            return engine.search(some_plan, **options)
        except IndexUnavailable as error:
            if rebuild is None:
                raise
            log.warning("search index unavailable (%s); rebuilding it from the database", error)
            rebuild()
            return engine.search(some_plan, **options)

    result = engine_search(plan)
    relaxed = corrected = False
    positive = [clause for clause in plan.clauses if not clause.exclude]
    if result.total == 0 and plan.match_all and len(positive) > 1:
        relaxed_result = engine_search(plan.with_match_all(False))
        if relaxed_result.total:
            result, relaxed = relaxed_result, True
    suggestion = suggest(engine, query, plan, result.total)
    used_plan = plan
    if result.total == 0 and suggestion:
        corrected_plan = parse_query(suggestion, synonyms)
        corrected_result = engine_search(corrected_plan)
        if corrected_result.total:
            result, used_plan, corrected = corrected_result, corrected_plan, True
    return QueryOutcome(result, used_plan, suggestion, corrected, relaxed)


def _hydrate(engine_hits, plan: QueryPlan) -> list[SearchHit]:
    """Load the hits' experiences (published only) and build snippets."""
    from ..markup import markdown_to_text
    from ..wiki.models import Experience

    if not engine_hits:
        return []
    ids = [hit.id for hit in engine_hits]
    options = [selectinload(Experience.city), selectinload(Experience.topics)]
    if any(hit.text is None for hit in engine_hits):  # an index built without stored text
        options.append(selectinload(Experience.current_revision))
    rows = db.session.scalars(
        sa.select(Experience).where(Experience.id.in_(ids)).options(*options)).all()
    by_id = {row.id: row for row in rows}
    analysis = get_engine().analysis
    mains, parts = query_terms(plan_words(plan), analysis)
    hits = []
    for engine_hit in engine_hits:
        experience = by_id.get(engine_hit.id)
        # The index may lag behind the database for a moment: never show what the
        # database says is not (or no longer) public.
        if experience is None or not experience.is_published:
            continue
        text = engine_hit.text
        if text is None:
            text = markdown_to_text(experience.body)
        hits.append(SearchHit(
            slug=experience.slug,
            title=experience.title,
            city=experience.city.slug,
            city_name=experience.city.name,
            topics=[topic.slug for topic in experience.topics],
            topic_names=[topic_name(topic) for topic in experience.topics],
            kind=experience.kind,
            score=round(engine_hit.score, 4),
            snippet=snippet(text, mains, parts, analysis),
            title_html=highlight(experience.title, mains, parts, analysis),
            experience_id=experience.id,
            date=experience.published_at or experience.created_at,
        ))
    return hits
