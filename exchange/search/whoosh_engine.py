"""The Whoosh engine: lean schema, fast German fields, index generations and facet arrays.

Layout on disk (INDEX_DIR):
    CURRENT          name of the generation searches read (replaced atomically)
    writer.lock      flock held by the one process that writes (apply or rebuild)
    gen-<stamp>/     a complete Whoosh index; a rebuild writes a new one beside it

Facet counts, filters and the set of all matches are computed with numpy masks over
per-term posting arrays, cached per searcher generation; Whoosh ranks the top hits.
"""
import fcntl
import logging
import os
import shutil
import threading
import time
import uuid
from collections import OrderedDict, defaultdict
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import numpy as np
from whoosh import formats, index as whoosh_index, query as wq
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, FieldType, Schema
from whoosh.scoring import BM25F
from whoosh.system import pack_uint

from .analysis import GermanAnalysis, GermanAnalyzer
from .engine import (FACET_FIELDS, EngineBusy, EngineHit, EngineResults, IndexDocument,
                     IndexUnavailable, IndexWriterSession, QueryPlan, SearchEngine)

log = logging.getLogger(__name__)

POINTER = "CURRENT"
LOCK_FILE = "writer.lock"
GENERATION_PREFIX = "gen-"

#: Query-time weight of a match per field. Titles and topic names (with their
#: aliases) say what a page is about, so they count most; the body counts once;
#: city name and contact help a little.
FIELD_WEIGHTS = {"title": 3.0, "topics": 2.5, "body": 1.0, "meta": 0.8}
#: Weight of a match on a compound *part* rather than a whole word: a part match
#: ("Lotsen" in "Digitalisierungslotsen") ranks below an exact whole-word match.
PART_FIELD_WEIGHTS = {"tparts": 1.2, "bparts": 0.35}
#: When the query word itself is a compound, documents with all its parts (in any
#: field) also match, at this fraction of the weight.
QUERY_PARTS_WEIGHT = 0.5
#: Fields searched for phrases (they keep positions).
PHRASE_FIELDS = ("title", "topics", "body")
#: Memory for Whoosh's posting pool per writer process, in MB.
WRITER_LIMIT_MB = 256
#: Per-searcher cache of posting arrays, in (field, term) entries.
POSTINGS_CACHE_SIZE = 20_000


class GermanText(FieldType):
    """A text field indexed through GermanAnalysis directly (no Token objects).

    mode "main" keeps positions (phrases); "parts" and "spell" keep frequencies or
    mere existence, which is all they need.
    """

    def __init__(self, analysis: GermanAnalysis, mode: str = "main"):
        if mode == "main":
            fmt = formats.Positions()
        elif mode == "parts":
            fmt = formats.Frequency()
        else:
            fmt = formats.Existence()
        super().__init__(fmt, GermanAnalyzer(analysis, mode), scorable=(mode != "spell"))
        self.mode = mode
        self.spelling = False

    def index(self, value, **kwargs):
        analysis = self.analyzer.analysis
        if self.mode == "main":
            positions = defaultdict(list)
            for position, word, _, _ in analysis.words(value):
                positions[word.main].append(position)
            encode = self.format.encode
            for term, poslist in positions.items():
                yield term.encode("utf-8"), len(poslist), float(len(poslist)), encode(poslist)
        elif self.mode == "parts":
            counts = defaultdict(int)
            for _, word, _, _ in analysis.words(value):
                for part in word.parts:
                    counts[part] += 1
            for term, freq in counts.items():
                yield term.encode("utf-8"), freq, float(freq), pack_uint(freq)
        else:
            seen = {word.surface for _, word, _, _ in analysis.words(value) if word.surface}
            for term in seen:
                yield term.encode("utf-8"), 1, 1.0, b""


