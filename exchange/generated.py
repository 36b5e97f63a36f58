"""Generated texts: a German message id plus parameters, rendered in the reader's language.

Texts the application writes for people (the agenda proposal's session titles and
descriptions, notification titles and bodies) used to be stored as finished sentences in
the language of whoever triggered them, so an English reader saw the German planner's
"Mittagspause". A row with generated texts now keeps, beside its plain columns, a JSON
column `generated` that says per field what the text was made from:

    {"title": {"msgid": "%(topic)s: Erfahrungen aus %(city)s",
               "params": {"topic": {"topic": {"id": 12, "slug": "eakte", "name_de": "eAkte"}},
                          "city": "München"}},
     "description": [{"msgid": "Was nehmen wir mit? …"},
                     {"msgid": "Weitere mögliche Themen: %(topics)s",
                      "params": {"topics": {"list": [{"topic": {…}}, {"topic": {…}}]}}}]}

A field is one message or a list of paragraphs (joined by a blank line), each a message
or a list of messages (sentences, joined by a space). A parameter is

- a string or number: used as it is (city names are proper names, project titles and
  people's names are user content);
- a message ({"msgid": …, "params": …}): translated too (a project state's label);
- a topic ({"topic": {"id", "slug", "name_de"}}): named in the reader's language
  (`Topic.name(locale)`, German where it has no English name); a topic that was deleted
  or whose id now names another topic shows the German name it had;
- a list ({"list": [parameters]}): the items, joined by ", ".

The plain columns (`title`, `description`, `body`) keep the German rendering, so search,
export, old API clients and any code that reads the column see what they always saw.
The JSON column was chosen over key/params column pairs because a field may be several
paragraphs and parameters nest (a topic list in a message); one nullable column per table
also keeps rows without generated texts (the planner's own sessions, older rows) exactly
as they were: no key means "show the column".

Once a person edits a generated field, the field is theirs: `GeneratedTexts.edit` drops
its key and the column holds what they typed, shown as it is in every language. Saving
the field unchanged (the form showed the rendering in the editor's language) keeps it
generated.

Messages are written `N_("Deutscher Text %(name)s", name=…)`: `N_` is one of Babel's
default keywords, so `pybabel extract` finds the msgids like those of `_()`.
"""
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import LazyString, force_locale
from flask_babel import gettext as _gettext
from sqlalchemy.orm import Mapped, mapped_column

from .formatting import current_locale

#: The source language: msgids are German, so the German rendering needs no catalogue.
SOURCE_LOCALE = "de"
#: Paragraphs of a field given as several messages are joined like Markdown paragraphs.
PARAGRAPH_SEPARATOR = "\n\n"
#: Sentences of one paragraph (a list inside the field's list of paragraphs).
SENTENCE_SEPARATOR = " "
#: Items of a list parameter (the left-over topics of a wrap-up session).
LIST_SEPARATOR = ", "

#: `topics(ids)` gives the Topic rows of some ids (missing ones are left out).
TopicLoader = Callable[[Iterable[int]], Mapping[int, object]]


@dataclass(frozen=True)
class Message:
    """A msgid and its parameters (plain values, Topics, Messages, lists of them)."""

    msgid: str
    params: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """The stored form (see the module docstring)."""
        data = {"msgid": self.msgid}
        if self.params:
            data["params"] = {str(name): _param_json(value)
                              for name, value in self.params.items()}
        return data

    def render(self, locale: str | None = None) -> str:
        """The text in `locale` (default: the reader's, Flask-Babel's current locale)."""
        topics = {topic.id: topic for topic in _topics_in(self)}
        return render(self.to_json(), locale, lambda ids: topics)

    def __str__(self) -> str:
        return self.render()


def N_(msgid: str, **params) -> Message:  # noqa: N802 (Babel's default keyword)
    """A message to store and translate later; `pybabel extract` collects `msgid`."""
    return Message(msgid, params)


def label_message(label) -> Message:
    """The message of a label without placeholders, such as a `lazy_gettext` constant.

    Its German rendering is its msgid: German is the source language and has no
    catalogue (docs/i18n.md)."""
    if isinstance(label, Message):
        return label
    return Message(source_text(label))


def source_text(value) -> str:
    """`value` (a lazy string, a Message) in the source language, German."""
    if isinstance(value, Message):
        return value.render(SOURCE_LOCALE)
    with _locale(SOURCE_LOCALE):
        return str(value)


def _param_json(value):
    from .cities.models import Topic

    if isinstance(value, Message):
        return value.to_json()
    if isinstance(value, LazyString):
        return label_message(value).to_json()
    if isinstance(value, Topic):
        return {"topic": {"id": value.id, "slug": value.slug, "name_de": value.name_de}}
    if isinstance(value, (list, tuple)):
        return {"list": [_param_json(item) for item in value]}
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return value
    return str(value)


