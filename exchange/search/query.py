"""Parsing what people type into a QueryPlan: phrases, exclusions, OR, synonyms; never fails.

Accepted syntax: words (all must match), "quoted phrases", -word or NOT/NICHT word to
exclude, OR/ODER between words to accept any. Everything else (unbalanced quotes,
brackets, stray operators, wildcards) is dropped quietly rather than raising.
Topic aliases expand a query: a word or phrase that is a topic's name or alias also
matches the topic's other names ("OZG" also finds "Onlinezugangsgesetz").
"""
import re
from dataclasses import dataclass

from .analysis import WORD_RE, GermanAnalysis, default_analysis
from .engine import Alternative, Clause, QueryPlan

#: Longest query we look at; the rest is ignored (protects the engine).
MAX_QUERY_LENGTH = 300
#: At most this many clauses are searched; more words add little and cost time.
MAX_CLAUSES = 12
#: A synonym from the topic aliases counts a bit less than the word typed, so pages
#: using the user's own word rank first.
SYNONYM_WEIGHT = 0.8
OR_WORDS = {"OR", "ODER"}
NOT_WORDS = {"NOT", "NICHT"}
AND_WORDS = {"AND", "UND"}
_PHRASE_RE = re.compile(r'"([^"]*)"')


@dataclass(frozen=True)
class SynonymGroup:
    """Names that mean the same topic: its German and English name and its aliases."""

    variants: tuple[str, ...]


def _key(words, analysis: GermanAnalysis) -> tuple[str, ...]:
    """Comparable form of a word sequence: stemmed whole-word terms, stop words dropped."""
    key = []
    for word in words:
        analysed = analysis.word(word)
        if analysed is not None:
            key.append(analysed.main)
    return tuple(key)


class SynonymTable:
    """Lookup from a word sequence to the other names of the same topic."""

    def __init__(self, groups=(), analysis: GermanAnalysis | None = None):
        self.analysis = analysis or default_analysis()
        self._by_key: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        self.longest = 0
        for group in groups:
            variants = [tuple(WORD_RE.findall(variant)) for variant in group.variants]
            keyed = [(self._key(words), words) for words in variants if words]
            keyed = [(key, words) for key, words in keyed if key]
            for key, _ in keyed:
                others = self._by_key.setdefault(key, [])
                for other_key, words in keyed:
                    if other_key != key and words not in others:
                        others.append(words)
                self.longest = max(self.longest, len(key))

    def _key(self, words):
        return _key(words, self.analysis)

    def lookup(self, words) -> list[tuple[str, ...]]:
        """The other names of the topic named exactly `words`, or []."""
        return self._by_key.get(self._key(words), [])


def _clean_word_tokens(text: str) -> list[str]:
    return WORD_RE.findall(text.replace("_", " "))


def parse_query(text: str | None, synonyms: SynonymTable | None = None) -> QueryPlan:
    """Turn user input into a QueryPlan; any input gives a plan (maybe an empty one)."""
    synonyms = synonyms or SynonymTable()
    text = (text or "")[:MAX_QUERY_LENGTH]
    if text.count('"') % 2:
        # Unbalanced quote: drop the last one, keep its words as plain words.
        index = text.rfind('"')
        text = text[:index] + " " + text[index + 1:]
    match_all = True
    clauses: list[Clause] = []
    plain_run: list[str] = []  # consecutive plain words, for multi-word synonyms

    def flush_run():
        clauses.extend(_expand_run(plain_run, synonyms))
        plain_run.clear()

    position = 0
    exclude_next = False
    for match in list(_PHRASE_RE.finditer(text)) + [None]:
        segment = text[position:match.start()] if match else text[position:]
        for raw in segment.split():
            if raw in OR_WORDS:
                match_all = False
                continue
            if raw in AND_WORDS:
                continue
            if raw in NOT_WORDS:
                flush_run()
                exclude_next = True
                continue
            exclude = exclude_next or (raw.startswith("-") and len(raw) > 1)
            words = _clean_word_tokens(raw)
            if not words:
                continue
            if exclude:
                flush_run()
                clauses.append(Clause(tuple(Alternative((word,)) for word in words),
                                      exclude=True))
                exclude_next = False
                continue
            plain_run.extend(words)
        if match is None:
            break
        flush_run()
        phrase = tuple(_clean_word_tokens(match.group(1)))
        position = match.end()
        if not phrase:
            continue
        alternatives = [Alternative(phrase)]
        alternatives += [Alternative(words, SYNONYM_WEIGHT) for words in synonyms.lookup(phrase)]
        clause = Clause(tuple(alternatives), exclude=exclude_next)
        exclude_next = False
        clauses.append(clause)
    flush_run()
    positive = [clause for clause in clauses if not clause.exclude]
    negative = [clause for clause in clauses if clause.exclude]
    return QueryPlan(tuple(positive[:MAX_CLAUSES] + negative[:MAX_CLAUSES]), match_all)


def _expand_run(words: list[str], synonyms: SynonymTable) -> list[Clause]:
    """Clauses for consecutive plain words, longest synonym matches first."""
    clauses = []
    index = 0
    while index < len(words):
        matched = None
        for length in range(min(synonyms.longest, len(words) - index), 0, -1):
            candidate = tuple(words[index:index + length])
            others = synonyms.lookup(candidate)
            if others:
                matched = (candidate, others)
                break
        if matched:
            candidate, others = matched
            alternatives = [Alternative(candidate)]
            alternatives += [Alternative(other, SYNONYM_WEIGHT) for other in others]
            clauses.append(Clause(tuple(alternatives)))
            index += len(candidate)
        else:
            word = words[index]
            if synonyms.analysis.word(word) is not None:  # stop words add nothing
                clauses.append(Clause((Alternative((word,)),)))
            index += 1
    return clauses


def plan_words(plan: QueryPlan) -> list[str]:
    """All words of the positive clauses (typed and expanded), for highlighting."""
    words = []
    for clause in plan.clauses:
        if clause.exclude:
            continue
        for alternative in clause.alternatives:
            words.extend(alternative.words)
    return words


def typed_words(plan: QueryPlan) -> list[str]:
    """The words the user typed (first alternative of each positive clause)."""
    words = []
    for clause in plan.clauses:
        if not clause.exclude and clause.alternatives:
            words.extend(clause.alternatives[0].words)
    return words
