"""Near-simultaneous saves: one wins, the other gets the conflict page, 409 or a form error.

Each test makes a rival save run to its commit while the main request is between its
checks and its first write (in a `before_flush` hook), in another thread with its own
app context, session and connection. On SQLite nothing locks the experience there, so
the main request's revision number or slug then collides with the rival's (the unique
constraint fires, which used to be a 500). On PostgreSQL the main request already holds
the experience row lock, so the rival edit waits for it and is the one that loses.
"""
import threading

import pytest
import sqlalchemy as sa
from flask import g

from conftest import session_login

from exchange.extensions import db
from exchange.wiki import services
from exchange.wiki.models import Experience, Revision

from .test_views import form_data


@pytest.fixture
def logged_in_client(app, client):
    """A further test client (its own cookies) logged in as `user`."""
    def make(user):
        other = app.test_client()
        g.pop("_login_user", None)
        return session_login(other, user)

    return make


@pytest.fixture
def rival_during_flush(app):
    """rival_during_flush(model, send, wait, changed): run `send()` once the main session
    flushes a new (or, with `changed=True`, a changed) `model` row; `wait=False` lets the
    rival finish only after the main request.

    Returns a list that receives the rival's response (or exception).
    """
    outcome = []
    state = {"thread": None}
    main = threading.get_ident()

    def arm(model, send, wait=True, changed=False):
        def run():
            try:
                with app.app_context():
                    outcome.append(send())
            except Exception as error:  # reported by the test, not lost in the thread
                outcome.append(error)

        def before_flush(session, _context, _instances):
            if state["thread"] is not None or threading.get_ident() != main:
                return
            rows = session.dirty if changed else session.new
            if not any(isinstance(obj, model) for obj in rows):
                return
            state["thread"] = threading.Thread(target=run)
            state["thread"].start()
            if wait:
                state["thread"].join()

        sa.event.listen(sa.orm.Session, "before_flush", before_flush)
        arm.listener = before_flush
        return outcome

    def finish():
        if state["thread"] is not None:
            state["thread"].join()

    arm.finish = finish
    yield arm
    if getattr(arm, "listener", None) is not None:
        sa.event.remove(sa.orm.Session, "before_flush", arm.listener)
    finish()


def _rival_waits_for_row_lock() -> bool:
    """PostgreSQL's row lock makes a second editor wait; SQLite takes no lock on reads."""
    return db.engine.dialect.name == "postgresql"


def test_simultaneous_edits_in_the_browser_one_saves_one_gets_conflict_page(
        client, login, logged_in_client, rival_during_flush, anna, cdo_stuttgart,
        make_experience):
    experience = make_experience(anna, body="Erste Fassung.")
    slug, base = experience.slug, experience.current_revision_id
    rival = logged_in_client(cdo_stuttgart)
    outcome = rival_during_flush(
        Revision,
        lambda: rival.post(f"/erfahrungen/{slug}/bearbeiten", data=form_data(
            title=experience.title, body="Fassung des CDO.", base_revision=str(base))),
        wait=not _rival_waits_for_row_lock())
    login(anna)
    mine = client.post(f"/erfahrungen/{slug}/bearbeiten", data=form_data(
        title=experience.title, body="Fassung von Anna.", base_revision=str(base)))
    rival_during_flush.finish()
    (theirs,) = outcome
    assert not isinstance(theirs, Exception), theirs

    statuses = sorted([mine.status_code, theirs.status_code])
    assert statuses == [200, 302], statuses  # never a 500
    loser = mine if mine.status_code == 200 else theirs
    assert "Bearbeitungskonflikt" in loser.text and "NICHT gespeichert" in loser.text
    winner_text = "Fassung von Anna." if loser is theirs else "Fassung des CDO."
    loser_text = "Fassung des CDO." if loser is theirs else "Fassung von Anna."
    assert loser_text in loser.text  # the loser's text is still in the form

    db.session.expire_all()
    experience = db.session.get(Experience, experience.id)
    assert [r.number for r in experience.revisions] == [1, 2]
    assert experience.body == winner_text
    assert f'name="base_revision" type="hidden" value="{experience.current_revision_id}"' \
        in loser.text


