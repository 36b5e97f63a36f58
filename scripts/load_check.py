#!/usr/bin/env python3
"""Load and fault run from outside against a real server (not part of `make test`).

What it checks: the scenario of the issue-16 report, "found by load and fault runs
from outside (gunicorn, 4 workers, plus `search apply --loop`)":

* phrase searches and searches whose synonyms expand to phrases ("elektronische
  Akte", E-Akte, Bürgerbüro, DMS, Open Data, Stadtportal) while a stream of edits
  changes the indexed pages: no answer may be a 5xx (the report: about 190 of 497
  searches answered 500 on every worker);
* N clients doing read-modify-write on a few experiences over the JSON API
  (GET /api/v1/experiences/<slug>, then PUT with `base_revision` and the text plus
  one unique marker line): every edit answered 200 must still be in the final text
  (the report: 6 of 95 acknowledged edits were missing, on SQLite), a stale base must
  be a 409, never a 5xx. Afterwards the revision chain of every edited experience is
  checked too: each revision must extend the text of the one before it.

How: a fresh instance folder in a temp dir (database, index, secret key, mail log),
`flask --app exchange db upgrade`, `seed-demo`, `search reindex`, an API token for
anna@stuttgart.example, then `gunicorn -w 4 wsgi:app` on a free port of 127.0.0.1 and
the index worker `flask --app exchange search apply --loop --interval 0.5`, both as
subprocesses with their output in files of the temp folder. SEARCH_APPLY_OUTBOX_ON_QUERY
keeps its default (on). Editor and searcher threads run for `--seconds`; every request
has a timeout and goes only to 127.0.0.1. Then the processes are stopped, the final
state is read from the database, the figures are printed with the machine's load
average and the database used, and the tracebacks found in the server's and the
worker's logs are printed (each distinct one in full, with its count).

Run it from the repository root with the project's virtualenv (it takes about a minute
plus setup and starts servers, hence not part of `make test`):

    .venv/bin/python scripts/load_check.py                       # SQLite file in the temp folder
    .venv/bin/python scripts/load_check.py --database-url postgres
        # a fresh schema in postgresql://postgres@127.0.0.1:5432/test, dropped at the end
    .venv/bin/python scripts/load_check.py --database-url URL    # any database, used as it is
    options: --seconds 60 --editors 20 --searchers 4 --timeout 30 --keep
             --user EMAIL --slugs a,b,c|all --warmup SECONDS

The default edits three Stuttgart pages as anna. That reproduces the lost edits but
hardly the phrase 500s. On the code before the fixes (15e36b0) it found lost edits and
no 500. The 500s need Whoosh to delete a page's old copy from the big segment that
`search reindex` wrote, after a gunicorn worker has cached that segment's postings.
Each page's first edit does this; later copies sit in small segments that are merged
away. So edit many pages and search before the edits start:

    .venv/bin/python scripts/load_check.py --user admin@city-exchange.example --slugs all --warmup 5

On 15e36b0 this answered phrase searches with 500 (IndexError in _decode_positions)
and lost edits. Warm-up searches are reported apart from the searches made while
editing.

Exit status: 0 when no request answered 5xx, no acknowledged edit was lost and every
request got an answer within its timeout; 1 otherwise; 2 when the setup failed.
Only the standard library is used for HTTP (requests is not installed in the venv);
psycopg (a dependency of the app) creates and drops the PostgreSQL schema.
"""
import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FLASK = [str(BIN / "flask"), "--app", "exchange"]
GUNICORN = str(BIN / "gunicorn")
HOST = "127.0.0.1"
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
USER = "anna@stuttgart.example"
#: Stuttgart demo experiences (Anna may edit them); the second one is the E-Akte page.
SLUGS = ("digitalisierungslotsen-in-jedem-amt",
         "einfuehrung-der-e-akte-im-buergerbuero",
         "ozg-umsetzung-erfahrungen-mit-den-ersten-50-online-diensten")
