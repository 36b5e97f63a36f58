"""Search benchmark: Whoosh (our engine) vs. SQLite FTS5 on a synthetic German corpus.

    .venv/bin/python benchmarks/search_bench.py            # 50,000 documents, 400 queries
    .venv/bin/python benchmarks/search_bench.py --quick    # 5,000 documents, 300 queries
    .venv/bin/python benchmarks/search_bench.py --docs 20000 --procs 2 --profile

Generates a reproducible corpus (seeded random) of German experiences of ~200 words
with compounds ("Digitalisierungslotsen", "Dokumenten-Management-System"), umlauts,
inflected forms; indexes it with our WhooshEngine and with SQLite FTS5 (unicode61);
runs the same mixed queries (single terms, 2-3 terms, compound parts, phrases, filters)
through both, top 10 with facet counts (city, topic, kind, year), and prints build
time, docs/s, p50/p95/p99 latency, index size and the ratios. Then recall@10 and
nDCG@10 of our analysis vs. the plain StandardAnalyzer on the judged set of
tests/search/relevance_set.py. No database server, no Flask app needed.
"""
import argparse
import cProfile
import importlib.util
import io
import os
import pstats
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exchange.search.engine import IndexDocument  # noqa: E402
from exchange.search.indexer import frequent_nouns  # noqa: E402
from exchange.search.query import SynonymGroup, SynonymTable  # noqa: E402
from exchange.search.services import run_query  # noqa: E402
from exchange.search.whoosh_engine import WhooshEngine  # noqa: E402

SEED = 20261125

# --- vocabulary ---------------------------------------------------------------------------

#: (singular, plural) of nouns of administrative German, most frequent first (Zipf).
NOUNS = [
    ("Verwaltung", "Verwaltungen"), ("Digitalisierung", "Digitalisierungen"),
    ("Bürger", "Bürger"), ("Prozess", "Prozesse"), ("System", "Systeme"),
    ("Stadt", "Städte"), ("Amt", "Ämter"), ("Akte", "Akten"), ("Dokument", "Dokumente"),
    ("Strategie", "Strategien"), ("Daten", "Daten"), ("Plattform", "Plattformen"),
    ("Service", "Services"), ("Projekt", "Projekte"), ("Antrag", "Anträge"),
    ("Schulung", "Schulungen"), ("Lotse", "Lotsen"), ("Management", "Management"),
    ("Büro", "Büros"), ("Portal", "Portale"), ("Termin", "Termine"), ("Gebäude", "Gebäude"),
    ("Netz", "Netze"), ("Sicherheit", "Sicherheiten"), ("Verkehr", "Verkehre"),
    ("Mobilität", "Mobilitäten"), ("Arbeitsplatz", "Arbeitsplätze"), ("Team", "Teams"),
    ("Konzept", "Konzepte"), ("Beteiligung", "Beteiligungen"), ("Software", "Software"),
    ("Archiv", "Archive"), ("Register", "Register"), ("Leistung", "Leistungen"),
    ("Haushalt", "Haushalte"), ("Personal", "Personal"), ("Straße", "Straßen"),
    ("Energie", "Energien"), ("Schule", "Schulen"), ("Bibliothek", "Bibliotheken"),
    ("Feuerwehr", "Feuerwehren"), ("Umwelt", "Umwelten"), ("Erfahrung", "Erfahrungen"),
    ("Einführung", "Einführungen"), ("Umsetzung", "Umsetzungen"), ("Werkzeug", "Werkzeuge"),
    ("Infrastruktur", "Infrastrukturen"), ("Formular", "Formulare"), ("Gesetz", "Gesetze"),
    ("Kommune", "Kommunen"), ("Beschäftigte", "Beschäftigten"), ("Fachverfahren", "Fachverfahren"),
    ("Schnittstelle", "Schnittstellen"), ("Workflow", "Workflows"), ("Signatur", "Signaturen"),
    ("Rathaus", "Rathäuser"), ("Wohnung", "Wohnungen"), ("Gewerbe", "Gewerbe"),
    ("Zulassung", "Zulassungen"), ("Genehmigung", "Genehmigungen"), ("Beratung", "Beratungen"),
    ("Kosten", "Kosten"), ("Qualität", "Qualitäten"), ("Zusammenarbeit", "Zusammenarbeit"),
    ("Glasfaser", "Glasfasern"), ("Breitband", "Breitbänder"), ("Cloud", "Clouds"),
    ("Steuer", "Steuern"), ("Feuer", "Feuer"), ("Übersicht", "Übersichten"),
]
#: First parts of compounds, with their linking element.
PREFIXES = [
    ("Digitalisierung", "s"), ("Verwaltung", "s"), ("Bürger", ""), ("Dokument", "en"),
    ("Daten", ""), ("Stadt", ""), ("Prozess", ""), ("Termin", ""), ("Mobilität", "s"),
    ("Sicherheit", "s"), ("Arbeit", "s"), ("Personal", ""), ("Haushalt", "s"),
    ("Schule", "n"), ("Straße", "n"), ("Bibliothek", "s"), ("Umwelt", ""), ("Energie", ""),
    ("Wohnung", "s"), ("Gewerbe", ""), ("Informationssicherheit", "s"), ("Beteiligung", "s"),
    ("Innovation", "s"), ("Qualität", "s"), ("Akte", "n"), ("Steuer", ""),
]
#: Last parts of compounds (lower-cased when joined).
HEADS = [
    ("Lotse", "Lotsen"), ("Strategie", "Strategien"), ("Management", "Management"),
    ("System", "Systeme"), ("Plattform", "Plattformen"), ("Portal", "Portale"),
    ("Büro", "Büros"), ("Amt", "Ämter"), ("Prozess", "Prozesse"), ("Konzept", "Konzepte"),
    ("Schulung", "Schulungen"), ("Register", "Register"), ("Archiv", "Archive"),
    ("Verfahren", "Verfahren"), ("Netz", "Netze"), ("Service", "Services"),
    ("Planung", "Planungen"), ("Beratung", "Beratungen"), ("Team", "Teams"),
    ("Projekt", "Projekte"), ("Gesetz", "Gesetze"), ("Werkzeug", "Werkzeuge"),
]
VERBS = ["führen ein", "verbessern", "digitalisieren", "planen", "setzen um", "testen",
         "nutzen", "prüfen", "begleiten", "schulen", "vereinfachen", "beschleunigen",
         "bündeln", "vernetzen", "erproben", "bewerten", "modernisieren", "steuern",
         "haben eingeführt", "wurde digitalisiert", "wird umgesetzt", "haben getestet"]