def test_simultaneous_api_updates_one_saves_one_gets_409(
        client, login, logged_in_client, rival_during_flush, anna, cdo_stuttgart,
        make_experience):
    experience = make_experience(anna, body="Erste Fassung.")
    slug, base = experience.slug, experience.current_revision_id
    rival = logged_in_client(cdo_stuttgart)
    outcome = rival_during_flush(
        Revision,
        lambda: rival.put(f"/api/v1/experiences/{slug}",
                          json={"base_revision": base, "body": "Fassung des CDO."}),
        wait=not _rival_waits_for_row_lock())
    login(anna)
    mine = client.put(f"/api/v1/experiences/{slug}",
                      json={"base_revision": base, "body": "Fassung von Anna."})
    rival_during_flush.finish()
    (theirs,) = outcome
    assert not isinstance(theirs, Exception), theirs

    statuses = sorted([mine.status_code, theirs.status_code])
    assert statuses == [200, 409], statuses
    winner, loser = (mine, theirs) if mine.status_code == 200 else (theirs, mine)
    assert loser.json["current_revision"] == winner.json["revision"]
    assert loser.json["experience"]["body"] == winner.json["body"]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Revision)
                             .where(Revision.experience_id == experience.id)) == 2


def test_simultaneous_creates_with_the_same_slug_give_a_form_error(
        client, login, logged_in_client, rival_during_flush, anna, cdo_stuttgart):
    rival = logged_in_client(cdo_stuttgart)
    title = "Digitalisierungslotsen in jedem Amt"
    outcome = rival_during_flush(
        Experience,
        lambda: rival.post("/erfahrungen/neu", data=form_data(title=title,
                                                              body="Text des CDO.")))
    login(anna)
    mine = client.post("/erfahrungen/neu", data=form_data(title=title, body="Text von Anna."))
    (theirs,) = outcome
    assert not isinstance(theirs, Exception), theirs

    # No lock guards a new slug on either database: the rival commits first.
    assert theirs.status_code == 302
    assert mine.status_code == 200
    assert "ist schon vergeben" in mine.text
    assert "Text von Anna." in mine.text
    db.session.expire_all()
    assert db.session.scalars(sa.select(Experience.slug)).all() == [
        "digitalisierungslotsen-in-jedem-amt"]
    # Sending the form again picks the next free slug.
    again = client.post("/erfahrungen/neu", data=form_data(title=title, body="Text von Anna."))
    assert again.status_code == 302
    assert again.headers["Location"].endswith("/erfahrungen/digitalisierungslotsen-in-jedem-amt-2")


def test_service_reports_a_lost_revision_race_as_edit_conflict(app, rival_during_flush, anna,
                                                                cdo_stuttgart,
                                                                make_experience):
    experience = make_experience(anna, body="Erste Fassung.")
    experience_id, base = experience.id, experience.current_revision_id
    if _rival_waits_for_row_lock():
        pytest.skip("PostgreSQL: the row lock makes the rival wait; the HTTP tests cover it")

    def rival_save():
        other = db.session.get(Experience, experience_id)
        services.update_experience(db.session.get(type(cdo_stuttgart), cdo_stuttgart.id),
                                   other, base, body="Fassung des CDO.")
        db.session.commit()
        return other.current_revision_id

    outcome = rival_during_flush(Revision, rival_save)
    with pytest.raises(services.EditConflict) as raised:
        services.update_experience(anna, experience, base, body="Fassung von Anna.")
    (rival_revision,) = outcome
    assert raised.value.current.id == rival_revision
    assert raised.value.current.body == "Fassung des CDO."
    # The session is usable again (rolled back), and nothing of the loser was kept.
    db.session.commit()
    assert [r.body for r in db.session.get(Experience, experience_id).revisions] == [
        "Erste Fassung.", "Fassung des CDO."]


@pytest.mark.parametrize("change", ["add", "remove"])
def test_simultaneous_topic_changes_without_new_text_are_a_conflict(
        client, login, logged_in_client, rival_during_flush, anna, cdo_stuttgart, topics,
        make_experience, change):
    before = ["eakte"] if change == "add" else ["eakte", "dms"]
    after = ["eakte", "dms"] if change == "add" else ["eakte"]
    # Only the topics change (same text, kind and status), so no revision is written.
    experience = make_experience(anna, body="Text.", topics=[topics[t] for t in before],
                                 status="draft")
    slug, base = experience.slug, experience.current_revision_id
    rival = logged_in_client(cdo_stuttgart)
    outcome = rival_during_flush(
        Experience,
        lambda: rival.post(f"/erfahrungen/{slug}/bearbeiten", data=form_data(
            title=experience.title, body="Text.", kind="lesson_learned", topics=after,
            base_revision=str(base))),
        wait=not _rival_waits_for_row_lock(), changed=True)
    login(anna)
    mine = client.post(f"/erfahrungen/{slug}/bearbeiten", data=form_data(
        title=experience.title, body="Text.", kind="lesson_learned", topics=after,
        base_revision=str(base)))
    rival_during_flush.finish()
    (theirs,) = outcome
    assert not isinstance(theirs, Exception), theirs

    assert 500 not in (mine.status_code, theirs.status_code)
    assert 302 in (mine.status_code, theirs.status_code)
    for response in (mine, theirs):
        if response.status_code == 200:  # the loser sees the normal conflict page
            assert "Bearbeitungskonflikt" in response.text
    db.session.expire_all()
    experience = db.session.get(Experience, experience.id)
    assert sorted(topic.slug for topic in experience.topics) == sorted(after)
    assert len(experience.revisions) == 1


