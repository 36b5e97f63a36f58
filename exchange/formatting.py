"""Dates, times, numbers and topic names in the reader's language: one module over Babel.

Two kinds of time reach the pages. Record times (created_at, updated_at, audit events)
are naive UTC and shown in German time (BABEL_DEFAULT_TIMEZONE). Visit and session times
are naive Europe/Berlin wall-clock times already (visits/timeutil.py) and must not be
shifted again, so they are formatted as they are. Patterns come from the locale's CLDR
data ("03.12.2026, 14:05" in German, "Dec 3, 2026, 2:05 PM" in English), never fixed
German patterns. Without a request (the worker, CLI) the platform default applies.
"""
from datetime import date, datetime, timezone

from babel import Locale
from babel.dates import format_date as _babel_date
from babel.dates import format_time as _babel_time
from markupsafe import Markup, escape

#: The language the platform falls back to, and of content whose language is not known.
DEFAULT_LOCALE = "de"


def current_locale() -> str:
    """The reader's language ("de" or "en"); the default outside a request."""
    try:
        from flask_babel import get_locale

        return str(get_locale() or DEFAULT_LOCALE)
    except (RuntimeError, AttributeError):
        return DEFAULT_LOCALE


def _display_zone():
    try:
        from flask_babel import get_timezone

        return get_timezone()
    except (RuntimeError, AttributeError, KeyError):
        from zoneinfo import ZoneInfo

        return ZoneInfo("Europe/Berlin")


def _record_time(value: datetime) -> datetime:
    """A stored naive-UTC record time as German wall-clock time."""
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return aware.astimezone(_display_zone()).replace(tzinfo=None)


def _join(moment_date: str, moment_time: str, locale: str) -> str:
    """Date and time joined the locale's way ("{date}, {time}")."""
    pattern = Locale.parse(locale).datetime_formats["medium"]
    return str(pattern).replace("{1}", moment_date).replace("{0}", moment_time)


def format_day(value, pattern: str = "full", locale: str | None = None) -> str:
    """A day in words ("Dienstag, 20. April 2027" / "Tuesday, April 20, 2027"); `pattern`
    is a CLDR width or pattern."""
    day = value.date() if isinstance(value, datetime) else value
    return _babel_date(day, pattern, locale=locale or current_locale())


def format_short_day(value: date | datetime, locale: str | None = None) -> str:
    """A day with its weekday, short ("Di., 20.04." / "Tue, Apr 20"), for agenda lines."""
    from babel.dates import format_skeleton

    day = value.date() if isinstance(value, datetime) else value
    return format_skeleton("MMMEd", day, locale=locale or current_locale())


def format_clock(value: datetime, locale: str | None = None) -> str:
    """A wall-clock time ("09:30" / "9:30 AM")."""
    return _babel_time(value.time() if isinstance(value, datetime) else value, "short",
                       locale=locale or current_locale())


def format_local_date(value: date | datetime, locale: str | None = None) -> str:
    """A wall-clock day, short and unambiguous ("20.04.2027" / "Apr 20, 2027")."""
    day = value.date() if isinstance(value, datetime) else value
    return _babel_date(day, "medium", locale=locale or current_locale())


def format_moment(value: datetime, locale: str | None = None) -> str:
    """A wall-clock moment ("20.04.2027, 09:30" / "Apr 20, 2027, 9:30 AM")."""
    locale = locale or current_locale()
    return _join(format_local_date(value, locale), format_clock(value, locale), locale)


def format_span(start: datetime, end: datetime, locale: str | None = None, *,
                same_day_separator: str = " – ") -> str:
    """A wall-clock span; the end's date only when it is another day (then always with
    " – "; `same_day_separator` joins a start and an end time on the same day)."""
    locale = locale or current_locale()
    if start.date() == end.date():
        return f"{format_moment(start, locale)}{same_day_separator}{format_clock(end, locale)}"
    return f"{format_moment(start, locale)} – {format_moment(end, locale)}"


def format_record_date(value: datetime | None, locale: str | None = None) -> str:
    """The German-time day of a stored UTC record time."""
    if value is None:
        return ""
    return format_local_date(_record_time(value), locale)


