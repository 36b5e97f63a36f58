"""Writing experiences: create, edit with conflict detection, restore, publish, delete.

Every change appends a Revision (never rewrites one), keeps `Experience.title` equal to
the current revision's title and `Experience.excerpt` to its body's excerpt, and records index work in the search outbox in the same
transaction. Services flush; the caller commits.

Every save that can change the current revision ends in one atomic step, `_advance`: a
compare-and-set `UPDATE experiences SET current_revision_id = :new WHERE id = :id AND
current_revision_id = :base`. Checking the base first and writing later is not enough on
SQLite, which ignores `SELECT ... FOR UPDATE`: a rival save could commit in between and
be silently replaced. If the UPDATE matches no row, a rival got there first: the
session is rolled back and the save is an EditConflict. Two saves at nearly the same
moment can also pick the same revision number; the loser's flush then hits the unique
constraint (or, for a new page, the slug's). A failed flush leaves the session unusable,
so the service rolls it back and raises EditConflict (with the revision that won) or a
WikiError for the slug, never a database error.

`actor=None` stands for a trusted operator command (demo data, import): no permission
check, no author. Views and the API always pass the logged-in user.
"""
import re

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from ..auth.permissions import can_edit_experience, can_read_experience, can_write_for_city
from ..errors import DomainError, DomainPermissionError
from ..extensions import db
from ..util import is_single_line, slugify, utcnow
from .models import KINDS, STATUSES, Experience, Revision, excerpt_of, experience_topics

MAX_TITLE = 200
MAX_BODY = 200_000
MAX_SUMMARY = 300
MAX_SLUG = 120
MAX_CONTACT_NAME = 120
MAX_CONTACT_EMAIL = 254
#: Auto slugs leave room for a "-NN" suffix within MAX_SLUG.
AUTO_SLUG_LENGTH = 100
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: Path segments under /erfahrungen/ that belong to pages, not experiences.
RESERVED_SLUGS = frozenset({"neu"})


class WikiError(DomainError, ValueError):
    """Invalid input for an experience (422); `errors` maps field names to German messages."""

    status = 422


class EditConflict(WikiError):
    """The edit started from an older revision; `current` is the revision saved meanwhile."""

    status = 409
    problem = "edit-conflict"

    def __init__(self, current: Revision):
        super().__init__(_("Jemand anderes hat diese Erfahrung inzwischen gespeichert "
                           "(Version %(number)s). Ihre Änderung wurde nicht gespeichert.",
                           number=current.number),
                         errors={"base_revision": _("Die Ausgangsversion ist veraltet.")})
        self.current = current


class PermissionDenied(DomainPermissionError):
    """The actor may not write this experience (403)."""

    def __init__(self, message: str | None = None):
        super().__init__(message or _("Sie dürfen Erfahrungen dieser Stadt nicht bearbeiten."))


# --- validation --------------------------------------------------------------------------

def _one_line_error(label: str) -> str:
    return _("%(label)s darf keine Zeilenumbrüche oder Steuerzeichen enthalten.", label=label)


def _clean_title(title, errors: dict, stored: str | None = None) -> str:
    """The stripped title; `stored` (the current one) passes as it is, so a page saved
    before a rule existed can still be edited."""
    title = (title or "").strip()
    if not title:
        errors["title"] = _("Bitte geben Sie einen Titel ein.")
    elif len(title) > MAX_TITLE:
        errors["title"] = _("Der Titel darf höchstens %(max)s Zeichen lang sein.", max=MAX_TITLE)
    elif title != stored and not is_single_line(title):
        errors["title"] = _one_line_error(_("Der Titel"))
    return title


def _clean_body(body, errors: dict) -> str:
    body = (body or "").replace("\r\n", "\n")
    if len(body) > MAX_BODY:
        errors["body"] = _("Der Text darf höchstens %(max)s Zeichen lang sein.", max=MAX_BODY)
    return body


