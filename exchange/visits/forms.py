"""Forms of the visits pages (WTForms with CSRF); the services hold the rules."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateTimeLocalField, SelectChoice, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import InputRequired, Optional

from .models import KIND_LABELS, SESSION_KINDS, SIDE_LABELS, SIDES, STATUS_LABELS, STATUSES

#: The value format of <input type="datetime-local">.
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
DATETIME_MESSAGE = _l("Bitte geben Sie Datum und Uhrzeit an (TT.MM.JJJJ, HH:MM).")


def _datetime_field(label):
    return DateTimeLocalField(label, format=DATETIME_FORMAT,
                              validators=[InputRequired(message=DATETIME_MESSAGE)])


class VisitForm(FlaskForm):
    """Create or edit a visit."""

    title = StringField(_l("Titel"))
    host_city = SelectField(_l("Gastgeberstadt"), coerce=int)
    visiting_city = SelectField(_l("Besuchende Stadt"), coerce=int)
    starts_at = _datetime_field(_l("Beginn (Ortszeit Berlin)"))
    ends_at = _datetime_field(_l("Ende (Ortszeit Berlin)"))
    place = StringField(_l("Ort"))
    address = StringField(_l("Adresse"))
    status = SelectField(_l("Status"),
                         choices=[SelectChoice(s, STATUS_LABELS[s]) for s in STATUSES])
    topics = SelectMultipleField(_l("Ziele (Themen)"), coerce=int, validators=[Optional()])
    notes = TextAreaField(_l("Notizen (Markdown)"))
    delegation = TextAreaField(_l("Delegation (eine Person pro Zeile)"))


class SessionForm(FlaskForm):
    """Add or edit an agenda session."""

    title = StringField(_l("Titel"))
    starts_at = _datetime_field(_l("Beginn"))
    ends_at = _datetime_field(_l("Ende"))
    room = StringField(_l("Raum"))
    kind = SelectField(_l("Art"), choices=[SelectChoice(k, KIND_LABELS[k])
                                              for k in SESSION_KINDS],
                       default="custom")
    topics = SelectMultipleField(_l("Themen"), coerce=int, validators=[Optional()])
    description = TextAreaField(_l("Beschreibung (Markdown)"))
    open_questions = TextAreaField(_l("Offene Fragen"))
    experiences = TextAreaField(_l("Erfahrungen (Kurz-URL je Zeile, wichtigste zuerst)"))

    def experience_slugs(self) -> list[str]:
        """The slugs typed into the experiences field (full URLs are accepted too)."""
        slugs = []
        for line in (self.experiences.data or "").splitlines():
            line = line.strip().rstrip("/")
            if line:
                slugs.append(line.rsplit("/", 1)[-1])
        return slugs

    def session_fields(self) -> dict:
        """The form's values as keyword arguments of services.add_session/update_session."""
        return {
            "title": self.title.data, "starts_at": self.starts_at.data,
            "ends_at": self.ends_at.data, "room": self.room.data, "kind": self.kind.data,
            "topics": self.topics.data, "description": self.description.data,
            "open_questions": self.open_questions.data,
            "experiences": self.experience_slugs(),
        }


class MemberForm(FlaskForm):
    """Add a delegation member: a registered person by e-mail or an external guest."""

    email = StringField(_l("E-Mail-Adresse einer registrierten Person"))
    guest_name = StringField(_l("oder Name eines externen Gastes"))
    role = StringField(_l("Funktion"))
    organisation = StringField(_l("Organisation"))
    side = SelectField(_l("Seite"), choices=[SelectChoice(s, SIDE_LABELS[s]) for s in SIDES],
                       default="guest")


class OutcomesForm(FlaskForm):
    """Record what was agreed."""

    outcomes = TextAreaField(_l("Ergebnisse und Vereinbarungen (Markdown)"))


class ProposeForm(FlaskForm):
    """Ask for an agenda proposal; replacing an existing agenda needs confirmation."""

    replace = BooleanField(_l("Bestehende Agenda ersetzen"))


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (move, remove, create report)."""
