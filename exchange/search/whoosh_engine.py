"""The Whoosh engine: lean schema, fast German fields, index generations and facet arrays.

Layout on disk (INDEX_DIR):
    CURRENT          name of the generation searches read (replaced atomically)
    writer.lock      flock held by the one process that writes (apply or rebuild)
    gen-<stamp>/     a complete Whoosh index; a rebuild writes a new one beside it

Whoosh stores the postings (with positions), the spelling terms and the stored
fields, and does the incremental writes. Matching, BM25 scoring per field, facet
counts, filters and the top k are computed with numpy over posting arrays read
block-wise from Whoosh's files and cached per (immutable) segment; Whoosh's own
Python matcher tree was two orders of magnitude slower (see docs/search.md).
"""
import fcntl
import logging
from itertools import chain
from pickle import loads
import math
import os
import re
import shutil
import threading
import time
import uuid
from collections import OrderedDict, defaultdict
from contextlib import contextmanager
from datetime import timezone
from pathlib import Path
from functools import partial
from typing import Iterable, Iterator

import numpy as np
from whoosh import formats, index as whoosh_index
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3PerDocReader, _lenfield
from whoosh import columns
from whoosh.filedb.filestore import FileStorage
from whoosh.fields import COLUMN, ID, KEYWORD, STORED, FieldType, Schema
from whoosh.reading import EmptyReader
from whoosh.system import pack_uint
from whoosh.util.numeric import _length_byte_cache

from . import integrity
from .analysis import GermanAnalysis, GermanAnalyzer, fold
from .engine import (FACET_FIELDS, EngineBusy, EngineHit, EngineResults, IndexDamaged,
                     IndexDocument, IndexUnavailable, IndexWriterSession, QueryPlan,
                     SearchEngine)

log = logging.getLogger(__name__)

#: Whoosh stores field lengths as one byte; this table decodes them.
_LENGTH_TABLE = np.array(_length_byte_cache, dtype=np.float32)

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
#: Body words offered as spelling suggestions: only long ones (title and topic words
#: always). Misspellings that need a suggestion are long words ("Digitalisierng");
#: every body word would make the spelling field 40 % of all postings.
SPELL_BODY_WORD_RE = re.compile(r"\w{8,}")
#: Memory for Whoosh's posting pool per writer process, in MB. Below what a rebuild
#: needs, Whoosh spills sorted runs to temporary files and merges them: at 15,000
#: documents 256 MB gave 392 docs per CPU-second, 1024 MB 733.
WRITER_LIMIT_MB = 1024
#: Cache of per-segment posting arrays, in (segment, field, term) entries.
POSTINGS_CACHE_SIZE = 50_000
#: Phrase results remembered per searcher generation.
PHRASE_CACHE_SIZE = 256
#: Per-segment position lists kept for phrase checks, in (segment, field, term) entries.
VALUE_CACHE_SIZE = 64
#: Terms whose posting arrays are loaded when a generation is opened: the most frequent
#: terms of the body and of the body parts, in every searched field. Without this the
#: first query for a frequent term reads 10,000+ postings block by block from Whoosh's
#: files; in the benchmark those cold reads were a third of all query time.
WARM_TERMS = 150
#: Seconds the warming waits between its steps, so that a search waiting for the engine
#: lock gets it (Python's locks are not fair: a loop re-taking one starves waiters).
WARM_PAUSE = 0.001
#: Facet values returned per facet, the most frequent first (ties: a boundary value
#: may be any of those with the same count). A result list shows a few dozen at most.
FACET_VALUES = 50
#: BM25 parameters (Whoosh's defaults): term-frequency saturation and length norm.
BM25_K1 = 1.2
BM25_B = 0.75


def _cached_length_reader(self, fieldname, column):
    """W3PerDocReader._cached_reader that also remembers that a column does not exist.

    Whoosh 2.7.5 asks the file system (os.stat) once per *posting* of every field
    without a lengths column (ids, keywords, our spell field) while committing a
    segment; measured at a fifth of the whole build time. Behaviour is unchanged.
    """
    try:
        return self._readers[fieldname]
    except KeyError:
        pass
    reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
    self._readers[fieldname] = reader
    return reader


W3PerDocReader._cached_reader = _cached_length_reader


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
    """The lean schema: only id, slug and the plain text are stored; the rest is indexed."""
    return Schema(
        id=ID(unique=True, stored=True),
        slug=STORED(),
        # The plain text the body was indexed from, for snippets: made once here instead
        # of rendering and sanitising each hit's Markdown on every search.
        text=STORED(),
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
        # A column only: sorting needs per-document values, not 16 indexed range terms.
        date=COLUMN(columns.NumericColumn("q")),
    )


