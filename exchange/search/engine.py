"""The search engine interface of ours: documents, query plans, results; engines implement it.

The query service (services.py) turns a user's query into an engine-neutral
`QueryPlan` and asks a `SearchEngine` for hits and facet counts. Whoosh is the engine
today (whoosh_engine.py); part 7 adds a second one behind the same interface.
"""
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable
from zoneinfo import ZoneInfo

#: Facet fields every engine counts, in display order.
FACET_FIELDS = ("city", "topic", "kind", "year")
SORTS = ("relevance", "date")
#: Dates are stored as naive UTC; pages show them in German time (BABEL_DEFAULT_TIMEZONE),
#: so the year facet takes the year of the German date: 31 Dec 23:30 UTC is 1 Jan.
FACET_TIMEZONE = ZoneInfo("Europe/Berlin")


@dataclass
class IndexDocument:
    """What the index knows about one published experience."""

    id: int
    slug: str
    title: str
    body: str
    city: str
    city_name: str = ""
    #: Slugs of the experience's own topics (facet) ...
    topics: tuple[str, ...] = ()
    #: ... and of those topics with all their ancestors (filter by a parent topic).
    topic_tree: tuple[str, ...] = ()
    #: Topic names (de, en) and aliases, searchable like the title.
    topic_text: str = ""
    kind: str = "lesson_learned"
    date: datetime | None = None
    contact: str = ""

    @property
    def year(self) -> str:
        """The year of `date` in Europe/Berlin as facet value ("" when unknown)."""
        if not self.date:
            return ""
        date = self.date if self.date.tzinfo else self.date.replace(tzinfo=timezone.utc)
        return str(date.astimezone(FACET_TIMEZONE).year)


@dataclass(frozen=True)
class Alternative:
    """One way to satisfy a clause: a single word, or a phrase of several words."""

    words: tuple[str, ...]
    weight: float = 1.0

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1


@dataclass(frozen=True)
class Clause:
    """A part of the query; matched when any of its alternatives matches."""

    alternatives: tuple[Alternative, ...]
    exclude: bool = False


@dataclass(frozen=True)
class QueryPlan:
    """A parsed query: clauses joined by AND (or OR when `match_all` is False)."""

    clauses: tuple[Clause, ...] = ()
    match_all: bool = True

    @property
    def is_empty(self) -> bool:
        return not any(not clause.exclude for clause in self.clauses)

    def with_match_all(self, match_all: bool) -> "QueryPlan":
        return QueryPlan(self.clauses, match_all)


@dataclass
class EngineHit:
    """One ranked document."""

    id: int
    slug: str
    score: float
    #: The plain text indexed for the body (snippets), or None if the engine has none.
    text: str | None = None


@dataclass
class EngineResults:
    """Hits of one page, the number of all matches and facet counts over all matches."""

    total: int
    hits: list[EngineHit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    #: True when the current index was damaged and an earlier generation answered.
    stale: bool = False


class IndexUnavailable(Exception):
    """The index is missing or unreadable and must be rebuilt from the database."""


class IndexDamaged(IndexUnavailable):
    """The index files are damaged (checksums, sizes, or they cannot be read)."""


class EngineBusy(Exception):
    """Another process holds the index writer; try again later."""


class IndexWriterSession(ABC):
    """Batch of changes committed together (or not at all)."""

    @abstractmethod
    def update(self, document: IndexDocument) -> None:
        """Add the document or replace the one with the same id."""

    @abstractmethod
    def delete(self, document_id: int) -> None:
        """Remove the document with this id if it is indexed."""


class SearchEngine(ABC):
    """A full-text index of experiences."""

    @abstractmethod
    def writer(self, blocking: bool = True):
        """Context manager yielding an IndexWriterSession; commits on success.

        Only one writer may exist across all processes; with blocking=False an
        EngineBusy is raised when another holds it.
        """

    @abstractmethod
    def rebuild(self, documents: Iterable[IndexDocument], lexicon: Iterable[str] = ()) -> int:
        """Build a complete new index beside the current one and swap it in atomically."""

    @abstractmethod
    def search(self, plan: QueryPlan, *, filters: dict[str, str] | None = None,
               sort: str = "relevance", offset: int = 0, limit: int = 10,
               facets: bool = True) -> EngineResults:
        """Ranked hits for `plan`, restricted by facet `filters`, with facet counts."""

    @abstractmethod
    def doc_count(self) -> int:
        """Number of documents in the index."""

    @abstractmethod
    def document_ids(self) -> set[int]:
        """Ids of all indexed documents (for status and consistency checks)."""

    @abstractmethod
    def knows_word(self, word: str) -> bool:
        """True when `word` (lower-cased, as typed) occurs in the indexed texts."""

    @abstractmethod
    def knows_term(self, term: str) -> bool:
        """True when the analysed term (a stem) occurs in any text field."""

    @property
    @abstractmethod
    def analysis(self):
        """The GermanAnalysis this index was built with (same lexicon for queries)."""

    @abstractmethod
    def similar_words(self, word: str, max_distance: int = 2) -> list[tuple[str, int]]:
        """Indexed words within `max_distance` edits, as (word, document frequency)."""

    def same_folded_words(self, word: str) -> set[str]:
        """Indexed words (as for knows_word) equal to `word` after umlaut folding.

        Used to offer "Mobilität" for "Mobilitat". This default asks similar_words;
        an engine can answer from a folded lexicon instead (Whoosh does: the edit
        distance automaton over all indexed words was a tenth of all query time).
        """
        from .analysis import fold

        return {candidate for candidate, _ in self.similar_words(word, 2)
                if fold(candidate) == fold(word)}

    @abstractmethod
    def analyse(self, text: str):
        """The engine's analysis of `text`: (position, AnalyzedWord, start, end) tuples."""
