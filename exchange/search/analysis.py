"""German analysis chain: tokenize, lower-case, fold umlauts, drop stop words, stem, split compounds.

Every raw word goes through `GermanAnalysis.word()` once per process (cached), which
returns an `AnalyzedWord`: the stemmed whole word (`main`), the stems of its compound
parts (`parts`) and its lower-cased surface form for spelling suggestions (`surface`).
The Whoosh analyzer classes at the bottom wrap this for Whoosh; our own index fields
(see whoosh_engine.py) call it directly, without Token objects, which is what makes
indexing fast.
"""
import re
import unicodedata
from dataclasses import dataclass

import pyphen
import Stemmer
from whoosh.analysis import Analyzer, Token
from whoosh.lang.stopwords import stoplists

from .lexicon import curated_words

#: A word: letters/digits, optionally joined by hyphens or dots ("E-Akte",
#: "Dokumenten-Management-System", "muenchen.digital"); joined words stay one token.
WORD_RE = re.compile(r"\w+(?:[-.]\w+)*", re.UNICODE)
#: Separators inside one token that mark explicit compound parts.
JOINER_RE = re.compile(r"[-.]")
#: German linking elements (Fugenelemente) allowed between two compound parts.
LINKING_ELEMENTS = ("", "s", "es", "n", "en", "er", "e")
#: Words shorter than this are never split: real German compounds are longer.
MIN_COMPOUND_LENGTH = 8
#: Shortest compound part taken from topic names or the corpus (curated parts may be 3).
MIN_PART_LENGTH = 4
MIN_CURATED_PART_LENGTH = 3
#: Shortest surface word offered as a spelling suggestion.
MIN_SPELL_LENGTH = 4
#: Upper bound of cached words; cleared when reached (the German vocabulary of our
#: corpora is far smaller, so this only guards against pathological input).
CACHE_LIMIT = 300_000
#: Texts whose analysis is remembered (the fields of one document share texts).
RECENT_TEXTS = 8

#: GermanAnalysis.seen() of a word not analysed yet in this process.
UNSEEN = object()

STOP_WORDS = frozenset(stoplists["de"]) | frozenset({"dass", "daß", "sowie", "bzw", "z", "b"})

_UMLAUTS = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})
#: "ae", "oe", "ue" are umlaut transcriptions except after a vowel or q: "Steuer",
#: "neue", "Feuer", "Frauen", "Quelle" keep their letters, "Buergerbuero" becomes
#: "burgerburo" like "Bürgerbüro".
_TRANSCRIBED = re.compile(r"(?<![aeiouyq])([aou])e")


def fold(word: str) -> str:
    """Lower-case and fold umlauts, ß and accents: Bürgerbüro, Buergerbuero -> burgerburo."""
    word = word.lower().translate(_UMLAUTS)
    word = _TRANSCRIBED.sub(r"\1", word)
    if not word.isascii():
        word = unicodedata.normalize("NFKD", word)
        word = "".join(char for char in word if not unicodedata.combining(char))
    return word


@dataclass(frozen=True)
class AnalyzedWord:
    """The index terms of one raw word."""

    main: str
    parts: tuple[str, ...]
    surface: str | None


