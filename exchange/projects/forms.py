"""Forms of the projects domain: proposal, editing, answer, comment, invitation, actions."""
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..cities.models import City, Topic
from ..extensions import db
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


def topic_choices(selected=()) -> list[tuple[str, str]]:
    """Topics for the proposal form: everything but the finest OZG levels, plus `selected`."""
    keep = set(selected)
    topics = db.session.scalars(sa.select(Topic).order_by(Topic.name_de)).all()
    return [(topic.slug, topic.name_de) for topic in topics
            if topic.slug in keep or not (topic.ozg_key or "").startswith(FINE_GRAINED_OZG_KEYS)]


def city_choices(exclude_ids=()) -> list[tuple[str, str]]:
    """Cities as (slug, name), without the ones in `exclude_ids`."""
    cities = db.session.scalars(sa.select(City).order_by(City.name)).all()
    return [(city.slug, city.name) for city in cities if city.id not in set(exclude_ids)]
