"""Forms for cities and interests (Flask-WTF, CSRF-protected, German labels)."""
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (URL, DataRequired, Length, NumberRange, Optional, Regexp,
                                ValidationError)

from ..extensions import db
from .choices import topic_choices
from .models import MATURITY_MAX, MATURITY_MIN, STANCES, Topic
from .services import (NAME_MAX, NOTE_MAX, POPULATION_MAX, PROFILE_MAX, SLUG_MAX, STATES,
                       WEBSITE_MAX)

#: Stance labels for forms and pages.
STANCE_LABELS = {
    "offers": _l("bietet Erfahrung an"),
    "seeks": _l("sucht Erfahrung"),
    "working_on": _l("arbeitet daran (offen für Projekte)"),
}
MATURITY_LABELS = {
    1: _l("1 – Idee"),
    2: _l("2 – Planung"),
    3: _l("3 – in Umsetzung"),
    4: _l("4 – im Betrieb"),
    5: _l("5 – etabliert, übertragbar"),
}


def state_choices(blank=True):
    """Federal state options, optionally led by an empty choice."""
    choices = [SelectChoice(state, state) for state in STATES]
    return ([SelectChoice("", _l("– Bundesland wählen –"))] if blank else []) + choices


class CityProfileForm(FlaskForm):
    """What a city admin edits: profile, website, population."""

    population = IntegerField(
        _l("Einwohnerzahl"),
        validators=[Optional(), NumberRange(min=1, max=POPULATION_MAX,
                                            message=_l("Bitte eine Zahl zwischen 1 und %(max)s.",
                                                       max=POPULATION_MAX))],
    )
    website = StringField(
        _l("Website"),
        validators=[Optional(), Length(max=WEBSITE_MAX, message=_l("Höchstens %(max)d Zeichen.")),
                    URL(require_tld=True,
                        message=_l("Bitte eine vollständige Adresse (https://…)."))],
    )
    profile = TextAreaField(
        _l("Profil (Markdown)"),
        validators=[Length(max=PROFILE_MAX, message=_l("Höchstens %(max)d Zeichen."))],
    )
    submit = SubmitField(_l("Speichern"))


class CityCreateForm(CityProfileForm):
    """A platform admin adds a city, optionally prefilled from the municipality directory."""

    ags = StringField(
        _l("Amtlicher Gemeindeschlüssel (AGS)"),
        validators=[Optional(), Regexp(r"^\s*\d{8}\s*$",
                                       message=_l("Der AGS besteht aus genau 8 Ziffern."))],
    )
    name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("Bitte geben Sie den Namen an.")),
                    Length(max=NAME_MAX, message=_l("Höchstens %(max)d Zeichen."))],
    )
    state = SelectField(_l("Bundesland"), choices=state_choices(),
                        validators=[DataRequired(message=_l("Bitte wählen Sie das Bundesland."))])
    slug = StringField(
        _l("Kurzform für Adressen (Slug)"),
        validators=[Optional(), Length(max=SLUG_MAX, message=_l("Höchstens %(max)d Zeichen.")),
                    Regexp(r"^[a-z0-9]+(-[a-z0-9]+)*$",
                           message=_l("Nur Kleinbuchstaben, Ziffern und Bindestriche."))],
    )
    lookup = SubmitField(_l("Aus dem Gemeindeverzeichnis übernehmen"))
    submit = SubmitField(_l("Stadt anlegen"))


class InterestForm(FlaskForm):
    """Add or change a city's stance on one topic."""

    topic = SelectField(_l("Thema"), validate_choice=False,
                        validators=[DataRequired(message=_l("Bitte wählen Sie ein Thema."))])
    stance = SelectField(_l("Haltung"), choices=[SelectChoice(stance, label)
                                  for stance, label in STANCE_LABELS.items()],
                         validators=[DataRequired(message=_l("Bitte wählen Sie eine Haltung."))])
    maturity = SelectField(_l("Reifegrad"), coerce=int, default=3,
                           choices=[SelectChoice(level, MATURITY_LABELS[level])
                                    for level in range(MATURITY_MIN, MATURITY_MAX + 1)])
    note = TextAreaField(
        _l("Notiz"),
        validators=[Length(max=NOTE_MAX, message=_l("Höchstens %(max)d Zeichen."))],
    )
    submit = SubmitField(_l("Speichern"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.topic.choices = topic_choices(blank=_l("– Thema wählen –"), grouped=True)

    def validate_topic(self, field) -> None:
        """The topic must exist; remember it for the view."""
        self.topic_obj = db.session.scalar(sa.select(Topic).where(Topic.slug == field.data))
        if self.topic_obj is None:
            raise ValidationError(_l("Dieses Thema gibt es nicht."))


class ConfirmForm(FlaskForm):
    """An empty form for buttons that change something (CSRF token only)."""
