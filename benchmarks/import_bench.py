"""Import benchmark: `flask import` of a generated JSON Lines file, in experiences per CPU-second.

    .venv/bin/python benchmarks/import_bench.py                          # SQLite, ~1-2 min
    .venv/bin/python benchmarks/import_bench.py --database postgresql
    .venv/bin/python benchmarks/import_bench.py --profile                # + cProfile of one import

Runs from a fresh clone (nothing outside the repository is read). Steps:

1. A fresh database: a SQLite file in a temporary folder, or a new schema of the `test`
   database at 127.0.0.1:5432 (user postgres, dropped at the end); `flask db upgrade` and
   `flask topics seed` (the real commands, in a subprocess).
2. A JSON Lines file as `flask export` writes it: --cities municipalities of
   exchange/data/municipalities.csv (seeded sample), one user per city and --experiences
   experiences with 1-3 revisions each (German text from search_bench.CorpusGenerator,
   1-3 topics of the seeded tree, authors, timestamps, restore links); a share of them
   are hand-written minimal lines (no slug, no revisions).
3. --runs times: the tables the file fills are emptied, then the file is imported in this
   process as the command does it (`import_jsonl` of the open file, one commit), timed in
   wall seconds and CPU seconds of this process (`time.process_time`; on PostgreSQL the
   server's own CPU time is not in it), and imported once more (idempotent: every line is
   compared with what is stored, nothing is written). Then, as the baseline, the same
   rows (cities, users, experiences, revisions, topic links, current revisions, outbox
   rows) are written with plain Core executemany statements and committed, from dicts
   prepared beforehand.

Printed: load average and CPU count at start and end, the medians over the runs and the
ratio import / raw insert. The figures are recorded in docs/import-export.md ("Import").
"""
import argparse
import cProfile
import csv
import io
import json
import os
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import search_bench  # noqa: E402  (CorpusGenerator)
from scale import Database as _Database  # noqa: E402
from scale import APP_VARIABLES, app_environment, load, log, run_flask  # noqa: E402

MUNICIPALITIES = ROOT / "exchange" / "data" / "municipalities.csv"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SEED = 20261127
#: Share of experiences written as hand-written minimal lines (title, body, topics only).
MINIMAL_SHARE = 0.1
#: Revisions per experience of a full line (uniform).
REVISIONS = (1, 3)
#: A load average (1 min) above this on the 2-core machine marks the figures "busy".
BUSY_LOAD = 2.0


def empty_imported_tables() -> None:
    """Delete what an import of the file wrote (topics and the schema stay)."""
    import sqlalchemy as sa

    from exchange.auth.models import User
    from exchange.cities.models import City
    from exchange.extensions import db
    from exchange.search.models import IndexTask
    from exchange.wiki.models import Experience, Revision, experience_topics

    session = db.session
    session.execute(sa.delete(IndexTask))
    session.execute(sa.delete(experience_topics))
    session.execute(sa.update(Experience).values(current_revision_id=None))
    session.execute(sa.delete(Revision))
    session.execute(sa.delete(Experience))
    session.execute(sa.delete(User))
    session.execute(sa.delete(City))
    session.commit()
    session.expunge_all()


# --- the file -------------------------------------------------------------------------------

