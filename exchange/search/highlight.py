"""HTML-safe snippets with <mark> around the words a query matched; engine-independent.

The text is analysed with the same chain as the index, so "Lotsen" marks
"Digitalisierungslotsen" and "Buergerbuero" marks "Bürgerbüro".
"""
from markupsafe import Markup, escape

from .analysis import UNSEEN, WORD_RE, GermanAnalysis

#: Length of a snippet in characters (about two lines in the result list).
SNIPPET_LENGTH = 220
#: Characters of context kept before the first marked word of a snippet.
LEAD_CONTEXT = 50


def query_terms(words, analysis: GermanAnalysis) -> tuple[set[str], set[str]]:
    """(whole-word terms, compound-part terms) of the query words."""
    mains, parts = set(), set()
    for word in words:
        analysed = analysis.word(word)
        if analysed is None:
            continue
        mains.add(analysed.main)
        parts.update(analysed.parts)
    return mains, parts


def _matches(text: str, analysis: GermanAnalysis, mains: set[str], parts: set[str]):
    """(start, end) of the words in `text` that have one of the query's terms.

    A word this process has not analysed yet is analysed only if its letters contain
    one of the terms: splitting the compounds of every unseen word of ten hits was
    half of a first search (4 ms per snippet at 50,000 experiences).
    """
    spans = []
    terms = mains | parts
    for match in WORD_RE.finditer(text):
        raw = match.group()
        analysed = analysis.seen(raw)
        if analysed is UNSEEN:
            if not analysis.contains_any(raw, terms):
                continue
            analysed = analysis.word(raw)
        if analysed is None:
            continue
        if analysed.main in mains or any(part in mains for part in analysed.parts):
            spans.append(match.span())
        elif parts and (analysed.main in parts or set(analysed.parts) >= parts):
            spans.append(match.span())
    return spans


def _marked(text: str, spans, start: int, end: int) -> Markup:
    pieces, cursor = [], start
    for span_start, span_end in spans:
        if span_start < start or span_end > end:
            continue
        pieces.append(escape(text[cursor:span_start]))
        pieces.append(Markup("<mark>%s</mark>") % text[span_start:span_end])
        cursor = span_end
    pieces.append(escape(text[cursor:end]))
    return Markup("").join(pieces)


def highlight(text: str, mains: set[str], parts: set[str], analysis: GermanAnalysis) -> Markup:
    """The whole (short) text with matched words marked, e.g. for titles."""
    return _marked(text, _matches(text, analysis, mains, parts), 0, len(text))


def snippet(text: str, mains: set[str], parts: set[str], analysis: GermanAnalysis,
            length: int = SNIPPET_LENGTH) -> Markup:
    """The passage of `text` with the most matched words, marked; the start if none."""
    text = text or ""
    spans = _matches(text, analysis, mains, parts)
    if not spans:
        start = 0
    else:
        best, best_count = spans[0][0], 0
        for index, (span_start, _) in enumerate(spans):
            window_end = span_start + length - LEAD_CONTEXT
            count = sum(1 for other_start, _ in spans[index:] if other_start < window_end)
            if count > best_count:
                best, best_count = span_start, count
        start = max(0, best - LEAD_CONTEXT)
        if start:
            space = text.find(" ", start)
            start = space + 1 if 0 <= space < best else start
    end = min(len(text), start + length)
    if end < len(text):
        space = text.rfind(" ", start, end)
        if space > start:
            end = space
    body = _marked(text, spans, start, end)
    prefix = Markup("… ") if start > 0 else Markup("")
    suffix = Markup(" …") if end < len(text) else Markup("")
    return prefix + body + suffix