def document_fields(document: IndexDocument) -> dict:
    """The Whoosh field values of one document."""
    date = document.date
    if date is not None:
        stamp = int(date.replace(tzinfo=timezone.utc).timestamp() * 1_000_000)  # µs
    else:
        stamp = 0
    fields = {
        "id": str(document.id),
        "slug": document.slug,
        "text": document.body,
        "title": document.title,
        "topics": document.topic_text,
        "body": document.body,
        "meta": f"{document.city_name} {document.contact}".strip(),
        "tparts": f"{document.title}\n{document.topic_text}",
        "bparts": document.body,
        "spell": f"{document.title}\n{document.topic_text}\n"
                 + " ".join(SPELL_BODY_WORD_RE.findall(document.body)),
        "city": document.city or None,
        "kind": document.kind or None,
        "year": document.year or None,
        "topic": " ".join(document.topics) or None,
        "topic_tree": " ".join(document.topic_tree or document.topics) or None,
        "date": stamp,
    }
    return {name: value for name, value in fields.items() if value not in (None, "")}


def _decode_positions(values, rows) -> tuple[np.ndarray, np.ndarray]:
    """(lengths, concatenated positions) of the encoded position lists values[rows].

    Whoosh's Positions format: a 4-byte frequency, then the pickled list of position
    deltas (its final STOP may be stripped, as Whoosh's decode_positions allows). Decoded here in one pass with numpy instead of
    Python sets per document (phrases of frequent words: 10,000+ candidates).
    """
    codes = [loads(value[4:] if value.endswith(b".") else value[4:] + b".")
             for value in (values[row] for row in rows.tolist())]
    lengths = np.fromiter(map(len, codes), dtype=np.int64, count=len(codes))
    deltas = np.fromiter(chain.from_iterable(codes), dtype=np.int64, count=int(lengths.sum()))
    running = np.cumsum(deltas)
    firsts = np.cumsum(lengths) - lengths
    before = running[firsts] - deltas[firsts] if len(deltas) else running[:0]
    return lengths, running - np.repeat(before, lengths)


