"""Forms of the wiki: writing an experience and small action forms (CSRF only)."""
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (HiddenField, SelectChoice, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import Length, Optional

from ..extensions import db
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


def topic_choices() -> list[SelectChoice]:
    """All topics as options (value: slug), in tree order with indentation by depth."""
    from ..cities.models import Topic

    topics = db.session.scalars(sa.select(Topic).order_by(Topic.name_de)).all()
    children: dict = {}
    for topic in topics:
        children.setdefault(topic.parent_id, []).append(topic)
    choices, seen = [], set()

    def walk(parent_id, depth):
        for topic in children.get(parent_id, []):
            if topic.id in seen:
                continue
            seen.add(topic.id)
            choices.append(SelectChoice(topic.slug, "\u2003" * depth + topic.name_de))
            walk(topic.id, depth + 1)

    walk(None, 0)
    for topic in topics:  # anything unreachable (a broken tree) still shows
        if topic.id not in seen:
            choices.append(SelectChoice(topic.slug, topic.name_de))
    return choices


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
