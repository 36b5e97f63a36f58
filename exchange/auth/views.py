"""Login, logout, registration, password reset, profile with API tokens, approvals
(blueprint "auth")."""
import math

import sqlalchemy as sa
from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from ..core.hooks import slot
from ..extensions import db
from ..generated import N_
from ..util import safe_next, utcnow
from . import permissions
from .forms import (ROLE_LABELS, ConfirmForm, LoginForm, PasswordForm, ProfileForm, RegisterForm,
                    ResetPasswordForm, ResetRequestForm, RoleForm, TokenForm)
from .login import current_login_key, end_session, start_session
from .models import ApiToken, User
from .services import AccountError, authenticate, check_password, create_token, create_user
from .services import change_password as change_password_service
from .services import (PasswordPolicyError, ResetLinkError, find_user_by_email, normalise_email,
                       password_problem, password_reset_for, queue_reset_mail,
                       queue_taken_address_mail, register_taken_address, request_password_reset,
                       reset_password, revoke_token)
from .throttle import login_throttle

bp = Blueprint("auth", __name__)
#: Largest row id in URLs (PostgreSQL INTEGER); a bigger number is a 404, not a
#: database overflow error.
MAX_ID = 2**31 - 1

# App-wide, not only for this blueprint: NUL in any input made PostgreSQL fail with a
# 500 on nearly every page. It belongs in the app factory; registered here until then.


@slot("dashboard", "approvals", "auth/_slot_dashboard.html", order=10)
def pending_registrations(user):
    """Dashboard note for admins: how many registrations wait for approval."""
    if not permissions.can_review_registrations(user):
        return None
    pending = _users_for(user, approved=False)
    return {"pending": pending} if pending else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with e-mail and password; unapproved accounts are told to wait."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("core.index")))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"), "")
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        address = client_address()
        throttle = login_throttle()
        refused = _login_refusal(throttle, email, address)
        if refused:
            # Refused without looking at the password, so guessing on is pointless.
            form.form_errors.append(refused)
            return render_template("auth/login.html", form=form), 429
        user = authenticate(email, form.password.data)
        if user is None:
            # The same answer (and the same time: one hash check) for an unknown address
            # and a wrong password, so the form tells nobody which addresses exist.
            throttle.hit("login_address", address)
            throttle.hit("login_account", email)
            refused = _login_refusal(throttle, email, address)
            if refused:
                form.form_errors.append(refused)
                return render_template("auth/login.html", form=form), 429
            form.form_errors.append(_("E-Mail-Adresse oder Passwort ist falsch."))
            return render_template("auth/login.html", form=form)
        throttle.clear("login_account", email)
        if not user.is_approved:
            form.form_errors.append(_("Ihr Konto wartet noch auf die Freigabe durch den "
                                      "Admin Ihrer Stadt."))
        elif not user.is_active:
            form.form_errors.append(_("Ihr Konto ist deaktiviert. Bitte wenden Sie sich an "
                                      "den Admin Ihrer Stadt."))
        else:
            start_session(user)
            return redirect(safe_next(form.next.data, url_for("core.index")))
    return render_template("auth/login.html", form=form)


def client_address() -> str:
    """The client's address as the throttles count it (behind a reverse proxy, the
    proxy must pass it on: docs/OPERATIONS.md)."""
    return request.remote_addr or "unknown"


def _minutes_left(throttle, until: float) -> int:
    """Whole minutes until `until`, rounded up, at least one."""
    return max(1, math.ceil(throttle.seconds_left(until) / 60))


def _login_refusal(throttle, email: str, address: str) -> str | None:
    """The lockout message when this account or this client address is locked."""
    until = throttle.locked_until("login_account", email)
    if until is not None:
        return _lockout_message(_minutes_left(throttle, until))
    until = throttle.locked_until("login_address", address)
    if until is not None:
        minutes = _minutes_left(throttle, until)
        return ngettext("Zu viele fehlgeschlagene Anmeldeversuche von Ihrer Netzwerkadresse. "
                        "Bitte versuchen Sie es in %(num)d Minute erneut.",
                        "Zu viele fehlgeschlagene Anmeldeversuche von Ihrer Netzwerkadresse. "
                        "Bitte versuchen Sie es in %(num)d Minuten erneut.", minutes)
    return None


def _too_many_requests(throttle, until: float) -> str:
    """Message for a refused registration or reset request, with the minutes left."""
    return ngettext("Zu viele Anfragen. Bitte versuchen Sie es in %(num)d Minute erneut.",
                    "Zu viele Anfragen. Bitte versuchen Sie es in %(num)d Minuten erneut.",
                    _minutes_left(throttle, until))


