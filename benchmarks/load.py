"""Load benchmark: 50 users at once on the demo data, then: was every acknowledged write kept?

    .venv/bin/python benchmarks/load.py                           # PostgreSQL (the target)
    .venv/bin/python benchmarks/load.py --database sqlite
    .venv/bin/python benchmarks/load.py --users 20 --duration 30

Runs from a fresh clone (nothing outside the repository is read). Steps:

1. A fresh database (a new schema of the `test` database at 127.0.0.1:5432, dropped at
   the end, or a SQLite file), `flask db upgrade`, `flask seed-demo`, `flask search
   reindex`, one API token per demo member (`flask tokens create`).
2. gunicorn (--workers, default 4) on wsgi:app and the background worker (`flask worker`).
3. --users virtual users (threads, default 50), each logged in through the real /login
   form as one of the demo members (round robin) and owning one experience it created
   through the API before the clock starts. For --duration seconds (default 60) each
   sends one request after the other, no think time, drawn from the mix of issue 9:
   70 % reads and searches (experience list and pages, city and topic pages, the
   dashboard, the search page and the search API), 20 % edits (GET its experience over
   the API, PUT it back with `base_revision` and a new made-up word appended; a 409
   conflict is re-read and retried once) and 10 % matches and visits (matches API,
   /partner, a visit page and its API).
4. Printed: load average at start, end and during the run, requests per second, p50 /
   p95 / p99 per request class and overall, answers by status, client errors (timeouts,
   refused connections).
5. Then the check: every acknowledged edit (200) must be in the database (its word in
   the experience's current body, read over the API) and searchable once the worker has
   caught up (the search API finds the experience for its word; waited for up to
   --settle seconds).

Target on the 2-core machine (issue 9): >= 100 requests/s, p95 <= 300 ms, 0 errors,
0 lost. The client threads share the machine with the server: their CPU time is printed.
The baseline measured in the same run is `GET /healthz` (no session, one SELECT) with
the same users, so the mix's cost is shown as a ratio against the cheapest request.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from scale import (PG_URL, Client, Database, app_environment, free_port, load,  # noqa: E402
                   log, percentile,
                   pg_reachable, run_flask, scan_log, start_flask, start_gunicorn, stop,
                   wait_for)

SEED = 9
#: Request classes and their shares of the mix (issue 9).
MIX = (("read", 0.70), ("edit", 0.20), ("match_visit", 0.10))
TARGET_RPS, TARGET_P95_MS = 100, 300
SEARCH_WORDS = ("Digitalisierung", "eAkte", "Lotsen", "OZG", "Bürgerbüro", "Mobilität",
                "Breitband", "Schulung", "Dokumentenmanagement", "IT-Sicherheit",
                "Onlinedienste", "Glasfaser", "Pilot", "Verwaltung", "Prozesse")


#: Read in a subprocess with the run's environment: demo members who belong to a city,
#: the city slugs, the visit ids and the most used topic.
_FACTS = """
import json, sqlalchemy as sa
from exchange import create_app
from exchange.extensions import db
from exchange.auth.models import User
from exchange.cities.models import City, Topic
from exchange.visits.models import Visit
from exchange.wiki.models import experience_topics
app = create_app()
with app.app_context():
    members = db.session.scalars(sa.select(User.email).where(
        User.city_id.is_not(None), User.is_approved.is_(True)).order_by(User.email)).all()
    cities = db.session.scalars(sa.select(City.slug).order_by(City.slug)).all()
    visits = db.session.scalars(sa.select(Visit.id).order_by(Visit.id)).all()
    topic = db.session.scalar(sa.select(Topic.slug).join(
        experience_topics, experience_topics.c.topic_id == Topic.id).group_by(Topic.slug)
        .order_by(sa.func.count().desc(), Topic.slug).limit(1))
    print(json.dumps([members, cities, visits, topic]))