def format_record_moment(value: datetime | None, locale: str | None = None) -> str:
    """The German-time moment of a stored UTC record time."""
    if value is None:
        return ""
    return format_moment(_record_time(value), locale)


def machine_time(value: datetime | None, utc: bool = True) -> str:
    """A valid HTML `datetime` attribute: UTC record times with "Z", wall-clock times
    without an offset (a "local date and time string")."""
    if value is None:
        return ""
    if utc:
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.strftime("%Y-%m-%dT%H:%M")


def topic_name(topic, locale: str | None = None) -> Markup:
    """A topic's name for HTML in the reader's language; a name that falls back to German
    on an English page is marked lang="de" (WCAG 3.1.2), so screen readers say it right."""
    locale = locale or current_locale()
    if locale != DEFAULT_LOCALE and not topic.name_en:
        return Markup('<span lang="de">%s</span>') % topic.name_de
    return escape(topic.name(locale))


def topic_names(topics, locale: str | None = None) -> Markup:
    """Several topic names, comma-separated, each as topic_name()."""
    return Markup(", ").join(topic_name(topic, locale) for topic in topics)


def topic_description(topic, locale: str | None = None) -> tuple[str, str]:
    """(text, language) of a topic's description for the reader: the English one on an
    English page when there is one, else the German one with "de"."""
    locale = locale or current_locale()
    if locale != DEFAULT_LOCALE and topic.description_en:
        return topic.description_en, locale
    return topic.description or "", DEFAULT_LOCALE


#: The language of user content. Staff write mostly German and experiences have no
#: language field yet, so all user content is taken to be German.
CONTENT_LOCALE = "de"


def content_lang() -> Markup:
    """` lang="de"` for an element holding user content on a page in another language
    (WCAG 3.1.2), nothing on German pages."""
    if current_locale() == CONTENT_LOCALE:
        return Markup("")
    return Markup(' lang="%s"') % CONTENT_LOCALE


def _marked(value, element: str) -> Markup:
    """`value` (escaped unless it is Markup) in `element` marked lang="de" on pages in
    another language; as it is on German pages; nothing for an empty value."""
    if value is None or value == "":
        return Markup("")
    if current_locale() == CONTENT_LOCALE:
        return escape(value)
    return Markup('<%s lang="%s">%s</%s>') % (element, CONTENT_LOCALE, value, element)


def user_text(value) -> Markup:
    """Inline user content (a title, a note, a snippet with its <mark>s) for HTML: marked
    lang="de" on pages in another language. Markup stays markup, text is escaped."""
    return _marked(value, "span")


def user_block(value) -> Markup:
    """Rendered user content (Markdown as HTML) in a block marked lang="de" on pages in
    another language."""
    return _marked(value, "div")


def shown_text(item, field: str) -> Markup:
    """Field `field` of a row with generated texts (exchange/generated.py) for HTML: a
    generated text in the reader's language as it is, a text a person typed as user
    content (marked lang="de" on pages in another language)."""
    value = item.text(field)
    if field in item.generated_fields():
        return escape(value)
    return user_text(value)


def shown_markdown(item, field: str) -> Markup:
    """As shown_text, for a Markdown field: rendered, a typed one in a marked block."""
    from .markup import render_markdown

    value = item.text(field)
    if not value:
        return Markup("")
    html = render_markdown(value)
    return html if field in item.generated_fields() else user_block(html)


def register(app) -> None:
    """The Jinja filters and globals of this module."""
    filters = {
        "record_date": format_record_date, "record_moment": format_record_moment,
        "local_date": format_local_date, "moment": format_moment, "clock": format_clock,
        "machine_time": machine_time,
        "topic_name": topic_name, "topic_names": topic_names,
        "user_text": user_text, "user_block": user_block,
        # German example words in help texts: the same marking as user content.
        "german": user_text,
        "shown_title": lambda item: shown_text(item, "title"),
    }
    from .cities.choices import sorted_topics

    filters["sorted_topics"] = lambda topics: sorted_topics(topics, current_locale())
    app.jinja_env.filters.update(filters)
    app.jinja_env.globals.update(format_span=format_span, topic_description=topic_description,
                                 content_lang=content_lang, shown_text=shown_text,
                                 shown_markdown=shown_markdown)
