"""Template helpers for accessible forms: which forms on a page have errors, and the
error summary's entries (BITV 2.0 / WCAG 3.3.1, 3.3.3)."""
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


def init_app(app) -> None:
    """Make the helpers available in every template."""
    app.jinja_env.globals["forms_with_errors"] = forms_with_errors
    app.jinja_env.globals["error_entries"] = error_entries