def municipalities(count: int, rng: random.Random) -> list[dict]:
    """A seeded sample of municipalities with a population, as city lines (unique slugs)."""
    from exchange.util import slugify

    with MUNICIPALITIES.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle)
                if row["population"].strip().isdigit() and int(row["population"]) > 0]
    rows = rng.sample(rows, min(count, len(rows)))
    taken, cities = set(), []
    for row in rows:
        name = row["name"].split(",")[0].strip()[:120]
        slug = slugify(name, 70)
        if slug in taken:
            slug = f"{slug}-{row['ags']}"
        taken.add(slug)
        cities.append({"type": "city", "slug": slug, "name": name, "state": row["state"],
                       "ags": row["ags"], "population": int(row["population"]),
                       "website": None, "profile": "", "created_at": "2026-01-05T09:00:00"})
    return cities


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def generate_file(path: Path, cities: int, experiences: int, topic_slugs: list[str]) -> dict:
    """Write the JSON Lines file; returns counts of what it holds."""
    from exchange.util import slugify

    rng = random.Random(SEED)
    generator = search_bench.CorpusGenerator()
    city_lines = municipalities(cities, rng)
    users = [{"type": "user", "email": f"cdo@{city['slug']}.example",
              "display_name": f"CDO {city['name']}"[:120], "city": city["slug"],
              "role": "city_admin", "is_admin": False, "is_approved": True, "locale": None,
              "created_at": "2026-01-05T09:00:00"} for city in city_lines]
    revision_count = minimal = 0
    with path.open("w", encoding="utf-8") as handle:
        for record in city_lines + users:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        for number in range(1, experiences + 1):
            generated = generator.document(number)
            index = rng.randrange(len(city_lines))
            city, author = city_lines[index], users[index]["email"]
            title = generated.title.replace(generated.city_name, city["name"])[:190]
            sentences = re.split(r"(?<=\.) ", generated.body)
            body = "\n\n".join(" ".join(sentences[i:i + 4]) for i in range(0, len(sentences), 4))
            topics = sorted(rng.sample(topic_slugs, rng.randint(1, 3)))
            if rng.random() < MINIMAL_SHARE:
                # Hand-written: the slug comes from the (numbered, so unique) title.
                record = {"type": "experience", "city": city["slug"],
                          "title": f"{title} ({number})", "body": body, "topics": topics,
                          "kind": generated.kind, "author": author}
                minimal += 1
                revision_count += 1
            else:
                record = full_line(number, city["slug"], author, title, body, topics,
                                   generated, rng, slugify)
                revision_count += len(record["revisions"])
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return {"cities": len(city_lines), "users": len(users), "experiences": experiences,
            "minimal": minimal, "revisions": revision_count,
            "bytes": path.stat().st_size}


def full_line(number, city, author, title, body, topics, generated, rng, slugify) -> dict:
    """An experience line as `flask export` writes it, with 1-3 revisions."""
    created = generated.date
    texts = [(title, body)]
    for _ in range(rng.randint(*REVISIONS) - 1):
        previous_title, previous_body = texts[-1]
        texts.append((previous_title, previous_body + f"\n\nNachtrag {len(texts)}: "
                      + generator_sentence(rng)))
    revisions, restored = [], None
    if len(texts) == 3 and rng.random() < 0.2:
        texts[2] = texts[0]  # version 3 restores version 1
        restored = 1
    for index, (text_title, text_body) in enumerate(texts, start=1):
        revisions.append({"number": index, "title": text_title, "body": text_body,
                          "summary": "Erste Fassung" if index == 1 else "Ergänzt",
                          "author": author,
                          "created_at": _iso(created + timedelta(days=index - 1)),
                          "restored_from": restored if index == 3 else None})
    current_title, current_body = texts[-1]
    updated = created + timedelta(days=len(texts) - 1)
    return {"type": "experience", "slug": f"{slugify(title, 100)}-{number}", "city": city,
            "title": current_title, "body": current_body, "kind": generated.kind,
            "status": "published", "topics": topics, "contact_name": None,
            "contact_email": None, "created_at": _iso(created), "updated_at": _iso(updated),
            "published_at": _iso(created), "deleted_at": None,
            "current_revision": len(texts), "revisions": revisions}


def generator_sentence(rng: random.Random) -> str:
    words = ["Die", "Umstellung", "dauerte", "länger", "als", "geplant", "und", "brauchte",
             "mehr", "Schulungen", "im", "Bürgerbüro"]
    return " ".join(rng.sample(words, len(words))) + "."


# --- measuring ------------------------------------------------------------------------------

def timed(function) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of function()."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def import_file(path: Path) -> str:
    """What `flask import PATH` does: import the open file, then one commit."""
    from exchange.extensions import db
    from exchange.transfer import import_jsonl

    with path.open(encoding="utf-8") as handle:
        summary = import_jsonl(handle)
    db.session.commit()
    return summary


