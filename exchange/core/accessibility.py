"""Template helpers for accessible forms: which forms on a page have errors, the
error summary's entries (BITV 2.0 / WCAG 3.3.1, 3.3.3) and the topic picker's texts."""
import json

from flask_babel import get_translations
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from jinja2 import pass_context


@pass_context
def forms_with_errors(context) -> list:
    """The forms passed to the page being rendered that carry errors, in a stable order.

    base.html asks this for the "Fehler: " title prefix and the error summary, so no
    view has to pass a flag: every FlaskForm in the template context counts."""
    seen, forms = set(), []
    for name in sorted(context.keys()):
        value = context.get(name)
        if isinstance(value, FlaskForm) and value.errors and id(value) not in seen:
            seen.add(id(value))
            forms.append(value)
    return forms


def error_entries(form) -> list[tuple[str | None, str]]:
    """(field id or None, message) for every error of `form`: field errors link to their
    field; form-level errors and those of hidden fields (no visible target) do not."""
    entries = [(None, str(message)) for message in form.form_errors]
    for field in form:
        if not field.errors:
            continue
        hidden = field.widget.input_type == "hidden" if hasattr(field.widget, "input_type") else False
        for message in field.errors:
            if isinstance(message, (list, tuple, dict)):   # FieldList / FormField
                continue
            entries.append((None if hidden else field.id, str(message)))
    return entries


def topic_picker(plain_help: bool = False) -> dict[str, str]:
    """Attributes that make a topic <select> a searchable tree picker (static/app.js).

    `data-topic-picker` holds the widget's texts in the reader's language as JSON
    ({topic} and {n} are filled in by the script); with `plain_help` the field's help
    text speaks of the plain select only (Ctrl/Cmd) and the script hides it once the
    picker replaces the select. Use as `field(form.topics, **topic_picker())`."""
    results = get_translations().ngettext
    texts = {
        "hint": _("Tippen filtert den Baum. Pfeiltasten: auf und ab; rechts und links: "
                  "auf- und zuklappen; Leertaste: wählen."),
        "matchesOne": results("%(num)s Treffer", "%(num)s Treffer", 1) % {"num": "{n}"},
        "matchesOther": results("%(num)s Treffer", "%(num)s Treffer", 2) % {"num": "{n}"},
        "noMatches": _("Keine Treffer"),
        "chosen": _("Ausgewählt:"),
        "nothingChosen": _("nichts"),
        "remove": _("%(topic)s entfernen", topic="{topic}"),
        "subtopics": _("Unterthemen von %(topic)s", topic="{topic}"),
    }
    attributes = {"data-topic-picker": json.dumps(texts, ensure_ascii=False)}
    if plain_help:
        attributes["data-topic-picker-plain-help"] = "true"
    return attributes


def init_app(app) -> None:
    """Make the helpers available in every template."""
    app.jinja_env.globals["forms_with_errors"] = forms_with_errors
    app.jinja_env.globals["error_entries"] = error_entries
    app.jinja_env.globals["topic_picker"] = topic_picker
