"""Run by test_consistency.py in a separate process: edit experiences, apply the outbox, maybe die.

Usage: python writer_process.py CONFIG_JSON TASK_JSON
TASK: {"edits": [[experience_id, title], ...], "user_id": id, "apply": "none"|"try"|"block",
       "kill": null|"in_writer"|"before_toc"|"mid_toc"|"after_index_commit",
       "reindex": number of full rebuilds to run}
The kill points patch the indexer so the process SIGKILLs itself at that moment.
"""
import json
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def die():
    os.kill(os.getpid(), signal.SIGKILL)


def install_kill_point(point):
    from whoosh.filedb.filestore import FileStorage
    from whoosh.writing import SegmentWriter

    from exchange.search import whoosh_engine

    if point == "in_writer":  # index work done in memory, nothing committed
        original_update = whoosh_engine._Writer.update

        def update(self, document):
            original_update(self, document)
            die()

        whoosh_engine._Writer.update = update
    elif point == "before_toc":  # segment files written, table of contents not
        def commit_toc(self, segments):
            die()

        SegmentWriter._commit_toc = commit_toc
    elif point == "mid_toc":  # new TOC written to a temporary file, not yet renamed
        def rename_file(self, oldname, newname, safe=False):
            die()

        FileStorage.rename_file = rename_file
    elif point == "after_index_commit":  # index committed, outbox rows not yet deleted
        original_writer = whoosh_engine.WhooshEngine.writer

        @contextmanager
        def writer(self, blocking=True):
            with original_writer(self, blocking) as session:
                yield session
            die()

        whoosh_engine.WhooshEngine.writer = writer


def main():
    config = json.loads(sys.argv[1])
    task = json.loads(sys.argv[2])
    from exchange import create_app
    from exchange.auth.models import User
    from exchange.extensions import db
    from exchange.search.indexer import apply_outbox
    from exchange.wiki import services
    from exchange.wiki.models import Experience

    app = create_app(config)
    with app.app_context():
        user = db.session.get(User, task["user_id"])
        for experience_id, title in task["edits"]:
            experience = db.session.get(Experience, experience_id)
            services.update_experience(user, experience, experience.current_revision_id,
                                       title=title)
            db.session.commit()
            if task.get("apply") == "try":  # like a web worker applying before a search
                apply_outbox(blocking=False)
        if task.get("kill"):
            install_kill_point(task["kill"])
        for _ in range(task.get("reindex", 0)):
            from exchange.search.indexer import reindex

            reindex()
        if task.get("apply") in ("block", "try") or task.get("kill"):
            apply_outbox(blocking=True)


if __name__ == "__main__":
    main()