def raw_rows(path: Path) -> dict:
    """The rows an import of the file writes, as dicts for executemany (explicit ids)."""
    import sqlalchemy as sa

    from exchange.cities.models import Topic
    from exchange.extensions import db
    from exchange.util import slugify, utcnow

    topic_ids = dict(db.session.execute(sa.select(Topic.slug, Topic.id)).all())
    rows = {"cities": [], "users": [], "experiences": [], "revisions": [], "links": [],
            "current": [], "outbox": []}
    city_ids, user_ids, revision_id = {}, {}, 0
    now = utcnow()

    def time_of(value):
        return datetime.fromisoformat(value) if value else None

    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            kind = record.pop("type")
            if kind == "city":
                city_ids[record["slug"]] = len(city_ids) + 1
                rows["cities"].append({**record, "id": city_ids[record["slug"]],
                                       "created_at": time_of(record["created_at"])})
            elif kind == "user":
                user_ids[record["email"]] = len(user_ids) + 1
                city_id = city_ids[record.pop("city")]
                rows["users"].append({**record, "id": user_ids[record["email"]],
                                      "city_id": city_id,
                                      "created_at": time_of(record["created_at"])})
            else:
                number = len(rows["experiences"]) + 1
                revisions = record.get("revisions") or [
                    {"number": 1, "title": record["title"], "body": record["body"],
                     "summary": "Import", "author": record["author"], "created_at": None,
                     "restored_from": None}]
                rows["experiences"].append({
                    "id": number, "slug": record.get("slug") or slugify(record["title"], 100),
                    "title": record["title"], "kind": record["kind"],
                    "status": record.get("status", "published"),
                    "city_id": city_ids[record["city"]],
                    "contact_name": record.get("contact_name"),
                    "contact_email": record.get("contact_email"),
                    "created_at": time_of(record.get("created_at")) or now,
                    "updated_at": time_of(record.get("updated_at")) or now,
                    "published_at": time_of(record.get("published_at")) or now,
                    "deleted_at": None})
                first = revision_id + 1
                for revision in revisions:
                    revision_id += 1
                    rows["revisions"].append({
                        "id": revision_id, "experience_id": number,
                        "number": revision["number"], "title": revision["title"],
                        "body": revision["body"], "summary": revision["summary"],
                        "author_id": user_ids[revision["author"]],
                        "created_at": time_of(revision["created_at"]) or now,
                        "restored_from_id": (first + revision["restored_from"] - 1
                                             if revision["restored_from"] else None)})
                rows["current"].append({"row_id": number, "revision_id": revision_id})
                rows["links"].extend({"experience_id": number, "topic_id": topic_ids[slug]}
                                     for slug in record["topics"])
                rows["outbox"].append({"experience_id": number, "created_at": now})
    return rows


def raw_insert(rows: dict) -> None:
    """The same rows with plain Core executemany statements, one commit: the baseline."""
    import sqlalchemy as sa

    from exchange.auth.models import User
    from exchange.cities.models import City
    from exchange.extensions import db
    from exchange.search.models import IndexTask
    from exchange.wiki.models import Experience, Revision, experience_topics

    session = db.session
    experiences = Experience.__table__
    session.execute(sa.insert(City.__table__), rows["cities"])
    session.execute(sa.insert(User.__table__), rows["users"])
    session.execute(sa.insert(experiences), rows["experiences"])
    session.execute(sa.insert(Revision.__table__), rows["revisions"])
    session.execute(sa.update(experiences).where(experiences.c.id == sa.bindparam("row_id"))
                    .values(current_revision_id=sa.bindparam("revision_id")), rows["current"])
    session.execute(sa.insert(experience_topics), rows["links"])
    session.execute(sa.insert(IndexTask.__table__), rows["outbox"])
    session.commit()