ADJECTIVES = ["neue", "digitale", "zentrale", "städtische", "elektronische", "mobile",
              "gemeinsame", "offene", "sichere", "schnelle", "einfache", "moderne",
              "erfolgreiche", "kommunale", "interne", "barrierefreie"]
FUNCTION = ["der", "die", "das", "und", "mit", "für", "im", "auf", "von", "zu", "ein",
            "eine", "wir", "unsere", "bei", "nach", "über", "durch", "auch", "noch"]
CITIES = [("stuttgart", "Stuttgart"), ("muenchen", "München"), ("karlsruhe", "Karlsruhe"),
          ("ulm", "Ulm"), ("nuernberg", "Nürnberg"), ("koeln", "Köln"), ("berlin", "Berlin"),
          ("hamburg", "Hamburg"), ("frankfurt", "Frankfurt am Main"), ("leipzig", "Leipzig"),
          ("dresden", "Dresden"), ("hannover", "Hannover"), ("bremen", "Bremen"),
          ("essen", "Essen"), ("dortmund", "Dortmund"), ("duesseldorf", "Düsseldorf"),
          ("mannheim", "Mannheim"), ("freiburg", "Freiburg"), ("heidelberg", "Heidelberg"),
          ("augsburg", "Augsburg"), ("wuerzburg", "Würzburg"), ("regensburg", "Regensburg"),
          ("bonn", "Bonn"), ("muenster", "Münster"), ("kiel", "Kiel"), ("luebeck", "Lübeck"),
          ("rostock", "Rostock"), ("erfurt", "Erfurt"), ("jena", "Jena"), ("mainz", "Mainz")]
