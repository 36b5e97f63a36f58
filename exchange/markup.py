"""Markdown rendering with sanitising, and plain-text extraction for search and excerpts."""
import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

#: CommonMark plus tables and strikethrough; raw HTML is allowed in, then sanitised.
_md = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable(["table", "strikethrough"])

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


def render_markdown(text: str | None) -> Markup:
    """Markdown to safe HTML: no scripts, no event handlers, no javascript: links."""
    html = _md.render(text or "")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener",
    )
    return Markup(clean)


def markdown_to_text(text: str | None) -> str:
    """Plain text of a Markdown document: markup, tags and link targets removed."""
    html = _md.render(text or "")
    plain = nh3.clean(html, tags=set(), attributes={})
    plain = re.sub(r"\s+", " ", plain)
    return _unescape(plain).strip()


def excerpt(text: str | None, length: int = 240) -> str:
    """The first `length` characters of a Markdown text as plain text, cut at a word."""
    plain = markdown_to_text(text)
    if len(plain) <= length:
        return plain
    cut = plain[:length].rsplit(" ", 1)[0]
    return cut + " …"


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)
