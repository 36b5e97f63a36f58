"""Forms for login, registration, password reset, profile, tokens and approvals (German
labels, CSRF)."""
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from ..extensions import db
from ..util import is_single_line
from .models import ROLES
from .services import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

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
    submit = SubmitField(_l("Token erstellen"))


class RoleForm(FlaskForm):
    """A city admin sets the role of a user of their city."""

    role = SelectField(_l("Rolle"), choices=[SelectChoice(role, ROLE_LABELS[role])
                                                for role in ROLES])
    submit = SubmitField(_l("Rolle ändern"))


class ConfirmForm(FlaskForm):
    """An empty form for buttons that change something (CSRF token only)."""
