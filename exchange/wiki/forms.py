"""Forms of the wiki: writing an experience and small action forms (CSRF only)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (HiddenField, SelectChoice, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import Length, Optional

from ..cities.choices import topic_choices
from .models import KINDS, STATUSES
from .services import MAX_BODY, MAX_CONTACT_EMAIL, MAX_CONTACT_NAME, MAX_SUMMARY, MAX_TITLE

#: Labels of the experience kinds, in the order of the select box.
KIND_LABELS = {
    "lesson_learned": _l("Lessons learned"),
    "practice": _l("Bewährte Praxis"),
    "project_report": _l("Projektbericht"),
    "visit_report": _l("Besuchsbericht"),
}
STATUS_LABELS = {"draft": _l("Entwurf"), "published": _l("Veröffentlicht")}


class ExperienceForm(FlaskForm):
    """Create or edit an experience; the service does the real validation."""

    title = StringField(_l("Titel"), validators=[Length(max=MAX_TITLE)])
    slug = StringField(_l("Kurz-URL (optional)"), validators=[Optional(), Length(max=120)])
    kind = SelectField(_l("Art"), choices=[SelectChoice(kind, KIND_LABELS[kind])
                                           for kind in KINDS])
    topics = SelectMultipleField(_l("Themen"), choices=[], validate_choice=False)
    body = TextAreaField(_l("Text (Markdown)"), validators=[Length(max=MAX_BODY)])
    contact_name = StringField(_l("Ansprechperson"), validators=[Length(max=MAX_CONTACT_NAME)])
    contact_email = StringField(_l("E-Mail der Ansprechperson"),
                                validators=[Length(max=MAX_CONTACT_EMAIL)])
    status = SelectField(_l("Status"),
                         choices=[SelectChoice(status, STATUS_LABELS[status])
                                  for status in STATUSES])
    summary = StringField(_l("Zusammenfassung der Änderung"),
                          validators=[Length(max=MAX_SUMMARY)])
    base_revision = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.topics.choices = topic_choices()

    def add_errors(self, errors: dict) -> None:
        """Show a service's field errors at the fields (others at the top of the form)."""
        for name, message in errors.items():
            target = getattr(self, name, None) if name != "base_revision" else None
            if target is not None and hasattr(target, "errors"):
                target.errors = list(target.errors) + [message]
            else:
                self.form_errors.append(message)


class ActionForm(FlaskForm):
    """An empty form for POST buttons (publish, delete, restore): CSRF protection only."""

    summary = StringField(_l("Zusammenfassung"), validators=[Optional(),
                                                              Length(max=MAX_SUMMARY)])
