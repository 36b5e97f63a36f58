"""Forms for login, registration, password reset, profile, tokens and approvals (German
labels, CSRF)."""
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, EmailField, HiddenField, PasswordField, SelectField,
                     StringField, SubmitField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (DataRequired, Email, EqualTo, InputRequired, Length,
                                ValidationError)

from ..extensions import db
from ..util import is_single_line, utcnow
from .models import ROLES, local_today
from .services import (MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, default_token_last_day,
                       latest_token_last_day, token_expiry_problem)

EMAIL_MAX = 254
DISPLAY_NAME_MAX = 120
PASSWORD_MAX = MAX_PASSWORD_LENGTH
TOKEN_NAME_MAX = 80

ROLE_LABELS = {
    "staff": _l("Mitarbeiter/in"),
    "city_admin": _l("Stadt-Admin (CDO/CIO)"),
    "visit_planner": _l("Besuchsplanung"),
}
LANGUAGE_LABELS = {"de": "Deutsch", "en": "English"}


def one_line(form, field) -> None:
    """WTForms validator: no line break or control character (names go into mail headers)."""
    if field.data and not is_single_line(field.data):
        raise ValidationError(_l("Bitte ohne Zeilenumbrüche und Steuerzeichen."))


def _password_validators():
    return [
        DataRequired(message=_l("Bitte geben Sie ein Passwort ein.")),
        Length(min=MIN_PASSWORD_LENGTH, max=PASSWORD_MAX,
               message=_l("Das Passwort muss %(min)d bis %(max)d Zeichen lang sein.")),
    ]


class LoginForm(FlaskForm):
    """E-mail address and password."""

    email = EmailField(
        _l("E-Mail-Adresse"),
        validators=[DataRequired(message=_l("Bitte geben Sie Ihre E-Mail-Adresse ein.")),
                    Length(max=EMAIL_MAX)],
    )
    password = PasswordField(
        _l("Passwort"),
        validators=[DataRequired(message=_l("Bitte geben Sie Ihr Passwort ein.")),
                    Length(max=PASSWORD_MAX)],
    )
    next = HiddenField()
    submit = SubmitField(_l("Anmelden"))