class GermanAnalysis:
    """Folding, stemming and compound splitting with a per-word cache.

    `lexicon` holds the known compound parts (folded). It is part of the pickled index
    schema, so an index always analyses queries with the lexicon it was built with.
    """

    def __init__(self, lexicon=()):
        words = set(curated_words())
        self.curated = frozenset(fold(word) for word in words)
        self.lexicon = frozenset(fold(word) for word in lexicon
                                 if len(word) >= MIN_PART_LENGTH) | self.curated
        self._setup()

    def _setup(self):
        self._stemmer = Stemmer.Stemmer("german")
        self._hyphenator = pyphen.Pyphen(lang="de_DE")
        self._cache = {}
        self._letters = {}
        self._stem_cache = {}
        self._texts = {}
        self.lexicon_stems = frozenset(self.stem(word) for word in self.lexicon)
        self.curated_stems = frozenset(self.stem(word) for word in self.curated)

    def __getstate__(self):
        return {"curated": self.curated, "lexicon": self.lexicon}

    def __setstate__(self, state):
        self.curated = state["curated"]
        self.lexicon = state["lexicon"]
        self._setup()

    def __eq__(self, other):
        return isinstance(other, GermanAnalysis) and self.lexicon == other.lexicon

    def __hash__(self):
        return hash(len(self.lexicon))

    # --- single steps -------------------------------------------------------------------

    def stem(self, folded: str) -> str:
        """Snowball German stem plus our rule for -ung / -ieren families."""
        cached = self._stem_cache.get(folded)
        if cached is not None:
            return cached
        if folded.isdigit() or len(folded) < 3:
            stem = folded
        else:
            stem = self._stemmer.stemWord(folded)
            # Snowball keeps -ung in short words ("schulung") and stems the -ieren
            # family three ways (digitalisier / digitalisi / digitalisiert); merge them.
            if stem.endswith("ung") and len(stem) >= 7:
                stem = stem[:-3]
            if stem.endswith("iert") and len(stem) >= 7:
                stem = stem[:-3]
            elif stem.endswith("ier") and len(stem) >= 6:
                stem = stem[:-2]
        if len(self._stem_cache) > CACHE_LIMIT:
            self._stem_cache.clear()
        self._stem_cache[folded] = stem
        return stem

    def is_known_part(self, candidate: str) -> bool:
        """A compound part must be a known word (or an inflection of one)."""
        if len(candidate) < MIN_CURATED_PART_LENGTH:
            return False
        if len(candidate) < MIN_PART_LENGTH:
            return candidate in self.curated or self.stem(candidate) in self.curated_stems
        return candidate in self.lexicon or self.stem(candidate) in self.lexicon_stems

    def split_compound(self, folded: str) -> list[str]:
        """Split a folded word into known parts, allowing linking elements; [] if none.

        Each split point must be a hyphenation point (pyphen, the approach of
        Elasticsearch's hyphenation_decompounder), so parts follow syllables. Among
        the possible splits the one with the fewest parts wins.
        """
        n = len(folded)
        if n < MIN_COMPOUND_LENGTH or not folded.isalpha():
            return []
        boundaries = set(self._hyphenator.positions(folded))
        best: dict[int, list[str] | None] = {n: []}
        for start in range(n - MIN_CURATED_PART_LENGTH, -1, -1):
            if start and start not in boundaries:
                best[start] = None
                continue
            choice = None
            for end in range(start + MIN_CURATED_PART_LENGTH, n + 1):
                part = folded[start:end]
                if start == 0 and end == n:
                    continue
                if not self.is_known_part(part):
                    continue
                for link in LINKING_ELEMENTS:
                    nxt = end + len(link)
                    if nxt > n or folded[end:nxt] != link or (link and nxt == n):
                        continue
                    rest = best.get(nxt)
                    if rest is None:
                        continue
                    candidate = [part] + rest
                    if choice is None or len(candidate) < len(choice):
                        choice = candidate
            best[start] = choice
        return best.get(0) or []

    def all_parts(self, folded: str, depth: int = 0) -> list[str]:
        """The parts of a compound and, recursively, the parts of those parts."""
        parts = self.split_compound(folded)
        if depth >= 3:
            return parts
        result = []
        for part in parts:
            result.append(part)
            result.extend(self.all_parts(part, depth + 1))
        return result

    # --- the cached entry point ---------------------------------------------------------

    def word(self, raw: str) -> AnalyzedWord | None:
        """Analyse one raw token (as WORD_RE finds it); None for stop words."""
        key = raw.lower()
        try:
            return self._cache[key]
        except KeyError:
            pass
        result = self._analyse(key)
        if len(self._cache) > CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = result
        return result

    def _analyse(self, lower: str) -> AnalyzedWord | None:
        segments = [segment for segment in JOINER_RE.split(lower) if segment]
        if not segments:
            return None
        if len(segments) == 1 and (lower in STOP_WORDS or fold(lower) in STOP_WORDS):
            return None
        folded_segments = [fold(segment) for segment in segments]
        main = self.stem("".join(folded_segments))
        parts: list[str] = []
        if len(segments) > 1:
            for segment in folded_segments:
                if len(segment) < 2 or segment in STOP_WORDS:
                    continue
                parts.append(self.stem(segment))
                parts.extend(self.stem(part) for part in self.all_parts(segment))
        else:
            parts.extend(self.stem(part) for part in self.all_parts(folded_segments[0]))
        unique_parts = tuple(dict.fromkeys(part for part in parts if part != main))
        surface = lower if (len(segments) == 1 and lower.isalpha()
                            and len(lower) >= MIN_SPELL_LENGTH) else None
        return AnalyzedWord(main=main, parts=unique_parts, surface=surface)

    def seen(self, raw: str):
        """The cached analysis of `raw` (None for a stop word), or UNSEEN."""
        return self._cache.get(raw.lower(), UNSEEN)

    def contains_any(self, raw: str, terms) -> bool:
        """Whether one of the index `terms` occurs in the folded word (hyphens, dots
        dropped); the folded letters are cached like the analyses.

        Every term of a word is a stem of the folded word or of one of its compound
        parts, and a stem of a folded word is a prefix of it (Snowball only cuts endings
        once umlauts and ß are folded), so a word none of whose folded letters contain
        a term cannot have it: the cheap test before analysing a word in full.
        """
        folded = self._letters.get(raw)
        if folded is None:
            folded = JOINER_RE.sub("", fold(raw))
            if len(self._letters) > CACHE_LIMIT:
                self._letters.clear()
            self._letters[raw] = folded
        return any(term in folded for term in terms)

    # --- whole texts --------------------------------------------------------------------

    def words(self, text: str) -> list:
        """(position, AnalyzedWord, start, end) for the non-stop words of `text`.

        The last few texts are remembered: an index document passes the same body to
        three fields (words, compound parts, spelling), so it is analysed once.
        """
        found = self._texts.get(text)
        if found is not None:
            return found
        found = []
        position = 0
        word = self.word
        for match in WORD_RE.finditer(text):
            analysed = word(match.group())
            if analysed is None:
                continue
            found.append((position, analysed, match.start(), match.end()))
            position += 1
        if len(self._texts) >= RECENT_TEXTS:
            self._texts.pop(next(iter(self._texts)))
        self._texts[text] = found
        return found

    def main_terms(self, text: str) -> list[str]:
        """The stemmed whole-word terms of `text`, in order (used for queries)."""
        return [analysed.main for _, analysed, _, _ in self.words(text)]