def _clean_summary(summary, errors: dict) -> str:
    summary = (summary or "").strip()
    if len(summary) > MAX_SUMMARY:
        errors["summary"] = _("Die Zusammenfassung darf höchstens %(max)s Zeichen lang sein.",
                              max=MAX_SUMMARY)
    elif not is_single_line(summary):
        errors["summary"] = _one_line_error(_("Die Zusammenfassung"))
    return summary


def _check_choice(value, choices, field: str, errors: dict) -> None:
    if value not in choices:
        if field == "kind":
            errors[field] = _("Unbekannte Art: %(value)s.", value=value)
        else:
            errors[field] = _("Unbekannter Status: %(value)s.", value=value)


def _clean_contact(name, email, errors: dict,
                   stored_name: str | None = None) -> tuple[str | None, str | None]:
    name = (name or "").strip() or None
    email = (email or "").strip() or None
    if name is not None and len(name) > MAX_CONTACT_NAME:
        errors["contact_name"] = _("Der Kontaktname darf höchstens %(max)s Zeichen lang sein.",
                                   max=MAX_CONTACT_NAME)
    elif name is not None and name != stored_name and not is_single_line(name):
        errors["contact_name"] = _one_line_error(_("Der Kontaktname"))
    if email is not None:
        try:
            if len(email) > MAX_CONTACT_EMAIL:
                raise EmailNotValidError("too long")
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError:
            errors["contact_email"] = _("Bitte geben Sie eine gültige E-Mail-Adresse an.")
    return name, email


def resolve_topics(topics, errors: dict) -> list:
    """Topic objects for a mix of Topic objects and slugs; unknown slugs become an error."""
    from ..cities.models import Topic

    resolved, wanted = [], []
    for item in topics or ():
        if isinstance(item, Topic):
            resolved.append(item)
        else:
            wanted.append(str(item).strip())
    wanted = [slug for slug in dict.fromkeys(wanted) if slug]
    if wanted:
        found = {topic.slug: topic for topic in
                 db.session.scalars(sa.select(Topic).where(Topic.slug.in_(wanted)))}
        unknown = [slug for slug in wanted if slug not in found]
        if unknown:
            errors["topics"] = _("Unbekannte Themen: %(slugs)s.", slugs=", ".join(unknown))
        resolved.extend(found[slug] for slug in wanted if slug in found)
    unique = []
    for topic in resolved:
        if topic not in unique:
            unique.append(topic)
    return unique


def _slug_taken(slug: str) -> bool:
    if slug in RESERVED_SLUGS:
        return True
    return db.session.scalar(sa.select(Experience.id).where(Experience.slug == slug)) is not None


def auto_slug(title: str) -> str:
    """The slug made from a title when none is given (a taken one then gets "-2", "-3" …)."""
    return slugify(title, max_length=AUTO_SLUG_LENGTH)


def _hidden_from(actor, slug: str) -> bool:
    """True when `slug` belongs to a page `actor` may not read (another city's draft, a
    deleted page): saying it is taken would reveal that it exists."""
    if actor is None:
        return False
    existing = db.session.scalar(sa.select(Experience).where(Experience.slug == slug))
    return existing is not None and not can_read_experience(actor, existing)


def _next_free_slug(base: str) -> str:
    """`base` with the first free "-2", "-3" … suffix, within MAX_SLUG."""
    counter = 1
    while True:
        counter += 1
        suffix = f"-{counter}"
        candidate = base[:MAX_SLUG - len(suffix)].rstrip("-") + suffix
        if not _slug_taken(candidate):
            return candidate