TOPICS = [
    ("eakte", "eAkte", ("E-Akte", "elektronische Akte", "e-file")),
    ("dms", "Dokumentenmanagement", ("DMS", "Dokumenten-Management-System", "document management")),
    ("ozg-umsetzung", "OZG-Umsetzung", ("OZG", "Onlinezugangsgesetz", "Online-Dienste")),
    ("digitalisierungslotsen", "Digitalisierungslotsen", ("Digital MoverS", "Lotsen")),
    ("mobilitaet", "Mobilität", ("Verkehr", "Smart Mobility", "mobility")),
    ("it-sicherheit", "IT-Sicherheit", ("Informationssicherheit", "ISMS", "IT security")),
    ("breitband", "Breitband für städtische Gebäude", ("Glasfaser", "broadband")),
    ("fortbildung", "Fortbildung & Qualifizierung", ("Schulung", "Training")),
    ("buergerservice", "Bürgerservice & Bürgerbüro", ("Bürgerbüro", "citizen office")),
    ("mobiles-arbeiten", "Mobiles Arbeiten", ("Homeoffice", "mobile work")),
    ("open-data", "Open Data", ("offene Daten",)),
    ("digitalisierungsstrategie", "Digitalisierungsstrategie", ()),
    ("webauftritt", "Digitaler Webauftritt", ("Stadtportal", "web presence")),
    ("innovation-center", "Innovation-Center", ("Innovationslabor", "Innovation Lab")),
    ("kollaboration", "Kollaborationswerkzeuge", ("Collaboration", "Zusammenarbeit")),
] + [(f"leistung-{number}", f"Verwaltungsleistung {number}", ()) for number in range(45)]
KINDS = ["lesson_learned", "practice", "project_report", "visit_report"]


def _zipf_weights(count):
    return [1.0 / (rank + 1) for rank in range(count)]


class CorpusGenerator:
    """Seeded generator of German experiences (same seed, same corpus)."""

    def __init__(self, seed=SEED):
        self.random = random.Random(seed)
        self.compounds = []
        for prefix, link in PREFIXES:
            for singular, plural in HEADS:
                self.compounds.append((prefix + link + singular.lower(),
                                       prefix + link + plural.lower()))
        self.random.shuffle(self.compounds)
        self.noun_weights = _zipf_weights(len(NOUNS))
        self.compound_weights = _zipf_weights(len(self.compounds))

    def noun(self):
        singular, plural = self.random.choices(NOUNS, self.noun_weights)[0]
        return singular if self.random.random() < 0.6 else plural

    def compound(self):
        singular, plural = self.random.choices(self.compounds, self.compound_weights)[0]
        word = singular if self.random.random() < 0.6 else plural
        if self.random.random() < 0.08:  # the hyphenated spelling
            for prefix, link in PREFIXES:
                if word.startswith(prefix + link) and len(word) > len(prefix + link):
                    rest = word[len(prefix + link):]
                    return f"{prefix}{link}-{rest[:1].upper()}{rest[1:]}"
        return word

    def sentence(self):
        r = self.random
        words = [r.choice(FUNCTION).capitalize(), r.choice(ADJECTIVES),
                 self.compound() if r.random() < 0.35 else self.noun(), r.choice(VERBS),
                 r.choice(FUNCTION), r.choice(FUNCTION), self.noun()]
        for _ in range(r.randint(2, 6)):
            words.append(r.choice(FUNCTION) if r.random() < 0.4 else
                         (self.compound() if r.random() < 0.25 else self.noun()))
        return " ".join(words) + "."

    def document(self, number):
        r = self.random
        body_words, sentences = 0, []
        while body_words < 190:
            sentence = self.sentence()
            sentences.append(sentence)
            body_words += sentence.count(" ") + 1
        city, city_name = r.choice(CITIES)
        topics = tuple(dict.fromkeys(r.choices(TOPICS, _zipf_weights(len(TOPICS)),
                                               k=r.randint(1, 3))))
        topic_text = "\n".join(name + "\n" + "\n".join(aliases) for _, name, aliases in topics)
        title = f"{self.compound()} {r.choice(['in', 'für', 'mit'])} {city_name}: " \
                f"{r.choice(ADJECTIVES).capitalize()} {self.noun()}"
        return IndexDocument(
            id=number, slug=f"erfahrung-{number}", title=title, body=" ".join(sentences),
            city=city, city_name=city_name, topics=tuple(t[0] for t in topics),
            topic_tree=tuple(t[0] for t in topics), topic_text=topic_text,
            kind=r.choice(KINDS), date=datetime(r.randint(2019, 2026), r.randint(1, 12),
                                                r.randint(1, 28)))

    def documents(self, count):
        return [self.document(number) for number in range(1, count + 1)]

    def queries(self, documents, count):
        """Mixed queries: (text, filters) pairs."""
        r = random.Random(SEED + 1)
        queries = []
        parts = [singular for singular, _ in HEADS] + [prefix for prefix, _ in PREFIXES]
        kinds = ["single", "two", "three", "part", "compound", "phrase", "filter", "alias"]
        for index in range(count):
            kind = kinds[index % len(kinds)]
            filters = {}
            if kind == "single":
                text = r.choice(NOUNS)[r.randint(0, 1)]
            elif kind == "two":
                text = f"{r.choice(NOUNS)[0]} {r.choice(NOUNS)[1]}"
            elif kind == "three":
                text = f"{r.choice(ADJECTIVES)} {r.choice(NOUNS)[0]} {r.choice(NOUNS)[0]}"
            elif kind == "part":
                text = r.choice(parts)
            elif kind == "compound":
                text = r.choice(self.compounds)[r.randint(0, 1)]
            elif kind == "phrase":
                words = [w.strip(".") for w in r.choice(documents).body.split()]
                start = r.randrange(0, len(words) - 3)
                text = '"' + " ".join(words[start:start + r.randint(2, 3)]) + '"'
            elif kind == "filter":
                text = r.choice(NOUNS)[0]
                filters = r.choice([{"city": r.choice(CITIES)[0]}, {"kind": r.choice(KINDS)},
                                    {"year": str(r.randint(2019, 2026))}])
            else:
                text = r.choice(["OZG", "DMS", "E-Akte", "Glasfaser", "Lotsen", "ISMS",
                                 "mobility", "Bürgerbüro"])
            queries.append((text, filters))
        return queries


