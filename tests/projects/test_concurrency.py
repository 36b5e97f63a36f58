"""Two admins answering at once: the project row lock lets only the first answer count."""
import threading

import pytest
import sqlalchemy as sa

from exchange.extensions import db
from exchange.projects import services
from exchange.projects.models import ProjectEvent

#: How often to look for the blocked second transaction before giving up (0.05 s apart).
POLL_ATTEMPTS = 400


def _blocked_on_lock() -> bool:
    """True when some other backend of this database waits for a row lock."""
    with db.engine.connect() as connection:
        return bool(connection.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()")).scalar())


def test_second_simultaneous_answer_waits_and_is_refused(app, proposal, cdo_muenchen,
                                                         make_user, muenchen):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks need PostgreSQL (SQLite serialises whole transactions)")
    deputy = make_user("vize@muenchen.example", city=muenchen, role="city_admin")
    project_id, deputy_id = proposal.id, deputy.id
    outcome = {}

    def second_answer():
        with app.app_context():
            try:
                services.respond(db.session.get(type(deputy), deputy_id),
                                 services.get_project(project_id), False, "Nein")
                db.session.commit()
                outcome["result"] = "answered"
            except services.ProjectConflict as error:
                db.session.rollback()
                outcome["result"] = str(error)
            finally:
                db.session.remove()

    services.respond(cdo_muenchen, proposal, True, "Ja")  # holds the lock, not committed
    thread = threading.Thread(target=second_answer)
    thread.start()
    event = threading.Event()
    for _attempt in range(POLL_ATTEMPTS):
        if _blocked_on_lock():
            break
        event.wait(0.05)
    else:
        db.session.rollback()
        thread.join()
        pytest.fail("the second answer did not wait for the first one's lock")
    db.session.commit()
    thread.join()
    assert outcome["result"] == "München hat bereits geantwortet."
    db.session.expire_all()
    assert proposal.state == "active"
    kinds = db.session.scalars(sa.select(ProjectEvent.kind).order_by(ProjectEvent.id)).all()
    assert kinds.count("accepted") == 1 and "declined" not in kinds