def _clean_slug(slug, title: str, errors: dict, actor=None) -> str | None:
    if slug is not None and str(slug).strip():
        slug = str(slug).strip()
        if len(slug) > MAX_SLUG or not SLUG_PATTERN.match(slug):
            errors["slug"] = _("Die Kurz-URL darf nur Kleinbuchstaben, Ziffern und Bindestriche "
                               "enthalten (höchstens %(max)s Zeichen).", max=MAX_SLUG)
        elif _slug_taken(slug):
            if _hidden_from(actor, slug):
                # Quietly the next free one, as for a title: the page stays unknown.
                return _next_free_slug(slug)
            errors["slug"] = _("Die Kurz-URL „%(slug)s“ ist schon vergeben.", slug=slug)
        return slug
    if not title:
        return None
    base = auto_slug(title)
    candidate, counter = base, 1
    while _slug_taken(candidate):
        counter += 1
        candidate = f"{base}-{counter}"
    return candidate


# --- writing -----------------------------------------------------------------------------

def _require_write(actor, city) -> None:
    if actor is not None and not can_write_for_city(actor, city):
        raise PermissionDenied()


def _require_edit(actor, experience: Experience) -> None:
    if actor is not None and not can_edit_experience(actor, experience):
        raise PermissionDenied()


def _enqueue(experience: Experience) -> None:
    from ..search.outbox import enqueue

    enqueue(experience)


def _violates(error: sa.exc.IntegrityError, constraint: str, sqlite_columns: str) -> bool:
    """Whether `error` is the unique constraint `constraint` (PostgreSQL names it, SQLite
    lists the columns)."""
    text = str(error.orig)
    return constraint in text or f"UNIQUE constraint failed: {sqlite_columns}" in text


def _current_revision_after_lost_race(experience_id: int) -> Revision:
    """After a rollback: the revision that is current now (the one that won the race)."""
    experience = db.session.get(Experience, experience_id, populate_existing=True)
    return experience.current_revision


def _append_revision(actor, experience: Experience, title: str, body: str, summary: str,
                     restored_from: Revision | None = None) -> Revision:
    """Insert the next-numbered revision (not yet current: `_advance` makes it so).

    A number another save took meanwhile is an EditConflict, never a 500.
    """
    experience_id = experience.id  # attributes cannot be read after a failed flush
    number = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.max(Revision.number), 0))
        .where(Revision.experience_id == experience.id)
    ) + 1
    now = utcnow()
    revision = Revision(experience=experience, number=number, title=title, body=body,
                        summary=summary, author=actor, created_at=now,
                        restored_from_id=restored_from.id if restored_from else None)
    db.session.add(revision)
    try:
        db.session.flush()
    except sa.exc.IntegrityError as error:
        if experience_id is None or not _violates(
                error, "uq_revisions_experience_id_number",
                "revisions.experience_id, revisions.number"):
            raise
        db.session.rollback()
        raise EditConflict(_current_revision_after_lost_race(experience_id)) from None
    return revision


def _advance(experience: Experience, base_revision_id: int | None,
             revision: Revision | None = None) -> None:
    """The atomic step of every save: make `revision` current only if `base_revision_id`
    still is (compare-and-set); with `revision=None` only confirm that it still is.

    One UPDATE does check and write, so no rival save can slip in between (SQLite
    ignores FOR UPDATE). It matches no row when a rival saved first: the session is
    rolled back and EditConflict raised. Once it matched, the row stays locked until
    commit (the database write lock on SQLite, the row lock on PostgreSQL).
    """
    experience_id = experience.id
    new_id = base_revision_id if revision is None else revision.id
    base_body = experience.current_revision.body if experience.current_revision else None
    table = Experience.__table__
    result = db.session.execute(
        sa.update(table)
        .where(table.c.id == experience_id, table.c.current_revision_id == base_revision_id)
        .values(current_revision_id=new_id))
    if result.rowcount != 1:
        db.session.rollback()
        raise EditConflict(_current_revision_after_lost_race(experience_id))
    # The row already says so; tell the ORM without scheduling an UPDATE of its own.
    set_committed_value(experience, "current_revision_id", new_id)
    if revision is not None:
        set_committed_value(experience, "current_revision", revision)
        experience.title = revision.title
        if revision.body != base_body or not experience.excerpt:
            experience.excerpt = excerpt_of(revision.body)
        experience.updated_at = revision.created_at


