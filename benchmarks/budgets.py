"""Budgets of the revision diff and the Markdown renderer: CPU seconds before and after.

    .venv/bin/python benchmarks/budgets.py                       # ~2-4 min on a busy machine
    .venv/bin/python benchmarks/budgets.py --baseline-timeout 30 # give up on "before" sooner

Runs from a fresh clone (nothing outside the repository is read). For each case:

- "before": the computation without a budget, as the code did it until the budgets came
  (the wiki diff's algorithm copied below: difflib's SequenceMatcher with autojunk off
  over all lines, then over all words of each changed line pair; markdown-it-py with the
  same options but without the budget rules, then nh3). It runs in a child process that
  is stopped after --baseline-timeout seconds (printed as "> N s").
- "after": exchange.wiki.diff.diff_revisions and exchange.markup.render_markdown as the
  pages call them, with the fallbacks they chose.

Times are CPU seconds of the computing thread (time.thread_time), so the figures mean the
same on a busy machine; the load average is printed at start and end. Last, the compare
page and the experience page are requested through the app (a SQLite file in a temporary
folder), timed in wall seconds: the page answers, not only the function. Texts are
generated with a fixed seed (German sentences from search_bench.CorpusGenerator).
The figures are recorded in docs/wiki.md ("Budgets").
"""
import argparse
import difflib
import multiprocessing
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from scale import load, log  # noqa: E402
from search_bench import CorpusGenerator  # noqa: E402

BUSY_LOAD = 1.5


# --- texts ----------------------------------------------------------------------------------

class Texts:
    """Seeded German prose in paragraphs or as one line, and edits of it."""

    def __init__(self, seed: int = 9):
        self.generator = CorpusGenerator()
        self.random = random.Random(seed)

    def prose(self, chars: int, paragraphs: bool = True) -> str:
        parts, size = [], 0
        while size < chars:
            part = " ".join(self.generator.sentence(["eakte"]) for _ in range(5))
            parts.append(part)
            size += len(part) + 2
        return ("\n\n" if paragraphs else " ").join(parts)[:chars]

    def edited(self, text: str, edits: int) -> str:
        words = text.split(" ")
        for _ in range(edits):
            index = self.random.randrange(len(words))
            words[index] = words[index] + "x"
        return " ".join(words)


def diff_cases(texts: Texts) -> list[tuple[str, str, str]]:
    """(name, old body, new body)."""
    paragraphs = texts.prose(200_000)
    line_25k = texts.prose(25_000, paragraphs=False)
    line_200k = texts.prose(200_000, paragraphs=False)
    return [
        ("200 KB in paragraphs, 200 words changed", paragraphs, texts.edited(paragraphs, 200)),
        ("200 KB in paragraphs, all rewritten", paragraphs, texts.prose(200_000)),
        ("one 25,000-character line, 20 words changed", line_25k, texts.edited(line_25k, 20)),
        ("one 25,000-character line, rewritten", line_25k, texts.prose(25_000, False)),
        ("one 200 KB line, 200 words changed", line_200k, texts.edited(line_200k, 200)),
        ("40 KB of lines repeating 50 values", "\n".join(str(i % 50) for i in range(20_000)),
         "\n".join(str(i % 49) for i in range(20_000))),
        ("200 KB of one-letter lines, all changed", "a\n" * 100_000, "b\n" * 100_000),
        ("one 10 KB line of 'a a a …', one word changed", "a " * 5_000, "a " * 4_990 + "b"),
    ]


def markdown_cases(texts: Texts) -> list[tuple[str, str]]:
    """(name, Markdown text)."""
    ordinary = []
    size = 0
    while size < 200_000:
        block = (f"## {texts.generator.sentence(['eakte'])[:40]}\n\n{texts.prose(600)} "
                 "**fett** und *kursiv*, [ein Link](https://example.org/a) und `Code`.\n\n"
                 "- erstens\n- zweitens\n\n> ein Zitat\n\n")
        ordinary.append(block)
        size += len(block)
    return [
        ("200 KB of ordinary Markdown", "".join(ordinary)[:200_000]),
        ("'![' × 100,000 (200 KB)", "![" * 100_000),
        ("'[' × 200,000", "[" * 200_000),
        ("'[a](' × 50,000", "[a](" * 50_000),
        ("'*' × 200,000", "*" * 200_000),
        ("'*a ' × 66,000", "*a " * 66_000),
        ("'>' nested 300 levels", "".join("> " * level + "x\n" for level in range(1, 301))),
        ("'a' on 100,000 lines", "a\n" * 100_000),
        ("table of 30,000 rows", "|a|b|\n|-|-|\n" + "|x|y|\n" * 30_000),
    ]


# --- before: the unbudgeted code --------------------------------------------------------------

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


def diff_before(old: str, new: str) -> int:
    """The revision diff as wiki/diff.py computed it before its budget; returns the rows."""
    old_lines, new_lines = old.split("\n"), new.split("\n")
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    rows = 0
    for group in matcher.get_grouped_opcodes(3):
        for tag, i1, i2, j1, j2 in group:
            rows += (i2 - i1) + (j2 - j1 if tag != "equal" else 0)
            if tag == "replace":
                for a, b in zip(old_lines[i1:i2], new_lines[j1:j2]):
                    difflib.SequenceMatcher(None, _TOKEN.findall(a), _TOKEN.findall(b),
                                            autojunk=False).get_opcodes()
    return rows


