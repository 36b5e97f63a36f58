"""Command line: flask --app exchange search reindex | status | apply [--loop]."""
import time

import click
from flask import Flask
from flask.cli import AppGroup

search_cli = AppGroup("search", help="Full-text search index: rebuild, status, outbox.")

#: Seconds between outbox polls of `search apply --loop`.
LOOP_INTERVAL = 2.0


@search_cli.command("reindex")
def reindex_command():
    """Rebuild the index from the database into a new folder and swap it in atomically."""
    from .indexer import reindex

    started = time.perf_counter()
    count = reindex()
    click.echo(f"{count} Dokumente indexiert in {time.perf_counter() - started:.1f} s")


@search_cli.command("status")
def status_command():
    """Documents in the database vs. the index, and pending outbox rows."""
    from .indexer import status

    info = status()
    click.echo(f"Datenbank (veröffentlicht): {info['database']}")
    if info["index"] is None:
        click.echo("Index: fehlt oder unlesbar (wird bei der nächsten Suche neu aufgebaut)")
    else:
        click.echo(f"Index: {info['index']} (fehlend: {info['missing']}, veraltet: {info['stale']})")
        click.echo(f"Generation: {info['generation']}")
    click.echo(f"Ausstehend (Outbox): {info['pending']}")


@search_cli.command("apply")
@click.option("--loop", is_flag=True, help="Keep running and poll the outbox.")
@click.option("--interval", default=LOOP_INTERVAL, show_default=True, type=float)
def apply_command(loop, interval):
    """Apply pending outbox rows to the index (once, or forever with --loop)."""
    from .indexer import apply_outbox

    while True:
        applied = apply_outbox(blocking=True)
        if applied or not loop:
            click.echo(f"{applied or 0} Outbox-Einträge angewendet")
        if not loop:
            return
        time.sleep(interval)


def register(app: Flask) -> None:
    """Add the `search` command group."""
    app.cli.add_command(search_cli)