#: Shared analysis for code that has no index at hand (query parsing, snippets).
_default_analysis: GermanAnalysis | None = None


def default_analysis() -> GermanAnalysis:
    """A process-wide GermanAnalysis with the curated lexicon only."""
    global _default_analysis
    if _default_analysis is None:
        _default_analysis = GermanAnalysis()
    return _default_analysis


class GermanAnalyzer(Analyzer):
    """Whoosh analyzer over GermanAnalysis.

    mode "main": stemmed whole words with positions; "parts": compound parts at the
    position of their word; "spell": lower-cased surface words for suggestions.
    """

    def __init__(self, analysis: GermanAnalysis, mode: str = "main"):
        self.analysis = analysis
        self.mode = mode

    def __eq__(self, other):
        return (isinstance(other, GermanAnalyzer) and self.mode == other.mode
                and self.analysis == other.analysis)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for position, analysed, start, end in self.analysis.words(value):
            if self.mode == "main":
                texts = (analysed.main,)
            elif self.mode == "parts":
                texts = analysed.parts
            else:
                texts = (analysed.surface,) if analysed.surface else ()
            for text in texts:
                token.text = text
                token.stopped = False
                token.boost = 1.0
                if keeporiginal:
                    token.original = value[start:end]
                if positions:
                    token.pos = start_pos + position
                if chars:
                    token.startchar = start_char + start
                    token.endchar = start_char + end
                yield token