#: Phrases and aliases that expand to phrases (the report's list), then plain words.
QUERIES = ('"elektronische Akte"', "E-Akte", "Bürgerbüro", "DMS", "Open Data",
           '"Open Data"', "Stadtportal", '"digitale Akte"', '"elektronische Akte" Bürgerbüro',
           "Digitalisierung", "Lotsen", "Verwaltung", "OZG", "Mobilität", "Akte",
           "Lastprobe", "Online-Dienste", "eAkte")
#: Text of the appended lines: keeps the pages that phrase queries find changing.
LINE_TEXTS = ("elektronische Akte im Bürgerbüro", "Open Data im Stadtportal",
              "DMS und E-Akte", "digitale Verwaltung")
SETUP_TIMEOUT = 300


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def call(port, method, path, token, body=None, timeout=30.0):
    """One request to 127.0.0.1:port: (status, headers, text, seconds) or raises OSError."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        return response.status, dict(response.getheaders()), text, time.perf_counter() - started
    finally:
        connection.close()


# --- setup -----------------------------------------------------------------------------

class Setup:
    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="exchange-load-"))
        self.instance = self.tmp / "instance"
        self.instance.mkdir()
        self.schema = None
        self.pg_base = None
        self.url = self._database_url(args.database_url)
        self.env = dict(os.environ)
        for name in list(self.env):
            if name.startswith("EXCHANGE_"):
                del self.env[name]
        self.env.update({
            "EXCHANGE_INSTANCE_PATH": str(self.instance),
            "EXCHANGE_DATABASE_URL": self.url,
            "EXCHANGE_INDEX_DIR": str(self.instance / "index"),
            "EXCHANGE_SECRET_KEY": secrets.token_hex(32),
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1",
        })
        self.processes = {}

    def _database_url(self, option: str) -> str:
        if option in (None, "", "sqlite"):
            return f"sqlite:///{self.instance / 'exchange.db'}"
        if option in ("postgres", "postgresql"):
            option = PG_BASE
        if option.startswith(("postgres://", "postgresql")) and "search_path" not in option:
            import psycopg

            self.pg_base = option
            self.schema = f"load_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(self._conninfo(), autocommit=True) as connection:
                connection.execute(f'CREATE SCHEMA "{self.schema}"')
            base = option if "+psycopg" in option else option.replace(
                "postgresql://", "postgresql+psycopg://", 1).replace(
                "postgres://", "postgresql+psycopg://", 1)
            sep = "&" if "?" in base else "?"
            return f"{base}{sep}options=-csearch_path%3D{self.schema}"
        return option

    def _conninfo(self) -> str:
        return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", self.pg_base)

    def drop_schema(self) -> None:
        if not self.schema:
            return
        import psycopg

        with psycopg.connect(self._conninfo(), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{self.schema}" CASCADE')
        log(f"dropped schema {self.schema}")

    def flask(self, *arguments, timeout=SETUP_TIMEOUT) -> str:
        result = subprocess.run([*FLASK, *arguments], cwd=ROOT, env=self.env, text=True,
                                capture_output=True, timeout=timeout)
        if result.returncode:
            raise RuntimeError(f"flask {' '.join(arguments)} failed ({result.returncode}):\n"
                               f"{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self, name, command) -> subprocess.Popen:
        out = open(self.tmp / f"{name}.out", "w")
        err = open(self.tmp / f"{name}.err", "w")
        process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        self.processes[name] = process
        return process

    def stop_all(self) -> dict:
        """SIGTERM each started process group, SIGKILL after 20 s; exit codes by name."""
        codes = {}
        for name, process in self.processes.items():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name, process in self.processes.items():
            try:
                codes[name] = process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                codes[name] = f"killed after 20 s ({process.wait(timeout=10)})"
        return codes


SNAPSHOT = r"""
import json, sys
import sqlalchemy as sa
from exchange import create_app
from exchange.extensions import db
from exchange.wiki.models import Experience, Revision
app = create_app()
out = {}
with app.app_context():
    for slug in sys.argv[1:]:
        exp = db.session.scalar(sa.select(Experience).where(Experience.slug == slug))
        revisions = db.session.execute(sa.select(Revision.id, Revision.number, Revision.body)
            .where(Revision.experience_id == exp.id).order_by(Revision.number)).all()
        not_extending = [number for (_, number, body), (_, _, before)
                         in zip(revisions[1:], revisions) if not body.startswith(before)]
        out[slug] = {"body": exp.body, "current_revision": exp.current_revision_id,
                     "current_is_newest": exp.current_revision_id == revisions[-1].id,
                     "revision_ids": [r.id for r in revisions],
                     "revisions": len(revisions), "not_extending": not_extending}
