"""Command line: flask --app exchange seed-demo | export | import | topics seed | worker |
domain groups."""
import click
from flask import Flask
from flask.cli import with_appcontext
from flask_babel import gettext as _

from .worker import POLL_INTERVAL


def register(app: Flask) -> None:
    """Add the top-level commands and each domain's command group."""
    from . import DOMAINS, import_domain_module

    app.cli.add_command(seed_demo)
    app.cli.add_command(export_command)
    app.cli.add_command(import_command)
    app.cli.add_command(topics_group)
    app.cli.add_command(worker_command)
    for domain in DOMAINS:
        module = import_domain_module(domain, "cli")
        if module is not None:
            module.register(app)


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Load the topic taxonomy, Munich, Stuttgart and their demo experiences (idempotent)."""
    from .demo import load_demo
    from .extensions import db

    summary = load_demo()
    db.session.commit()
    click.echo(summary)


@click.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, allow_dash=True))
@with_appcontext
def export_command(path):
    """Write everything as JSON Lines to PATH ("-" for standard output); a file is
    readable by its owner only (0600): it holds every user's name and address and every
    city's drafts."""
    from .transfer import export_jsonl

    if path == "-":
        with click.open_file(path, "w", encoding="utf-8") as handle:
            count = export_jsonl(handle)
    else:
        with _private_file(path) as handle:
            count = export_jsonl(handle)
    click.echo(_("%(count)s Zeilen geschrieben.", count=count), err=True)


#: File mode of exports: owner read and write, nobody else.
PRIVATE_FILE_MODE = 0o600


def _private_file(path):
    """Open `path` for writing text, created with mode 0600 (never briefly wider, whatever
    the umask) and an existing file truncated and narrowed to 0600 before a byte is
    written."""
    import os

    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        os.fchmod(descriptor, PRIVATE_FILE_MODE)
        return os.fdopen(descriptor, "w", encoding="utf-8")
    except BaseException:
        os.close(descriptor)
        raise


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@with_appcontext
def import_command(path):
    """Read JSON Lines from PATH; a bad line aborts the whole file."""
    from .extensions import db
    from .transfer import TransferError, import_jsonl

    with click.open_file(path, "r", encoding="utf-8") as handle:
        try:
            summary = import_jsonl(handle)
        except TransferError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(summary)


@click.group("topics")
def topics_group():
    """The topic taxonomy."""


@topics_group.command("seed")
@with_appcontext
def seed_topics():
    """Create the story topics and the OZG catalogue (idempotent, never deletes)."""
    from .cities.taxonomy import seed_taxonomy
    from .extensions import db

    created = seed_taxonomy()
    db.session.commit()
    click.echo(_("%(count)s Themen neu angelegt.", count=created))


@click.command("worker")
@click.option("--interval", default=POLL_INTERVAL, show_default=True, type=float,
              help="Seconds between polls of the search and mail outboxes.")
@click.option("--once", is_flag=True, help="One round of each part, then exit.")
@with_appcontext
def worker_command(interval, once):
    """Background worker: search index (outbox, rebuilds) and sending mail; stops cleanly
    on SIGTERM/SIGINT after the round under way."""
    import logging

    from .worker import Worker

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    worker = Worker(interval)
    worker.install_signal_handlers()
    worker.run(rounds=1 if once else None)
