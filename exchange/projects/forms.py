"""Forms of the projects domain: proposal, editing, answer, comment, invitation, actions."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .services import MAX_TEXT, MAX_TITLE

#: OZG catalogue levels too fine-grained for a proposal form (thousands of Leistungen).
FINE_GRAINED_OZG_KEYS = ("lebenslage:", "leistung:")


class ProjectTextForm(FlaskForm):
    """Title, description and topics of a project (editing an existing one)."""

    title = StringField(_l("Titel"), validators=[
        DataRequired(_l("Bitte geben Sie einen Titel an.")), Length(max=MAX_TITLE)])
    description = TextAreaField(_l("Beschreibung (Markdown)"),
                                validators=[Optional(), Length(max=MAX_TEXT)])
    # The service checks topics and cities and explains refusals in German.
    topics = SelectMultipleField(_l("Themen"), validate_choice=False)


class ProjectForm(ProjectTextForm):
    """Propose a joint project (or keep it as a draft); platform admins pick the city."""

    city = SelectField(_l("Für Stadt"), validate_choice=False)
    invited_cities = SelectMultipleField(_l("Eingeladene Städte"), validate_choice=False)
    propose = SubmitField(_l("Vorschlag absenden"))
    save_draft = SubmitField(_l("Als Entwurf speichern"))


class ResponseForm(FlaskForm):
    """An invited city's answer with a message."""

    message = TextAreaField(_l("Nachricht an die einladende Stadt"),
                            validators=[Optional(), Length(max=MAX_TEXT)])
    accept = SubmitField(_l("Einladung annehmen"))
    decline = SubmitField(_l("Einladung ablehnen"))


class CommentForm(FlaskForm):
    """A comment on the project page."""

    body = TextAreaField(_l("Kommentar"), validators=[
        DataRequired(_l("Bitte schreiben Sie einen Kommentar.")), Length(max=MAX_TEXT)])


class InviteForm(FlaskForm):
    """Invite one more city."""

    city = SelectField(_l("Weitere Stadt einladen"), validate_choice=False,
                       validators=[DataRequired(_l("Bitte wählen Sie eine Stadt."))])


class ActionForm(FlaskForm):
    """Buttons that only need the CSRF token (state changes, marking read)."""


def is_fine_grained_ozg(topic) -> bool:
    """Whether a topic is an OZG level too fine for the proposal form (unless chosen)."""
    return (topic.ozg_key or "").startswith(FINE_GRAINED_OZG_KEYS)