def _topics_in(message: Message) -> list:
    from .cities.models import Topic

    found, pending = [], list(message.params.values())
    while pending:
        value = pending.pop()
        if isinstance(value, Topic):
            found.append(value)
        elif isinstance(value, Message):
            pending.extend(value.params.values())
        elif isinstance(value, (list, tuple)):
            pending.extend(value)
    return found


def _messages_in(value) -> list:
    if isinstance(value, (list, tuple)):
        return [message for item in value for message in _messages_in(item)]
    return [value] if isinstance(value, Message) else []


def to_json(value):
    """A field's stored form: a message, or paragraphs (messages or lists of sentences)."""
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    return label_message(value).to_json() if isinstance(value, LazyString) else value.to_json()


# --- rendering ---------------------------------------------------------------------------

def languages() -> tuple:
    """The languages the app offers (config LANGUAGES), German first."""
    if has_app_context():
        return tuple(current_app.config.get("LANGUAGES", (SOURCE_LOCALE,)))
    return (SOURCE_LOCALE,)


class _locale:  # noqa: N801 (used like a function)
    """force_locale(locale), or nothing when `locale` is None or already the current one."""

    def __init__(self, locale: str | None):
        self.context = (force_locale(locale) if locale is not None and has_app_context()
                        and locale != current_locale() else None)

    def __enter__(self):
        if self.context is not None:
            self.context.__enter__()

    def __exit__(self, *exc):
        if self.context is not None:
            return self.context.__exit__(*exc)
        return False


def topic_ids(stored) -> set[int]:
    """The ids of the topics a stored field (or a whole `generated` mapping) names."""
    found: set[int] = set()
    pending = [stored]
    while pending:
        value = pending.pop()
        if isinstance(value, list):  # paragraphs, sentences or list items
            pending.extend(value)
        elif not isinstance(value, dict):
            continue
        elif "msgid" in value:  # a message: look at its parameters
            if isinstance(value.get("params"), dict):
                pending.extend(value["params"].values())
        elif "topic" in value:  # a topic parameter
            number = value["topic"].get("id") if isinstance(value["topic"], dict) else None
            if isinstance(number, int) and not isinstance(number, bool):
                found.add(number)
        elif "list" in value:
            pending.append(value["list"])
        else:  # a `generated` mapping: field name -> stored field
            pending.extend(value.values())
    return found


def map_topic_references(generated, change: Callable[[dict], dict]):
    """A copy of a `generated` mapping ({field: stored field}) with every topic reference
    ({"id", "slug", "name_de"}) replaced by `change(reference)`; the rest is kept as it is.

    The export uses it to drop the database ids (a topic is named by its slug there), the
    import to put the ids of the importing database back."""
    def field(value):
        if isinstance(value, list):  # paragraphs or sentences
            return [field(item) for item in value]
        if isinstance(value, dict) and "msgid" in value and isinstance(value.get("params"), dict):
            return {**value, "params": {name: param(item)
                                        for name, item in value["params"].items()}}
        return value

    def param(value):
        if isinstance(value, dict):
            if "msgid" in value:
                return field(value)
            if isinstance(value.get("topic"), dict):
                return {**value, "topic": change(value["topic"])}
            if isinstance(value.get("list"), list):
                return {**value, "list": [param(item) for item in value["list"]]}
            return value
        if isinstance(value, list):
            return [param(item) for item in value]
        return value

    if not isinstance(generated, dict):
        return generated
    return {name: field(stored) for name, stored in generated.items()}


def load_topics(ids: Iterable[int]) -> dict[int, object]:
    """Topic rows by id, in one statement (none for no ids)."""
    from .cities.models import Topic
    from .extensions import db

    wanted = sorted({number for number in ids if 0 < number <= 2**31 - 1})
    if not wanted:
        return {}
    return {topic.id: topic for topic in db.session.scalars(
        sa.select(Topic).where(Topic.id.in_(wanted)))}


def render(stored, locale: str | None = None, topics: TopicLoader | None = None) -> str:
    """A stored field in `locale` (default: the reader's); never raises.

    `topics` loads the named topics (default: one SELECT); a damaged entry renders as
    much as it can, down to its msgid, rather than failing the page."""
    try:
        ids = topic_ids(stored)
        found = (topics or load_topics)(ids) if ids else {}
        with _locale(locale):
            language = locale or current_locale()
            return _render_field(stored, language, found)
    except Exception:  # noqa: BLE001 (a page must not fail over one stored text)
        if has_app_context():
            current_app.logger.exception("generated text not rendered: %r", stored)
        return _fallback(stored)