class RegisterForm(FlaskForm):
    """Self-registration of city staff; the city admin approves it."""

    email = EmailField(
        _l("E-Mail-Adresse"),
        validators=[DataRequired(message=_l("Bitte geben Sie Ihre E-Mail-Adresse ein.")),
                    Length(max=EMAIL_MAX, message=_l("Höchstens %(max)d Zeichen.")),
                    Email(message=_l("Bitte geben Sie eine gültige E-Mail-Adresse ein."),
                          check_deliverability=False)],
    )
    display_name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("Bitte geben Sie Ihren Namen ein.")),
                    Length(max=DISPLAY_NAME_MAX, message=_l("Höchstens %(max)d Zeichen.")),
                    one_line],
    )
    city = SelectField(_l("Stadt"), coerce=str, validate_choice=False,
                       validators=[DataRequired(message=_l("Bitte wählen Sie Ihre Stadt."))])
    password = PasswordField(_l("Passwort"), validators=_password_validators())
    password_confirm = PasswordField(
        _l("Passwort wiederholen"),
        validators=[EqualTo("password", message=_l("Die Passwörter stimmen nicht überein."))],
    )
    submit = SubmitField(_l("Registrieren"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from ..cities.choices import city_choices

        self.city.choices = city_choices(blank=_l("– Stadt wählen –"))
        self.city_obj = None

    def validate_city(self, field) -> None:
        """The city must exist."""
        from ..cities.models import City

        self.city_obj = db.session.scalar(sa.select(City).where(City.slug == field.data))
        if self.city_obj is None:
            raise ValidationError(_l("Diese Stadt gibt es nicht."))


class ResetRequestForm(FlaskForm):
    """Ask for a password-reset link by e-mail."""

    email = EmailField(
        _l("E-Mail-Adresse"),
        validators=[DataRequired(message=_l("Bitte geben Sie Ihre E-Mail-Adresse ein.")),
                    Length(max=EMAIL_MAX, message=_l("Höchstens %(max)d Zeichen."))],
    )
    submit = SubmitField(_l("Link zusenden"))


class ResetPasswordForm(FlaskForm):
    """A new password, set with a reset link."""

    password = PasswordField(_l("Neues Passwort"), validators=_password_validators())
    password_confirm = PasswordField(
        _l("Neues Passwort wiederholen"),
        validators=[EqualTo("password", message=_l("Die Passwörter stimmen nicht überein."))],
    )
    submit = SubmitField(_l("Passwort setzen"))


class ProfileForm(FlaskForm):
    """Display name and preferred language."""

    display_name = StringField(
        _l("Name"),
        validators=[DataRequired(message=_l("Bitte geben Sie Ihren Namen ein.")),
                    Length(max=DISPLAY_NAME_MAX, message=_l("Höchstens %(max)d Zeichen.")),
                    one_line],
    )
    locale = SelectField(_l("Sprache"), choices=[SelectChoice(code, label)
                                                 for code, label in LANGUAGE_LABELS.items()])
    submit = SubmitField(_l("Speichern"))


class PasswordForm(FlaskForm):
    """Change the password; the current one proves it is really the owner."""

    current_password = PasswordField(
        _l("Aktuelles Passwort"),
        validators=[DataRequired(message=_l("Bitte geben Sie Ihr aktuelles Passwort ein.")),
                    Length(max=PASSWORD_MAX)],
    )
    new_password = PasswordField(_l("Neues Passwort"), validators=_password_validators())
    new_password_confirm = PasswordField(
        _l("Neues Passwort wiederholen"),
        validators=[EqualTo("new_password", message=_l("Die Passwörter stimmen nicht überein."))],
    )
    submit = SubmitField(_l("Passwort ändern"))


class TokenForm(FlaskForm):
    """A new personal API token, named so its owner recognises it later."""

    name = StringField(
        _l("Name des Tokens"),
        validators=[DataRequired(message=_l("Bitte geben Sie dem Token einen Namen.")),
                    Length(max=TOKEN_NAME_MAX, message=_l("Höchstens %(max)d Zeichen.")),
                    one_line],
    )
    scope_read = BooleanField(_l("Lesen"), default=True)
    scope_write = BooleanField(_l("Schreiben (schließt Lesen ein)"))
    #: The browser's date picker sends ISO dates; typed German dates are accepted too.
    last_day = DateField(
        _l("Gültig bis einschließlich"), format=["%Y-%m-%d", "%d.%m.%Y"],
        invalid_value_message=_l("Bitte geben Sie ein gültiges Datum an, z. B. 31.12.2027."),
        # InputRequired, not DataRequired: that one would hide the "not a date" error.
        validators=[InputRequired(message=_l("Bitte geben Sie an, bis wann der Token gilt."))],
    )
    submit = SubmitField(_l("Token erstellen"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: Today in German time; a token may work through today at the earliest.
        self.today = local_today(utcnow())
        if self.last_day.data is None and not self.last_day.raw_data:
            self.last_day.data = default_token_last_day(self.today)
        self.last_day.render_kw = {"min": self.today.isoformat(),
                                   "max": latest_token_last_day(self.today).isoformat()}

    @property
    def scopes(self) -> tuple[str, ...]:
        """The chosen scopes (services.token_scopes adds read to write)."""
        return tuple(scope for scope, field in (("read", self.scope_read),
                                                ("write", self.scope_write)) if field.data)

    def validate_scope_read(self, field) -> None:
        """At least one scope."""
        if not self.scopes:
            raise ValidationError(_l("Bitte wählen Sie, was der Token darf: lesen, oder lesen "
                                     "und schreiben."))

    def validate_last_day(self, field) -> None:
        """Not in the past, at most a year ahead (services.token_expiry_problem)."""
        if field.data is None:  # not a date: the field has said so
            return
        problem = token_expiry_problem(field.data, self.today)
        if problem:
            raise ValidationError(problem)


class RoleForm(FlaskForm):
    """A city admin sets the role of a user of their city."""

    role = SelectField(_l("Rolle"), choices=[SelectChoice(role, ROLE_LABELS[role])
                                                for role in ROLES])
    submit = SubmitField(_l("Rolle ändern"))


class ConfirmForm(FlaskForm):
    """An empty form for buttons that change something (CSRF token only)."""