def _lockout_message(minutes: int) -> str:
    """German message for a locked account address, with the minutes left."""
    return ngettext("Zu viele fehlgeschlagene Anmeldeversuche für diese E-Mail-Adresse. "
                    "Aus Sicherheitsgründen ist die Anmeldung für %(num)d Minute gesperrt; "
                    "bitte versuchen Sie es danach erneut.",
                    "Zu viele fehlgeschlagene Anmeldeversuche für diese E-Mail-Adresse. "
                    "Aus Sicherheitsgründen ist die Anmeldung für %(num)d Minuten gesperrt; "
                    "bitte versuchen Sie es danach erneut.", minutes)


@bp.route("/passwort-vergessen", methods=["GET", "POST"])
def reset_request():
    """Ask for a reset link. The answer is the same for known and unknown addresses;
    only an active account gets a mail (with a link on PUBLIC_URL)."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        throttle = login_throttle()
        refused = throttle.admit(("reset_address", client_address()), ("reset_account", email))
        if refused:
            form.form_errors.append(_too_many_requests(throttle, refused[1]))
            return render_template("auth/reset_request.html", form=form), 429
        found = request_password_reset(email)
        if found is not None:
            user, clear = found
            queue_reset_mail(user, url_for("auth.reset_password", token=clear))
        db.session.commit()
        flash(_("Wenn zu dieser Adresse ein aktives Konto gehört, ist ein Link zum "
                "Zurücksetzen des Passworts unterwegs. Er gilt %(minutes)d Minuten.",
                minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form)


@bp.route("/passwort-zuruecksetzen/<token>", methods=["GET", "POST"], endpoint="reset_password")
def reset_password_view(token: str):
    """Set a new password with a mailed link: single use, expiring; every session of
    the account ends and its other links stop working."""
    try:
        password_reset_for(token)
    except ResetLinkError as error:
        return render_template("auth/reset_invalid.html", message=str(error)), 410
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = reset_password(token, form.password.data)
        except PasswordPolicyError as error:
            db.session.rollback()
            form.password.errors.append(str(error))
        except ResetLinkError as error:
            db.session.rollback()
            return render_template("auth/reset_invalid.html", message=str(error)), 410
        else:
            db.session.commit()
            login_throttle().clear("login_account", user.email)
            if current_user.is_authenticated:
                end_session()  # this browser's login is gone with all the others
            flash(_("Ihr Passwort wurde geändert. Bitte melden Sie sich mit dem neuen "
                    "Passwort an."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, token=token)


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out (POST only, so a link or image on another site cannot do it). The login
    is deleted on the server, so a copy of the session cookie stops working too."""
    end_session()
    flash(_("Sie sind abgemeldet."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/registrieren", methods=["GET", "POST"])
def register():
    """Staff register themselves; their city admin approves the account."""
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        throttle = login_throttle()
        refused = throttle.admit(("register_address", client_address()),
                                 ("register_account", email))
        if refused:
            form.form_errors.append(_too_many_requests(throttle, refused[1]))
            return render_template("auth/register.html", form=form), 429
        problem = password_problem(form.password.data, email, form.display_name.data)
        existing = find_user_by_email(email)
        if problem:
            form.password.errors.append(problem)
        elif existing is not None:
            # Answered exactly as a new registration (the page must not tell who has an
            # account); the owner of the address gets a mail instead.
            register_taken_address(existing, form.password.data)
            queue_taken_address_mail(existing, url_for("auth.login"),
                                     url_for("auth.reset_request"))
            db.session.commit()
            return _registered(form.display_name.data.strip(), form.city_obj.name)
        else:
            try:
                user = create_user(email, form.display_name.data, city=form.city_obj,
                                   role="staff", password=form.password.data,
                                   is_approved=False)
            except AccountError:
                db.session.rollback()
                form.form_errors.append(_("Die Registrierung ist fehlgeschlagen. Bitte prüfen "
                                          "Sie Ihre Angaben."))
            else:
                _notify_city_admins(user)
                db.session.commit()
                return _registered(user.display_name, user.city.name)
    return render_template("auth/register.html", form=form)


def _registered(name: str, city: str):
    """The answer to a registration, the same whether the address was new or taken."""
    flash(_("Danke, %(name)s! Der Admin von %(city)s muss Ihr Konto noch freigeben; "
            "danach können Sie sich anmelden.", name=name, city=city), "success")
    return redirect(url_for("auth.login"))


def _notify(user: User, kind: str, link: str, title) -> None:
    """In-app and e-mail notification (projects.notify): `title` is a message, shown in
    the reader's language, the e-mail written in the recipient's."""
    from ..projects.services import notify

    notify(user, kind, title, link)


def _notify_city_admins(user: User) -> None:
    """Tell the admins of the new user's city that a registration waits for them."""
    admins = db.session.scalars(sa.select(User).where(
        User.city_id == user.city_id, User.role == "city_admin", User.is_approved.is_(True),
        User.id != user.id,
    )).all()
    for admin in admins:
        _notify(admin, "registration", url_for("auth.approvals"),
                N_("%(name)s (%(email)s) möchte bei City Exchange mitmachen und wartet auf "
                   "Ihre Freigabe.", name=user.display_name, email=user.email))


# --- profile ---------------------------------------------------------------------------

def _render_profile(profile_form=None, password_form=None, token_form=None, new_token=None):
    tokens = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == current_user.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()
    if profile_form is None:
        profile_form = ProfileForm(formdata=None, obj=current_user)
        profile_form.locale.data = current_user.locale or "de"
    return render_template(
        "auth/profile.html",
        profile_form=profile_form,
        password_form=password_form or PasswordForm(formdata=None),
        token_form=token_form or TokenForm(formdata=None),
        tokens=tokens, new_token=new_token, confirm=ConfirmForm(), role_labels=ROLE_LABELS,
        now=utcnow(),
    )


@bp.route("/profil", methods=["GET", "POST"])
@login_required
def profile():
    """Own account: name, language, password and personal API tokens."""
    form = ProfileForm()
    if form.validate_on_submit():
        current_user.display_name = form.display_name.data.strip()
        current_user.locale = form.locale.data
        session["lang"] = form.locale.data
        db.session.commit()
        flash(_("Ihre Angaben wurden gespeichert."), "success")
        return redirect(url_for("auth.profile"))
    return _render_profile(profile_form=form if request.method == "POST" else None)


@bp.route("/profil/passwort", methods=["POST"])
@login_required
def change_password():
    """Change the password after checking the current one; every other session of the
    user ends (this browser stays logged in), API tokens stay valid."""
    form = PasswordForm()
    if form.validate_on_submit():
        if not check_password(current_user, form.current_password.data):
            form.current_password.errors.append(_("Das aktuelle Passwort ist falsch."))
        else:
            try:
                change_password_service(current_user, form.new_password.data,
                                        keep_login=current_login_key())
            except PasswordPolicyError as error:
                form.new_password.errors.append(str(error))
            else:
                db.session.commit()
                flash(_("Ihr Passwort wurde geändert."), "success")
                return redirect(url_for("auth.profile"))
    return _render_profile(password_form=form, )


def active_token_named(user: User, name: str) -> ApiToken | None:
    """The user's unrevoked token with this name, if any (names identify tokens)."""
    return db.session.scalar(sa.select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.name == name.strip(), ApiToken.revoked_at.is_(None)))


@bp.route("/profil/tokens", methods=["POST"])
@login_required
def create_token_view():
    """Create a personal API token and show it once, in this response only."""
    form = TokenForm()
    if form.validate_on_submit():
        if active_token_named(current_user, form.name.data) is not None:
            form.name.errors.append(_("Sie haben schon einen Token mit diesem Namen."))
        else:
            try:
                _token, clear = create_token(current_user, form.name.data, form.scopes,
                                             form.last_day.data)
            except AccountError:  # the form checked scopes and day with the same rules
                form.name.errors.append(_("Der Name muss 1 bis 80 Zeichen lang sein."))
            else:
                db.session.commit()
                # Rendered directly, never flashed: the session cookie is signed, not secret.
                return _render_profile(new_token=clear)
    return _render_profile(token_form=form, )


@bp.route(f"/profil/tokens/<int(max={MAX_ID}):token_id>/widerrufen", methods=["POST"])
@login_required
def revoke_token_view(token_id: int):
    """Revoke one of the user's own tokens."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    revoke_token(token)
    db.session.commit()
    flash(_("Der Token „%(name)s“ wurde widerrufen.", name=token.name), "success")
    return redirect(url_for("auth.profile"))


# --- approvals and roles ---------------------------------------------------------------

def _users_for(actor: User, approved: bool) -> list[User]:
    """Users the actor manages: their city's, or everybody's for platform admins."""
    statement = sa.select(User).where(User.is_approved == approved).order_by(User.email)
    if not actor.is_admin:
        statement = statement.where(User.city_id == actor.city_id)
    return db.session.scalars(statement).all()


@bp.route("/freigaben")
@login_required
def approvals():
    """Pending registrations and the roles of the city's users."""
    if not permissions.can_review_registrations(current_user):
        abort(403)
    return render_template(
        "auth/approvals.html", pending=_users_for(current_user, False),
        members=_users_for(current_user, True), confirm=ConfirmForm(), role_labels=ROLE_LABELS,
        role_form=RoleForm(formdata=None), can_change_role=permissions.can_change_role,
        can_deactivate=permissions.can_deactivate_user,
        can_grant_admin=permissions.can_grant_admin,
    )


def _managed_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if not permissions.can_approve_user(current_user, user):
        abort(403)
    return user


@bp.route(f"/freigaben/<int(max={MAX_ID}):user_id>/freigeben", methods=["POST"])
@login_required
def approve(user_id: int):
    """Approve a pending registration."""
    user = _managed_user(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user.is_approved = True
    _notify(user, "account_approved", url_for("core.index"),
            N_("Ihr Konto bei City Exchange ist freigegeben. Sie können sich jetzt anmelden."))
    db.session.commit()
    flash(_("%(name)s wurde freigegeben.", name=user.display_name), "success")
    return redirect(url_for("auth.approvals"))


@bp.route(f"/freigaben/<int(max={MAX_ID}):user_id>/ablehnen", methods=["POST"])
@login_required
def reject(user_id: int):
    """Reject a pending registration: the account is deleted, the address free again."""
    user = _managed_user(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if user.is_approved:
        flash(_("%(name)s ist bereits freigegeben und kann nicht abgelehnt werden.",
                name=user.display_name), "error")
        return redirect(url_for("auth.approvals"))
    name = user.display_name
    db.session.delete(user)
    db.session.commit()
    flash(_("Die Registrierung von %(name)s wurde abgelehnt.", name=name), "success")
    return redirect(url_for("auth.approvals"))


@bp.route(f"/freigaben/<int(max={MAX_ID}):user_id>/rolle", methods=["POST"])
@login_required
def change_role(user_id: int):
    """A city admin changes the role of a user of their city (never their own)."""
    user = _managed_user(user_id)
    if not permissions.can_change_role(current_user, user):
        abort(403)
    form = RoleForm()
    if not form.validate_on_submit():
        flash(_("Unbekannte Rolle."), "error")
        return redirect(url_for("auth.approvals"))
    user.role = form.role.data
    db.session.commit()
    flash(_("%(name)s hat jetzt die Rolle „%(role)s“.", name=user.display_name,
            role=ROLE_LABELS[user.role]), "success")
    return redirect(url_for("auth.approvals"))


# --- deactivation (admins) -------------------------------------------------------------

def _deactivatable_user(user_id: int) -> User:
    """The user the current admin may deactivate or reactivate, else 404/403."""
    user = _managed_user(user_id)
    if not permissions.can_deactivate_user(current_user, user):
        abort(403)
    return user


@bp.route(f"/freigaben/<int(max={MAX_ID}):user_id>/deaktivieren", methods=["GET", "POST"])
@login_required
def deactivate(user_id: int):
    """Deactivate an account after a confirmation page: its sessions end at once, no
    login, no API token, no notifications until it is reactivated; what it wrote stays."""
    from .services import deactivate_user

    return _change_activation(user_id, deactivate_user, True,
                              _("%(name)s ist deaktiviert."))


@bp.route(f"/freigaben/<int(max={MAX_ID}):user_id>/reaktivieren", methods=["GET", "POST"])
@login_required
def reactivate(user_id: int):
    """Reactivate a deactivated account after a confirmation page."""
    from .services import reactivate_user

    return _change_activation(user_id, reactivate_user, False,
                              _("%(name)s ist wieder aktiv."))


@bp.route(f"/freigaben/<int(max={MAX_ID}):user_id>/plattform-admin", methods=["GET", "POST"])
@login_required
def platform_admin(user_id: int):
    """Platform admins grant or withdraw the platform admin right (GET: the confirmation
    page, POST with its token: the change)."""
    from .services import set_platform_admin

    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if not permissions.can_grant_admin(current_user, user):
        abort(403)
    form = ConfirmForm()
    granting = not user.is_admin
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        set_platform_admin(user, granting)
        db.session.commit()
        message = (_("%(name)s ist jetzt Plattform-Admin.", name=user.display_name) if granting
                   else _("%(name)s ist nicht mehr Plattform-Admin.", name=user.display_name))
        flash(message, "success")
        return redirect(url_for("auth.approvals"))
    return render_template("auth/confirm_admin.html", user=user, form=form, granting=granting)


def _change_activation(user_id: int, change, deactivating: bool, done: str):
    """GET: the confirmation page; POST (with its token): change(user), then back to the
    list with the `done` message (formatted with the user's name)."""
    user = _deactivatable_user(user_id)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        change(user)
        db.session.commit()
        flash(done % {"name": user.display_name}, "success")
        return redirect(url_for("auth.approvals"))
    return render_template("auth/confirm_activation.html", user=user, form=form,
                           deactivating=deactivating)
