"""Joint project proposals: propose, invite, answer, comment, change state, notify.

Every function takes the acting user and plain data, checks permissions (in
exchange.auth.permissions) and the state machine (in .states), flushes and never
commits. Refusals raise ProjectError (422), ProjectConflict (409) or
ProjectPermissionError (403) before anything is changed.
"""
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext as _
from sqlalchemy.orm import selectinload

from ..auth import permissions
from ..auth.models import User
from ..cities.models import City, Topic
from ..errors import DomainError, DomainPermissionError
from ..extensions import db
from ..generated import N_, Message
from ..util import is_single_line, parse_id, utcnow
from . import states
from .mail import queue_mail
from .models import (Notification, Project, ProjectComment, ProjectEvent,
                     ProjectParticipant)

#: Longest title (the column's length).
MAX_TITLE = 200
#: Longest description, comment or answer message we store, in characters.
MAX_TEXT = 20000

#: Event kind written when a project enters a state.
STATE_EVENTS = {"proposed": "proposed", "active": "activated", "declined": "rejected",
                "completed": "completed", "withdrawn": "withdrawn"}


class ProjectError(DomainError, ValueError):
    """Invalid input for a project operation (HTTP 422); the message is shown to users."""

    status = 422


class ProjectConflict(ProjectError):
    """The project's state does not allow this (HTTP 409), e.g. answering twice."""

    status = 409
    problem = "conflict"


class ProjectPermissionError(DomainPermissionError):
    """The actor may not do this (HTTP 403)."""

    status = 403


# --- lookups -------------------------------------------------------------------------

def get_project(project_id) -> Project | None:
    """The project with this id, or None."""
    project_id = parse_id(project_id)
    return db.session.get(Project, project_id) if project_id is not None else None


def get_visible_project(user: User, project_id) -> Project | None:
    """The project if `user` may see it; None for unknown ones and other cities' drafts."""
    project = get_project(project_id)
    if project is None or not permissions.can_view_project(user, project):
        return None
    return project


def _resolve(model, values, kind: str) -> list:
    """Turn objects, ids or slugs into rows of `model`; unknown ones raise ProjectError."""
    rows = []
    for value in values or ():
        if isinstance(value, model):
            row = value
        elif isinstance(value, int) and not isinstance(value, bool):
            row = db.session.get(model, value) if parse_id(value) else None
        elif isinstance(value, str) and value.strip():
            text = value.strip()
            row = db.session.scalar(sa.select(model).where(model.slug == text))
            if row is None and parse_id(text):
                row = db.session.get(model, parse_id(text))
        else:
            row = None
        if row is None:
            if kind == "city":
                raise ProjectError(_("Unbekannte Stadt: %(value)s", value=value))
            raise ProjectError(_("Unbekanntes Thema: %(value)s", value=value))
        rows.append(row)
    return rows


def resolve_topics(topics) -> list[Topic]:
    """Topics by object, id or slug, without duplicates; unknown ones raise ProjectError."""
    unique = []
    for topic in _resolve(Topic, topics, "topic"):
        if topic not in unique:
            unique.append(topic)
    return unique


def resolve_cities(cities) -> list[City]:
    """Cities by object, id or slug (duplicates kept, so callers can refuse them)."""
    return _resolve(City, cities, "city")


def city_admins(cities, exclude: User | None = None) -> list[User]:
    """Approved, active city admins of `cities`, optionally without `exclude`."""
    ids = {city.id for city in cities if city is not None}
    if not ids:
        return []
    query = (sa.select(User).where(User.city_id.in_(ids), User.role == "city_admin",
                                   User.is_approved.is_(True),
                                   User.deactivated_at.is_(None)).order_by(User.id))
    return [user for user in db.session.scalars(query) if exclude is None or user.id != exclude.id]


def project_link(project: Project) -> str:
    """Site-relative URL of the project's page."""
    return f"/projekte/{project.id}"


# --- notifications -------------------------------------------------------------------

