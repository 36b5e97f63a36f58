"""Differences between two revisions: lines, with word-level highlights in changed lines.

Everything is HTML-escaped here and wrapped in Markup only afterwards, so the template
can print the result as it is; the revision texts are never trusted.

Budgets. difflib's SequenceMatcher (autojunk off, for exact diffs of short texts) visits
every pair of equal elements of the two sides in each search for the longest match, so
its cost grows with Σ count_old(x)·count_new(x) over the elements x ("match work"): two
revisions of one 25,000-character line (whitespace and common words repeat thousands of
times) took 30 s, 40 KB of lines repeating 50 values 80 s. Before each comparison the
match work is counted (linear) and compared with a budget; over it, a coarser diff is
used, and the result says which (`RevisionDiff.fallbacks`, shown on the page):

- "sentences": a changed line too long for a word diff is compared sentence by sentence
  (sentences, or pieces of at most 250 characters cut at spaces); a sentence changed
  into one other sentence still gets word highlights when that pair is within budget.
- "lines": the word budget of the whole diff is spent; further changed lines are shown
  whole, without word highlights (the line diff).
- "block": the lines themselves are too many alike to match; after the common first and
  last lines, the changed middle is shown as removed and added as a whole.
- "truncated": more than MAX_ROWS rows; the rest is not shown.

The budgets are counted in match work, so the same two revisions normally give the same
diff. What the count cannot foresee is how often difflib searches again (once per
matching block found), so CPU-time limits, checked at each search, are the backstop:
LINE_BUDGET_SECONDS for the line diff ("block" past it), DIFF_BUDGET_SECONDS for all of
it ("lines" past it). Figures: benchmarks/budgets.py.
"""
import difflib
import re
import time
from collections import Counter
from dataclasses import dataclass, field

from flask_babel import gettext as _
from markupsafe import Markup, escape

#: Unchanged lines shown around each change; longer unchanged runs are folded.
CONTEXT_LINES = 3
#: Words, runs of whitespace and single punctuation marks are the units of inline diffs.
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)
#: Sentences: up to . ! ? : or ; before a space (or the end), with the spaces after them.
_SENTENCE = re.compile(r".*?(?:[.!?:;](?=\s|$)|$)\s*", re.DOTALL)
#: Longer sentences are cut into pieces of at most this many characters, at spaces.
SENTENCE_PIECE = 250
_PIECE = re.compile(r".{1,%d}(?:\s+|$)|.{%d}" % (SENTENCE_PIECE, SENTENCE_PIECE), re.DOTALL)

#: Match work (see match_work; a unit is about 0.2 µs) of one line pair's word diff
#: (about 0.1 s: two versions of a paragraph of some 600 words).
MAX_PAIR_WORK = 500_000
#: Match work of all word diffs of one revision diff together (about 0.6 s).
MAX_WORD_WORK = 3_000_000
#: Match work of one longest-match search in the line diff (about 0.2 s).
MAX_LINE_WORK = 1_000_000
#: CPU seconds the line diff may take (popular lines make difflib search again and
#: again), and the whole revision diff; past them every further comparison is skipped.
LINE_BUDGET_SECONDS = 0.4
DIFF_BUDGET_SECONDS = 1.0
#: Rows shown at most (removed, added, context and folds); a page of 200 KB of changed
#: one-character lines would otherwise have 200,000 rows.
MAX_ROWS = 4_000