def _set_status(experience: Experience, status: str) -> None:
    if status == experience.status:
        return
    experience.status = status
    experience.published_at = utcnow() if status == "published" else None


def create_experience(actor, city, title, body, kind="lesson_learned", topics=(),
                      status="draft", slug=None, contact_name=None, contact_email=None,
                      summary="") -> Experience:
    """Create an experience with its first revision; raises WikiError or PermissionDenied."""
    if city is None:
        raise WikiError(errors={"city": _("Bitte wählen Sie eine Stadt.")})
    _require_write(actor, city)
    errors: dict = {}
    title = _clean_title(title, errors)
    body = _clean_body(body, errors)
    summary = _clean_summary(summary, errors)
    _check_choice(kind, KINDS, "kind", errors)
    _check_choice(status, STATUSES, "status", errors)
    topic_list = resolve_topics(topics, errors)
    contact_name, contact_email = _clean_contact(contact_name, contact_email, errors)
    slug = _clean_slug(slug, title, errors, actor)
    if errors:
        raise WikiError(errors=errors)
    now = utcnow()
    experience = Experience(slug=slug, title=title, kind=kind, status="draft", city=city,
                            contact_name=contact_name, contact_email=contact_email,
                            created_at=now, updated_at=now)
    experience.topics = topic_list
    db.session.add(experience)
    try:
        db.session.flush()
    except sa.exc.IntegrityError as error:
        if not _violates(error, "uq_experiences_slug", "experiences.slug"):
            raise
        # Someone created a page with this slug since the check above.
        db.session.rollback()
        raise WikiError(errors={"slug": _("Die Kurz-URL „%(slug)s“ ist schon vergeben.",
                                          slug=slug)}) from None
    revision = _append_revision(actor, experience, title, body,
                                summary or _("Erste Fassung"))
    _advance(experience, None, revision)
    _set_status(experience, status)
    db.session.flush()
    _enqueue(experience)
    db.session.flush()
    return experience


def _lock(experience: Experience) -> None:
    """Re-read the current revision, on PostgreSQL under a row lock: a second editor waits
    here and then sees the first one's revision, before validating and writing anything.
    SQLite ignores FOR UPDATE; there `_advance` alone keeps the save atomic."""
    db.session.execute(
        sa.select(Experience.id).where(Experience.id == experience.id).with_for_update()
    )
    db.session.refresh(experience, ["current_revision_id", "current_revision"])