def synonym_table():
    return SynonymTable([SynonymGroup((name, *aliases)) for _, name, aliases in TOPICS if aliases])


# --- measuring ----------------------------------------------------------------------------

def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def directory_size(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def run_whoosh(documents, queries, directory, procs, profile, limitmb=None):
    engine = WhooshEngine(directory, procs=procs, limitmb=limitmb)
    lexicon = [name for _, name, _ in TOPICS]
    started, cpu_started = time.perf_counter(), _cpu()
    lexicon = lexicon + sorted(frequent_nouns(documents))
    profiler = cProfile.Profile() if profile == "build" else None
    if profiler:
        profiler.enable()
    engine.rebuild(documents, lexicon)
    if profiler:
        profiler.disable()
        _print_profile(profiler, "build")
    build = time.perf_counter() - started
    build_cpu = _cpu() - cpu_started
    synonyms = synonym_table()
    for text, filters in queries[:20]:  # warm-up: open searcher, load facet arrays
        run_query(engine, text, synonyms, filters=filters, limit=10)
    profiler = cProfile.Profile() if profile == "query" else None
    latencies, cpu_latencies, totals = [], [], []
    if profiler:
        profiler.enable()
    for text, filters in queries:
        started_query, cpu_query = time.perf_counter(), time.process_time()
        outcome = run_query(engine, text, synonyms, filters=filters, limit=10)
        latencies.append((time.perf_counter() - started_query) * 1000)
        cpu_latencies.append((time.process_time() - cpu_query) * 1000)
        totals.append(outcome.result.total if outcome else 0)
    if profiler:
        profiler.disable()
        _print_profile(profiler, "query")
    size = directory_size(engine.current_path())
    engine.close()
    return build, latencies, size, totals, build_cpu, cpu_latencies


def _cpu():
    """CPU seconds of this process and its finished children (writer processes)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _fts_match(text):
    """Our query text as an FTS5 MATCH expression (terms ANDed, phrases kept)."""
    if text.startswith('"'):
        return text
    words = [word for word in text.replace("-", " ").split() if word]
    return " ".join('"' + word.replace('"', "") + '"' for word in words)


def run_fts5(documents, queries, directory):
    path = Path(directory) / "fts.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, topics, "
                       "slug UNINDEXED, city UNINDEXED, kind UNINDEXED, year UNINDEXED, "
                       "tokenize = 'unicode61 remove_diacritics 2')")
    started = time.perf_counter()
    with connection:
        connection.executemany(
            "INSERT INTO docs (rowid, title, body, topics, slug, city, kind, year) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ((d.id, d.title, d.body, d.topic_text, d.slug, d.city, d.kind, d.year)
             for d in documents))
    build = time.perf_counter() - started
    latencies = []
    for text, filters in queries:
        where = " AND ".join(f"{name} = ?" for name in filters)
        condition = "docs MATCH ?" + (f" AND {where}" if where else "")
        arguments = [_fts_match(text), *filters.values()]
        started_query = time.perf_counter()
        connection.execute(f"SELECT slug FROM docs WHERE {condition} "
                           "ORDER BY bm25(docs, 3.0, 1.0, 2.5) LIMIT 10", arguments).fetchall()
        for facet in ("city", "kind", "year"):  # facet counts, like ours
            connection.execute(f"SELECT {facet}, count(*) FROM docs WHERE {condition} "
                               f"GROUP BY {facet}", arguments).fetchall()
        latencies.append((time.perf_counter() - started_query) * 1000)
    connection.close()
    return build, latencies, directory_size(directory)


def _print_profile(profiler, label):
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(18)
    print(f"\n--- profile: {label} (top by cumulative time) ---")
    print("\n".join(stream.getvalue().splitlines()[:45]))


def relevance():
    path = ROOT / "tests" / "search" / "relevance_set.py"
    spec = importlib.util.spec_from_file_location("search_relevance_set", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, module.evaluate()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--quick", action="store_true", help="5,000 documents, 300 queries")
    parser.add_argument("--procs", type=int, default=1, help="Whoosh writer processes")
    parser.add_argument("--limitmb", type=int, help="Whoosh posting pool size per writer (MB)")
    parser.add_argument("--profile", choices=("build", "query"), help="print a cProfile")
    args = parser.parse_args(argv)
    if args.quick:
        args.docs, args.queries = 5_000, 300
    args.queries = max(args.queries, 300)

    started = time.perf_counter()
    generator = CorpusGenerator()
    documents = generator.documents(args.docs)
    queries = generator.queries(documents, args.queries)
    words = sum(len(d.body.split()) for d in documents) / len(documents)
    print(f"corpus: {len(documents):,} documents, {words:.0f} words each on average, "
          f"{len(queries)} queries (generated in {time.perf_counter() - started:.1f} s, "
          f"cpus: {os.cpu_count()})")

    with tempfile.TemporaryDirectory() as whoosh_dir, tempfile.TemporaryDirectory() as fts_dir:
        w_build, w_lat, w_size, totals, w_build_cpu, w_cpu_lat = run_whoosh(
            documents, queries, whoosh_dir, args.procs, args.profile, args.limitmb)
        f_build, f_lat, f_size = run_fts5(documents, queries, fts_dir)

    def row(name, build, latencies, size):
        return (f"{name:<22} build {build:7.1f} s {len(documents) / build:9,.0f} docs/s   "
                f"p50 {statistics.median(latencies):7.2f} ms  p95 {percentile(latencies, .95):7.2f} ms"
                f"  p99 {percentile(latencies, .99):7.2f} ms   index {size / 1e6:7.1f} MB")

    print()
    print(row("Whoosh (ours)", w_build, w_lat, w_size))
    print(row("SQLite FTS5 unicode61", f_build, f_lat, f_size))
    print(f"{'ratio Whoosh/FTS5':<22} build {w_build / f_build:7.1f} x{'':17}"
          f"p50 {statistics.median(w_lat) / statistics.median(f_lat):7.2f} x   "
          f"p95 {percentile(w_lat, .95) / percentile(f_lat, .95):7.2f} x   "
          f"p99 {percentile(w_lat, .99) / percentile(f_lat, .99):7.2f} x   "
          f"index {w_size / f_size:5.2f} x")
    print(f"{'Whoosh, CPU time':<22} build {w_build_cpu:7.1f} s {len(documents) / w_build_cpu:9,.0f} "
          f"docs/CPU-s p50 {statistics.median(w_cpu_lat):7.2f} ms  p95 "
          f"{percentile(w_cpu_lat, .95):7.2f} ms  p99 {percentile(w_cpu_lat, .99):7.2f} ms"
          f"   (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"queries with hits (ours): {sum(1 for t in totals if t)}/{len(totals)}; "
          f"mean matches {statistics.mean(totals):,.0f}")
    build_ok = len(documents) / w_build >= 1000
    p95_ok = percentile(w_lat, .95) <= 25
    print(f"targets: build >= 1,000 docs/s: {'met' if build_ok else 'NOT met'}; "
          f"p95 <= 25 ms: {'met' if p95_ok else 'NOT met'}")

    module, metrics = relevance()
    print(f"\nrelevance on {len(module.JUDGEMENTS)} judged queries "
          f"(thresholds recall@10 {module.RECALL_THRESHOLD}, nDCG@10 {module.NDCG_THRESHOLD}):")
    for name, label in (("ours", "ours (German analysis)"), ("plain", "plain StandardAnalyzer")):
        print(f"  {label:<24} recall@10 {metrics[name]['recall@10']:.3f}   "
              f"nDCG@10 {metrics[name]['ndcg@10']:.3f}")


if __name__ == "__main__":
    main()