"""


def demo_facts(env) -> tuple[list[str], list[str], list[int], str | None]:
    done = subprocess.run([sys.executable, "-c", _FACTS], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    return tuple(json.loads(done.stdout.strip().splitlines()[-1]))


class VirtualUser:
    """One member: a logged-in session, an API token, its own experience."""

    def __init__(self, number: int, base: str, timeout: float, email: str, token: str,
                 password: str):
        self.number = number
        self.web = Client(base, timeout)
        self.web.login(email, password)
        self.api = Client(base, timeout, token=token)
        self.random = random.Random(SEED + number)
        self.slug = None
        self.edits = 0
        self.acknowledged: list[str] = []

    def create_experience(self, topic: str | None) -> None:
        payload = {"title": f"Lastprobe {self.number}: Erfahrungen im Regelbetrieb",
                   "body": "Ausgangslage und erste Schritte.", "status": "published"}
        if topic:
            payload["topics"] = [topic]
        answer = self.api.request("POST", "/api/v1/experiences", payload=payload)
        if answer.status != 201:
            raise RuntimeError(f"creating the experience of user {self.number}: "
                               f"{answer.status} {answer.body[:300]!r}")
        self.slug = json.loads(answer.body)["slug"]

    def edit(self, record) -> None:
        """Append a new word to the own experience; retry once after a conflict."""
        self.edits += 1
        word = f"lastprobe{self.number}x{self.edits}"
        for _attempt in range(2):
            current = self.api.request("GET", f"/api/v1/experiences/{self.slug}")
            record("edit", current)
            if current.status != 200:
                return
            page = json.loads(current.body)
            answer = self.api.request("PUT", f"/api/v1/experiences/{self.slug}", payload={
                "body": page["body"] + f"\n\nNachtrag {word}.", "base_revision": page["revision"],
                "summary": "Nachtrag"})
            record("edit", answer)
            if answer.status == 200:
                self.acknowledged.append(word)
                return
            if answer.status != 409:
                return

    def read(self, record, pages) -> None:
        choice = self.random.random()
        if choice < 0.30:
            word = self.random.choice(SEARCH_WORDS)
            client = self.web if choice < 0.15 else self.api
            prefix = "/suche?" if client is self.web else "/api/v1/search?"
            record("read", client.request("GET", prefix + urllib.parse.urlencode({"q": word})))
        else:
            record("read", self.web.request("GET", self.random.choice(pages)))

    def match_or_visit(self, record, cities, visits) -> None:
        choice = self.random.random()
        if choice < 0.4:
            path = f"/api/v1/cities/{self.random.choice(cities)}/matches"
            record("match_visit", self.api.request("GET", path))
        elif choice < 0.6 or not visits:
            record("match_visit", self.web.request("GET", "/partner"))
        elif choice < 0.8:
            record("match_visit", self.web.request("GET", f"/besuche/{self.random.choice(visits)}"))
        else:
            record("match_visit", self.api.request("GET",
                                                   f"/api/v1/visits/{self.random.choice(visits)}"))


class Recorder:
    """Latencies per class and statuses, shared by the threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = defaultdict(list)
        self.statuses = Counter()
        self.errors = Counter()

    def __call__(self, kind: str, answer) -> None:
        with self.lock:
            self.latencies[kind].append(answer.seconds * 1000)
            if answer.status is None:
                self.errors[answer.error or "no answer"] += 1
            else:
                self.statuses[answer.status] += 1


def run_users(users, seconds: float, step) -> tuple[Recorder, float]:
    """Every user runs `step(user, recorder)` in its own thread until the time is up."""
    recorder = Recorder()
    deadline = time.monotonic() + seconds

    def loop(user):
        while time.monotonic() < deadline:
            step(user, recorder)

    threads = [threading.Thread(target=loop, args=(user,), daemon=True) for user in users]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return recorder, time.perf_counter() - started