def make_schema(analysis: GermanAnalysis) -> Schema:
    """The lean schema: only id and slug are stored; everything else is indexed."""
    return Schema(
        id=ID(unique=True, stored=True),
        slug=STORED(),
        title=GermanText(analysis, "main"),
        topics=GermanText(analysis, "main"),
        body=GermanText(analysis, "main"),
        meta=GermanText(analysis, "main"),
        tparts=GermanText(analysis, "parts"),
        bparts=GermanText(analysis, "parts"),
        spell=GermanText(analysis, "spell"),
        city=ID(),
        kind=ID(),
        year=ID(),
        topic=KEYWORD(),
        topic_tree=KEYWORD(),
        date=NUMERIC(numtype=int, bits=64, sortable=True),
    )


def document_fields(document: IndexDocument) -> dict:
    """The Whoosh field values of one document."""
    date = document.date
    if date is not None:
        stamp = int(date.replace(tzinfo=timezone.utc).timestamp())
    else:
        stamp = 0
    fields = {
        "id": str(document.id),
        "slug": document.slug,
        "title": document.title,
        "topics": document.topic_text,
        "body": document.body,
        "meta": f"{document.city_name} {document.contact}".strip(),
        "tparts": f"{document.title}\n{document.topic_text}",
        "bparts": document.body,
        "spell": f"{document.title}\n{document.topic_text}\n{document.body}",
        "city": document.city or None,
        "kind": document.kind or None,
        "year": document.year or None,
        "topic": " ".join(document.topics) or None,
        "topic_tree": " ".join(document.topic_tree or document.topics) or None,
        "date": stamp,
    }
    return {name: value for name, value in fields.items() if value not in (None, "")}


class _FacetTable:
    """Posting arrays of one searcher generation, as numpy arrays and masks."""

    def __init__(self, searcher):
        self.reader = searcher.reader()
        self.size = self.reader.doc_count_all()
        self.live = None
        if self.reader.has_deletions():
            self.live = np.zeros(self.size, dtype=bool)
            self.live[np.fromiter(self.reader.all_doc_ids(), dtype=np.int64)] = True
        self._postings = OrderedDict()
        self.values = {}
        for name in FACET_FIELDS:
            self.values[name] = [term.decode("utf-8") if isinstance(term, bytes) else term
                                 for term in self.reader.lexicon(name)] \
                if name in self.reader.indexed_field_names() else []

    def ids(self, field: str, term: str) -> np.ndarray:
        """Document numbers with `term` in `field` (cached, deleted ones included)."""
        key = (field, term)
        found = self._postings.get(key)
        if found is not None:
            self._postings.move_to_end(key)
            return found
        try:
            matcher = self.reader.postings(field, term)
            found = np.fromiter(matcher.all_ids(), dtype=np.int64)
        except Exception:  # term not in the index
            found = np.empty(0, dtype=np.int64)
        self._postings[key] = found
        if len(self._postings) > POSTINGS_CACHE_SIZE:
            self._postings.popitem(last=False)
        return found

    def mask(self, field: str, term: str) -> np.ndarray:
        mask = np.zeros(self.size, dtype=bool)
        mask[self.ids(field, term)] = True
        return mask

    def counts(self, matched: np.ndarray) -> dict[str, dict[str, int]]:
        """Facet value -> number of matched documents, for each facet field."""
        result = {}
        for name in FACET_FIELDS:
            counts = {}
            for value in self.values[name]:
                count = int(np.count_nonzero(matched[self.ids(name, value)]))
                if count:
                    counts[value] = count
            result[name] = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        return result


class _Writer(IndexWriterSession):
    def __init__(self, writer):
        self._writer = writer

    def update(self, document: IndexDocument) -> None:
        self._writer.update_document(**document_fields(document))

    def delete(self, document_id: int) -> None:
        self._writer.delete_by_term("id", str(document_id))