def profile_import(path: Path, top: int) -> None:
    """cProfile of one import: the top functions by own time and by cumulative time."""
    empty_imported_tables()
    profiler = cProfile.Profile()
    profiler.enable()
    import_file(path)
    profiler.disable()
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
        text = out.getvalue()
        log(f"\n--- profile of one import, top {top} by {order} ---")
        log(text[text.find("   ncalls"):].rstrip())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=PG_URL, help="PostgreSQL server (database test)")
    parser.add_argument("--cities", type=int, default=200)
    parser.add_argument("--experiences", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3, help="repeated runs (median printed)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one import with cProfile (not timed)")
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--workdir", help="keep the database and the file here")
    args = parser.parse_args(argv)

    keep = bool(args.workdir)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="exchange-import-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    log(f"import benchmark, database {args.database}, commit {commit}"
        f"{' + uncommitted changes' if dirty else ''}, {datetime.now():%Y-%m-%d %H:%M}")
    log(f"start: {load(BUSY_LOAD)}")
    database = _Database(args.database, workdir, args.pg_url, prefix="import_")
    env = app_environment(workdir / "instance", database.url, workdir / "index")
    os.environ.update({key: env[key] for key in APP_VARIABLES})
    try:
        started = time.perf_counter()
        run_flask(env, "db", "upgrade")
        run_flask(env, "topics", "seed")
        log(f"schema and topics in {time.perf_counter() - started:.1f} s")

        import sqlalchemy as sa

        from exchange import create_app
        from exchange.cities.models import Topic
        from exchange.extensions import db

        app = create_app()
        with app.app_context():
            topic_slugs = sorted(db.session.scalars(
                sa.select(Topic.slug).where(Topic.parent_id.is_not(None))))
            path = workdir / "import.jsonl"
            counts = generate_file(path, args.cities, args.experiences, topic_slugs)
            log(f"file: {counts['cities']:,} cities, {counts['users']:,} users, "
                f"{counts['experiences']:,} experiences ({counts['minimal']:,} minimal lines) "
                f"with {counts['revisions']:,} revisions, {counts['bytes'] / 1e6:.1f} MB")
            rows = raw_rows(path)
            runs = []
            for run in range(1, args.runs + 1):
                empty_imported_tables()
                summary = []
                wall, cpu = timed(lambda: summary.append(import_file(path)))
                again_wall, again_cpu = timed(lambda: summary.append(import_file(path)))
                empty_imported_tables()
                raw_wall, raw_cpu = timed(lambda: raw_insert(rows))
                runs.append({"wall": wall, "cpu": cpu, "raw_wall": raw_wall, "raw_cpu": raw_cpu,
                             "again_wall": again_wall, "again_cpu": again_cpu})
                log(f"run {run}: import {wall:6.2f} s wall, {cpu:6.2f} s CPU, "
                    f"{counts['experiences'] / cpu:6.0f} experiences/CPU-s; again (unchanged) "
                    f"{again_cpu:5.2f} s CPU; raw insert {raw_wall:5.2f} s wall, "
                    f"{raw_cpu:5.2f} s CPU; {load(BUSY_LOAD)}")
            log(f"  first import: {summary[0]}\n  again:        {summary[1]}")
            if args.profile:
                profile_import(path, args.profile_top)
            db.session.remove()
            db.engine.dispose()
    finally:
        database.drop()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)

    def median(key):
        return statistics.median(run[key] for run in runs)

    count = counts["experiences"]
    log(f"\n=== import of {count:,} experiences ({counts['revisions']:,} revisions), "
        f"{args.database}, commit {commit}{' (+ uncommitted)' if dirty else ''}, "
        f"median of {len(runs)} runs ===")
    log(f"import:     {median('wall'):6.2f} s wall  {median('cpu'):6.2f} s CPU  "
        f"{count / median('cpu'):7.0f} experiences/CPU-s  {count / median('wall'):7.0f} "
        f"experiences/s wall")
    log(f"again:      {median('again_wall'):6.2f} s wall  {median('again_cpu'):6.2f} s CPU  "
        f"{count / median('again_cpu'):7.0f} experiences/CPU-s  (the same file once more: "
        f"nothing changes)")
    log(f"raw insert: {median('raw_wall'):6.2f} s wall  {median('raw_cpu'):6.2f} s CPU  "
        f"{count / median('raw_cpu'):7.0f} experiences/CPU-s")
    log(f"import / raw insert: {median('cpu') / median('raw_cpu'):.1f}x CPU, "
        f"{median('wall') / median('raw_wall'):.1f}x wall")
    log(f"end: {load(BUSY_LOAD)}")
    if args.database == "postgresql":
        log("CPU seconds are this process's; the PostgreSQL server's are not counted.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