def update_experience(actor, experience: Experience, base_revision_id, *, title=None,
                      body=None, topics=None, kind=None, status=None, contact_name=None,
                      contact_email=None, summary="") -> Experience:
    """Save an edit made on `base_revision_id`; unchanged text adds no revision.

    Raises EditConflict (with `.current`) when another revision was saved meanwhile,
    WikiError for invalid input and PermissionDenied for foreign cities' pages.
    Arguments left as None keep their current value; "" clears a contact field.
    """
    _require_edit(actor, experience)
    if experience.deleted_at is not None:
        raise WikiError(_("Diese Erfahrung wurde gelöscht."))
    if isinstance(base_revision_id, Revision):
        base_revision_id = base_revision_id.id
    try:
        base_revision_id = int(base_revision_id)
    except (TypeError, ValueError):
        raise WikiError(errors={"base_revision": _(
            "Die Ausgangsversion fehlt oder ist ungültig.")}) from None
    if experience.id is not None:
        _lock(experience)
    if base_revision_id != experience.current_revision_id:
        raise EditConflict(experience.current_revision)

    current = experience.current_revision
    errors: dict = {}
    new_title = _clean_title(current.title if title is None else title, errors,
                             stored=current.title)
    new_body = _clean_body(current.body if body is None else body, errors)
    summary = _clean_summary(summary, errors)
    if kind is not None:
        _check_choice(kind, KINDS, "kind", errors)
    if status is not None:
        _check_choice(status, STATUSES, "status", errors)
    topic_list = resolve_topics(topics, errors) if topics is not None else None
    name, email = _clean_contact(
        experience.contact_name if contact_name is None else contact_name,
        experience.contact_email if contact_email is None else contact_email, errors,
        stored_name=experience.contact_name)
    if errors:
        raise WikiError(errors=errors)

    changed, revision = False, None
    if new_title != current.title or new_body != current.body:
        revision = _append_revision(actor, experience, new_title, new_body, summary)
        changed = True
    if kind is not None and kind != experience.kind:
        experience.kind = kind
        changed = True
    if topic_list is not None and {t.id for t in topic_list} != {t.id for t in experience.topics}:
        experience.topics = topic_list
        changed = True
    if (name, email) != (experience.contact_name, experience.contact_email):
        experience.contact_name, experience.contact_email = name, email
        changed = True
    if status is not None and status != experience.status:
        _set_status(experience, status)
        changed = True
    if changed:
        experience.updated_at = utcnow()
        _flush_metadata(experience)
        # Last: a field-only save, too, is refused once another revision became current.
        _advance(experience, base_revision_id, revision)
        _enqueue(experience)
        db.session.flush()
    return experience


def _flush_metadata(experience: Experience) -> None:
    """Flush topic and field changes; a topic link another save just added or removed
    is a lost race (SQLite), reported as EditConflict like a clashing revision number."""
    experience_id = experience.id
    try:
        db.session.flush()
    except (sa.exc.IntegrityError, StaleDataError) as error:
        if isinstance(error, sa.exc.IntegrityError) and not _violates(
                error, "pk_experience_topics",
                "experience_topics.experience_id, experience_topics.topic_id"):
            raise
        if isinstance(error, StaleDataError) and "experience_topics" not in str(error):
            raise
        db.session.rollback()
        raise EditConflict(_current_revision_after_lost_race(experience_id)) from None


def restore_revision(actor, experience: Experience, revision: Revision,
                     summary="") -> Experience:
    """Make an old revision's text current again, as a new revision (history is kept)."""
    _require_edit(actor, experience)
    if experience.deleted_at is not None:
        raise WikiError(_("Diese Erfahrung wurde gelöscht."))
    if revision is None or revision.experience_id != experience.id:
        raise WikiError(_("Diese Version gehört nicht zu dieser Erfahrung."))
    errors: dict = {}
    summary = _clean_summary(summary, errors)
    if errors:
        raise WikiError(errors=errors)
    _lock(experience)
    current = experience.current_revision
    base_revision_id = current.id
    if revision.title == current.title and revision.body == current.body:
        raise WikiError(_("Version %(number)s entspricht bereits der aktuellen Fassung.",
                          number=revision.number))
    restored = _append_revision(
        actor, experience, revision.title, revision.body,
        summary or _("Version %(number)s wiederhergestellt", number=revision.number),
        restored_from=revision)
    _advance(experience, base_revision_id, restored)
    db.session.flush()
    _enqueue(experience)
    db.session.flush()
    return experience


def publish(actor, experience: Experience) -> Experience:
    """Make a draft visible to all members (and searchable)."""
    return update_experience(actor, experience, experience.current_revision_id,
                             status="published")


def unpublish(actor, experience: Experience) -> Experience:
    """Turn a published experience back into a draft of its city."""
    return update_experience(actor, experience, experience.current_revision_id, status="draft")


def delete_experience(actor, experience: Experience) -> None:
    """Soft-delete: the page disappears from lists, search and API; its history stays."""
    _require_edit(actor, experience)
    if experience.deleted_at is not None:
        return
    now = utcnow()
    experience.deleted_at = now
    experience.updated_at = now
    db.session.flush()
    _enqueue(experience)
    db.session.flush()