class _Arrays:
    """Posting, length and column arrays of one searcher generation, as numpy arrays.

    Per-segment arrays are cached across generations in `segment_cache`. They hold a
    segment's raw postings, deleted documents included, so they depend only on the
    segment's immutable files; deletions (which a commit adds to an existing segment)
    are applied through the `live` mask of each generation. An index commit thus only
    costs loading the arrays of the new, small segment.
    """

    def __init__(self, searcher, segment_cache: "OrderedDict", value_cache: "OrderedDict"):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.size = self.reader.doc_count_all()
        self.leaves = []
        for segreader, offset in self.reader.leaf_readers():
            segment = segreader.segment()
            self.leaves.append((segreader, offset, segment.segment_id() if segment else id(segreader)))
        self.live = None
        if self.reader.has_deletions():
            self.live = np.ones(self.size, dtype=bool)
            for segreader, offset, _ in self.leaves:
                deleted = list(segreader.segment().deleted_docs() or ())
                if deleted:
                    self.live[np.array(deleted, dtype=np.int64) + offset] = False
        self._segment_cache = segment_cache
        self._value_cache = value_cache
        self._postings = {}
        self._scores = {}
        self._phrases = {}
        self._lengths = {}
        self._averages = {}
        self._dates = None
        self._facet_pairs = {}

    # --- per segment, cached across generations ------------------------------------------

    def _segment_entry(self, key, load, cache=None, limit=POSTINGS_CACHE_SIZE):
        cache = self._segment_cache if cache is None else cache
        found = cache.get(key)
        if found is None:
            found = load()
            cache[key] = found
            if len(cache) > limit:
                cache.popitem(last=False)
        else:
            cache.move_to_end(key)
        return found

    @staticmethod
    def _read_postings(segreader, field, term):
        ids, weights = _Arrays._drain(segreader, field, term, "weights")
        return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float32)

    @staticmethod
    def _drain(segreader, field: str, term: str, payload: str) -> tuple[list, list]:
        """All document numbers of a term in one segment and their `payload` ("weights"
        or "values"), deleted documents included.

        The segment's posting files never change, but Whoosh's `segreader.postings()`
        hides the documents deleted so far, and every update deletes the old copy: arrays
        read through it before and after an edit no longer line up. So the raw postings
        are read here, cached per segment, and deletions applied through `_Arrays.live`.
        Whoosh's W3 leaf matcher is read a whole block (up to 128 postings) at a time.
        """
        if isinstance(segreader, EmptyReader):  # an index without segments
            return [], []
        terms = segreader._terms
        tbytes = segreader._text_to_bytes(field, term)
        if (field, tbytes) not in terms:
            return [], []
        matcher = terms.matcher(field, tbytes, segreader.schema[field].format)
        read_payload = "_read_" + payload
        if not all(hasattr(matcher, name) for name in ("_read_ids", read_payload, "_lastblock")):
            raise RuntimeError(f"whoosh-reloaded's posting reader changed ({type(matcher)}): "
                               "exchange/search/whoosh_engine.py must be adapted")
        ids, items = [], []
        while matcher.is_active():
            matcher._read_ids()
            getattr(matcher, read_payload)()
            ids.extend(matcher._ids[:matcher._blocklength])
            items.extend(getattr(matcher, "_" + payload)[:matcher._blocklength])
            if matcher._lastblock:
                break
            matcher._next_block()
        return ids, items

    def postings(self, field: str, term: str):
        """(document numbers, term frequencies) of `term` in `field`, all segments."""
        key = (field, term)
        found = self._postings.get(key)
        if found is not None:
            return found
        id_parts, weight_parts = [], []
        for segreader, offset, segid in self.leaves:
            ids, weights = self._segment_entry(
                ("p", segid, field, term), lambda: self._read_postings(segreader, field, term))
            if len(ids):
                id_parts.append(ids + offset)
                weight_parts.append(weights)
        if not id_parts:
            found = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
        elif len(id_parts) == 1:
            found = (id_parts[0], weight_parts[0])
        else:
            found = (np.concatenate(id_parts), np.concatenate(weight_parts))
        self._postings[key] = found
        return found

    def ids(self, field: str, term: str) -> np.ndarray:
        return self.postings(field, term)[0]

    def mask(self, field: str, term: str) -> np.ndarray:
        mask = np.zeros(self.size, dtype=bool)
        mask[self.ids(field, term)] = True
        return mask

    def phrase_mask(self, field: str, terms: tuple[str, ...]) -> np.ndarray:
        """Documents containing the phrase (consecutive non-stop words); cached.

        Candidates are the documents with all terms (numpy); only their positions are
        decoded, read block-wise from Whoosh's posting files. Whoosh's own phrase
        matcher spent ~0.2 s on a phrase of two common words in 20,000 documents.
        """
        key = (field, terms)
        found = self._phrases.get(key)
        if found is None:
            found = self._find_phrase(field, terms)
            if len(self._phrases) >= PHRASE_CACHE_SIZE:
                self._phrases.pop(next(iter(self._phrases)))
            self._phrases[key] = found
        return found.copy()

    def _find_phrase(self, field: str, terms: tuple[str, ...]) -> np.ndarray:
        found = np.zeros(self.size, dtype=bool)
        candidates = None
        for term in terms:
            mask = self.mask(field, term)
            candidates = mask if candidates is None else candidates & mask
        if self.live is not None:
            candidates &= self.live
        candidates = np.flatnonzero(candidates)
        if not len(candidates):
            return found
        decode = self.reader.schema[field].format.decode_positions
        for segreader, offset, segid in self.leaves:
            count = segreader.doc_count_all()
            local = candidates[(candidates >= offset) & (candidates < offset + count)] - offset
            if not len(local):
                continue
            sources = []
            for term in terms:
                ids, values = self._segment_entry(
                    ("v", segid, field, term),
                    lambda: self._read_values(segreader, field, term), self._value_cache,
                    VALUE_CACHE_SIZE)
                sources.append((np.searchsorted(ids, local), values))
            if isinstance(self.reader.schema[field].format, formats.Positions):
                keys = None
                for shift, (index, values) in enumerate(sources):
                    lengths, positions = _decode_positions(values, index)
                    term_keys = (np.repeat(local, lengths) << 32) + positions - shift
                    keys = term_keys if keys is None else keys[np.isin(keys, term_keys)]
                    if not len(keys):
                        break
                if keys is not None and len(keys):
                    found[np.unique(keys >> 32) + offset] = True
                continue
            for row, docnum in enumerate(local.tolist()):
                index, values = sources[0]
                starts = set(decode(values[index[row]]))
                for shift in range(1, len(terms)):
                    index, values = sources[shift]
                    starts &= {position - shift for position in decode(values[index[row]])}
                    if not starts:
                        break
                if starts:
                    found[docnum + offset] = True
        return found

    @staticmethod
    def _read_values(segreader, field, term):
        """(document numbers, encoded positions) of a term's postings in one segment."""
        ids, values = _Arrays._drain(segreader, field, term, "values")
        return np.array(ids, dtype=np.int64), values

    def lengths(self, field: str) -> np.ndarray:
        """Field length (in terms) of every document."""
        found = self._lengths.get(field)
        if found is not None:
            return found
        parts = []
        for segreader, offset, segid in self.leaves:
            parts.append(self._segment_entry(("l", segid, field),
                                             lambda: self._read_lengths(segreader, field)))
        found = np.concatenate(parts) if len(parts) > 1 else (parts[0] if parts else
                                                               np.zeros(0, np.float32))
        self._lengths[field] = found
        return found

    @staticmethod
    def _read_lengths(segreader, field):
        count = segreader.doc_count_all()
        column = segreader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
        if column is None:
            return np.zeros(count, dtype=np.float32)
        codes = np.fromiter((column[docnum] for docnum in range(count)), dtype=np.int64,
                            count=count)
        return _LENGTH_TABLE[codes]

    def average_length(self, field: str) -> float:
        found = self._averages.get(field)
        if found is None:
            total = self.reader.field_length(field)
            found = self._averages[field] = (total / self.size) if self.size else 1.0
        return found or 1.0

    def dates(self) -> np.ndarray:
        if self._dates is None:
            parts = []
            for segreader, offset, segid in self.leaves:
                parts.append(self._segment_entry(("d", segid), lambda: self._read_dates(segreader)))
            self._dates = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        return self._dates

    @staticmethod
    def _read_dates(segreader):
        count = segreader.doc_count_all()
        if not segreader.has_column("date"):
            return np.zeros(count, dtype=np.int64)
        column = segreader.column_reader("date")
        return np.fromiter((column[docnum] for docnum in range(count)), dtype=np.int64,
                           count=count)

    # --- scoring ---------------------------------------------------------------------------

    def term_scores(self, field: str, term: str, boost: float):
        """(ids, BM25 scores) of `term` in `field`, times `boost` (base scores cached)."""
        key = (field, term)
        found = self._scores.get(key)
        if found is None:
            ids, tf = self.postings(field, term)
            if len(ids):
                df = len(ids)
                idf = math.log(1.0 + (self.size - df + 0.5) / (df + 0.5))
                lengths = self.lengths(field)[ids]
                norm = BM25_K1 * (1.0 - BM25_B + BM25_B * lengths / self.average_length(field))
                found = (ids, (idf * tf * (BM25_K1 + 1.0) / (tf + norm)).astype(np.float32))
            else:
                found = (ids, tf)
            self._scores[key] = found
        ids, scores = found
        return ids, scores * boost

    def frequent_terms(self, terms_per_field: int) -> list[str]:
        """The most frequent terms of the body and the body parts (warming candidates)."""
        terms = []
        indexed = set(self.reader.indexed_field_names())
        for field in ("body", "bparts"):
            if field in indexed:
                terms += [term.decode("utf-8") if isinstance(term, bytes) else term
                          for _, term in self.reader.most_frequent_terms(field, terms_per_field)]
        return list(dict.fromkeys(terms))

    def same_folded_words(self, word: str) -> set[str]:
        """Spelling-field words that fold like `word` (folded lexicon cached per segment)."""
        folded = fold(word)
        found = set()
        for segreader, _, segid in self.leaves:
            by_fold = self._segment_entry(("f", segid), lambda: self._read_folded(segreader))
            found |= by_fold.get(folded, set())
        return found

    @staticmethod
    def _read_folded(segreader) -> dict[str, set[str]]:
        by_fold = defaultdict(set)
        if "spell" in segreader.indexed_field_names():
            for term in segreader.lexicon("spell"):
                term = term.decode("utf-8") if isinstance(term, bytes) else term
                by_fold[fold(term)].add(term)
        return dict(by_fold)

    def warm_steps(self, terms_per_field: int) -> Iterator:
        """Steps that load what searches need: facet pairs, dates, folded words, then the
        scores of the most frequent terms in every searched field. Each step is short,
        so a caller can take the engine lock per step."""
        for name in FACET_FIELDS:
            yield partial(self.facet_pairs, name)
        yield self.dates
        yield partial(self.same_folded_words, "")
        fields = list(FIELD_WEIGHTS) + list(PART_FIELD_WEIGHTS)
        for term in self.frequent_terms(terms_per_field):
            yield partial(self._warm_term, fields, term)

    def _warm_term(self, fields, term: str) -> None:
        for field in fields:
            self.term_scores(field, term, 1.0)

    def facet_pairs(self, name: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(values, document numbers, value numbers) of all postings of a facet field.

        One gather and one bincount per facet instead of one per facet value. Each
        segment's pairs are cached with the segment (its values and postings never
        change); a generation only merges them. Reading the facet lexicon and the
        postings of every value anew after each commit took 0.8 s at 9,000 cities.
        """
        found = self._facet_pairs.get(name)
        if found is None:
            parts = [(offset, self._segment_entry(("facet", segid, name),
                                                  lambda: self._read_facet(segreader, name)))
                     for segreader, offset, segid in self.leaves]
            values = sorted(set().union(*(part[0] for _, part in parts)))
            number = {value: index for index, value in enumerate(values)}
            docs, codes = [], []
            for offset, (segment_values, segment_docs, segment_codes) in parts:
                if len(segment_docs):
                    remap = np.array([number[value] for value in segment_values],
                                     dtype=np.int32)
                    docs.append(segment_docs + offset)
                    codes.append(remap[segment_codes])
            found = (values,
                     np.concatenate(docs) if docs else np.empty(0, np.int64),
                     np.concatenate(codes) if codes else np.empty(0, np.int32))
            self._facet_pairs[name] = found
        return found

    @staticmethod
    def _read_facet(segreader, name: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """One segment's facet values, and (document, value number) of their postings."""
        if isinstance(segreader, EmptyReader) or name not in segreader.indexed_field_names():
            return [], np.empty(0, np.int64), np.empty(0, np.int32)
        values = [term.decode("utf-8") if isinstance(term, bytes) else term
                  for term in segreader.lexicon(name)]
        docs, codes = [], []
        for index, value in enumerate(values):
            ids, _ = _Arrays._drain(segreader, name, value, "weights")
            docs.append(np.array(ids, dtype=np.int64))
            codes.append(np.full(len(ids), index, dtype=np.int32))
        return (values,
                np.concatenate(docs) if docs else np.empty(0, np.int64),
                np.concatenate(codes) if codes else np.empty(0, np.int32))

    def counts(self, matched: np.ndarray) -> dict[str, dict[str, int]]:
        """The FACET_VALUES most frequent values -> number of matched documents, per facet.

        Counts are over all matches; only the list is cut (at Germany scale a broad
        query matches pages of thousands of cities, and sorting all of them per query
        cost more than the query).
        """
        result = {}
        for name in FACET_FIELDS:
            values, docs, codes = self.facet_pairs(name)
            numbers = np.bincount(codes[matched[docs]], minlength=len(values))
            present = np.flatnonzero(numbers)
            if len(present) > FACET_VALUES:
                present = present[np.argpartition(-numbers[present], FACET_VALUES - 1)
                                  [:FACET_VALUES]]
            counts = {values[number]: int(numbers[number]) for number in present}
            result[name] = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        return result


