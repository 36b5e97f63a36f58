"""Differences between two revisions: lines, with word-level highlights in changed lines.

Everything is HTML-escaped here and wrapped in Markup only afterwards, so the template
can print the result as it is; the revision texts are never trusted.
"""
import difflib
import re
from dataclasses import dataclass, field

from markupsafe import Markup, escape

#: Unchanged lines shown around each change; longer unchanged runs are folded.
CONTEXT_LINES = 3
#: Words, runs of whitespace and single punctuation marks are the units of inline diffs.
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


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

    @property
    def has_changes(self) -> bool:
        """True when title or text differ."""
        return self.title_changed or any(line.kind in ("delete", "insert") for line in self.lines)

    @property
    def stats(self) -> tuple[int, int]:
        """(lines removed, lines added)."""
        return (sum(1 for line in self.lines if line.kind == "delete"),
                sum(1 for line in self.lines if line.kind == "insert"))


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _segments(old_tokens: list[str], new_tokens: list[str]) -> list[list]:
    """[changed?, old text, new text] runs; whitespace between two changes joins them."""
    matcher = difflib.SequenceMatcher(None, old_tokens, new_tokens, autojunk=False)
    segments: list[list] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        segments.append([tag != "equal", "".join(old_tokens[i1:i2]), "".join(new_tokens[j1:j2])])
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


def inline_diff(old: str, new: str) -> tuple[Markup, Markup]:
    """Both strings as escaped HTML, changed words wrapped in <del> (old) and <ins> (new)."""
    old_html, new_html = [], []
    for changed, removed, added in _segments(_tokens(old), _tokens(new)):
        if not changed:
            old_html.append(escape(removed))
            new_html.append(escape(added))
            continue
        if removed:
            old_html.append(Markup('<del class="word">%s</del>') % removed)
        if added:
            new_html.append(Markup('<ins class="word">%s</ins>') % added)
    return Markup("").join(old_html), Markup("").join(new_html)


def diff_lines(old_text: str, new_text: str, context: int = CONTEXT_LINES) -> list[DiffLine]:
    """Line diff of two texts; replaced lines are paired and get inline word highlights."""
    old_lines = (old_text or "").replace("\r\n", "\n").split("\n")
    new_lines = (new_text or "").replace("\r\n", "\n").split("\n")
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    rows: list[DiffLine] = []
    groups = list(matcher.get_grouped_opcodes(context))
    for index, group in enumerate(groups):
        first = group[0]
        if index > 0 or first[1] > 0 or first[3] > 0:
            rows.append(DiffLine("skip", first[1] + 1, first[3] + 1, Markup("")))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for offset in range(i2 - i1):
                    rows.append(DiffLine("equal", i1 + offset + 1, j1 + offset + 1,
                                         escape(old_lines[i1 + offset])))
                continue
            old_chunk, new_chunk = old_lines[i1:i2], new_lines[j1:j2]
            paired = min(len(old_chunk), len(new_chunk)) if tag == "replace" else 0
            removed_rows, added_rows = [], []
            for offset in range(paired):
                old_html, new_html = inline_diff(old_chunk[offset], new_chunk[offset])
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
    last = groups[-1][-1] if groups else None
    if last is not None and (last[2] < len(old_lines) or last[4] < len(new_lines)):
        rows.append(DiffLine("skip", last[2] + 1, last[4] + 1, Markup("")))
    return rows


def diff_revisions(old, new, context: int = CONTEXT_LINES) -> RevisionDiff:
    """Compare two revisions (any order the caller chooses) by title and body."""
    title_changed = old.title != new.title
    if title_changed:
        old_title, new_title = inline_diff(old.title, new.title)
        title_html = Markup('<span class="old-title">%s</span> → <span class="new-title">%s</span>'
                            ) % (old_title, new_title)
    else:
        title_html = escape(new.title)
    return RevisionDiff(old=old, new=new, title_changed=title_changed, title_html=title_html,
                        lines=diff_lines(old.body, new.body, context))