# --- reading -----------------------------------------------------------------------------

def get_experience(slug: str, include_deleted: bool = False) -> Experience | None:
    """The experience with this slug (deleted ones only when asked)."""
    query = sa.select(Experience).where(Experience.slug == slug)
    if not include_deleted:
        query = query.where(Experience.deleted_at.is_(None))
    return db.session.scalar(query)


def get_revision(experience: Experience, number: int) -> Revision | None:
    """Revision `number` of `experience`, or None."""
    return db.session.scalar(sa.select(Revision).where(
        Revision.experience_id == experience.id, Revision.number == number))


def revisions_query(experience: Experience):
    """The revisions of `experience`, newest first (the history list)."""
    return (sa.select(Revision).where(Revision.experience_id == experience.id)
            .order_by(Revision.number.desc()))


def revision_count(experience: Experience) -> int:
    """How many revisions `experience` has (counted, not loaded: histories grow long)."""
    return db.session.scalar(sa.select(sa.func.count(Revision.id))
                             .where(Revision.experience_id == experience.id)) or 0


def visible_condition(user):
    """SQL condition: not deleted, and published or a draft of the user's own city."""
    condition = Experience.deleted_at.is_(None)
    if user is not None and getattr(user, "is_admin", False):
        return condition
    city_id = getattr(user, "city_id", None)
    if city_id is not None:
        return condition & sa.or_(Experience.status == "published",
                                  Experience.city_id == city_id)
    return condition & (Experience.status == "published")


def _topic_and_descendants(topic):
    """Select of the ids of `topic` and every topic below it (recursive CTE)."""
    from ..cities.models import Topic

    tree = sa.select(Topic.id).where(Topic.id == topic.id).cte("topic_tree", recursive=True)
    tree = tree.union(sa.select(Topic.id).where(Topic.parent_id == tree.c.id))
    return sa.select(tree.c.id)


def experiences_query(user, *, city=None, topic=None, kind=None, status=None):
    """Experiences `user` may read, newest change first, filtered by city/topic/kind/status.

    A topic filter includes its subtopics: "OZG-Umsetzung" finds pages on any OZG field.
    """
    query = sa.select(Experience).where(visible_condition(user))
    if city is not None:
        query = query.where(Experience.city_id == city.id)
    if topic is not None:
        query = query.where(Experience.id.in_(
            sa.select(experience_topics.c.experience_id)
            .where(experience_topics.c.topic_id.in_(_topic_and_descendants(topic)))))
    if kind is not None:
        query = query.where(Experience.kind == kind)
    if status is not None:
        query = query.where(Experience.status == status)
    return query.order_by(Experience.updated_at.desc(), Experience.id.desc())


def published_on_topic_query(topic):
    """Published experiences tagged with exactly `topic`, newest change first (topic page)."""
    return (sa.select(Experience)
            .join(experience_topics, experience_topics.c.experience_id == Experience.id)
            .where(experience_topics.c.topic_id == topic.id, Experience.status == "published",
                   Experience.deleted_at.is_(None))
            .order_by(Experience.updated_at.desc(), Experience.id.desc()))


def recent_revisions_query(user, city=None):
    """Revisions of experiences `user` may read, newest first (the recent-changes list)."""
    query = (sa.select(Revision).join(Experience, Revision.experience_id == Experience.id)
             .where(visible_condition(user)))
    if city is not None:
        query = query.where(Experience.city_id == city.id)
    return query.order_by(Revision.created_at.desc(), Revision.id.desc())


__all__ = ["WikiError", "EditConflict", "PermissionDenied", "auto_slug", "create_experience",
           "update_experience", "restore_revision", "publish", "unpublish",
           "delete_experience", "get_experience", "get_revision", "experiences_query",
           "recent_revisions_query", "resolve_topics", "revisions_query", "revision_count",
           "visible_condition", "published_on_topic_query"]
