"""Markdown rendering with sanitising, and plain-text extraction for search and excerpts.

Rendering has a size and a time budget. markdown-it-py is pure Python and some inputs
cost far more per character than prose: every "[" starts a link attempt whose label
scan calls the inline rules again at each following position, so a 200 KB body of
"![" took 2.6 CPU-seconds (6-8 s on a loaded machine) against 0.3 s for 200 KB of
ordinary Markdown (figures: benchmarks/budgets.py). A text longer than
MAX_MARKDOWN_CHARS, or one whose rendering is still running after RENDER_BUDGET_SECONDS
of CPU time, is shown as escaped plain text with a notice instead. The time is checked
by a rule placed first in markdown-it's inline and block rule chains (called at every
position it tries), measured as the thread's CPU time, so a busy machine does not push
ordinary texts over the budget. Texts found over the budget, and the sanitised HTML of
texts that took longer than SLOW_RENDER_SECONDS, are remembered per process by digest
(texts of revisions never change), so showing one again costs nothing.
"""
import hashlib
import html
import re
import threading
import time
from collections import OrderedDict

import nh3
from flask_babel import gettext as _
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

#: Longest text rendered as Markdown at all (the wiki's bodies end at 200,000).
MAX_MARKDOWN_CHARS = 250_000
#: CPU seconds one rendering may take. 200 KB of ordinary Markdown takes about 0.3 s;
#: only texts made to be expensive come near this.
RENDER_BUDGET_SECONDS = 1.0
#: The clock is read every this many rule calls (a call costs 1-12 µs).
_CHECK_EVERY = 64
#: Renderings slower than this are kept (their HTML, or that they were over budget)...
SLOW_RENDER_SECONDS = 0.05
#: ... up to this many, holding at most this many characters of HTML, per process.
_REMEMBERED = 256
_REMEMBERED_CHARS = 16_000_000

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "abbr": {"title"},
    "th": {"align"},
    "td": {"align"},
    "code": {"class"},
}
URL_SCHEMES = {"http", "https", "mailto"}


class OverBudget(Exception):
    """A rendering ran out of its time budget."""


class _Budget:
    """The deadline of one rendering, checked by the budget rules."""

    __slots__ = ("deadline", "calls")

    def __init__(self, seconds: float):
        self.deadline = time.thread_time() + seconds
        self.calls = 0

    def tick(self) -> None:
        self.calls += 1
        if self.calls % _CHECK_EVERY == 0 and time.thread_time() > self.deadline:
            raise OverBudget


def _inline_budget(state, silent) -> bool:
    budget = state.env.get("_budget")
    if budget is not None:
        budget.tick()
    return False  # never matches: the other rules run as before


def _block_budget(state, start_line, end_line, silent) -> bool:
    return _inline_budget(state, silent)


def _parser() -> MarkdownIt:
    """CommonMark plus tables and strikethrough; raw HTML is allowed in, then sanitised.
    The budget rules come first in every chain, also where paragraphs, lists and quotes
    look for their end."""
    md = MarkdownIt("commonmark", {"html": True, "linkify": False})
    md.enable(["table", "strikethrough"])
    md.inline.ruler.before("text", "budget", _inline_budget)
    first_block = md.block.ruler.get_all_rules()[0]
    md.block.ruler.before(first_block, "budget", _block_budget,
                          {"alt": ["paragraph", "reference", "blockquote", "list"]})
    return md


_md = _parser()
#: Built once: building the sanitiser's configuration cost as much as cleaning a page.
_cleaner = nh3.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                       url_schemes=URL_SCHEMES, link_rel="nofollow noopener")
_tag_stripper = nh3.Cleaner(tags=set(), attributes={})