def markdown_before(text: str) -> int:
    """markdown-it-py with the options of exchange/markup.py, no budget, then nh3."""
    import nh3
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable(
        ["table", "strikethrough"])
    return len(nh3.clean(md.render(text)))


def _timed_child(function, arguments, queue):
    start = time.thread_time()
    function(*arguments)
    queue.put(time.thread_time() - start)


def timed_before(function, arguments, timeout: float) -> str:
    """CPU seconds of function(*arguments) in a child process, or "> timeout s"."""
    queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=_timed_child, args=(function, arguments, queue))
    child.start()
    child.join(timeout)
    if child.is_alive():
        child.kill()
        child.join()
        return f"> {timeout:.0f} s"
    return f"{queue.get():.3f} s"


# --- after: the budgeted code, and the pages -------------------------------------------------

def timed(function, *arguments) -> tuple[float, object]:
    start = time.thread_time()
    result = function(*arguments)
    return time.thread_time() - start, result


def pages(texts: Texts) -> list[tuple[str, float, int]]:
    """(page, wall seconds, status) for the compare page of two 200 KB revisions and the
    experience page of a 200 KB body of '!['."""
    from exchange import create_app
    from exchange.auth.services import create_user
    from exchange.cities.models import City
    from exchange.extensions import db
    from exchange.wiki.services import create_experience, update_experience

    folder = Path(tempfile.mkdtemp(prefix="budgets-"))
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "INSTANCE_PATH": str(folder),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}",
                      "INDEX_DIR": str(folder / "index"), "WTF_CSRF_ENABLED": False,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    results = []
    with app.app_context():
        db.create_all()
        city = City(slug="stuttgart", name="Stuttgart", state="Baden-Württemberg")
        db.session.add(city)
        user = create_user("bench@stuttgart.example", "Bench", city=city,
                           password="ein langes Passwort")
        rewritten = create_experience(user, city, "Lang", texts.prose(200_000),
                                      status="published")
        update_experience(user, rewritten, rewritten.current_revision_id,
                          body=texts.prose(200_000))
        brackets = create_experience(user, city, "Klammern", "![" * 100_000,
                                     status="published")
        db.session.commit()
        client = app.test_client()
        client.post("/login", data={"email": user.email, "password": "ein langes Passwort"})
        for name, url in (("compare page, two 200 KB revisions (all rewritten)",
                           f"/erfahrungen/{rewritten.slug}/vergleich"),
                          ("experience page, 200 KB of '![' (first view; the save rendered it once)",
                           f"/erfahrungen/{brackets.slug}"),
                          ("experience page, 200 KB of '![' (again)",
                           f"/erfahrungen/{brackets.slug}")):
            start = time.perf_counter()
            status = client.get(url).status_code
            results.append((name, time.perf_counter() - start, status))
        db.session.remove()
        db.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-timeout", type=float, default=60.0,
                        help="seconds after which a 'before' run is stopped (default 60)")
    args = parser.parse_args()

    from flask import Flask
    from flask_babel import Babel

    from exchange.markup import RENDER_BUDGET_SECONDS, render_markdown
    from exchange.wiki.diff import DIFF_BUDGET_SECONDS, diff_revisions

    log(f"start: {load(BUSY_LOAD)}")
    texts = Texts()
    context = Flask("budgets")
    Babel(context)
    with context.app_context():
        log(f"\nRevision diff (budget {DIFF_BUDGET_SECONDS} CPU-s), CPU seconds:")
        log(f"{'case':48} {'before':>10} {'after':>8}  fallbacks, rows")
        for name, old, new in diff_cases(texts):
            before = timed_before(diff_before, (old, new), args.baseline_timeout)
            seconds, diff = timed(diff_revisions, SimpleNamespace(title="T", body=old),
                                  SimpleNamespace(title="T", body=new))
            log(f"{name:48} {before:>10} {seconds:>6.3f} s  "
                f"{', '.join(sorted(diff.fallbacks)) or '-'}, {len(diff.lines)}")
        log(f"\nMarkdown (budget {RENDER_BUDGET_SECONDS} CPU-s), CPU seconds:")
        log(f"{'case':48} {'before':>10} {'after':>8}  {'again':>8}  rendered as")
        for name, text in markdown_cases(texts):
            before = timed_before(markdown_before, (text,), args.baseline_timeout)
            seconds, html = timed(render_markdown, text)
            again, _html = timed(render_markdown, text)
            kind = "plain text" if "markup-plain" in html else "Markdown"
            log(f"{name:48} {before:>10} {seconds:>6.3f} s  {again:>6.3f} s  {kind}")
    log("\nPages through the app (SQLite), wall seconds:")
    for name, seconds, status in pages(texts):
        log(f"{name:60} {seconds:6.3f} s  {status}")
    log(f"\nend: {load(BUSY_LOAD)}")


if __name__ == "__main__":
    main()