def _render_field(stored, language: str, topics, depth: int = 0) -> str:
    if isinstance(stored, list):
        separator = PARAGRAPH_SEPARATOR if depth == 0 else SENTENCE_SEPARATOR
        return separator.join(text for text in (
            _render_field(item, language, topics, depth + 1) for item in stored) if text)
    return _render_message(stored, language, topics)


def _render_message(stored, language: str, topics) -> str:
    if not isinstance(stored, dict) or not isinstance(stored.get("msgid"), str):
        return "" if stored is None else str(stored)
    msgid = stored["msgid"]
    params = stored.get("params") or {}
    if not isinstance(params, dict):
        params = {}
    values = {name: _render_param(value, language, topics) for name, value in params.items()}
    translated = msgid if language == SOURCE_LOCALE else _gettext(msgid)
    for text in (translated, msgid):
        try:
            return text % values if values else text
        except (KeyError, ValueError, TypeError):
            continue  # a translation with other placeholders: the German text
    return msgid


def _render_param(value, language: str, topics):
    if isinstance(value, dict):
        if "msgid" in value:
            return _render_message(value, language, topics)
        if "topic" in value:
            return _topic_name(value["topic"], language, topics)
        if "list" in value and isinstance(value["list"], list):
            return LIST_SEPARATOR.join(str(_render_param(item, language, topics))
                                       for item in value["list"])
        return ""
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(_render_param(item, language, topics)) for item in value)
    return value if isinstance(value, (str, int, float)) else str(value)


def _topic_name(reference, language: str, topics) -> str:
    if not isinstance(reference, dict):
        return str(reference)
    topic = topics.get(reference.get("id")) if isinstance(reference.get("id"), int) else None
    if topic is not None and topic.slug == reference.get("slug"):
        return topic.name(language)
    return str(reference.get("name_de") or reference.get("slug") or "")


def _fallback(stored, depth: int = 0) -> str:
    try:
        if isinstance(stored, list):
            separator = PARAGRAPH_SEPARATOR if depth == 0 else SENTENCE_SEPARATOR
            return separator.join(_fallback(item, depth + 1) for item in stored)
        return str(stored.get("msgid", "")) if isinstance(stored, dict) else str(stored or "")
    except Exception:  # noqa: BLE001
        return ""


def renderings(stored, topics: TopicLoader | None = None) -> set[str]:
    """The field in every offered language (what a form may have shown a person)."""
    return {render(stored, language, topics) for language in languages()}


# --- on a model --------------------------------------------------------------------------

class GeneratedTexts:
    """Mixin for models with generated fields: the `generated` JSON column and its use.

    The model's plain columns hold the German rendering; `text(name)` gives the field in
    the reader's language (see the module docstring)."""

    #: {field name: stored message or list of messages}; None: nothing generated.
    generated: Mapped[dict | None] = mapped_column(sa.JSON(none_as_null=True), default=None)

    def generated_topics(self, ids: Iterable[int]) -> Mapping[int, object]:
        """Topics the generated fields name; models override it to load them in bulk."""
        return load_topics(ids)

    def stored_text(self, name: str):
        """The stored message(s) of field `name`, or None when the field is plain text."""
        generated = self.generated
        return generated.get(name) if isinstance(generated, dict) else None

    def text(self, name: str, locale: str | None = None) -> str:
        """Field `name` in `locale` (default: the reader's): generated texts translated,
        user content as it is."""
        stored = self.stored_text(name)
        if stored is None:
            return getattr(self, name) or ""
        return render(stored, locale, self.generated_topics)

    def generate(self, name: str, value, maximum: int | None = None) -> None:
        """Set field `name` to a generated text (a Message or a list of them): the German
        rendering (cut to `maximum`) into the column, the message into `generated`."""
        stored = to_json(value)
        named = {topic.id: topic for message in _messages_in(value)
                 for topic in _topics_in(message)}
        german = render(stored, SOURCE_LOCALE, lambda ids: named)
        setattr(self, name, german[:maximum] if maximum else german)
        self.generated = {**(self.generated or {}), name: stored}

    def edit(self, name: str, value: str) -> bool:
        """A person sets field `name` to `value`; False if it is the rendering they saw
        (the field stays generated), else it becomes their plain text."""
        stored = self.stored_text(name)
        if stored is not None and value in renderings(stored, self.generated_topics):
            return False
        setattr(self, name, value)
        if stored is not None:
            rest = {key: item for key, item in self.generated.items() if key != name}
            self.generated = rest or None
        return True

    def generated_fields(self) -> list[str]:
        """Names of the fields that are generated texts, sorted."""
        return sorted(self.generated) if isinstance(self.generated, dict) else []
