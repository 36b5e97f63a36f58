"""Page slots: a domain adds a section to another domain's page without importing it.

The page owner calls `fill(page, **context)` and includes the returned templates; other
domains register providers with `@slot(page, name, template)` when their views load.
"""
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """One filled slot: its name, the template to include and the data for it."""

    name: str
    template: str
    data: object


_PROVIDERS: dict[str, list[tuple[int, str, str, Callable]]] = {}


def slot(page: str, name: str, template: str, order: int = 50):
    """Register `function(**context)` to fill `page`; it returns data or None to skip."""
    def decorator(function: Callable) -> Callable:
        providers = _PROVIDERS.setdefault(page, [])
        providers[:] = [entry for entry in providers if entry[1] != name]
        providers.append((order, name, template, function))
        providers.sort(key=lambda entry: (entry[0], entry[1]))
        return function
    return decorator


def fill(page: str, **context) -> list[Section]:
    """Ask every provider of `page` for its data, in order; skip those returning None."""
    sections = []
    for _order, name, template, function in _PROVIDERS.get(page, []):
        data = function(**context)
        if data is not None:
            sections.append(Section(name, template, data))
    return sections