def _absolute(link: str) -> str:
    """An absolute URL for e-mails: the path of `link` on the configured PUBLIC_URL.

    Never the request's Host header (anyone can send one: a registration with
    `Host: evil.example` would mail city admins a link there), and never another host
    that `link` names; the worker, without any request, builds the same links. A
    PUBLIC_URL with a path (the app served under a prefix) is not repeated when `link`
    already starts with it (url_for() in a request includes the prefix).
    """
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    parts = urlsplit(link)
    path = "/" + parts.path.lstrip("/")
    prefix = urlsplit(base).path
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        path = path[len(prefix):] or "/"
    return base + urlunsplit(("", "", path, parts.query, parts.fragment))


def notify(user: User, kind: str, title, link: str, body="") -> Notification | None:
    """Put a notification into `user`'s inbox and an e-mail into the outbox (same
    transaction). A deactivated account gets neither (None): its person left, or an admin
    stopped the account, and mail to it would go on leaking what happens.

    `title` and `body` are messages (`N_(…)`, exchange/generated.py), which the inbox
    shows in the reader's language of the day, or plain text shown as it is (what a
    person wrote: a comment, an answer). The e-mail is written once, in the recipient's
    language."""
    if user.deactivated_at is not None:
        return None
    notification = Notification(user=user, kind=kind, link=link)
    _set_text(notification, "title", title, MAX_TITLE)
    _set_text(notification, "body", body)
    db.session.add(notification)
    db.session.flush()
    if user.email:
        with force_locale(_locale_of(user)):
            title = notification.text("title")
            text = "\n\n".join(part for part in (
                _("Guten Tag %(name)s,", name=user.display_name),
                title,
                notification.text("body"),
                _("Zum Vorgang: %(url)s", url=_absolute(link)),
                _("Diese Nachricht finden Sie auch in Ihrem Postfach bei City Exchange."),
            ) if part)
            subject = _("[City Exchange] %(title)s", title=title)
        queue_mail(db.session, user.email, subject, text + "\n")
    return notification


def _set_text(notification: Notification, name: str, value, maximum: int | None = None):
    """A generated text (Message) or plain text into the notification's field `name`."""
    if isinstance(value, Message):
        notification.generate(name, value, maximum=maximum)
    else:
        text = str(value or "")
        setattr(notification, name, text[:maximum] if maximum else text)


def _locale_of(user: User) -> str:
    """The recipient's language, else the platform default (German)."""
    languages = current_app.config.get("LANGUAGES", ("de",))
    return user.locale if user.locale in languages else languages[0]


def notify_each(users, kind: str, link: str, title, body="") -> None:
    """Notify every user with the same title and body (messages or plain text, see
    `notify`); each e-mail is written in its recipient's language."""
    for user in users:
        notify(user, kind, title, link, body)