def _abandon(writer) -> None:
    """Cancel a Whoosh writer whose batch or commit failed, and release its lock.

    Whoosh's commit does not release the index's write lock when it fails (a full
    disk half-way through a segment): every later writer then raised LockError until
    the process restarted. Files of the failed commit are not in any table of contents
    and are removed by Whoosh's next commit.
    """
    try:
        if not writer.is_closed:
            writer.cancel()
    except Exception as error:  # a writer that failed half-way may not cancel cleanly
        log.warning("search index writer not cancelled cleanly: %r", error)
    lock = getattr(writer, "writelock", None)
    if lock is not None and not writer.is_closed:
        try:
            lock.release()
        except Exception as error:
            log.warning("search index write lock not released: %r", error)


class _Writer(IndexWriterSession):
    """A batch of changes; the last change per document id wins.

    Whoosh's writer cannot delete or replace a document it buffered itself (its
    deletions look only at committed segments): an update then a delete of the same id
    in one batch kept the document, and two updates indexed it twice. So changes are
    collected here and handed to Whoosh once per id when the batch commits.
    """

    def __init__(self, writer):
        self._writer = writer
        self._changes: dict[int, IndexDocument | None] = {}

    def update(self, document: IndexDocument) -> None:
        self._changes.pop(document.id, None)
        self._changes[document.id] = document

    def delete(self, document_id: int) -> None:
        self._changes.pop(document_id, None)
        self._changes[document_id] = None

    def flush(self) -> None:
        """Hand the collected changes to Whoosh's writer (before its commit)."""
        for document_id, document in self._changes.items():
            if document is None:
                self._writer.delete_by_term("id", str(document_id))
            else:
                self._writer.update_document(**document_fields(document))
        self._changes.clear()


