"""Select-box options for topics and cities, shared by the forms of every domain."""
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from wtforms.fields.choices import SelectChoice

from ..extensions import db
from ..formatting import DEFAULT_LOCALE, current_locale
from .models import City, Topic

#: Indentation per tree level in a topic list (an em space: visible in <option>, which
#: collapses ordinary spaces).
INDENT = "\u2003"
#: Sorting folds umlauts like a German dictionary (DIN 5007-1), the same on every database.
_GERMAN_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})
#: Name of the per-process cache of topic_order().
TOPIC_ORDER_CACHE = "topic_order"


def _name_key(name: str) -> tuple[str, str]:
    return name.casefold().translate(_GERMAN_FOLD), name


def sorted_topics(topics: Iterable, locale: str = DEFAULT_LOCALE) -> list:
    """Topics sorted by their name in `locale` like a German dictionary (DIN 5007-1: case
    and umlauts folded, "eAkte" before "IT-Sicherheit"), not by character code."""
    return sorted(topics, key=lambda topic: _name_key(topic.name(locale)))


def topic_choices(*, selected: Iterable = (), max_depth: int | None = None,
                  leave_out: Callable | None = None, blank=None, value: str = "slug",
                  grouped: bool = False) -> list[SelectChoice]:
    """Topics in tree order (siblings by name), indented by depth, named in the reader's
    language (German where a topic has no English name, marked lang="de").

    `value` names the column sent by the form ("slug" or "id"). `blank` is the label of
    a leading empty option (None: no such option). Topics deeper than `max_depth` (roots
    are depth 0) or for which `leave_out(row)` is true (row has id, slug, name_de,
    parent_id, ozg_key) are not offered, except the values in `selected`, so that a form
    can always show what is already chosen. `grouped` puts each tree in an <optgroup>
    named after its root. Topics outside the tree (a cycle in hand-made data) come last.
    """
    keep = set(selected)
    locale = current_locale()
    english = locale != DEFAULT_LOCALE
    choices = [SelectChoice("", blank)] if blank is not None else []
    for row, depth, group in topic_order(locale):
        wanted = ((max_depth is None or depth <= max_depth)
                  and not (leave_out is not None and leave_out(row)))
        if wanted or getattr(row, value) in keep:
            # A name that falls back to German is marked, so screen readers say it right.
            render_kw = {"lang": DEFAULT_LOCALE} if english and not row.name_en else None
            choices.append(SelectChoice(getattr(row, value), INDENT * depth + _label(row, locale),
                                        optgroup=group if grouped else None,
                                        render_kw=render_kw))
    return choices


def _label(row, locale: str) -> str:
    return row.name_en if locale != DEFAULT_LOCALE and row.name_en else row.name_de


def topic_order(locale: str = DEFAULT_LOCALE) -> list[tuple]:
    """(row, depth, root name or None) of every topic in tree order, siblings by their name
    in `locale` (German where a topic has no English name); topics outside the tree (a
    cycle in hand-made data) last, at depth 0.

    Kept per process while the taxonomy's version stays (sorting and walking 642 topics
    cost ~8 ms on every page with a topic picker); a transaction that changed topics
    gets its own, uncached.
    """
    from ..matching.models import TAXONOMY, has_uncommitted_changes
    from ..matching.snapshot import cache, current_versions

    version = current_versions((TAXONOMY,))[TAXONOMY]
    if has_uncommitted_changes(db.session, TAXONOMY):
        return _read_topic_order(locale)
    return cache(f"{TOPIC_ORDER_CACHE}:{locale}").get(
        version, lambda: (version, _read_topic_order(locale)))


def _read_topic_order(locale: str) -> list[tuple]:
    rows = db.session.execute(sa.select(Topic.id, Topic.slug, Topic.name_de, Topic.name_en,
                                        Topic.parent_id, Topic.ozg_key)).all()
    ordered = sorted(rows, key=lambda r: _name_key(_label(r, locale)))
    children: dict[int | None, list] = {}
    for row in ordered:
        children.setdefault(row.parent_id, []).append(row)
    order: list[tuple] = []
    seen: set[int] = set()

    def walk(parent_id: int | None, depth: int, group: str | None) -> None:
        for row in children.get(parent_id, []):
            if row.id in seen:
                continue
            seen.add(row.id)
            order.append((row, depth, group if depth else _label(row, locale)))
            walk(row.id, depth + 1, group if depth else _label(row, locale))

    walk(None, 0, None)
    order += [(row, 0, None) for row in ordered if row.id not in seen]
    return order


def city_choices(*, blank=None, value: str = "slug",
                 exclude_ids: Iterable[int] = ()) -> list[SelectChoice]:
    """Cities by name (value: "slug" or "id"), without `exclude_ids`, after an optional
    empty option labelled `blank`."""
    excluded = set(exclude_ids)
    rows = db.session.execute(sa.select(City.id, City.slug, City.name)).all()
    choices = [SelectChoice("", blank)] if blank is not None else []
    choices += [SelectChoice(getattr(row, value), row.name)
                for row in sorted(rows, key=lambda r: _name_key(r.name))
                if row.id not in excluded]
    return choices