def unread_count(user: User) -> int:
    """How many notifications `user` has not read yet."""
    return db.session.scalar(
        sa.select(sa.func.count(Notification.id))
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def notifications_query(user: User, unread_only: bool = False):
    """Select of `user`'s notifications, newest first (the inbox pages through it)."""
    query = (sa.select(Notification).where(Notification.user_id == user.id)
             .order_by(Notification.created_at.desc(), Notification.id.desc()))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return query


def notifications_for(user: User, unread_only: bool = False, limit: int | None = None):
    """`user`'s notifications, newest first."""
    query = notifications_query(user, unread_only=unread_only)
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def get_notification(user: User, notification_id) -> Notification | None:
    """One of `user`'s notifications (None for someone else's, so ids leak nothing)."""
    notification_id = parse_id(notification_id)
    notification = (db.session.get(Notification, notification_id)
                    if notification_id is not None else None)
    if not permissions.can_read_notification(user, notification):
        return None
    return notification


def mark_read(user: User, notification: Notification) -> Notification:
    """Mark one of `user`'s notifications as read (again is harmless)."""
    if not permissions.can_read_notification(user, notification):
        raise ProjectPermissionError(_("Diese Benachrichtigung gehört Ihnen nicht."))
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()
    return notification


def mark_all_read(user: User) -> int:
    """Mark all of `user`'s notifications as read; returns how many changed."""
    unread = notifications_for(user, unread_only=True)
    now = utcnow()
    for notification in unread:
        notification.read_at = now
    db.session.flush()
    return len(unread)


# --- history -------------------------------------------------------------------------

def _event(project: Project, kind: str, actor: User | None, city: City | None = None,
           message: str = "", comment: ProjectComment | None = None) -> ProjectEvent:
    """Append an entry to the project's history."""
    event = ProjectEvent(project=project, kind=kind, actor=actor, city=city,
                         message=message, comment=comment, created_at=utcnow())
    db.session.add(event)
    project.updated_at = event.created_at
    return event


def _participating_cities(project: Project) -> list[City]:
    """The initiator and invited cities that have not declined."""
    return [p.city for p in project.participants if p.response != "declined"]


def _set_state(project: Project, target: str, actor: User | None, automatic: bool) -> None:
    """Move the project to `target` through the state machine and tell the participants."""
    if not states.can_transition(project.state, target, automatic=automatic):
        raise ProjectConflict(_(
            "Ein Projekt im Zustand „%(state)s“ kann nicht in den Zustand „%(target)s“ wechseln.",
            state=states.STATE_LABELS[project.state], target=states.STATE_LABELS[target]))
    project.state = target
    _event(project, STATE_EVENTS[target], actor, city=actor.city if actor else None)
    if target == "proposed":
        for participant in project.invited:
            if participant.response == "pending":
                _send_invitation(project, participant.city, actor)
        return
    recipients = city_admins(_participating_cities(project), exclude=actor)
    notify_each(
        recipients, "state", project_link(project),
        N_("Projekt „%(title)s“ ist jetzt im Zustand „%(state)s“", title=project.title,
           state=states.STATE_LABELS[target]),
        N_("Der Zustand des gemeinsamen Projekts hat sich geändert: %(state)s.",
           state=states.STATE_LABELS[target]),
    )


def _send_invitation(project: Project, city: City, actor: User | None) -> None:
    """Tell the invited city's admins about the proposal."""
    initiator = project.initiator_city.name
    notify_each(
        city_admins([city], exclude=actor), "invitation", project_link(project),
        N_("Einladung zum gemeinsamen Projekt „%(title)s“", title=project.title),
        N_("%(city)s lädt %(invited)s zum gemeinsamen Projekt „%(title)s“ ein. "
           "Bitte nehmen Sie die Einladung an oder lehnen Sie sie ab.",
           city=initiator, invited=city.name, title=project.title),
    )


# --- proposals -----------------------------------------------------------------------

def _clean_title(title, stored: str | None = None) -> str:
    """A non-empty title within the column's length, on one line (it goes into mail
    subjects); the `stored` title passes as it is."""
    title = (title or "").strip()
    if not title:
        raise ProjectError(_("Bitte geben Sie einen Titel an."))
    if len(title) > MAX_TITLE:
        raise ProjectError(_("Der Titel darf höchstens %(max)s Zeichen lang sein.", max=MAX_TITLE))
    if title != stored and not is_single_line(title):
        raise ProjectError(_("%(label)s darf keine Zeilenumbrüche oder Steuerzeichen enthalten.",
                             label=_("Der Titel")))
    return title


def _clean_text(text, what: str) -> str:
    """Free text within MAX_TEXT characters."""
    text = (text or "").strip()
    if len(text) > MAX_TEXT:
        raise ProjectError(_("%(what)s ist zu lang (höchstens %(max)s Zeichen).",
                             what=what, max=MAX_TEXT))
    return text


def _check_invitations(initiator: City, cities: list[City], existing=()) -> None:
    """Invited cities must be other cities, each invited once."""
    seen = {city.id for city in existing}
    for city in cities:
        if city.id == initiator.id:
            raise ProjectError(_("Ihre eigene Stadt können Sie nicht einladen; "
                                 "laden Sie mindestens eine andere Stadt ein."))
        if city.id in seen:
            raise ProjectError(_("%(city)s ist bereits eingeladen; jede Stadt kann nur "
                                 "einmal eingeladen werden.", city=city.name))
        seen.add(city.id)


def propose_project(actor: User, title, description, topics, invited_cities,
                    from_match_city=None, submit: bool = True, city=None) -> Project:
    """Create a project for the actor's city (platform admins name `city`); submit unless told."""
    city = resolve_cities([city])[0] if city is not None else actor.city
    if city is None:
        raise ProjectError(_("Bitte geben Sie an, für welche Stadt Sie das Projekt vorschlagen."))
    if not permissions.can_propose_project(actor, city):
        raise ProjectPermissionError(_(
            "Nur die Administration von %(city)s kann für diese Stadt Projekte vorschlagen.",
            city=city.name))
    title = _clean_title(title)
    description = _clean_text(description, _("Die Beschreibung"))
    topic_rows = resolve_topics(topics)
    invited = resolve_cities(invited_cities)
    _check_invitations(city, invited)
    if submit and not invited:
        raise ProjectError(_("Bitte laden Sie mindestens eine andere Stadt ein."))
    match_city = resolve_cities([from_match_city])[0] if from_match_city else None

    now = utcnow()
    project = Project(title=title, description=description, state="draft",
                      initiator_city=city, created_by=actor, from_match_city=match_city,
                      created_at=now, updated_at=now)
    project.topics = topic_rows
    project.participants.append(ProjectParticipant(
        city=city, role="initiator", response="accepted", invited_at=now,
        responded_at=now, responded_by=actor))
    for other in invited:
        project.participants.append(ProjectParticipant(city=other, role="invited",
                                                       response="pending", invited_at=now))
    db.session.add(project)
    _event(project, "created", actor, city=city)
    db.session.flush()
    if submit:
        _set_state(project, "proposed", actor, automatic=False)
    db.session.flush()
    return project


def _lock(project: Project) -> None:
    """Serialise changes to one project: SELECT ... FOR UPDATE on PostgreSQL, then re-read.

    Two admins answering at the same moment would otherwise both see "pending" and both
    trigger the automatic state change.
    """
    db.session.refresh(project, with_for_update=True)
    for participant in project.participants:
        db.session.refresh(participant)


def _require_manage(actor: User, project: Project) -> None:
    """Only the initiating city's admins steer the project."""
    if not permissions.can_manage_project(actor, project):
        raise ProjectPermissionError(_(
            "Nur die Administration von %(city)s kann dieses Projekt steuern.",
            city=project.initiator_city.name))


def check_editable(actor: User, project: Project) -> None:
    """Refuse editing unless the actor steers the project and it is not finished yet."""
    _require_manage(actor, project)
    if project.state not in states.EDITABLE_STATES:
        raise ProjectConflict(_("Ein Projekt im Zustand „%(state)s“ kann nicht mehr "
                                "bearbeitet werden.", state=states.STATE_LABELS[project.state]))


def update_project(actor: User, project: Project, *, title=None, description=None,
                   topics=None) -> Project:
    """Change title, description and/or topics (None keeps a field); records "edited" once.

    Everything is checked before anything changes; saving the same text records nothing.
    The other participating cities' admins are told unless the project is still a draft.
    """
    _lock(project)
    check_editable(actor, project)
    changes = {}
    if title is not None:
        title = _clean_title(title, stored=project.title)
        if title != project.title:
            changes["title"] = title
    if description is not None:
        description = _clean_text(description, _("Die Beschreibung"))
        if description != project.description:
            changes["description"] = description
    if topics is not None:
        topic_rows = resolve_topics(topics)
        if {topic.id for topic in topic_rows} != {topic.id for topic in project.topics}:
            changes["topics"] = topic_rows
    if not changes:
        return project
    for field, value in changes.items():
        setattr(project, field, value)
    _event(project, "edited", actor, city=actor.city)
    db.session.flush()
    if project.state != "draft":
        notify_each(
            city_admins(_participating_cities(project), exclude=actor), "update",
            project_link(project),
            N_("Projekt „%(title)s“ wurde geändert", title=project.title),
            N_("Titel, Beschreibung oder Themen des gemeinsamen Projekts wurden geändert."),
        )
    return project


def invite_city(actor: User, project: Project, city) -> ProjectParticipant:
    """Invite one more city; it is told at once unless the project is still a draft."""
    _lock(project)
    _require_manage(actor, project)
    if project.state not in states.INVITABLE_STATES:
        raise ProjectConflict(_("In diesem Zustand (%(state)s) können keine Städte mehr "
                                "eingeladen werden.", state=states.STATE_LABELS[project.state]))
    city = resolve_cities([city])[0]
    _check_invitations(project.initiator_city, [city],
                       existing=[p.city for p in project.participants if p.role == "invited"])
    participant = ProjectParticipant(project=project, city=city, role="invited",
                                     response="pending", invited_at=utcnow())
    db.session.add(participant)
    _event(project, "invited", actor, city=city)
    db.session.flush()
    if project.state != "draft":
        _send_invitation(project, city, actor)
    return participant


def respond(actor: User, project: Project, accept: bool, message: str = "",
            city=None) -> ProjectParticipant:
    """An invited city's admin accepts or declines, once; the project state follows."""
    _lock(project)
    city = resolve_cities([city])[0] if city is not None else actor.city
    if city is None or not permissions.is_city_admin_of(actor, city):
        raise ProjectPermissionError(_("Sie können nur als Administration Ihrer eigenen "
                                       "Stadt auf eine Einladung antworten."))
    if not permissions.can_respond(actor, project, city):
        raise ProjectPermissionError(_("%(city)s ist zu diesem Projekt nicht eingeladen.",
                                       city=city.name))
    participant = project.participant(city)
    if participant.response != "pending":
        raise ProjectConflict(_("%(city)s hat bereits geantwortet.", city=city.name))
    if project.state not in states.ANSWERABLE_STATES:
        raise ProjectConflict(_("Auf diesen Vorschlag kann nicht mehr geantwortet werden "
                                "(Zustand: %(state)s).",
                                state=states.STATE_LABELS[project.state]))
    message = _clean_text(message, _("Die Nachricht"))

    participant.response = "accepted" if accept else "declined"
    participant.message = message
    participant.responded_at = utcnow()
    participant.responded_by = actor
    _event(project, participant.response, actor, city=city, message=message)
    db.session.flush()
    notify_each(
        city_admins([project.initiator_city], exclude=actor), "answer", project_link(project),
        N_("%(city)s hat die Einladung zu „%(title)s“ angenommen",
           city=city.name, title=project.title) if accept else
        N_("%(city)s hat die Einladung zu „%(title)s“ abgelehnt",
           city=city.name, title=project.title),
        message,
    )
    if project.state == "proposed":
        answers = {p.response for p in project.invited}
        if "accepted" in answers:
            _set_state(project, "active", actor, automatic=True)
        elif answers == {"declined"}:
            _set_state(project, "declined", actor, automatic=True)
    db.session.flush()
    return participant


def transition(actor: User, project: Project, target: str) -> Project:
    """Submit, complete or withdraw a project (the initiator's admins only)."""
    if target not in states.MANUAL_TARGETS:
        raise ProjectError(_("Unbekannter Zielzustand „%(target)s“; erlaubt sind: %(allowed)s.",
                             target=target, allowed=", ".join(states.MANUAL_TARGETS)))
    _require_manage(actor, project)
    _lock(project)
    if target == "proposed" and project.state == "draft" and not project.invited:
        raise ProjectError(_("Bitte laden Sie mindestens eine andere Stadt ein, bevor Sie "
                             "den Vorschlag absenden."))
    _set_state(project, target, actor, automatic=False)
    db.session.flush()
    return project


def comment(actor: User, project: Project, body: str) -> ProjectComment:
    """Add a comment; the other participating cities' admins are told."""
    if not permissions.can_comment_project(actor, project):
        raise ProjectPermissionError(_("Nur Mitglieder der beteiligten Städte können "
                                       "dieses Projekt kommentieren."))
    if project.state not in states.COMMENTABLE_STATES:
        raise ProjectConflict(_("Ein zurückgezogenes Projekt kann nicht mehr kommentiert werden."))
    body = _clean_text(body, _("Der Kommentar"))
    if not body:
        raise ProjectError(_("Bitte schreiben Sie einen Kommentar."))
    entry = ProjectComment(project=project, author=actor, body=body, created_at=utcnow())
    db.session.add(entry)
    _event(project, "commented", actor, city=actor.city, comment=entry)
    db.session.flush()
    recipients = city_admins(_participating_cities(project), exclude=actor)
    notify_each(
        recipients, "comment", project_link(project),
        N_("Neuer Kommentar von %(name)s zu „%(title)s“",
           name=actor.display_name, title=project.title),
        body,
    )
    return entry


def _report_body(project: Project) -> str:
    """A Markdown skeleton for the project report, pre-filled from the project."""
    cities = ", ".join(p.city.name for p in project.taking_part)
    topics = ", ".join(topic.name_de for topic in project.topics) or "–"
    lines = [
        _("Bericht zum gemeinsamen Projekt „%(title)s“.", title=project.title), "",
        "## " + _("Beteiligte Städte"), "", cities, "",
        "## " + _("Themen"), "", topics, "",
        "## " + _("Ausgangslage und Ziel"), "", project.description or "…", "",
        "## " + _("Was gut funktioniert hat"), "", "…", "",
        "## " + _("Was wir anders machen würden"), "", "…", "",
    ]
    return "\n".join(lines)


def create_project_report(actor: User, project: Project):
    """Create (once) the draft `project_report` experience of a completed project."""
    if not permissions.can_write_project_report(actor, project):
        raise ProjectPermissionError(_("Nur Mitglieder der beteiligten Städte schreiben den "
                                       "Projektbericht."))
    if project.state != "completed":
        raise ProjectConflict(_("Einen Projektbericht gibt es erst, wenn das Projekt "
                                "abgeschlossen ist."))
    report = project.report_experience
    if report is not None and report.deleted_at is None:
        return report
    from ..wiki.services import create_experience

    participant = project.participant(actor.city)
    took_part = participant is not None and participant.response == "accepted"
    city = actor.city if took_part else project.initiator_city
    title = _("Projektbericht: %(title)s", title=project.title)[:MAX_TITLE]
    report = create_experience(actor, city, title, _report_body(project), kind="project_report",
                               topics=list(project.topics), status="draft")
    project.report_experience = report
    _event(project, "report", actor, city=city)
    db.session.flush()
    return report


# --- queries -------------------------------------------------------------------------

def list_loads() -> tuple:
    """Loader options for what project lists show per row: the participating cities (with
    their answers) and the topics, one statement each instead of one per project.

    A function, not a constant: building the options configures the mappers, which must
    wait until every domain's models are imported."""
    return (selectinload(Project.participants).selectinload(ProjectParticipant.city),
            selectinload(Project.topics))

def active_partnerships() -> set[tuple[int, int, int]]:
    """(city_id, other_city_id, topic_id) for cities together in an active project, both orders."""
    rows = db.session.execute(
        sa.select(ProjectParticipant.project_id, ProjectParticipant.city_id)
        .join(Project, Project.id == ProjectParticipant.project_id)
        .where(Project.state == "active", ProjectParticipant.response == "accepted")
    ).all()
    cities_by_project: dict[int, set[int]] = {}
    for project_id, city_id in rows:
        cities_by_project.setdefault(project_id, set()).add(city_id)
    topic_rows = db.session.execute(
        sa.select(Project.id, Topic.id).join(Project.topics).where(Project.state == "active")
    ).all()
    result = set()
    for project_id, topic_id in topic_rows:
        cities = cities_by_project.get(project_id, set())
        for city_id in cities:
            for other_id in cities:
                if city_id != other_id:
                    result.add((city_id, other_id, topic_id))
    return result


def _awaits_answer_from(city_id):
    """SQL condition: the project is open for answers and `city_id` has not answered yet."""
    return sa.and_(
        Project.state.in_(states.ANSWERABLE_STATES),
        Project.participants.any(sa.and_(ProjectParticipant.city_id == city_id,
                                         ProjectParticipant.role == "invited",
                                         ProjectParticipant.response == "pending")))


def projects_query(user: User, *, scope: str = "all", state: str | None = None, city=None):
    """Projects `user` may see: "all", "mine" (my city takes part) or "invitations" (open)."""
    query = sa.select(Project)
    if not user.is_admin:
        query = query.where(sa.or_(Project.state != "draft",
                                   Project.initiator_city_id == user.city_id))
    my_city = user.city_id
    if scope == "mine":
        query = query.where(Project.participants.any(sa.and_(
            ProjectParticipant.city_id == my_city, ProjectParticipant.response != "declined")))
    elif scope == "invitations":
        query = query.where(_awaits_answer_from(my_city))
    if state:
        query = query.where(Project.state == state)
    if city is not None:
        query = query.where(Project.participants.any(ProjectParticipant.city_id == city.id))
    return query.order_by(Project.updated_at.desc(), Project.id.desc())


def open_invitations(city: City, limit: int | None = None) -> list[Project]:
    """Proposals `city` has not answered yet (newest first, at most `limit`)."""
    query = (sa.select(Project).where(_awaits_answer_from(city.id))
             .options(selectinload(Project.initiator_city))
             .order_by(Project.updated_at.desc(), Project.id.desc()))
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def city_projects(city: City, states_: tuple[str, ...] = ("proposed", "active", "completed"),
                  limit: int | None = None):
    """Projects `city` initiated or accepted, in the given states (newest first, at most
    `limit`), with their participants' cities loaded."""
    query = (sa.select(Project).where(
        Project.state.in_(states_),
        Project.participants.any(sa.and_(ProjectParticipant.city_id == city.id,
                                         ProjectParticipant.response == "accepted")))
        .options(selectinload(Project.participants).selectinload(ProjectParticipant.city))
        .order_by(Project.updated_at.desc(), Project.id.desc()))
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def load_participants(project: Project) -> Project:
    """Load the project's participants with their cities and answering users, and its
    topics, in one statement each (the project page shows them all)."""
    db.session.scalars(
        sa.select(Project).where(Project.id == project.id)
        .options(selectinload(Project.participants).selectinload(ProjectParticipant.city),
                 selectinload(Project.participants)
                 .selectinload(ProjectParticipant.responded_by),
                 selectinload(Project.topics))
        .execution_options(populate_existing=True)).one()
    return project


def timeline_query(project: Project):
    """Select of the project's history, oldest first, with what each entry shows loaded."""
    return (sa.select(ProjectEvent).where(ProjectEvent.project_id == project.id)
            .options(selectinload(ProjectEvent.actor), selectinload(ProjectEvent.city),
                     selectinload(ProjectEvent.comment))
            .order_by(ProjectEvent.created_at, ProjectEvent.id))


def timeline_page(project: Project, page: int | None, per_page: int):
    """One page of the project's history, oldest entry first; `page=None` is the last page,
    with the newest entries. Returns (events, page, pages)."""
    total = db.session.scalar(sa.select(sa.func.count(ProjectEvent.id))
                              .where(ProjectEvent.project_id == project.id)) or 0
    pages = max(1, -(-total // per_page))
    page = pages if page is None else page
    events = list(db.session.scalars(
        timeline_query(project).limit(per_page).offset((page - 1) * per_page)))
    return events, page, pages


def partner_cities(project: Project, city: City) -> list[City]:
    """The other cities in `project`: those taking part, and while proposed the invited ones."""
    wanted = ("accepted", "pending") if project.state == "proposed" else ("accepted",)
    return [p.city for p in project.participants
            if p.city_id != city.id and p.response in wanted]
