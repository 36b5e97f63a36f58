"""Run by test_snapshot.py in a separate process: edit experiences until told to stop.

Usage: python edit_writer.py CONFIG_JSON TASK_JSON
TASK: {"user_id": id, "experience_ids": [id, ...], "progress": path, "stop": path,
       "max_seconds": n}
Edits the experiences round-robin, one committed revision each, until the file `stop`
exists (or `max_seconds` passed). After every commit the number of edits so far is
written to `progress`; at the end it is printed.
"""
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def report(path: Path, edits: int) -> None:
    """Replace the progress file in one step, so a reader never sees it half written."""
    partial = path.with_suffix(".partial")
    partial.write_text(str(edits))
    os.replace(partial, path)


def main():
    config = json.loads(sys.argv[1])
    task = json.loads(sys.argv[2])
    import sqlalchemy as sa

    from exchange import create_app
    from exchange.auth.models import User
    from exchange.extensions import db
    from exchange.wiki import services
    from exchange.wiki.models import Experience

    app = create_app(config)
    progress, stop = Path(task["progress"]), Path(task["stop"])
    deadline = time.monotonic() + task["max_seconds"]
    edits = 0
    with app.app_context():
        while not stop.exists() and time.monotonic() < deadline:
            for experience_id in task["experience_ids"]:
                if stop.exists():
                    break
                user = db.session.get(User, task["user_id"])
                experience = db.session.get(Experience, experience_id)
                try:
                    services.update_experience(user, experience, experience.current_revision_id,
                                               body=f"Fassung {edits} aus dem Schreibprozess\n",
                                               summary=f"Schreiber {edits}")
                    db.session.commit()
                except (sa.exc.OperationalError, services.EditConflict):
                    # SQLite's busy timeout or a lost race: try the next one.
                    db.session.rollback()
                    continue
                edits += 1
                report(progress, edits)
    print(edits)


if __name__ == "__main__":
    main()
