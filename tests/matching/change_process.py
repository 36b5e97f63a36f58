"""Run by test_snapshot_cache.py in a separate process: change one interest and commit.

Usage: python change_process.py CONFIG_JSON TASK_JSON
TASK: {"city": slug, "topic": slug, "stance": stance, "maturity": 1-5}
Builds its own app on the same database, sets the interest through the cities service
(as the interests page does), commits and prints the matching version it committed.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main():
    config = json.loads(sys.argv[1])
    task = json.loads(sys.argv[2])
    import sqlalchemy as sa

    from exchange import create_app
    from exchange.cities.models import City, Topic
    from exchange.cities.services import set_interest
    from exchange.extensions import db
    from exchange.matching.models import read_version

    app = create_app(config)
    with app.app_context():
        city = db.session.scalar(sa.select(City).where(City.slug == task["city"]))
        topic = db.session.scalar(sa.select(Topic).where(Topic.slug == task["topic"]))
        set_interest(None, city, topic, task["stance"], task["maturity"])
        db.session.commit()
        print(json.dumps(read_version(db.session)[0]), flush=True)
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
