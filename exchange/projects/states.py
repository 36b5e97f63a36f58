"""The project state machine: every allowed transition is listed here and nowhere else.

    draft ──submit──▶ proposed ──(first acceptance)──▶ active ──complete──▶ completed
      │                  │ └──(every invited city declined)──▶ declined
      └──withdraw──▶ withdrawn ◀──withdraw── (proposed, active)

Transitions marked `AUTOMATIC` happen as a consequence of the invited cities' answers;
the others are asked for by the initiating city's admin.
"""
from flask_babel import lazy_gettext as _l

STATES = ("draft", "proposed", "active", "declined", "completed", "withdrawn")

#: (from, to) -> how it happens: "manual" (the initiator's admin asks for it) or
#: "automatic" (a consequence of the invited cities' answers).
TRANSITIONS = {
    ("draft", "proposed"): "manual",
    ("draft", "withdrawn"): "manual",
    ("proposed", "active"): "automatic",
    ("proposed", "declined"): "automatic",
    ("proposed", "withdrawn"): "manual",
    ("active", "completed"): "manual",
    ("active", "withdrawn"): "manual",
}

#: Targets a person may ask for (API `{"to": ...}` and the buttons on the project page).
MANUAL_TARGETS = ("proposed", "completed", "withdrawn")

#: States in which invited cities may still answer; `active` keeps the door open for
#: cities that have not answered yet.
ANSWERABLE_STATES = ("proposed", "active")
#: States in which the initiator may invite further cities.
INVITABLE_STATES = ("draft", "proposed", "active")
#: States in which the initiator may still change title, description and topics; a
#: finished project keeps the text the cities answered to and reported on.
EDITABLE_STATES = ("draft", "proposed", "active")
#: Comments stay possible on finished projects (lessons learned), but not on withdrawn ones.
COMMENTABLE_STATES = ("draft", "proposed", "active", "declined", "completed")
#: Finished states: nothing but comments (and the report) happens any more.
FINAL_STATES = ("declined", "completed", "withdrawn")

#: German names of the states, for pages and messages.
STATE_LABELS = {
    "draft": _l("Entwurf"),
    "proposed": _l("Vorgeschlagen"),
    "active": _l("Aktiv"),
    "declined": _l("Abgelehnt"),
    "completed": _l("Abgeschlossen"),
    "withdrawn": _l("Zurückgezogen"),
}

#: Button labels for the manual transitions.
ACTION_LABELS = {
    "proposed": _l("Vorschlag absenden"),
    "completed": _l("Projekt abschließen"),
    "withdrawn": _l("Zurückziehen"),
}


def can_transition(current: str, target: str, automatic: bool = False) -> bool:
    """True when `current` -> `target` is allowed in this way (manual or automatic)."""
    how = TRANSITIONS.get((current, target))
    return how == ("automatic" if automatic else "manual")


def reachable(current: str, target: str) -> bool:
    """True when `target` is `current` or follows from it by allowed transitions (of
    either kind): a later copy of the same project can be in that state."""
    seen, pending = {current}, [current]
    while pending:
        state = pending.pop()
        for source, following in TRANSITIONS:
            if source == state and following not in seen:
                seen.add(following)
                pending.append(following)
    return target in seen


def manual_targets(current: str) -> list[str]:
    """The states a person may move a project in `current` to, in display order."""
    return [target for target in MANUAL_TARGETS if can_transition(current, target)]