def summary(recorder: Recorder, wall: float) -> dict:
    rows = {}
    everything = [ms for values in recorder.latencies.values() for ms in values]
    for kind, values in [*sorted(recorder.latencies.items()), ("all", everything)]:
        if not values:
            continue
        rows[kind] = {"n": len(values), "rps": len(values) / wall,
                      "p50": percentile(values, 0.50), "p95": percentile(values, 0.95),
                      "p99": percentile(values, 0.99)}
    return rows


def show(title: str, rows: dict) -> None:
    log(title)
    for kind, row in rows.items():
        log(f"  {kind:12s} {row['n']:7d} requests  {row['rps']:7.1f}/s  p50 {row['p50']:7.1f} ms"
            f"  p95 {row['p95']:7.1f} ms  p99 {row['p99']:7.1f} ms")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--baseline-duration", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--settle", type=float, default=60.0,
                        help="seconds to wait for the worker before checking the index")
    parser.add_argument("--workdir", help="keep database, index and logs here")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="exchange-load-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    instance = workdir / "instance"
    instance.mkdir(exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    log(f"load benchmark, database {args.database}, {args.users} users, {args.duration:.0f} s, "
        f"gunicorn {args.workers} workers, commit {commit}, {datetime.now():%Y-%m-%d %H:%M}")
    log(f"machine: {os.cpu_count()} CPUs, {load()} at start")
    if args.database == "postgresql":
        problem = pg_reachable(args.pg_url)
        if problem:
            log(f"PostgreSQL not reachable at {args.pg_url}: {problem}")
            return 2
    database = Database(args.database, workdir, args.pg_url)
    env = app_environment(instance, database.url, workdir / "index")
    server = worker = None
    results: dict = {"commit": commit, "database": args.database, "users": args.users,
                     "duration_s": args.duration, "workers": args.workers,
                     "cpus": os.cpu_count(), "load_start": os.getloadavg()}
    try:
        for step in (("db", "upgrade"), ("seed-demo",), ("search", "reindex")):
            run_flask(env, *step)
        accounts, cities, visits, topic = demo_facts(env)
        tokens = {email: run_flask(env, "tokens", "create", email, "load").strip()
                  for email in accounts}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server_log, worker_log = workdir / "gunicorn.log", workdir / "worker.log"
        server = start_gunicorn(env, port, args.workers, args.timeout, server_log)
        worker = start_flask(env, ["worker"], worker_log)
        wait_for(Client(base, args.timeout), "/healthz", 90)
        from exchange.demo import DEMO_PASSWORD

        emails = list(accounts)
        users = [VirtualUser(n, base, args.timeout, emails[n % len(emails)],
                             tokens[emails[n % len(emails)]], DEMO_PASSWORD)
                 for n in range(args.users)]
        for user in users:
            user.create_experience(topic)
        pages = ["/", "/erfahrungen", "/staedte", "/themen"]
        pages += [f"/staedte/{slug}" for slug in cities]
        pages += [f"/erfahrungen/{user.slug}" for user in users[:10]]
        pages += [f"/themen/{topic}"] if topic else []
        log(f"gunicorn and the worker (`flask worker`) up; {len(users)} users "
            f"logged in, one experience each; {load()}")

        cpu = time.process_time()
        baseline, baseline_wall = run_users(
            users, args.baseline_duration,
            lambda user, record: record("healthz", user.web.request("GET", "/healthz")))
        results["baseline"] = summary(baseline, baseline_wall)
        show(f"baseline: GET /healthz, {len(users)} users, {args.baseline_duration:.0f} s "
             f"({load()})", results["baseline"])

        weights = [share for _, share in MIX]

        def step(user, record):
            kind = user.random.choices([name for name, _ in MIX], weights)[0]
            if kind == "read":
                user.read(record, pages)
            elif kind == "edit":
                user.edit(record)
            else:
                user.match_or_visit(record, cities, visits)

        samples = []
        sampler_stop = threading.Event()

        def sample_load():
            while not sampler_stop.wait(10):
                samples.append(os.getloadavg()[0])

        sampler = threading.Thread(target=sample_load, daemon=True)
        sampler.start()
        recorder, wall = run_users(users, args.duration, step)
        sampler_stop.set()
        results["mix"] = summary(recorder, wall)
        results["statuses"] = dict(sorted(recorder.statuses.items()))
        results["client_errors"] = dict(recorder.errors)
        results["load_during"] = samples
        results["client_cpu_s"] = time.process_time() - cpu
        show(f"\nthe mix, {len(users)} users, {wall:.0f} s (1-minute load during the run: "
             f"{', '.join(f'{s:.1f}' for s in samples) or '-'})", results["mix"])
        log(f"  answers by status: {results['statuses']}; client errors: "
            f"{results['client_errors'] or 'none'}; client CPU {results['client_cpu_s']:.1f} s")
        five = sum(count for status, count in recorder.statuses.items() if status >= 500)
        errors = five + sum(recorder.errors.values())
        ratio = results["mix"]["all"]["p95"] / max(results["baseline"]["all"]["p95"], 0.001)
        log(f"  p95 of the mix / p95 of /healthz: {ratio:.1f}x")

        # --- nothing lost ----------------------------------------------------------------
        acknowledged = [(user, word) for user in users for word in user.acknowledged]
        checker = Client(base, args.timeout, token=tokens[emails[0]])
        missing_db = []
        for user in users:
            page = checker.request("GET", f"/api/v1/experiences/{user.slug}")
            body = json.loads(page.body)["body"] if page.status == 200 else ""
            missing_db += [word for word in user.acknowledged if word not in body]
        deadline = time.monotonic() + args.settle
        pending = None
        while time.monotonic() < deadline:
            health = checker.request("GET", "/healthz")
            info = json.loads(health.body) if health.body else {}
            pending = (info.get("search") or {}).get("outbox_pending")
            if pending == 0:
                break
            time.sleep(1)
        missing_index = []
        for user, word in acknowledged:
            answer = checker.request("GET", "/api/v1/search?" + urllib.parse.urlencode({"q": word}))
            found = answer.status == 200 and user.slug in answer.body.decode()
            if not found:
                missing_index.append(word)
        results.update(acknowledged=len(acknowledged), missing_in_database=len(missing_db),
                       missing_in_index=len(missing_index), outbox_pending_at_check=pending)
        log(f"\nacknowledged edits: {len(acknowledged)}; missing in the database: "
            f"{len(missing_db)}; not searchable after the worker caught up (pending "
            f"{pending}): {len(missing_index)}")
        results["server_log"], results["worker_log"] = scan_log(server_log), scan_log(worker_log)
        log(f"server log: {results['server_log']['tracebacks']} tracebacks, "
            f"{results['server_log']['worker_timeouts']} worker timeouts; worker log: "
            f"{results['worker_log']['tracebacks']} tracebacks")

        mix = results["mix"]["all"]
        verdicts = [("requests/s", mix["rps"] >= TARGET_RPS, f"{mix['rps']:.1f} (>= {TARGET_RPS})"),
                    ("p95", mix["p95"] <= TARGET_P95_MS, f"{mix['p95']:.0f} ms (<= {TARGET_P95_MS})"),
                    ("errors", errors == 0, f"{errors} (5xx and no answer)"),
                    ("lost", not missing_db and not missing_index,
                     f"{len(missing_db)} in the database, {len(missing_index)} in the index")]
        log(f"\n=== summary: {args.database}, {args.users} users, commit {commit}, "
            f"{load()} at the end ===")
        for name, met, text in verdicts:
            log(f"  {name:11s} {text}: {'met' if met else 'NOT met'}")
        results["load_end"] = os.getloadavg()
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2, default=str))
        return 0
    finally:
        stop(server)
        stop(worker)
        database.drop()
        if not args.workdir:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
