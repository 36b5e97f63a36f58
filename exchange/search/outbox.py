"""Recording index work in the database, in the same transaction as the change."""
from ..extensions import db
from .models import IndexTask


def enqueue(experience) -> None:
    """Note that `experience` must be (re)indexed or removed; call after a flush."""
    if experience.id is None:
        db.session.flush()
    db.session.add(IndexTask(experience_id=experience.id))