print(json.dumps(out))
"""


def snapshot(setup: Setup, slugs) -> dict:
    result = subprocess.run([sys.executable, "-c", SNAPSHOT, *slugs], cwd=ROOT, env=setup.env,
                            text=True, capture_output=True, timeout=SETUP_TIMEOUT)
    if result.returncode:
        raise RuntimeError(f"reading the final state failed:\n{result.stderr}")
    return json.loads(result.stdout)


# --- load ------------------------------------------------------------------------------

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = Counter()
        self.acked = []                      # (slug, marker, revision id)
        self.samples = defaultdict(list)     # kind -> bodies of unexpected answers
        self.latency = defaultdict(list)     # kind -> seconds
        self.search_status = Counter()
        self.query_5xx = Counter()
        self.editing = threading.Event()     # set when the editors start (after warm-up)
        self.warmup_status = Counter()
        self.warmup_latency = []

    def add(self, key, n=1):
        with self.lock:
            self.counts[key] += n

    def sample(self, kind, status, text, extra=""):
        with self.lock:
            self.counts[f"{kind}_samples_seen"] += 1
            if len(self.samples[kind]) < 6:
                self.samples[kind].append(f"{status} {extra}\n{text[:3000]}")


def editor(number, port, token, slugs, deadline, timeout, stats: Stats):
    rng = random.Random(number)
    sequence = 0
    while time.monotonic() < deadline:
        slug = rng.choice(slugs)
        try:
            status, _, text, seconds = call(port, "GET", f"/api/v1/experiences/{slug}", token,
                                            timeout=timeout)
        except OSError as error:
            stats.add("get_transport_error")
            stats.sample("get_transport", type(error).__name__, str(error), slug)
            continue
        stats.latency["get"].append(seconds)
        if status != 200:
            stats.add("get_5xx" if status >= 500 else "get_other")
            stats.sample("get", status, text, slug)
            continue
        current = json.loads(text)
        sequence += 1
        marker = f"LC-{number:02d}-{sequence:05d}-{uuid.uuid4().hex[:10]}"
        line = f"{marker}: Lastprobe, {LINE_TEXTS[sequence % len(LINE_TEXTS)]}."
        body = {"base_revision": current["revision"],
                "body": current["body"].rstrip("\n") + "\n\n" + line + "\n",
                "summary": f"load check {marker}"}
        try:
            status, _, text, seconds = call(port, "PUT", f"/api/v1/experiences/{slug}", token,
                                            body=body, timeout=timeout)
        except OSError as error:
            # No answer: the edit may or may not be saved; it is not acknowledged.
            stats.add("put_transport_error")
            stats.sample("put_transport", type(error).__name__, str(error), slug)
            continue
        stats.latency["put"].append(seconds)
        if status == 200:
            answer = json.loads(text)
            stats.add("put_200")
            with stats.lock:
                stats.acked.append((slug, marker, answer.get("revision")))
            if answer.get("revision") == current["revision"] or marker not in answer["body"]:
                stats.add("put_200_odd")
                stats.sample("put_200_odd", status, text[-500:], slug)
        elif status == 409:
            stats.add("put_409")
            answer = json.loads(text)
            if answer.get("current_revision") == current["revision"]:
                stats.add("put_409_same_base")  # a conflict although nobody else saved
                stats.sample("put_409_same_base", status, text[:800], slug)
        elif status >= 500:
            stats.add("put_5xx")
            stats.sample("put_5xx", status, text, slug)
        else:
            stats.add("put_4xx_other")
            stats.sample("put_4xx", status, text, slug)


def searcher(number, port, token, deadline, timeout, stats: Stats):
    rng = random.Random(1000 + number)
    while time.monotonic() < deadline:
        query = rng.choice(QUERIES)
        editing = stats.editing.is_set()
        path = "/api/v1/search?" + urlencode({"q": query}, quote_via=quote)
        try:
            status, headers, text, seconds = call(port, "GET", path, token, timeout=timeout)
        except OSError as error:
            stats.add("search_transport_error")
            stats.sample("search_transport", type(error).__name__, str(error), query)
            continue
        with stats.lock:
            if not editing:  # warm-up: reported apart, so the figures are those under edits
                stats.warmup_status[status] += 1
                if status == 200:
                    stats.warmup_latency.append(seconds)
            else:
                stats.search_status[status] += 1
                if status == 200:
                    stats.latency["search"].append(seconds)
                    stats.latency["q:" + query].append(seconds)
            if headers.get("X-Search-Index") == "stale":
                stats.counts["search_stale"] += 1
        if status >= 500:
            with stats.lock:
                stats.query_5xx[query] += 1
            stats.sample("search_5xx", status, text, query)
        elif status != 200:
            stats.sample("search_other", status, text, query)


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def ms(values, fraction):
    return f"{percentile(values, fraction) * 1000:.1f} ms"


# --- logs ------------------------------------------------------------------------------

TRACE_START = "Traceback (most recent call last):"


def tracebacks(path: Path):
    """Distinct tracebacks in a log file: [(text, count, first context line)]."""
    if not path.exists():
        return []
    lines = path.read_text(errors="replace").splitlines()
    found = {}
    i = 0
    while i < len(lines):
        if TRACE_START not in lines[i]:
            i += 1
            continue
        context = lines[i - 1] if i else ""
        block = []
        while i < len(lines):
            block.append(lines[i])
            i += 1
            while i < len(lines) and (lines[i].startswith(" ") or lines[i] == ""):
                block.append(lines[i])
                i += 1
            if i < len(lines):
                block.append(lines[i])        # the exception line
                i += 1
            while i < len(lines) and lines[i] == "":
                i += 1
            if i < len(lines) and (lines[i].startswith("During handling")
                                   or lines[i].startswith("The above exception")):
                block.append("")
                block.append(lines[i])
                i += 1
                while i < len(lines) and lines[i] == "":
                    i += 1
                if i < len(lines) and TRACE_START in lines[i]:
                    continue
            break
        text = "\n".join(block).rstrip()
        key = "\n".join(line for line in block if line.startswith("  File")
                        or (line and not line.startswith(" ")))
        key = re.sub(r"0x[0-9a-f]+", "0x…", key)
        if key in found:
            found[key][1] += 1
        else:
            found[key] = [text, 1, context]
    return list(found.values())


def notable_lines(path: Path):
    if not path.exists():
        return Counter()
    counts = Counter()
    for line in path.read_text(errors="replace").splitlines():
        for needle in ("database is locked", "WORKER TIMEOUT", "CRITICAL", "ERROR",
                       "Booting worker", "Worker exiting", "LockError", "IndexError"):
            if needle in line:
                counts[needle] += 1
    return counts


# --- main ------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--editors", type=int, default=20)
    parser.add_argument("--searchers", type=int, default=4)
    parser.add_argument("--database-url", default="sqlite",
                        help="'sqlite' (default: a file in the temp folder), 'postgres' (a "
                             f"fresh schema in {PG_BASE}, dropped afterwards), a PostgreSQL "
                             "URL without search_path (same, in that database) or any URL "
                             "(used as it is)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--slugs", default=",".join(SLUGS),
                        help="comma-separated experiences to edit (default: three of "
                             "Stuttgart's), or 'all': every experience the user can read")
    parser.add_argument("--user", default=USER,
                        help="demo user whose API token the editors and searchers use "
                             "(admin@city-exchange.example may edit every city's pages)")
    parser.add_argument("--warmup", type=float, default=0.0,
                        help="seconds of searches alone before the editors start (each "
                             "gunicorn worker then has cached postings when edits begin)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    slugs = [slug.strip() for slug in args.slugs.split(",") if slug.strip()]

    load_before = os.getloadavg()
    try:
        setup = Setup(args)
    except Exception as error:  # noqa: BLE001 - report the setup failure and stop
        print(f"setup failed: {error}", file=sys.stderr)
        return 2
    shown_url = re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", setup.url)
    log(f"temp folder {setup.tmp}; database {shown_url}")
    stats = Stats()
    failed_setup = None
    exit_codes = {}
    health = None
    load_samples = []
    outbox_samples = []
    try:
        log("db upgrade, seed-demo, search reindex, token")
        setup.flask("db", "upgrade")
        setup.flask("seed-demo")
        setup.flask("search", "reindex")
        token = setup.flask("tokens", "create", args.user, "load").strip().splitlines()[-1]
        before = snapshot(setup, slugs) if slugs != ["all"] else {}

        port = free_port()
        gunicorn = setup.start("gunicorn", [GUNICORN, "-w", "4", "-b", f"{HOST}:{port}",
                                            "wsgi:app"])
        worker = setup.start("worker", [*FLASK, "search", "apply", "--loop",
                                        "--interval", "0.5"])
        ready_by = time.monotonic() + 60
        while True:
            if gunicorn.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {gunicorn.returncode}")
            try:
                status, _, _, _ = call(port, "GET", "/healthz", token, timeout=5)
                if status in (200, 503):
                    break
            except OSError:
                pass
            if time.monotonic() > ready_by:
                raise RuntimeError("gunicorn did not answer /healthz within 60 s")
            time.sleep(0.3)
        if slugs == ["all"]:
            status, _, text, _ = call(port, "GET", "/api/v1/experiences?per_page=100", token,
                                      timeout=args.timeout)
            if status != 200:
                raise RuntimeError(f"listing the experiences answered {status}: {text[:500]}")
            slugs = [item["slug"] for item in json.loads(text)["items"]]
            before = snapshot(setup, slugs)
        log(f"gunicorn pid {gunicorn.pid} on port {port}, worker pid {worker.pid}; "
            f"{args.editors} editors and {args.searchers} searchers for {args.seconds:g} s")

        started = time.monotonic()
        deadline = started + args.warmup + args.seconds
        searchers = [threading.Thread(target=searcher, daemon=True,
                                      args=(n, port, token, deadline, args.timeout, stats))
                     for n in range(args.searchers)]
        editors = [threading.Thread(target=editor, daemon=True,
                                    args=(n, port, token, slugs, deadline, args.timeout, stats))
                   for n in range(args.editors)]
        threads = searchers + editors
        for thread in searchers:
            thread.start()
        if args.warmup:
            time.sleep(args.warmup)
            log(f"warm-up of {args.warmup:g} s done: {sum(stats.warmup_status.values())} "
                f"searches answered, starting the editors")
        stats.editing.set()
        for thread in editors:
            thread.start()
        next_sample = started + 10
        while any(thread.is_alive() for thread in threads):
            time.sleep(0.5)
            if time.monotonic() >= next_sample:
                load_samples.append(os.getloadavg()[0])
                next_sample += 10
                try:
                    _, _, text, _ = call(port, "GET", "/healthz", token, timeout=10)
                    search = json.loads(text).get("search", {})
                    outbox_samples.append(f"{search.get('outbox_pending')} pending, lag "
                                          f"{search.get('outbox_lag_seconds')} s, worker "
                                          f"{search.get('worker')}")
                except (OSError, ValueError, AttributeError) as error:
                    outbox_samples.append(f"/healthz: {type(error).__name__}")
            if time.monotonic() > deadline + args.timeout * 2 + 10:
                log("threads still running long after the deadline; giving up on them")
                break
        elapsed = time.monotonic() - started
        time.sleep(2)  # let the worker apply the last outbox rows before /healthz
        try:
            status, _, text, _ = call(port, "GET", "/healthz", token, timeout=10)
            health = f"{status} {text}"
        except OSError as error:
            health = f"no answer: {error}"
        for name, process in setup.processes.items():
            if process.poll() is not None:
                exit_codes[name] = f"exited during the run with {process.returncode}"
    except Exception as error:  # noqa: BLE001 - stop everything, then report
        failed_setup = error
    finally:
        codes = setup.stop_all()
        for name, code in codes.items():
            exit_codes.setdefault(name, f"stopped, exit {code}")

    if failed_setup is not None:
        print(f"\nSETUP FAILED: {failed_setup}", file=sys.stderr)
        report_logs(setup)
        finish(setup, args)
        return 2

    load_after = os.getloadavg()
    try:
        after = snapshot(setup, slugs)
    except Exception as error:  # noqa: BLE001
        print(f"reading the final state failed: {error}", file=sys.stderr)
        report_logs(setup)
        finish(setup, args)
        return 2
    try:
        status_text = setup.flask("search", "status", "--verify", timeout=120)
    except Exception as error:  # noqa: BLE001 - a report line, not a result
        status_text = f"failed: {error}"

    # --- figures ---
    lost = [(slug, marker, revision) for slug, marker, revision in stats.acked
            if marker not in after[slug]["body"]]
    acked_by_slug = Counter(slug for slug, _, _ in stats.acked)
    c = stats.counts
    puts = c["put_200"] + c["put_409"] + c["put_4xx_other"] + c["put_5xx"]
    searches = sum(stats.search_status.values())
    editing_5xx = sum(n for status, n in stats.search_status.items() if status >= 500)
    search_5xx = editing_5xx + sum(n for status, n in stats.warmup_status.items()
                                   if status >= 500)
    transport = c["get_transport_error"] + c["put_transport_error"] + c["search_transport_error"]

    print("\n==================== load check ====================")
    print(f"database:  {shown_url}  ({'PostgreSQL' if 'postgresql' in setup.url else 'SQLite' if setup.url.startswith('sqlite') else setup.url.split(':')[0]})")
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                          capture_output=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--short", "--", "exchange", "wsgi.py"], cwd=ROOT,
                           text=True, capture_output=True).stdout.split("\n")
    dirty = [line.strip() for line in dirty if line.strip()]
    print(f"code:      HEAD {head}" + (f", working tree with uncommitted changes to "
                                       f"{len(dirty)} file(s): "
                                       + ", ".join(d.split()[-1] for d in dirty) if dirty else ""))
    print(f"run:       {elapsed:.1f} s (warm-up {args.warmup:g} s), user {args.user}, "
          f"{args.editors} editors on {len(slugs)} experiences, "
          f"{args.searchers} searchers, gunicorn -w 4 + search apply --loop --interval 0.5, "
          f"timeout {args.timeout:g} s per request")
    print(f"load avg:  before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}; "
          f"during (1 min) {', '.join(f'{x:.2f}' for x in load_samples) or '-'}; "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; "
          f"{os.cpu_count()} CPUs")
    print(f"edits:     {puts} PUT answered: {c['put_200']} ok (200), {c['put_409']} conflict "
          f"(409), {c['put_4xx_other']} other 4xx, {c['put_5xx']} 5xx; "
          f"{c['put_transport_error']} PUT without answer")
    print(f"           lost (acknowledged, marker missing from the final text): {len(lost)} "
          f"of {c['put_200']}")
    print(f"           GET before edit: {len(stats.latency['get'])} answered, {c['get_5xx']} "
          f"5xx, {c['get_other']} other non-200, {c['get_transport_error']} without answer")
    print(f"           odd 200 (no new revision or marker missing in the answer): "
          f"{c['put_200_odd']}; 409 naming the base as current: {c['put_409_same_base']}")
    print(f"           PUT latency p50 {ms(stats.latency['put'], .5)}, "
          f"p95 {ms(stats.latency['put'], .95)}, max {ms(stats.latency['put'], 1)}")
    for slug in slugs:
        b, a = before[slug], after[slug]
        written = a["revisions"] - b["revisions"]
        print(f"  {slug}: {acked_by_slug[slug]} acknowledged, {written} revisions written "
              f"({b['revisions']} → {a['revisions']}), revisions not extending the one "
              f"before: {a['not_extending'] or 'none'}, current is newest: "
              f"{a['current_is_newest']}")
    ids = {slug: set(after[slug]["revision_ids"]) for slug in slugs}
    missing_ids = [(s, r) for s, _, r in stats.acked if r not in ids[s]]
    if missing_ids:
        print(f"  acknowledged revision ids not in the database: {missing_ids[:20]}")
    if args.warmup:
        print(f"warm-up:   {sum(stats.warmup_status.values())} searches answered: "
              + ", ".join(f"{n}× {status}" for status, n in sorted(stats.warmup_status.items()))
              + f"; latency (200) p50 {ms(stats.warmup_latency, .5)}, "
              f"p95 {ms(stats.warmup_latency, .95)}")
    print(f"searches:  (while editing) {searches} answered: "
          + ", ".join(f"{n}× {status}" for status, n in sorted(stats.search_status.items()))
          + f"; {editing_5xx} 5xx; {c['search_transport_error']} without answer (both phases); "
          f"{c['search_stale']} marked X-Search-Index: stale")
    print(f"           latency (200) p50 {ms(stats.latency['search'], .5)}, "
          f"p95 {ms(stats.latency['search'], .95)}, p99 {ms(stats.latency['search'], .99)}, "
          f"max {ms(stats.latency['search'], 1)}")
    print("           by query (200: n, p50, p95): " + "; ".join(
        f"{q} {len(stats.latency['q:' + q])}, {ms(stats.latency['q:' + q], .5)}, "
        f"{ms(stats.latency['q:' + q], .95)}" for q in QUERIES if stats.latency['q:' + q]))
    print("outbox:    every 10 s during the run (/healthz): " + ("; ".join(outbox_samples) or "-"))
    if stats.query_5xx:
        print("           5xx by query: " + ", ".join(f"{q} {n}"
                                                     for q, n in stats.query_5xx.most_common()))
    print("processes: " + ", ".join(f"{name} {code}" for name, code in exit_codes.items()))
    print(f"/healthz at the end: {health}")
    print("search status --verify after the run:\n  "
          + status_text.strip().replace("\n", "\n  "))
    for slug, marker, revision in lost[:20]:
        print(f"  LOST: {slug} {marker} (answered revision {revision})")
    for kind, bodies in stats.samples.items():
        print(f"\n--- unexpected answers: {kind} ({c[kind + '_samples_seen']} in all, first "
              f"{len(bodies)}) ---")
        for text in bodies:
            print(text)
    report_logs(setup)

    failed = c["put_5xx"] + c["get_5xx"] + search_5xx + len(lost) + transport
    print(f"\nRESULT: {'FAIL' if failed else 'OK'} — {c['put_5xx'] + c['get_5xx']} edit 5xx, "
          f"{search_5xx} search 5xx, {len(lost)} lost edits, {transport} requests without "
          f"answer")
    finish(setup, args)
    return 1 if failed else 0


def report_logs(setup: Setup) -> None:
    for name in ("gunicorn", "worker"):
        err = setup.tmp / f"{name}.err"
        notable = notable_lines(err)
        size = err.stat().st_size if err.exists() else 0
        print(f"\n--- {name} log {err} ({size} bytes): "
              + (", ".join(f"{k}: {n}" for k, n in notable.items()) or "nothing notable"))
        for text, count, context in tracebacks(err):
            print(f"\n[{count}× in {name}.err] {context}\n{text}")


def finish(setup: Setup, args) -> None:
    try:
        setup.drop_schema()
    except Exception as error:  # noqa: BLE001
        print(f"dropping schema {setup.schema} failed: {error}", file=sys.stderr)
    if args.keep:
        log(f"kept {setup.tmp}")
    else:
        saved = Path(tempfile.gettempdir()) / f"{setup.tmp.name}-logs"
        saved.mkdir(exist_ok=True)
        for name in ("gunicorn.err", "gunicorn.out", "worker.err", "worker.out"):
            if (setup.tmp / name).exists():
                shutil.copy(setup.tmp / name, saved / name)
        shutil.rmtree(setup.tmp, ignore_errors=True)
        log(f"removed {setup.tmp}; logs kept in {saved}")


if __name__ == "__main__":
    sys.exit(main())
