"""Permission rules in one place; the web UI and the API both ask these functions."""
from .models import User


def is_member(user: User | None) -> bool:
    """An approved, logged-in user: may read everything published."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def belongs_to(user: User | None, city) -> bool:
    """True when the user works for `city`."""
    return is_member(user) and city is not None and user.city_id == city.id


def is_city_admin_of(user: User | None, city) -> bool:
    """The CDO/CIO of `city` (or a platform admin)."""
    if not is_member(user):
        return False
    return user.is_admin or (belongs_to(user, city) and user.role == "city_admin")


def can_create_city(user: User | None) -> bool:
    """Only platform administrators add cities."""
    return is_member(user) and user.is_admin


def can_edit_city(user: User | None, city) -> bool:
    """City admins edit their city's profile and interests."""
    return is_city_admin_of(user, city)


def can_approve_user(actor: User | None, user: User) -> bool:
    """City admins approve staff of their own city; platform admins anyone."""
    if not is_member(actor):
        return False
    return actor.is_admin or (actor.role == "city_admin" and actor.city_id == user.city_id
                              and user.city_id is not None)


def can_read_experience(user: User | None, experience) -> bool:
    """Published pages are for every member; drafts for the writing city only."""
    if not is_member(user) or experience.deleted_at is not None:
        return bool(is_member(user) and user.is_admin)
    return experience.status == "published" or user.is_admin or belongs_to(user, experience.city)


def can_write_for_city(user: User | None, city) -> bool:
    """Any member of a city writes that city's experiences."""
    return is_member(user) and (user.is_admin or belongs_to(user, city))


def can_edit_experience(user: User | None, experience) -> bool:
    """Staff edit their own city's experiences; platform admins all."""
    return can_write_for_city(user, experience.city)


def can_review_registrations(user: User | None) -> bool:
    """City admins (for their city) and platform admins see the approval queue."""
    return is_member(user) and (user.is_admin or (user.role == "city_admin"
                                                  and user.city_id is not None))


def can_change_role(actor: User | None, user: User) -> bool:
    """City admins set roles of their own city's users, but never their own role."""
    return can_approve_user(actor, user) and actor.id != user.id


def can_grant_admin(actor: User | None, user: User) -> bool:
    """Platform admins make other approved, active members platform admins or take the
    right back; never their own (so the platform always keeps one admin)."""
    return (is_member(actor) and actor.is_admin and actor.id != user.id
            and user.is_approved and user.deactivated_at is None)


# --- visits -----------------------------------------------------------------

#: Roles that may plan visits for their own city.
VISIT_PLANNING_ROLES = ("visit_planner", "city_admin")


def can_plan_visits_for(user: User | None, city) -> bool:
    """Visit planners and city admins plan their own city's visits; platform admins all."""
    if not is_member(user) or city is None:
        return False
    return user.is_admin or (belongs_to(user, city) and user.role in VISIT_PLANNING_ROLES)


def can_create_visit(user: User | None, host_city, visiting_city) -> bool:
    """A visit may be created by planners or admins of either of its two cities."""
    return can_plan_visits_for(user, host_city) or can_plan_visits_for(user, visiting_city)


def can_edit_visit(user: User | None, visit) -> bool:
    """Planners and city admins of the host or the visiting city edit a visit."""
    return can_create_visit(user, visit.host_city, visit.visiting_city)


def can_read_visit(user: User | None, visit) -> bool:
    """Every logged-in member reads every visit."""
    return is_member(user)


# --- joint projects -------------------------------------------------------

def can_propose_project(user: User | None, city) -> bool:
    """City admins propose joint projects for their own city; platform admins for any."""
    return city is not None and is_city_admin_of(user, city)


def can_view_project(user: User | None, project) -> bool:
    """Members see every proposed project; drafts only the initiating city sees."""
    if not is_member(user):
        return False
    if project.state != "draft":
        return True
    return user.is_admin or belongs_to(user, project.initiator_city)


def can_manage_project(user: User | None, project) -> bool:
    """The initiating city's admins submit, invite, complete and withdraw."""
    return is_city_admin_of(user, project.initiator_city)


def can_respond(user: User | None, project, city) -> bool:
    """An admin of an invited city answers for that city (and only for it)."""
    if city is None or not is_city_admin_of(user, city):
        return False
    participant = project.participant(city)
    return participant is not None and participant.role == "invited"


def can_comment_project(user: User | None, project) -> bool:
    """Members of the initiating and invited cities comment; drafts stay with the initiator."""
    if not can_view_project(user, project):
        return False
    if user.is_admin:
        return True
    participant = project.participant(user.city)
    return participant is not None and (project.state != "draft" or participant.role == "initiator")


def can_write_project_report(user: User | None, project) -> bool:
    """Members of a city that took part write the report of a completed project."""
    if not is_member(user):
        return False
    if user.is_admin:
        return True
    participant = project.participant(user.city)
    return participant is not None and participant.response == "accepted"


def can_read_notification(user: User | None, notification) -> bool:
    """A notification is its recipient's alone: they read it and mark it read."""
    return is_member(user) and notification is not None and notification.user_id == user.id


def can_choose_project_city(user: User | None) -> bool:
    """Platform admins propose projects on behalf of any city (they may have none)."""
    return is_member(user) and user.is_admin


def can_find_partners_for(user: User | None, city) -> bool:
    """Members look for partners for their own city; platform admins for any city."""
    return is_member(user) and city is not None and (user.is_admin or belongs_to(user, city))


def can_plan_visits(user: User | None) -> bool:
    """Platform admins, and visit planners and city admins of their own city, plan visits."""
    return is_member(user) and (user.is_admin or can_plan_visits_for(user, user.city))


def can_view_audit(user: User | None, city=None) -> bool:
    """The audit log: platform admins see all of it, city admins their city's events."""
    if not is_member(user):
        return False
    if user.is_admin:
        return True
    return (user.role == "city_admin" and user.city_id is not None
            and (city is None or city.id == user.city_id))


def audit_condition(user: User | None):
    """SQL condition on AuditEvent for the events `user` may see (the rule above)."""
    import sqlalchemy as sa

    from ..audit.models import AuditEvent

    if not is_member(user):
        return sa.false()
    if user.is_admin:
        return sa.true()
    if user.role != "city_admin" or user.city_id is None:
        return sa.false()
    return sa.or_(AuditEvent.city_id == user.city_id, AuditEvent.other_city_id == user.city_id)


# --- accounts --------------------------------------------------------------------

def can_deactivate_user(actor: User | None, user: User) -> bool:
    """Platform admins deactivate and reactivate anyone; city admins the users of their
    own city except platform admins; nobody their own account (they would lock
    themselves out)."""
    if not can_approve_user(actor, user) or actor.id == user.id or not user.is_approved:
        return False
    return actor.is_admin or not user.is_admin


# --- delegations -----------------------------------------------------------------

def can_join_delegation(user: User | None, host_city, visiting_city) -> bool:
    """Registered people a planner may name for a delegation: approved, active users of
    the visit's two cities. Everybody else is entered as an external guest by name, so
    planners cannot look up other people's names and addresses by id or e-mail."""
    if user is None or not user.is_active or user.city_id is None:
        return False
    return user.city_id in {city.id for city in (host_city, visiting_city) if city is not None}


def delegation_candidate_condition(host_city, visiting_city):
    """SQL condition on User for can_join_delegation (the rule above)."""
    import sqlalchemy as sa

    ids = [city.id for city in (host_city, visiting_city) if city is not None]
    return sa.and_(User.is_approved.is_(True), User.deactivated_at.is_(None),
                   User.city_id.in_(ids))