class _SlowRenders:
    """Digest of (text, budget) → sanitised HTML, or None for "over the budget"; least
    recently used first out."""

    def __init__(self):
        self._items: OrderedDict = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str, budget: float) -> tuple:
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16)
        return digest.digest(), budget

    def get(self, key):
        """(True, value) when `key` is kept, else (False, None)."""
        with self._lock:
            if key not in self._items:
                return False, None
            self._items.move_to_end(key)
            return True, self._items[key]

    def put(self, key, value: str | None) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self._chars += len(value or "")
            while len(self._items) > _REMEMBERED or self._chars > _REMEMBERED_CHARS:
                _old_key, old = self._items.popitem(last=False)
                self._chars -= len(old or "")


_slow = _SlowRenders()


def _sanitised(text: str, budget: float) -> str | None:
    """The sanitised HTML of `text`, or None when it is over the size or time budget."""
    if len(text) > MAX_MARKDOWN_CHARS:
        return None
    key = _SlowRenders.key(text, budget)
    kept, value = _slow.get(key)
    if kept:
        return value
    start = time.thread_time()
    try:
        rendered = _md.render(text, {"_budget": _Budget(budget)})
    except (OverBudget, RecursionError):
        _slow.put(key, None)
        return None
    clean = _cleaner.clean(rendered)
    if time.thread_time() - start > SLOW_RENDER_SECONDS:
        _slow.put(key, clean)
    return clean


def _plain_html(text: str) -> Markup:
    """`text` escaped, paragraphs at blank lines, line breaks kept, under a notice."""
    paragraphs = [part for part in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if part.strip()]
    notice = Markup('<p class="meta markup-plain">%s</p>') % _(
        "Dieser Text wird ohne Formatierung gezeigt: er ist zu lang oder zu aufwendig, um "
        "ihn rechtzeitig zu formatieren.")
    body = Markup("").join(Markup("<p>%s</p>") % Markup("<br>").join(
        escape(line) for line in part.split("\n")) for part in paragraphs)
    return notice + body


def render_markdown(text: str | None, budget: float = RENDER_BUDGET_SECONDS) -> Markup:
    """Markdown to safe HTML: no scripts, no event handlers, no javascript: links.

    Over the size or time budget: the text escaped as plain paragraphs with a notice."""
    text = text or ""
    clean = _sanitised(text, budget)
    return _plain_html(text) if clean is None else Markup(clean)


def markdown_to_text(text: str | None, budget: float = RENDER_BUDGET_SECONDS) -> str:
    """Plain text of a Markdown document: markup, tags and link targets removed (over the
    budget: the text as it is, whitespace folded)."""
    text = text or ""
    clean = _sanitised(text, budget)
    if clean is not None:
        # Tags out of the sanitised HTML; nh3 dropped link targets and unsafe content.
        text = html.unescape(_tag_stripper.clean(clean))
    return " ".join(text.split())


def shorten(plain: str, length: int = 240) -> str:
    """The first `length` characters of a plain text, cut at a word ("…" when cut)."""
    if len(plain) <= length:
        return plain
    cut = plain[:length].rsplit(" ", 1)[0]
    return cut + " …"


#: A link reference definition ("[name]: https://…") anywhere: links before it depend on
#: it, so such a text is never cut before rendering.
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:", re.MULTILINE)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def _head(text: str, length: int) -> str:
    """The blocks at the start of `text` that hold at least 3 × `length` characters (up to
    a blank line), or all of it. Markdown is parsed top-down and a block never reaches
    back over a blank line, so these blocks read the same as in the whole text; only a
    block cut at the end (a list, a code fence) may end early, and its text then is a
    beginning of its full text."""
    if _REFERENCE.search(text):
        return text
    found = _BLANK_LINE.search(text, 3 * length)
    return text if found is None else text[:found.start()]


def excerpt(text: str | None, length: int = 240) -> str:
    """The first `length` characters of a Markdown text as plain text, cut at a word.

    Only the head of a long text is rendered when its plain text is long enough: the
    excerpt is the same, and the importer computes one per experience."""
    text = text or ""
    head = _head(text, length)
    plain = markdown_to_text(head)
    if head is not text and len(plain) <= length:
        plain = markdown_to_text(text)
    return shorten(plain, length)
