"""Operator commands: `users create|list|set-password|deactivate|reactivate` and
`tokens create [--scope read|write] [--until DAY]|revoke|list`."""
import sys

import click
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import Flask
from flask.cli import AppGroup
from flask_babel import gettext as _

from ..extensions import db
from ..util import utcnow
from .models import ROLES, ApiToken, User
from .services import (DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS, MIN_PASSWORD_LENGTH, AccountError,
                       change_password, create_token, create_user, deactivate_user,
                       find_user_by_email, normalise_email, password_problem, reactivate_user,
                       revoke_token)

users = AppGroup("users", help="Benutzerkonten verwalten.")
tokens = AppGroup("tokens", help="Persönliche API-Tokens verwalten.")

EMAIL_MAX = 254
DISPLAY_NAME_MAX = 120
PASSWORD_MAX = 200


def register(app: Flask) -> None:
    """Add the `users` and `tokens` command groups."""
    app.cli.add_command(users)
    app.cli.add_command(tokens)


def _read_password() -> str:
    """One line from standard input, the line break removed, length checked."""
    password = sys.stdin.readline().rstrip("\r\n")
    if not MIN_PASSWORD_LENGTH <= len(password) <= PASSWORD_MAX:
        raise click.ClickException(_("Das Passwort muss %(min)s bis %(max)s Zeichen lang sein "
                                     "(eine Zeile auf der Standardeingabe).",
                                     min=MIN_PASSWORD_LENGTH, max=PASSWORD_MAX))
    return password


def _policy_checked(email: str, display_name: str, password: str | None) -> str | None:
    """The password if the policy (services.password_problem) accepts it for this
    account, else a ClickException with the reason; None stays None."""
    if password is not None:
        problem = password_problem(password, email, display_name)
        if problem:
            raise click.ClickException(problem)
    return password


def _user(email: str) -> User:
    user = find_user_by_email(email)
    if user is None:
        raise click.ClickException(_("Kein Benutzer mit der E-Mail-Adresse %(email)s.",
                                     email=normalise_email(email)))
    return user


@users.command("create")
@click.argument("email")
@click.option("--city", "city_slug", metavar="SLUG",
              help="Slug der Stadt (Pflicht außer für Plattform-Admins).")
@click.option("--role", default="staff", show_default=True, metavar="ROLE",
              help="Rolle: " + ", ".join(ROLES))
@click.option("--admin", is_flag=True, help="Plattform-Administrator.")
@click.option("--password-stdin", is_flag=True, help="Passwort als eine Zeile von stdin lesen.")
@click.option("--name", "display_name", metavar="NAME", help="Anzeigename (Standard: E-Mail).")
def create_user_command(email, city_slug, role, admin, password_stdin, display_name):
    """Create an approved user; everything is checked before anything is written."""
    from ..cities.models import City

    try:
        email = validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise click.ClickException(_("Ungültige E-Mail-Adresse: %(email)s", email=email)) from None
    if len(email) > EMAIL_MAX:
        raise click.ClickException(_("Die E-Mail-Adresse ist zu lang."))
    if find_user_by_email(email) is not None:
        raise click.ClickException(_("Die E-Mail-Adresse %(email)s ist bereits registriert.",
                                     email=normalise_email(email)))
    if role not in ROLES:
        raise click.ClickException(_("Unbekannte Rolle %(role)s; möglich sind: %(roles)s.",
                                     role=role, roles=", ".join(ROLES)))
    city = None
    if city_slug:
        city = db.session.scalar(sa.select(City).where(City.slug == city_slug))
        if city is None:
            raise click.ClickException(_("Unbekannte Stadt: %(slug)s", slug=city_slug))
    elif not admin:
        raise click.ClickException(_("Bitte geben Sie die Stadt mit --city SLUG an "
                                     "(nur Plattform-Admins brauchen keine)."))
    display_name = (display_name or "").strip() or email.split("@")[0]
    if len(display_name) > DISPLAY_NAME_MAX:
        raise click.ClickException(_("Der Name darf höchstens %(max)s Zeichen lang sein.",
                                     max=DISPLAY_NAME_MAX))
    password = _policy_checked(email, display_name,
                               _read_password() if password_stdin else None)
    user = create_user(email, display_name, city=city, role=role, password=password,
                       is_admin=admin, is_approved=True)
    db.session.commit()
    click.echo(_("Benutzer %(email)s angelegt (%(role)s%(city)s%(admin)s).", email=user.email,
                 role=user.role, city=f", {city.slug}" if city else "",
                 admin=", Plattform-Admin" if admin else ""))
    if password is None:
        click.echo(_("Es ist kein Passwort gesetzt; das Konto kann sich erst anmelden, wenn "
                     "eines gesetzt ist: flask --app exchange users set-password %(email)s",
                     email=user.email))