@pytest.fixture
def rival_after_check(app, monkeypatch):
    """rival_after_check(save): run `save()` to its commit, in another thread, right after
    the main save has re-read the current revision (`services._lock`) and before it
    writes anything: the moment SQLite leaves unguarded, since it ignores FOR UPDATE.

    Returns a list that receives the rival's result (or exception).
    """
    if _rival_waits_for_row_lock():
        pytest.skip("PostgreSQL: the row lock makes the rival wait; the HTTP tests cover it")
    outcome = []
    original, main = services._lock, threading.get_ident()

    def arm(save):
        def run():
            try:
                with app.app_context():
                    outcome.append(save())
            except Exception as error:  # reported by the test, not lost in the thread
                outcome.append(error)

        def lock_then_rival(experience):
            original(experience)
            if not outcome and threading.get_ident() == main:
                thread = threading.Thread(target=run)
                thread.start()
                thread.join()

        monkeypatch.setattr(services, "_lock", lock_then_rival)
        return outcome

    return arm


def _rival_edit(user, experience_id, body):
    """A save committed by another session: `body` on top of the current revision."""
    def save():
        other = db.session.get(Experience, experience_id)
        services.update_experience(db.session.get(type(user), user.id), other,
                                   other.current_revision_id, body=body)
        db.session.commit()
        return other.current_revision_id

    return save


@pytest.mark.parametrize("action", ["update", "restore", "fields"])
def test_a_save_a_rival_overtook_after_the_check_is_a_conflict(
        app, rival_after_check, anna, cdo_stuttgart, make_experience, action):
    # Issue 16: the rival committed after this save's base check, before its revision
    # number was picked, so no number collided; the save used to replace the rival's.
    experience = make_experience(anna, body="Erste Fassung.")
    experience_id, base = experience.id, experience.current_revision_id
    services.update_experience(anna, experience, base, body="Zweite Fassung.")
    db.session.commit()
    second = experience.current_revision_id
    outcome = rival_after_check(_rival_edit(cdo_stuttgart, experience_id, "Fassung des CDO."))
    with pytest.raises(services.EditConflict) as raised:
        if action == "update":
            services.update_experience(anna, experience, second, body="Fassung von Anna.")
        elif action == "restore":
            services.restore_revision(anna, experience, experience.revisions[0])
        else:  # no new text, only a page fact: a stale base is refused all the same
            services.update_experience(anna, experience, second, kind="practice")
    (rival_revision,) = outcome
    assert raised.value.current.id == rival_revision
    db.session.commit()
    experience = db.session.get(Experience, experience_id)
    assert [r.body for r in experience.revisions] == [
        "Erste Fassung.", "Zweite Fassung.", "Fassung des CDO."]
    assert experience.current_revision_id == rival_revision
    assert experience.kind == "lesson_learned"


def test_api_update_answers_the_revision_it_wrote_when_a_save_follows_at_once(
        app, client, login, logged_in_client, anna, cdo_stuttgart, make_experience):
    # The rival saves on top of Anna's revision right after her commit, before her answer
    # is written: her answer must still name her revision, not the rival's.
    experience = make_experience(anna, body="Erste Fassung.")
    slug, base = experience.slug, experience.current_revision_id
    rival = logged_in_client(cdo_stuttgart)
    main, outcome = threading.get_ident(), []

    def rival_save():
        with app.app_context():
            current = rival.get(f"/api/v1/experiences/{slug}").json["revision"]
            outcome.append(rival.put(f"/api/v1/experiences/{slug}", json={
                "base_revision": current, "body": "Fassung des CDO."}))

    def after_commit(_session):
        if outcome or threading.get_ident() != main:
            return
        thread = threading.Thread(target=rival_save)
        thread.start()
        thread.join()

    login(anna)
    sa.event.listen(sa.orm.Session, "after_commit", after_commit)
    try:
        mine = client.put(f"/api/v1/experiences/{slug}",
                          json={"base_revision": base, "body": "Fassung von Anna."})
    finally:
        sa.event.remove(sa.orm.Session, "after_commit", after_commit)
    (theirs,) = outcome
    assert (mine.status_code, theirs.status_code) == (200, 200)
    db.session.expire_all()
    anna_revision = db.session.scalar(sa.select(Revision).where(
        Revision.experience_id == experience.id, Revision.body == "Fassung von Anna."))
    assert mine.json["revision"] == anna_revision.id
    assert mine.json["body"] == "Fassung von Anna." and mine.json["revision_number"] == 2
    assert theirs.json["revision"] != anna_revision.id
