"""Command line: flask --app exchange search reindex | status | apply [--loop]."""
import logging
import time

import click
from flask import Flask
from flask.cli import AppGroup

search_cli = AppGroup("search", help="Full-text search index: rebuild, status, outbox.")

#: Seconds between outbox polls of `search apply --loop`: an edit is searchable about
#: this long after its commit (plus one batch's indexing). An empty poll is one SELECT.
LOOP_INTERVAL = 0.5


@search_cli.command("reindex")
def reindex_command():
    """Rebuild the index from the database into a new folder and swap it in atomically."""
    from .indexer import reindex

    started = time.perf_counter()
    count = reindex()
    click.echo(f"{count} Dokumente indexiert in {time.perf_counter() - started:.1f} s")


@search_cli.command("status")
@click.option("--verify", is_flag=True,
              help="Also check every index file against its checksum (reads them all).")
def status_command(verify):
    """Documents in the database vs. the index, outbox lag, index and worker health."""
    from .indexer import status

    info = status(verify=verify)
    click.echo(f"Datenbank (veröffentlicht): {info['database']}")
    if info["index"] is None:
        click.echo("Index: fehlt oder unlesbar (der Worker baut ihn neu auf)")
    else:
        click.echo(f"Index: {info['index']} (fehlend: {info['missing']}, veraltet: {info['stale']})")
        click.echo(f"Generation: {info['generation']}")
        if info["serving"] != info["generation"]:
            click.echo(f"Beschädigt, Suchen lesen ersatzweise: {info['serving']}")
    if info["damaged"]:
        click.echo(f"Als beschädigt erkannt: {', '.join(info['damaged'])}")
    if verify:
        click.echo("Prüfsummen: " + ("in Ordnung" if not info["problems"]
                                     else "; ".join(info["problems"])))
    click.echo(f"Ausstehend (Outbox): {info['pending']}, ältester Eintrag vor "
               f"{info['lag_seconds']:.0f} s")
    click.echo(f"Neuaufbau angefordert: {'ja' if info['rebuild_requested'] else 'nein'}")
    worker = f"Worker: {info['worker']}"
    if info["worker_beat_at"]:
        worker += f" (letzte Meldung {info['worker_beat_at']:%Y-%m-%d %H:%M:%S} UTC)"
    click.echo(worker)
    if info["worker_failures"]:
        click.echo(f"Fehlgeschlagene Runden in Folge: {info['worker_failures']}; zuletzt: "
                   f"{info['worker_last_error']}")


@search_cli.command("apply")
@click.option("--loop", is_flag=True,
              help="Keep running as the index worker: poll the outbox, rebuild on request.")
@click.option("--interval", default=LOOP_INTERVAL, show_default=True, type=float)
def apply_command(loop, interval):
    """Apply pending outbox rows to the index (once, or forever with --loop)."""
    from .indexer import apply_outbox
    from .worker import run

    if loop:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        run(interval)
        return
    applied = apply_outbox(blocking=True)
    click.echo(f"{applied or 0} Outbox-Einträge angewendet")


def register(app: Flask) -> None:
    """Add the `search` command group."""
    app.cli.add_command(search_cli)