@users.command("set-password")
@click.argument("email")
def set_password_command(email):
    """Set a user's password, read as one line from standard input; all their sessions end."""
    user = _user(email)
    change_password(user, _policy_checked(user.email, user.display_name, _read_password()))
    db.session.commit()
    click.echo(_("Passwort für %(email)s gesetzt.", email=user.email))


@users.command("deactivate")
@click.argument("email")
def deactivate_user_command(email):
    """Deactivate a user: their sessions end now; login and API tokens are refused."""
    user = _user(email)
    if user.deactivated_at is not None:
        raise click.ClickException(_("%(email)s ist bereits deaktiviert.", email=user.email))
    deactivate_user(user)
    db.session.commit()
    click.echo(_("%(email)s ist deaktiviert; alle Sitzungen sind beendet.", email=user.email))


@users.command("reactivate")
@click.argument("email")
def reactivate_user_command(email):
    """Reactivate a deactivated user."""
    user = _user(email)
    if user.deactivated_at is None:
        raise click.ClickException(_("%(email)s ist nicht deaktiviert.", email=user.email))
    reactivate_user(user)
    db.session.commit()
    click.echo(_("%(email)s ist wieder aktiv.", email=user.email))


@users.command("list")
def list_users_command():
    """List all users: e-mail, city, role, admin flag, approval, deactivation."""
    rows = db.session.scalars(sa.select(User).order_by(User.email)).all()
    for user in rows:
        flags = []
        if user.is_admin:
            flags.append("admin")
        if not user.is_approved:
            flags.append(_("wartet auf Freigabe"))
        if user.deactivated_at is not None:
            flags.append(_("deaktiviert"))
        if not user.password_hash:
            flags.append(_("kein Passwort"))
        city = user.city.slug if user.city else "-"
        click.echo(f"{user.email}\t{user.display_name}\t{city}\t{user.role}\t{', '.join(flags)}")
    if not rows:
        click.echo(_("Keine Benutzer."), err=True)


def _active_tokens(user: User, name: str) -> list[ApiToken]:
    return db.session.scalars(sa.select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.name == name.strip(),
        ApiToken.revoked_at.is_(None))).all()


@tokens.command("create")
@click.argument("email")
@click.argument("name")
@click.option("--scope", type=click.Choice(["read", "write"]), default="write",
              show_default=True,
              help="read: nur lesen; write: lesen und schreiben (wie bisher).")
@click.option("--until", "last_day", metavar="JJJJ-MM-TT",
              type=click.DateTime(formats=["%Y-%m-%d"]),
              help=f"Letzter Gültigkeitstag (Standard: in {DEFAULT_TOKEN_DAYS} Tagen, "
                   f"höchstens {MAX_TOKEN_DAYS}).")
def create_token_command(email, name, scope, last_day):
    """Create a named token and print only the token on standard output."""
    user = _user(email)
    name = name.strip()
    if not name or len(name) > 80:
        raise click.ClickException(_("Der Name des Tokens muss 1 bis 80 Zeichen lang sein."))
    if _active_tokens(user, name):
        raise click.ClickException(_("%(email)s hat schon einen Token namens „%(name)s“.",
                                     email=user.email, name=name))
    try:
        _token, clear = create_token(user, name, scopes=(scope,),
                                     last_day=last_day.date() if last_day else None)
    except AccountError as error:  # a last day in the past or more than a year ahead
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(clear)


@tokens.command("revoke")
@click.argument("email")
@click.argument("name")
def revoke_token_command(email, name):
    """Revoke the user's active token with this name."""
    user = _user(email)
    found = _active_tokens(user, name)
    if not found:
        raise click.ClickException(_("%(email)s hat keinen aktiven Token namens „%(name)s“.",
                                     email=user.email, name=name.strip()))
    for token in found:
        revoke_token(token)
    db.session.commit()
    click.echo(_("Token „%(name)s“ von %(email)s widerrufen.", name=name.strip(),
                 email=user.email), err=True)


@tokens.command("list")
@click.argument("email")
def list_tokens_command(email):
    """List a user's tokens: name, prefix, created, last used, revoked, scopes, last day
    (with "abgelaufen" once expired)."""
    user = _user(email)
    now = utcnow()
    for token in sorted(user.tokens, key=lambda t: t.created_at):
        used = token.last_used_at.isoformat(" ", "minutes") if token.last_used_at else "-"
        revoked = token.revoked_at.isoformat(" ", "minutes") if token.revoked_at else ""
        until = token.last_day.isoformat()
        if token.is_expired(now):
            until += " " + _("abgelaufen")
        click.echo(f"{token.name}\t{token.prefix}…\t{token.created_at.isoformat(' ', 'minutes')}"
                   f"\t{used}\t{revoked}\t{token.scopes}\t{until}")