class OverBudget(Exception):
    """A comparison is over budget; `reason` is "size" (this comparison alone is too big),
    "spent" (the diff's word budget is used up) or "time"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Budget:
    """What one revision diff may still spend: word match work and CPU time."""

    def __init__(self, seconds: float = DIFF_BUDGET_SECONDS,
                 line_seconds: float = LINE_BUDGET_SECONDS, word_work: int = MAX_WORD_WORK):
        now = time.thread_time()
        self.deadline = now + seconds
        self.line_deadline = now + min(line_seconds, seconds)
        self.word_work = word_work
        self.fallbacks: set[str] = set()


class _Matcher(difflib.SequenceMatcher):
    """SequenceMatcher (autojunk off) that checks a deadline at every match search."""

    def __init__(self, a, b, deadline: float, isjunk=None):
        self._deadline = deadline
        super().__init__(isjunk, a, b, autojunk=False)

    def find_longest_match(self, alo=0, ahi=None, blo=0, bhi=None):
        if time.thread_time() > self._deadline:
            raise OverBudget("time")
        return super().find_longest_match(alo, ahi, blo, bhi)


class _Opcodes(difflib.SequenceMatcher):
    """A SequenceMatcher that answers with opcodes computed elsewhere (for grouping)."""

    def __init__(self, opcodes: list):
        super().__init__(None, [], [])
        self.opcodes = opcodes


#: What each element costs besides its matches (hashing, the match tables), in units
#: of one visited pair (about 0.2 µs).
ELEMENT_WORK = 5


def match_work(a: list, b: list, isjunk=None) -> int:
    """Σ count_a(x)·count_b(x), the pairs of equal elements a longest-match search visits
    (junk elements are not searched), plus ELEMENT_WORK per element: the cost of one
    search over a and b, in visited pairs."""
    counts = Counter(b)
    if isjunk is not None:
        for item in [item for item in counts if isjunk(item)]:
            del counts[item]
    return sum(counts.get(item, 0) for item in a) + ELEMENT_WORK * (len(a) + len(b))


def _blank(line: str) -> bool:
    """Blank lines are junk for the line diff: they match by extending a match of the
    lines around them, never start one (the way difflib's ndiff treats them), so the
    hundreds of blank lines between paragraphs do not make every search visit them all."""
    return not line.strip()


def _common_ends(a: list, b: list) -> tuple[int, int]:
    """Lengths of the common prefix and of the common suffix (not overlapping it)."""
    limit = min(len(a), len(b))
    prefix = 0
    while prefix < limit and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    return prefix, suffix


def _opcodes(a: list, b: list, budget: Budget, max_work: int, words: bool = False,
             isjunk=None) -> list:
    """difflib opcodes of a → b; raises OverBudget when the match work or the time is over
    budget.

    The common first and last elements are matched without a search, so an edit in the
    middle of a long text costs only what its middle costs. With `words`, the work also
    counts against (and must fit into) what is left of the diff's word budget; without,
    the line diff's deadline applies."""
    prefix, suffix = _common_ends(a, b)
    a_end, b_end = len(a) - suffix, len(b) - suffix
    middle_a, middle_b = a[prefix:a_end], b[prefix:b_end]
    work = match_work(middle_a, middle_b, isjunk)
    if work > max_work:
        raise OverBudget("size")
    if words and work > budget.word_work:
        raise OverBudget("spent")
    deadline = budget.deadline if words else budget.line_deadline
    middle = _Matcher(middle_a, middle_b, deadline, isjunk).get_opcodes()
    if words:
        budget.word_work -= work
    opcodes = [("equal", 0, prefix, 0, prefix)] if prefix else []
    opcodes += [(tag, i1 + prefix, i2 + prefix, j1 + prefix, j2 + prefix)
                for tag, i1, i2, j1, j2 in middle if i1 != i2 or j1 != j2]
    if suffix:
        opcodes.append(("equal", a_end, len(a), b_end, len(b)))
    return opcodes or [("equal", 0, 0, 0, 0)]


@dataclass
class DiffLine:
    """One row of a diff: kind is equal, delete, insert or skip (folded context)."""

    kind: str
    old_number: int | None
    new_number: int | None
    html: Markup


@dataclass
class RevisionDiff:
    """The difference between revisions `old` and `new`."""

    old: object
    new: object
    title_changed: bool
    title_html: Markup
    lines: list[DiffLine] = field(default_factory=list)
    #: Budget fallbacks used: "sentences", "lines", "block", "truncated" (module doc).
    fallbacks: frozenset = frozenset()

    @property
    def has_changes(self) -> bool:
        """True when title or text differ."""
        return self.title_changed or any(line.kind in ("delete", "insert") for line in self.lines)

    @property
    def stats(self) -> tuple[int, int]:
        """(lines removed, lines added)."""
        return (sum(1 for line in self.lines if line.kind == "delete"),
                sum(1 for line in self.lines if line.kind == "insert"))

    @property
    def notices(self) -> list[str]:
        """What the page says about a coarser diff, one sentence per fallback used."""
        texts = {
            "sentences": _("Sehr lange Zeilen werden Satz für Satz verglichen; geänderte "
                           "Sätze sind als Ganzes markiert."),
            "lines": _("Der Vergleich ist zu umfangreich für Hervorhebungen einzelner Wörter "
                       "in allen Zeilen; weitere geänderte Zeilen werden ganz gezeigt."),
            "block": _("Die Fassungen unterscheiden sich zu stark für einen zeilengenauen "
                       "Vergleich; der geänderte Bereich wird als Ganzes gezeigt."),
            "truncated": _("Der Vergleich ist gekürzt: es werden höchstens %(max)s Zeilen "
                           "gezeigt.", max=MAX_ROWS),
        }
        return [texts[name] for name in ("block", "sentences", "lines", "truncated")
                if name in self.fallbacks]


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _sentences(text: str) -> list[str]:
    """The sentences of `text` (pieces of long ones); joined they give `text` again."""
    units = []
    for sentence in _SENTENCE.findall(text):
        if len(sentence) <= SENTENCE_PIECE:
            units.append(sentence)
        else:
            units.extend(_PIECE.findall(sentence))
    return [unit for unit in units if unit]


def _merge(segments: list[list]) -> list[list]:
    """Whitespace between two changes joins them into one change."""
    merged: list[list] = []
    index = 0
    while index < len(segments):
        segment = segments[index]
        if (merged and merged[-1][0] and not segment[0] and not segment[1].strip()
                and index + 1 < len(segments) and segments[index + 1][0]):
            following = segments[index + 1]
            merged[-1][1] += segment[1] + following[1]
            merged[-1][2] += segment[2] + following[2]
            index += 2
            continue
        merged.append(list(segment))
        index += 1
    return merged


def _word_segments(old_tokens, new_tokens, budget: Budget) -> list[list]:
    """[changed?, old text, new text] runs of a word diff; OverBudget when over it."""
    opcodes = _opcodes(old_tokens, new_tokens, budget, MAX_PAIR_WORK, words=True)
    return [[tag != "equal", "".join(old_tokens[i1:i2]), "".join(new_tokens[j1:j2])]
            for tag, i1, i2, j1, j2 in opcodes if i1 != i2 or j1 != j2]


def _html(segments: list[list]) -> tuple[Markup, Markup]:
    old_html, new_html = [], []
    for changed, removed, added in _merge(segments):
        if not changed:
            old_html.append(escape(removed))
            new_html.append(escape(added))
            continue
        if removed:
            old_html.append(Markup('<del class="word">%s</del>') % removed)
        if added:
            new_html.append(Markup('<ins class="word">%s</ins>') % added)
    return Markup("").join(old_html), Markup("").join(new_html)


def _sentence_segments(old: str, new: str, budget: Budget) -> list[list]:
    """The coarse diff of a long line: sentences first, then words within a sentence
    changed into one other sentence (while the budget lasts); OverBudget when even the
    sentences are over it."""
    old_units, new_units = _sentences(old), _sentences(new)
    opcodes = _opcodes(old_units, new_units, budget, MAX_PAIR_WORK, words=True)
    segments = []
    for tag, i1, i2, j1, j2 in opcodes:
        removed, added = "".join(old_units[i1:i2]), "".join(new_units[j1:j2])
        if tag == "equal":
            segments.append([False, removed, added])
            continue
        finer = None
        if tag == "replace" and i2 - i1 == 1 and j2 - j1 == 1:
            try:
                finer = _word_segments(_tokens(removed), _tokens(added), budget)
            except OverBudget:
                pass
        segments.extend(finer if finer is not None else [[True, removed, added]])
    return segments


def inline_diff(old: str, new: str, budget: Budget | None = None) -> tuple[Markup, Markup]:
    """Both strings as escaped HTML, changed words wrapped in <del> (old) and <ins> (new).

    A pair too long for a word diff is compared sentence by sentence ("sentences"); once
    the diff's word budget or time is spent, or even the sentences are too many, both are
    returned whole, without highlights ("lines")."""
    budget = budget or Budget()
    try:
        return _html(_word_segments(_tokens(old), _tokens(new), budget))
    except OverBudget as error:
        reason = error.reason
    if reason == "size":
        try:
            segments = _sentence_segments(old, new, budget)
        except OverBudget:
            pass
        else:
            budget.fallbacks.add("sentences")
            return _html(segments)
    budget.fallbacks.add("lines")
    return escape(old), escape(new)


def _body_rows(old_text: str, new_text: str, context: int, budget: Budget) -> list[DiffLine]:
    old_lines = (old_text or "").replace("\r\n", "\n").split("\n")
    new_lines = (new_text or "").replace("\r\n", "\n").split("\n")
    try:
        opcodes = _opcodes(old_lines, new_lines, budget, MAX_LINE_WORK, isjunk=_blank)
    except OverBudget:
        budget.fallbacks.add("block")
        prefix, suffix = _common_ends(old_lines, new_lines)
        old_end, new_end = len(old_lines) - suffix, len(new_lines) - suffix
        opcodes = [op for op in (("equal", 0, prefix, 0, prefix),
                                 ("replace", prefix, old_end, prefix, new_end),
                                 ("equal", old_end, len(old_lines), new_end, len(new_lines)))
                   if op[1] != op[2] or op[3] != op[4]]
    rows: list[DiffLine] = []
    groups = list(_Opcodes(opcodes).get_grouped_opcodes(context))
    pair_lines = "block" not in budget.fallbacks
    for index, group in enumerate(groups):
        if len(rows) > MAX_ROWS:
            break
        first = group[0]
        if index > 0 or first[1] > 0 or first[3] > 0:
            rows.append(DiffLine("skip", first[1] + 1, first[3] + 1, Markup("")))
        for tag, i1, i2, j1, j2 in group:
            room = MAX_ROWS + 1 - len(rows)  # one row more than shown: "truncated"
            if room <= 0:
                break
            if tag == "equal":
                for offset in range(min(i2 - i1, room)):
                    rows.append(DiffLine("equal", i1 + offset + 1, j1 + offset + 1,
                                         escape(old_lines[i1 + offset])))
                continue
            old_chunk, new_chunk = old_lines[i1:min(i2, i1 + room)], new_lines[j1:min(j2, j1 + room)]
            paired = (min(len(old_chunk), len(new_chunk))
                      if tag == "replace" and pair_lines else 0)
            removed_rows, added_rows = [], []
            for offset in range(paired):
                old_html, new_html = inline_diff(old_chunk[offset], new_chunk[offset], budget)
                removed_rows.append(DiffLine("delete", i1 + offset + 1, None, old_html))
                added_rows.append(DiffLine("insert", None, j1 + offset + 1, new_html))
            for offset in range(paired, len(old_chunk)):
                removed_rows.append(DiffLine("delete", i1 + offset + 1, None,
                                             escape(old_chunk[offset])))
            for offset in range(paired, len(new_chunk)):
                added_rows.append(DiffLine("insert", None, j1 + offset + 1,
                                           escape(new_chunk[offset])))
            rows.extend(removed_rows)
            rows.extend(added_rows)
    if len(rows) > MAX_ROWS:
        budget.fallbacks.add("truncated")
        return rows[:MAX_ROWS]  # the page says so (RevisionDiff.notices)
    last = groups[-1][-1] if groups else None
    if last is not None and (last[2] < len(old_lines) or last[4] < len(new_lines)):
        rows.append(DiffLine("skip", last[2] + 1, last[4] + 1, Markup("")))
    return rows


def diff_lines(old_text: str, new_text: str, context: int = CONTEXT_LINES,
               budget: Budget | None = None) -> list[DiffLine]:
    """Line diff of two texts; replaced lines are paired and get inline word highlights."""
    return _body_rows(old_text, new_text, context, budget or Budget())


def diff_revisions(old, new, context: int = CONTEXT_LINES,
                   budget: Budget | None = None) -> RevisionDiff:
    """Compare two revisions (any order the caller chooses) by title and body."""
    budget = budget or Budget()
    title_changed = old.title != new.title
    if title_changed:
        old_title, new_title = inline_diff(old.title, new.title, budget)
        title_html = Markup('<span class="old-title">%s</span> → <span class="new-title">%s</span>'
                            ) % (old_title, new_title)
    else:
        title_html = escape(new.title)
    lines = _body_rows(old.body, new.body, context, budget)
    return RevisionDiff(old=old, new=new, title_changed=title_changed, title_html=title_html,
                        lines=lines, fallbacks=frozenset(budget.fallbacks))