class WhooshEngine(SearchEngine):
    """SearchEngine on Whoosh with generations swapped through the CURRENT pointer."""

    def __init__(self, index_dir, procs: int = 1, limitmb: int | None = None,
                 warm_terms: int = WARM_TERMS, warm_in_background: bool = True,
                 use_mmap: bool = False):
        self.root = Path(index_dir)
        #: Whoosh memory-maps segment files by default; a segment truncated or damaged
        #: under a running process then kills it with SIGBUS. Read through file handles,
        #: damage is an exception we can answer (see docs/search.md for the cost).
        self.use_mmap = use_mmap
        self.warm_terms = warm_terms
        self.warm_in_background = warm_in_background
        self.procs = procs
        self.limitmb = limitmb or WRITER_LIMIT_MB
        self._guard = threading.RLock()
        self._write_guard = threading.RLock()
        self._lock_depth = 0
        self._lock_handle = None
        self._generation = None
        self._ix = None
        self._searcher = None
        self._table = None
        self._segment_cache = OrderedDict()
        self._value_cache = OrderedDict()
        #: Generations found damaged in this process; never read again.
        self._damaged: set[str] = set()

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
        """Hold the cross-process writer lock (re-entrant within this process).

        Threads of this process queue on their own lock, not on the search guard: a
        rebuild in a background thread must not hold up searches.
        """
        with self._write_guard:
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

    def _open_index(self, name: str | None = None):
        """Open generation `name` (default: CURRENT) once its files have their sizes."""
        name = name or self.current_generation()
        if name is None:
            raise IndexUnavailable(f"no search index in {self.root}")
        if name in self._damaged:
            raise IndexDamaged(f"search index {name} is damaged")
        path = self.root / name
        self._check_sizes(path)
        try:
            return FileStorage(str(path), supports_mmap=self.use_mmap).open_index()
        except Exception as error:  # EmptyIndexError, unpickling, missing files ...
            raise IndexDamaged(f"search index {path} unreadable: {error!r}") from error

    @staticmethod
    def _check_sizes(path: Path) -> None:
        problems = integrity.size_problems(path)
        if problems:
            raise IndexDamaged(f"search index {path} damaged: {'; '.join(problems[:3])}")

    def _fallback_generations(self, current: str) -> list[str]:
        """Other complete generations, newest first (a damaged CURRENT's stand-ins).

        Complete means its first commit wrote a manifest: a rebuild still in progress
        has none yet, and trying it would mark it damaged before it is swapped in.
        Newest by the manifest's time, not the name: two rebuilds in one second have
        names that differ only in their random part.
        """
        found = []
        for path in self.root.glob(GENERATION_PREFIX + "*"):
            if path.name == current or path.name in self._damaged:
                continue
            try:
                found.append(((path / integrity.MANIFEST_NAME).stat().st_mtime_ns, path.name))
            except OSError:  # no manifest: being built, or abandoned
                continue
        return [name for _, name in sorted(found, reverse=True)]

    def _current_searcher(self):
        """A searcher on the newest committed state of the current generation.

        When CURRENT is damaged, the newest intact earlier generation is read instead
        (stale, but searches keep answering until the worker has rebuilt the index).
        """
        current = self.current_generation()
        if current is None:
            raise IndexUnavailable(f"no search index in {self.root}")
        candidates = [] if current in self._damaged else [current]
        for name in candidates + self._fallback_generations(current):
            try:
                return self._searcher_on(name)
            except IndexDamaged as error:
                self._mark_damaged(name, error)
        raise IndexDamaged(f"no readable search index in {self.root} "
                           f"(damaged: {', '.join(sorted(self._damaged))})")

    def _searcher_on(self, name: str):
        stale = name != self._generation or self._searcher is None
        if not stale:
            try:
                stale = self._ix.latest_generation() != self._searcher.reader().generation()
            except Exception as error:
                raise IndexDamaged(f"search index unreadable: {error!r}") from error
        if stale:
            # A fresh searcher rather than Searcher.refresh(): refresh() re-uses segment
            # readers and misses deletions committed to an unchanged segment.
            ix = self._ix if name == self._generation and self._ix else self._open_index(name)
            self._check_sizes(self.root / name)  # a commit may have added segments
            try:
                searcher = ix.searcher()
                table = _Arrays(searcher, self._segment_cache, self._value_cache)
            except Exception as error:
                raise IndexDamaged(f"search index unreadable: {error!r}") from error
            if self._searcher is not None:
                self._searcher.close()
            new_generation = name != self._generation
            self._ix, self._searcher, self._generation, self._table = ix, searcher, name, table
            if new_generation and self.warm_in_background and self.warm_terms:
                threading.Thread(target=self._warm, args=(self._table,), daemon=True,
                                 name="search-warm").start()
        return self._searcher, self._table

    def _mark_damaged(self, name: str, error: Exception) -> None:
        """Never read generation `name` again in this process (the worker rebuilds it)."""
        log.error("search index generation %s is damaged, not read again: %s", name, error)
        self._damaged.add(name)
        if self._generation == name:
            if self._searcher is not None:
                try:
                    self._searcher.close()
                except Exception:  # a damaged reader may fail to close; it is dropped
                    pass
            self._ix = self._searcher = self._table = self._generation = None

    def _read(self, read):
        """read(searcher, arrays) on the generation searches read.

        An exception while reading is damage when the generation's files no longer
        match their checksums (or have none): then that generation is marked damaged
        and the read is repeated on the next one. Otherwise it is a bug of ours and
        raised as it is.
        """
        with self._guard:
            while True:
                searcher, arrays = self._current_searcher()
                name = self._generation
                try:
                    return read(searcher, arrays)
                except IndexUnavailable:
                    raise
                except Exception as error:
                    problems = integrity.verify(self.root / name)
                    if not problems:
                        raise
                    self._mark_damaged(name, IndexDamaged(
                        f"{error!r} reading {name}; {'; '.join(problems[:3])}"))

    def health(self) -> dict:
        """The generation CURRENT names, the one searches read, and damaged ones."""
        with self._guard:
            try:
                self._current_searcher()
            except IndexUnavailable:
                pass
            current = self.current_generation()
            return {"current": current, "serving": self._generation,
                    "stale": self._generation is not None and self._generation != current,
                    "damaged": sorted(self._damaged)}

    def verify(self) -> list[str]:
        """Problems of the current generation's files against their checksums."""
        path = self.current_path()
        return integrity.verify(path) if path else ["no current generation"]

    def warm(self) -> int:
        """Load facets and the frequent terms' arrays of the current generation now;
        returns the number of steps done.

        Takes the engine lock per step like the background warming, so a web process
        warming at start keeps answering searches (holding it throughout made every
        search of a fresh worker wait ~5 s at 50,000 experiences).
        """
        with self._guard:
            _, table = self._current_searcher()
        return self._warm(table)

    def _warm(self, table: "_Arrays") -> int:
        """Warming of a newly opened generation, one step (a facet, a term) at a time.

        Takes the engine lock per step, so searches interleave; stops when the
        searcher was replaced or closed. Segment arrays stay cached across commits,
        so only a new generation (rebuild, process start) is warmed.
        """
        steps = table.warm_steps(self.warm_terms)
        done = 0
        try:
            while True:
                with self._guard:
                    if self._table is not table:
                        return done
                    step = next(steps, None)  # reads the lexicon: under the lock too
                    if step is None:
                        return done
                    step()
                done += 1
                time.sleep(WARM_PAUSE)
        except Exception as error:  # a closed or replaced searcher: the next opens anew
            log.debug("search index warming stopped: %r", error)
        return done

    def close(self) -> None:
        """Release the searcher (tests, shutdown)."""
        with self._guard:
            if self._searcher is not None:
                self._searcher.close()
            self._ix = self._searcher = self._table = self._generation = None

    @property
    def analysis(self) -> GermanAnalysis:
        return self._read(lambda searcher, _: searcher.schema["title"].analyzer.analysis)

    def analyse(self, text: str):
        return list(self.analysis.words(text))

    def doc_count(self) -> int:
        return self._read(lambda searcher, _: searcher.doc_count())

    def document_ids(self) -> set[int]:
        return self._read(lambda searcher, _: {int(fields["id"])
                                               for fields in searcher.all_stored_fields()})

    def knows_word(self, word: str) -> bool:
        return self._read(lambda searcher, _: ("spell", word.lower()) in searcher.reader())

    def knows_term(self, term: str) -> bool:
        fields = list(FIELD_WEIGHTS) + list(PART_FIELD_WEIGHTS)
        return self._read(lambda searcher, _: any((field, term) in searcher.reader()
                                                  for field in fields))

    def same_folded_words(self, word: str) -> set[str]:
        return self._read(lambda _, table: table.same_folded_words(word))

    def similar_words(self, word: str, max_distance: int = 2) -> list[tuple[str, int]]:
        def read(searcher, _):
            reader = searcher.reader()
            return [(candidate, reader.doc_frequency("spell", candidate))
                    for candidate in reader.terms_within("spell", word.lower(), max_distance,
                                                         prefix=1)]
        return self._read(read)

    # --- writing ------------------------------------------------------------------------

    @contextmanager
    def writer(self, blocking: bool = True):
        with self.exclusive(blocking):
            name = self.current_generation()
            ix = self._open_index(name)
            writer = ix.writer()
            try:
                session = _Writer(writer)
                yield session
                session.flush()
                writer.commit()
            except BaseException:
                _abandon(writer)
                raise
            integrity.write_manifest(self.root / name)

    def rebuild(self, documents: Iterable[IndexDocument], lexicon: Iterable[str] = ()) -> int:
        with self.exclusive(True):
            self.root.mkdir(parents=True, exist_ok=True)
            name = f"{GENERATION_PREFIX}{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
            path = self.root / name
            path.mkdir()
            ix = whoosh_index.create_in(str(path), make_schema(GermanAnalysis(lexicon)))
            options = {"limitmb": self.limitmb}
            if self.procs > 1:
                options.update(procs=self.procs, multisegment=True)
            writer = ix.writer(**options)
            count = 0
            try:
                for document in documents:
                    writer.add_document(**document_fields(document))
                    count += 1
                writer.commit()
                ix.close()
                integrity.write_manifest(path)
            except BaseException:
                _abandon(writer)
                shutil.rmtree(path, ignore_errors=True)
                raise
            previous = self.current_generation()
            if previous and (previous in self._damaged
                             or integrity.verify(self.root / previous)):
                previous = None  # keep no damaged generation as a stand-in
            self._swap(name)
            self._remove_old_generations(keep={name, previous} - {None})
            return count

    # --- searching ----------------------------------------------------------------------

    @staticmethod
    def _word_spec(analysed, weight: float):
        """A word matches as a whole word in any field, or by all of its compound parts."""
        fields = {**FIELD_WEIGHTS, **PART_FIELD_WEIGHTS}
        spec = ("or", [("term", field, analysed.main, w * weight) for field, w in fields.items()])
        if len(analysed.parts) >= 2:
            part_specs = [("or", [("term", field, part, w * weight * QUERY_PARTS_WEIGHT)
                                  for field, w in fields.items()])
                          for part in analysed.parts]
            spec = ("or", [spec, ("and", part_specs)])
        return spec

    def _alternative_spec(self, alternative, analysis):
        words = [analysis.word(word) for word in alternative.words]
        words = [word for word in words if word is not None]
        if not words:
            return None
        if len(words) == 1:
            return self._word_spec(words[0], alternative.weight)
        terms = tuple(word.main for word in words)
        return ("or", [("phrase", field, terms, FIELD_WEIGHTS[field] * alternative.weight)
                       for field in PHRASE_FIELDS])

    def _plan_spec(self, plan: QueryPlan, analysis: GermanAnalysis):
        """The plan as a tree of ("term" | "phrase" | "or" | "and" | "andnot") nodes."""
        positive, negative = [], []
        for clause in plan.clauses:
            specs = [spec for spec in (self._alternative_spec(alternative, analysis)
                                       for alternative in clause.alternatives) if spec]
            if not specs:
                continue
            spec = specs[0] if len(specs) == 1 else ("or", specs)
            (negative if clause.exclude else positive).append(spec)
        if not positive:
            return None
        spec = positive[0] if len(positive) == 1 else ("and" if plan.match_all else "or",
                                                        positive)
        if negative:
            spec = ("andnot", spec, ("or", negative))
        return spec

    def _evaluate(self, spec, arrays: _Arrays):
        """(mask of matching documents, their scores) for a spec tree (BM25 per field)."""
        kind = spec[0]
        size = arrays.size
        if kind == "term":
            ids, scores = arrays.term_scores(spec[1], spec[2], spec[3])
            mask = np.zeros(size, dtype=bool)
            mask[ids] = True
            score = np.zeros(size, dtype=np.float32)
            score[ids] = scores
            return mask, score
        if kind == "phrase":
            _, field, terms, boost = spec
            mask = np.zeros(size, dtype=bool)
            score = np.zeros(size, dtype=np.float32)
            if all(len(arrays.ids(field, term)) for term in terms):
                mask = arrays.phrase_mask(field, terms)
                if mask.any():
                    for term in terms:
                        ids, scores = arrays.term_scores(field, term, boost)
                        score[ids] += scores
                    score *= mask
            return mask, score
        if kind == "andnot":
            mask, score = self._evaluate(spec[1], arrays)
            excluded, _ = self._evaluate(spec[2], arrays)
            mask &= ~excluded
            return mask, score * mask
        if kind == "or":
            mask = np.zeros(size, dtype=bool)
            score = np.zeros(size, dtype=np.float32)
            for child in spec[1]:
                if child[0] == "term":  # the common case, without dense temporaries
                    ids, scores = arrays.term_scores(child[1], child[2], child[3])
                    mask[ids] = True
                    score[ids] += scores
                else:
                    child_mask, child_score = self._evaluate(child, arrays)
                    mask |= child_mask
                    score += child_score
            return mask, score
        # "and"
        mask, score = None, None
        for child in spec[1]:
            child_mask, child_score = self._evaluate(child, arrays)
            if mask is None:
                mask, score = child_mask, child_score
            else:
                mask &= child_mask
                score += child_score
        return mask, score * mask

    def _filter_mask(self, filters: dict[str, str], arrays: _Arrays) -> np.ndarray | None:
        mask = None
        for name, value in filters.items():
            if value in (None, ""):
                continue
            field = "topic_tree" if name == "topic" else name
            term_mask = arrays.mask(field, str(value))
            mask = term_mask if mask is None else mask & term_mask
        return mask

    def search(self, plan: QueryPlan, *, filters=None, sort="relevance", offset=0, limit=10,
               facets=True) -> EngineResults:
        def read(searcher, arrays):
            return self._search(searcher, arrays, plan, filters, sort, offset, limit, facets)

        with self._guard:
            result = self._read(read)
            result.stale = self._generation != self.current_generation()
            return result

    def _search(self, searcher, arrays, plan, filters, sort, offset, limit, facets):
        analysis = searcher.schema["title"].analyzer.analysis
        spec = self._plan_spec(plan, analysis)
        if spec is None:
            return EngineResults(0, [], {name: {} for name in FACET_FIELDS})
        mask, score = self._evaluate(spec, arrays)
        if arrays.live is not None:
            mask &= arrays.live
        filter_mask = self._filter_mask(filters or {}, arrays)
        if filter_mask is not None:
            mask &= filter_mask
        candidates = np.flatnonzero(mask)
        total = len(candidates)
        counts = arrays.counts(mask) if facets else {}
        wanted = offset + limit
        if sort == "date":
            keys = arrays.dates()[candidates]
            order = np.lexsort((candidates, -keys))[:wanted]
        else:
            scores = score[candidates]
            if total > wanted:
                top = np.argpartition(-scores, wanted - 1)[:wanted]
            else:
                top = np.arange(total)
            order = top[np.lexsort((candidates[top], -scores[top]))]
        hits = []
        for position in order[offset:wanted]:
            docnum = int(candidates[position])
            stored = searcher.stored_fields(docnum)
            hits.append(EngineHit(int(stored["id"]), stored["slug"], float(score[docnum]),
                                  stored.get("text")))
        return EngineResults(total, hits, counts)


_engines: dict[str, WhooshEngine] = {}
_engines_guard = threading.Lock()


def engine_for(index_dir, procs: int = 1) -> WhooshEngine:
    """The process-wide engine for `index_dir` (searchers are reused across requests)."""
    key = str(Path(index_dir).resolve())
    with _engines_guard:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = WhooshEngine(key)
        engine.procs = max(1, int(procs))
        return engine