class WhooshEngine(SearchEngine):
    """SearchEngine on Whoosh with generations swapped through the CURRENT pointer."""

    def __init__(self, index_dir, procs: int = 1):
        self.root = Path(index_dir)
        self.procs = procs
        self._guard = threading.RLock()
        self._lock_depth = 0
        self._lock_handle = None
        self._generation = None
        self._ix = None
        self._searcher = None
        self._table = None

    # --- generations --------------------------------------------------------------------

    def current_generation(self) -> str | None:
        """Name of the generation searches read, or None when there is none."""
        try:
            name = (self.root / POINTER).read_text().strip()
        except FileNotFoundError:
            return None
        return name or None

    def current_path(self) -> Path | None:
        name = self.current_generation()
        return self.root / name if name else None

    def _swap(self, name: str) -> None:
        """Point CURRENT at generation `name` atomically (write, fsync, rename)."""
        temporary = self.root / f"{POINTER}.{os.getpid()}.{uuid.uuid4().hex[:6]}"
        with open(temporary, "w") as handle:
            handle.write(name)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.root / POINTER)

    def _remove_old_generations(self, keep: set[str]) -> None:
        """Delete generations other than `keep`; open readers keep their open files."""
        for path in self.root.glob(GENERATION_PREFIX + "*"):
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)

    # --- locking ------------------------------------------------------------------------

    @contextmanager
    def exclusive(self, blocking: bool = True):
        """Hold the cross-process writer lock (re-entrant within this process)."""
        with self._guard:
            if self._lock_depth == 0:
                self.root.mkdir(parents=True, exist_ok=True)
                handle = open(self.root / LOCK_FILE, "a+")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
                except BlockingIOError:
                    handle.close()
                    raise EngineBusy("another process is writing the index") from None
                self._lock_handle = handle
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
                if self._lock_depth == 0:
                    fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
                    self._lock_handle.close()
                    self._lock_handle = None

    # --- reading ------------------------------------------------------------------------

    def _open_index(self):
        path = self.current_path()
        if path is None:
            raise IndexUnavailable(f"no search index in {self.root}")
        try:
            return whoosh_index.open_dir(str(path))
        except Exception as error:  # EmptyIndexError, unpickling, missing files ...
            raise IndexUnavailable(f"search index {path} unreadable: {error!r}") from error

    def _current_searcher(self):
        """A searcher on the newest committed state of the current generation."""
        name = self.current_generation()
        if name is None:
            raise IndexUnavailable(f"no search index in {self.root}")
        stale = name != self._generation or self._searcher is None
        if not stale:
            try:
                stale = self._ix.latest_generation() != self._searcher.reader().generation()
            except Exception as error:
                raise IndexUnavailable(f"search index unreadable: {error!r}") from error
        if stale:
            # A fresh searcher rather than Searcher.refresh(): refresh() re-uses segment
            # readers and misses deletions committed to an unchanged segment.
            ix = self._ix if name == self._generation and self._ix else self._open_index()
            try:
                searcher = ix.searcher(weighting=BM25F())
            except Exception as error:
                raise IndexUnavailable(f"search index unreadable: {error!r}") from error
            if self._searcher is not None:
                self._searcher.close()
            self._ix, self._searcher, self._generation, self._table = ix, searcher, name, None
        if self._table is None:
            self._table = _FacetTable(self._searcher)
        return self._searcher, self._table

    def close(self) -> None:
        """Release the searcher (tests, shutdown)."""
        with self._guard:
            if self._searcher is not None:
                self._searcher.close()
            self._ix = self._searcher = self._table = self._generation = None

    @property
    def analysis(self) -> GermanAnalysis:
        with self._guard:
            searcher, _ = self._current_searcher()
            return searcher.schema["title"].analyzer.analysis

    def analyse(self, text: str):
        return list(self.analysis.words(text))

    def doc_count(self) -> int:
        with self._guard:
            searcher, _ = self._current_searcher()
            return searcher.doc_count()

    def document_ids(self) -> set[int]:
        with self._guard:
            searcher, _ = self._current_searcher()
            return {int(fields["id"]) for fields in searcher.all_stored_fields()}

    def knows_word(self, word: str) -> bool:
        with self._guard:
            searcher, _ = self._current_searcher()
            return ("spell", word.lower()) in searcher.reader()

    def knows_term(self, term: str) -> bool:
        with self._guard:
            searcher, _ = self._current_searcher()
            reader = searcher.reader()
            return any((field, term) in reader
                       for field in list(FIELD_WEIGHTS) + list(PART_FIELD_WEIGHTS))

    def similar_words(self, word: str, max_distance: int = 2) -> list[tuple[str, int]]:
        with self._guard:
            searcher, _ = self._current_searcher()
            reader = searcher.reader()
            found = []
            for candidate in reader.terms_within("spell", word.lower(), max_distance, prefix=1):
                found.append((candidate, reader.doc_frequency("spell", candidate)))
            return found

    # --- writing ------------------------------------------------------------------------

    @contextmanager
    def writer(self, blocking: bool = True):
        with self.exclusive(blocking):
            ix = self._open_index()
            writer = ix.writer()
            try:
                yield _Writer(writer)
            except BaseException:
                writer.cancel()
                raise
            writer.commit()

    def rebuild(self, documents: Iterable[IndexDocument], lexicon: Iterable[str] = ()) -> int:
        with self.exclusive(True):
            self.root.mkdir(parents=True, exist_ok=True)
            name = f"{GENERATION_PREFIX}{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
            path = self.root / name
            path.mkdir()
            ix = whoosh_index.create_in(str(path), make_schema(GermanAnalysis(lexicon)))
            options = {"limitmb": WRITER_LIMIT_MB}
            if self.procs > 1:
                options.update(procs=self.procs, multisegment=True)
            writer = ix.writer(**options)
            count = 0
            try:
                for document in documents:
                    writer.add_document(**document_fields(document))
                    count += 1
            except BaseException:
                writer.cancel()
                shutil.rmtree(path, ignore_errors=True)
                raise
            writer.commit()
            ix.close()
            previous = self.current_generation()
            self._swap(name)
            self._remove_old_generations(keep={name, previous} - {None})
            return count

    # --- searching ----------------------------------------------------------------------

    def _term_query(self, word: str, weight: float, analysis: GermanAnalysis):
        analysed = analysis.word(word)
        if analysed is None:
            return None, None
        return self._analysed_query(analysed, weight)

    @staticmethod
    def _analysed_query(analysed, weight: float):
        """(Whoosh query, matcher spec) for one analysed word."""
        subqueries = [wq.Term(field, analysed.main, boost=w * weight)
                      for field, w in FIELD_WEIGHTS.items()]
        subqueries += [wq.Term(field, analysed.main, boost=w * weight)
                       for field, w in PART_FIELD_WEIGHTS.items()]
        spec_fields = list(FIELD_WEIGHTS) + list(PART_FIELD_WEIGHTS)
        spec = ("or", [("term", field, analysed.main) for field in spec_fields])
        if len(analysed.parts) >= 2:
            part_queries, part_specs = [], []
            for part in analysed.parts:
                part_queries.append(wq.Or([
                    wq.Term(field, part, boost=w * weight * QUERY_PARTS_WEIGHT)
                    for field, w in {**FIELD_WEIGHTS, **PART_FIELD_WEIGHTS}.items()]))
                part_specs.append(("or", [("term", field, part) for field in spec_fields]))
            subqueries.append(wq.And(part_queries))
            spec = ("or", [spec, ("and", part_specs)])
        return wq.Or(subqueries), spec

    def _alternative_query(self, alternative, analysis):
        words = [analysis.word(word) for word in alternative.words]
        words = [word for word in words if word is not None]
        if not words:
            return None, None
        if len(words) == 1:
            return self._analysed_query(words[0], alternative.weight)
        terms = [word.main for word in words]
        queries = [wq.Phrase(field, terms, boost=FIELD_WEIGHTS[field] * alternative.weight)
                   for field in PHRASE_FIELDS]
        return wq.Or(queries), ("phrase", wq.Or(queries))

    def _build(self, plan: QueryPlan, analysis: GermanAnalysis):
        """Whoosh query plus an equivalent spec for numpy set evaluation."""
        positive, negative, spec_pos, spec_neg = [], [], [], []
        for clause in plan.clauses:
            queries, specs = [], []
            for alternative in clause.alternatives:
                query, spec = self._alternative_query(alternative, analysis)
                if query is not None:
                    queries.append(query)
                    specs.append(spec)
            if not queries:
                continue
            query = queries[0] if len(queries) == 1 else wq.Or(queries)
            spec = specs[0] if len(specs) == 1 else ("or", specs)
            (negative if clause.exclude else positive).append(query)
            (spec_neg if clause.exclude else spec_pos).append(spec)
        if not positive:
            return None, None
        combine = wq.And if plan.match_all else wq.Or
        query = positive[0] if len(positive) == 1 else combine(positive)
        spec = spec_pos[0] if len(spec_pos) == 1 else ("and" if plan.match_all else "or",
                                                        spec_pos)
        if negative:
            query = wq.AndNot(query, wq.Or(negative))
            spec = ("andnot", spec, ("or", spec_neg))
        return query, spec

    def _evaluate(self, spec, table: _FacetTable, searcher) -> np.ndarray:
        """The mask of documents matching `spec` (same semantics as the Whoosh query)."""
        kind = spec[0]
        if kind == "term":
            return table.mask(spec[1], spec[2])
        if kind == "phrase":
            mask = np.zeros(table.size, dtype=bool)
            docs = list(searcher.docs_for_query(spec[1]))
            if docs:
                mask[np.array(docs, dtype=np.int64)] = True
            return mask
        if kind == "andnot":
            return self._evaluate(spec[1], table, searcher) & ~self._evaluate(spec[2], table,
                                                                                 searcher)
        children = spec[1]
        if kind == "or" and all(child[0] == "term" for child in children):
            mask = np.zeros(table.size, dtype=bool)
            for child in children:
                mask[table.ids(child[1], child[2])] = True
            return mask
        masks = [self._evaluate(child, table, searcher) for child in children]
        result = masks[0].copy()
        for mask in masks[1:]:
            if kind == "and":
                result &= mask
            else:
                result |= mask
        return result

    def _filter_mask(self, filters: dict[str, str], table: _FacetTable) -> np.ndarray | None:
        mask = None
        for name, value in filters.items():
            if value in (None, ""):
                continue
            field = "topic_tree" if name == "topic" else name
            term_mask = table.mask(field, str(value))
            mask = term_mask if mask is None else mask & term_mask
        return mask

    def search(self, plan: QueryPlan, *, filters=None, sort="relevance", offset=0, limit=10,
               facets=True) -> EngineResults:
        with self._guard:
            searcher, table = self._current_searcher()
            analysis = searcher.schema["title"].analyzer.analysis
            query, spec = self._build(plan, analysis)
            if query is None:
                return EngineResults(0, [], {name: {} for name in FACET_FIELDS})
            matched = self._evaluate(spec, table, searcher)
            if table.live is not None:
                matched &= table.live
            allowed = None
            filter_mask = self._filter_mask(filters or {}, table)
            if filter_mask is not None:
                matched &= filter_mask
                allowed = set(np.flatnonzero(matched).tolist())
            total = int(np.count_nonzero(matched))
            counts = table.counts(matched) if facets else {}
            hits = []
            if total and offset < total:
                options = {"limit": offset + limit, "filter": allowed}
                if sort == "date":
                    options.update(sortedby="date", reverse=True)
                results = searcher.search(query, **options)
                for hit in results[offset:offset + limit]:
                    stored = hit.fields()
                    # Sorted by date, Whoosh reports the sort key as score: no relevance.
                    score = float(hit.score or 0.0) if sort != "date" else 0.0
                    hits.append(EngineHit(int(stored["id"]), stored["slug"], score))
            return EngineResults(total, hits, counts)


_engines: dict[str, WhooshEngine] = {}
_engines_guard = threading.Lock()


def engine_for(index_dir) -> WhooshEngine:
    """The process-wide engine for `index_dir` (searchers are reused across requests)."""
    key = str(Path(index_dir).resolve())
    with _engines_guard:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = WhooshEngine(key)
        return engine

