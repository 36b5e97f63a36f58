"""Search benchmark: Whoosh (our engine) vs. SQLite FTS5 on a synthetic German corpus.

    .venv/bin/python benchmarks/search_bench.py            # 50,000 documents, 400 queries
    .venv/bin/python benchmarks/search_bench.py --quick    # 5,000 documents, 300 queries
    .venv/bin/python benchmarks/search_bench.py --docs 20000 --procs 1 --profile build

Generates a reproducible corpus (seeded random) of German experiences of ~200 words
from a Zipf-distributed vocabulary of ~5,000 word types (administrative nouns,
compounds built from parts with linking elements, inflected verbs and adjectives,
city names; topic-specific vocabularies, see CorpusGenerator); indexes it with our
WhooshEngine (two writer processes by default) and with SQLite FTS5 (unicode61);
runs the same mixed queries drawn from the corpus (single terms, 2-3 terms, compound
parts, compounds, phrases, filters, aliases) through both, top 10 with facet counts
(city, topic, kind, year), and prints build time, docs/s, p50/p95/p99 latency (wall
and CPU, per query kind, the slowest queries), selectivity, index size and the
ratios. Then recall@10 and nDCG@10 of our analysis vs. the plain StandardAnalyzer on
the judged set of tests/search/relevance_set.py. No database server, no Flask app.
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
#: More nouns of administrative and municipal German (rarer than the ones above).
MORE_NOUNS = [
    ("Abteilung", "Abteilungen"), ("Anwendung", "Anwendungen"), ("Aufgabe", "Aufgaben"),
    ("Ausschreibung", "Ausschreibungen"), ("Auswertung", "Auswertungen"), ("Bauantrag", "Bauanträge"),
    ("Bedarf", "Bedarfe"), ("Behörde", "Behörden"), ("Bescheid", "Bescheide"),
    ("Betrieb", "Betriebe"), ("Dienststelle", "Dienststellen"), ("Entscheidung", "Entscheidungen"),
    ("Ergebnis", "Ergebnisse"), ("Fachbereich", "Fachbereiche"), ("Förderung", "Förderungen"),
    ("Gemeinderat", "Gemeinderäte"), ("Gremium", "Gremien"), ("Kita", "Kitas"),
    ("Lizenz", "Lizenzen"), ("Meldung", "Meldungen"), ("Nachweis", "Nachweise"),
    ("Nutzer", "Nutzer"), ("Pilot", "Piloten"), ("Rechenzentrum", "Rechenzentren"),
    ("Referat", "Referate"), ("Richtlinie", "Richtlinien"), ("Sitzung", "Sitzungen"),
    ("Standard", "Standards"), ("Tablet", "Tablets"), ("Vergabe", "Vergaben"),
    ("Vertrag", "Verträge"), ("Vorlage", "Vorlagen"), ("Zuständigkeit", "Zuständigkeiten"),
    ("Ziel", "Ziele"), ("Zeitplan", "Zeitpläne"), ("Dienstleister", "Dienstleister"),
    ("Anbieter", "Anbieter"), ("Hardware", "Hardware"), ("Lösung", "Lösungen"),
    ("Bürgerin", "Bürgerinnen"), ("Mitarbeiterin", "Mitarbeiterinnen"), ("Sachgebiet", "Sachgebiete"),
    ("Hochwasser", "Hochwasser"), ("Parkplatz", "Parkplätze"), ("Radweg", "Radwege"),
    ("Friedhof", "Friedhöfe"), ("Sportstätte", "Sportstätten"), ("Museum", "Museen"),
    ("Wahl", "Wahlen"), ("Standesamt", "Standesämter"), ("Ausländerbehörde", "Ausländerbehörden"),
    ("Jugendamt", "Jugendämter"), ("Sozialamt", "Sozialämter"), ("Bauamt", "Bauämter"),
    ("Ordnungsamt", "Ordnungsämter"), ("Kämmerei", "Kämmereien"), ("Stadtwerk", "Stadtwerke"),
    ("Sensor", "Sensoren"), ("Ladesäule", "Ladesäulen"), ("Ampel", "Ampeln"),
    ("Haltestelle", "Haltestellen"), ("Baustelle", "Baustellen"), ("Quartier", "Quartiere"),
    ("Klimaschutz", "Klimaschutz"), ("Barrierefreiheit", "Barrierefreiheit"),
    ("Datenschutz", "Datenschutz"), ("Akzeptanz", "Akzeptanz"), ("Kommunikation", "Kommunikation"),
]
#: First parts of compounds, with their linking element.
PREFIXES = [
    ("Digitalisierung", "s"), ("Verwaltung", "s"), ("Bürger", ""), ("Dokument", "en"),
    ("Daten", ""), ("Stadt", ""), ("Prozess", ""), ("Termin", ""), ("Mobilität", "s"),
    ("Sicherheit", "s"), ("Arbeit", "s"), ("Personal", ""), ("Haushalt", "s"),
    ("Schule", "n"), ("Straße", "n"), ("Bibliothek", "s"), ("Umwelt", ""), ("Energie", ""),
    ("Wohnung", "s"), ("Gewerbe", ""), ("Informationssicherheit", "s"), ("Beteiligung", "s"),
    ("Innovation", "s"), ("Qualität", "s"), ("Akte", "n"), ("Steuer", ""),
    ("Bau", ""), ("Verkehr", "s"), ("Park", ""), ("Rad", ""), ("Klima", ""), ("Wasser", ""),
    ("Abfall", ""), ("Friedhof", "s"), ("Kita", ""), ("Jugend", ""), ("Sozial", ""),
    ("Gesundheit", "s"), ("Kultur", ""), ("Sport", ""), ("Wahl", ""), ("Melde", ""),
    ("Ausweis", ""), ("Pass", ""), ("Fahrzeug", ""), ("Vergabe", ""), ("Rechnung", "s"),
    ("Finanz", ""), ("Geo", ""), ("Karten", ""), ("Sensor", ""), ("Lade", ""),
    ("Service", ""), ("Wissen", "s"), ("Projekt", ""), ("Änderung", "s"), ("Einwohner", ""),
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
    ("Antrag", "Anträge"), ("Bescheid", "Bescheide"), ("Daten", "Daten"),
    ("Karte", "Karten"), ("Konto", "Konten"), ("Stelle", "Stellen"), ("Leitung", "Leitungen"),
    ("Verwaltung", "Verwaltungen"), ("Steuerung", "Steuerungen"), ("Bericht", "Berichte"),
    ("Richtlinie", "Richtlinien"), ("Formular", "Formulare"), ("Termin", "Termine"),
    ("Kataster", "Kataster"), ("Statistik", "Statistiken"), ("Software", "Software"),
    ("Beauftragte", "Beauftragten"), ("Zentrum", "Zentren"), ("Labor", "Labore"),
    ("Modell", "Modelle"), ("Prüfung", "Prüfungen"), ("Vorgang", "Vorgänge"),
]
#: Regular verb stems; each gives the forms -en, -t, -te, -ten, -e.
VERB_STEMS = [
    "digitalisier", "modernisier", "organisier", "automatisier", "standardisier",
    "optimier", "integrier", "evaluier", "koordinier", "informier", "plan", "test", "nutz",
    "prüf", "begleit", "schul", "vereinfach", "beschleunig", "bündel", "vernetz", "erprob",
    "bewert", "steuer", "verbesser", "einführ", "umsetz", "bearbeit", "beantrag", "meld",
    "speicher", "veröffentlich", "abstimm", "dokumentier", "beschaff", "ersetz", "entwickel",
    "betreu", "unterstütz", "beteilig", "gestalt",
]
VERB_ENDINGS = ["en", "t", "te", "ten", "e"]
AUXILIARIES = ["haben", "hat", "wurde", "wurden", "wird", "werden", "ist", "sind", "kann",
               "können", "soll", "sollen", "muss", "müssen"]
#: Adjective stems; each gives the forms -e, -en, -er, -es.
ADJECTIVE_STEMS = [
    "neu", "digital", "zentral", "städtisch", "elektronisch", "mobil", "gemeinsam", "offen",
    "sicher", "schnell", "einfach", "modern", "erfolgreich", "kommunal", "intern",
    "barrierefrei", "papierlos", "medienbruchfrei", "aktuell", "transparent", "flexibel",
    "verbindlich", "rechtssicher", "nachhaltig", "regional", "landesweit", "bundesweit",
    "zuständig", "technisch", "organisatorisch", "wirtschaftlich", "klein", "groß", "erst",
]
ADJECTIVE_ENDINGS = ["e", "en", "er", "es"]
FUNCTION = ["der", "die", "das", "und", "mit", "für", "im", "auf", "von", "zu", "ein",
            "eine", "wir", "unsere", "bei", "nach", "über", "durch", "auch", "noch", "den",
            "dem", "des", "in", "an", "als", "oder", "nicht", "es", "sich", "sie", "aus"]
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
#: Share of a document's content words drawn from the vocabulary of its own topics
#: (texts about the E-Akte keep using the same few dozen words: burstiness).
TOPIC_WORD_SHARE = 0.35
#: Content words per topic vocabulary.
TOPIC_VOCABULARY = 60
#: Zipf exponent of the word-type distribution (about 1 for natural language).
ZIPF_EXPONENT = 1.0
#: Mandelbrot's rank offset for content words: function words (drawn separately) take
#: the top ranks of real text, so the most frequent content word is ~1.5 % of them.
CONTENT_RANK_OFFSET = 10


def _zipf_weights(count, exponent=ZIPF_EXPONENT, offset=0):
    return [1.0 / (rank + 1 + offset) ** exponent for rank in range(count)]


def _cumulative(weights):
    total, cumulative = 0.0, []
    for weight in weights:
        total += weight
        cumulative.append(total)
    return cumulative


class CorpusGenerator:
    """Seeded generator of German experiences (same seed, same corpus).

    Content words come from one Zipf-ranked vocabulary of ~5,000 word types: nouns
    (singular and plural), ~2,500 compounds built from prefix + linking element + head
    (8 % hyphenated), inflected verbs and adjectives, city names. Ranks are shuffled
    (seeded) within bands, so the common administrative nouns stay frequent and most
    compounds are rare, as in real text. Each topic has its own vocabulary of
    TOPIC_VOCABULARY words drawn from the same distribution; a document takes
    TOPIC_WORD_SHARE of its content words from its topics' vocabularies.
    """

    def __init__(self, seed=SEED):
        r = self.random = random.Random(seed)
        self.compounds = []
        for prefix, link in PREFIXES:
            for singular, plural in HEADS:
                if prefix.lower() == singular.lower():
                    continue
                self.compounds.append((prefix + link + singular.lower(),
                                       prefix + link + plural.lower()))
        r.shuffle(self.compounds)
        nouns = [form for pair in NOUNS for form in pair]
        more = [form for pair in MORE_NOUNS for form in pair]
        compounds = [form for pair in self.compounds for form in pair]
        verbs = [stem + ending for stem in VERB_STEMS for ending in VERB_ENDINGS]
        adjectives = [stem + ending for stem in ADJECTIVE_STEMS for ending in ADJECTIVE_ENDINGS]
        cities = [name for _, name in CITIES]
        # Frequency bands: common nouns, verbs and adjectives first, then the rarer words.
        head = list(dict.fromkeys(nouns[:60] + verbs[:40] + adjectives[:40]))
        tail = list(dict.fromkeys(nouns[60:] + more + verbs[40:] + adjectives[40:] + cities
                                  + compounds))
        r.shuffle(head)
        r.shuffle(tail)
        self.vocabulary = list(dict.fromkeys(head + tail))
        self.cumulative = _cumulative(_zipf_weights(len(self.vocabulary),
                                                     offset=CONTENT_RANK_OFFSET))
        self.topic_words = {}
        for slug, _, _ in TOPICS:
            words = list(dict.fromkeys(self.word() for _ in range(TOPIC_VOCABULARY * 3)))
            rare = [w for w in self.vocabulary[200:] if r.random() < 0.01]
            self.topic_words[slug] = (words[:TOPIC_VOCABULARY // 2] + rare)[:TOPIC_VOCABULARY]
        self.topic_cumulative = _cumulative(_zipf_weights(TOPIC_VOCABULARY))

    def word(self):
        """A content word from the global Zipf distribution."""
        return self.random.choices(self.vocabulary, cum_weights=self.cumulative)[0]

    def topic_word(self, slug):
        words = self.topic_words[slug]
        return self.random.choices(words, cum_weights=self.topic_cumulative[:len(words)])[0]

    def content_word(self, topics):
        r = self.random
        word = (self.topic_word(r.choice(topics)) if r.random() < TOPIC_WORD_SHARE
                else self.word())
        if r.random() < 0.08:
            word = self.hyphenated(word)
        return word

    def hyphenated(self, word):
        """"Dokumenten-Management" for a compound "Dokumentenmanagement"; others unchanged."""
        for prefix, link in PREFIXES:
            start = prefix + link
            if word.startswith(start) and len(word) > len(start) + 2:
                rest = word[len(start):]
                return f"{start}-{rest[:1].upper()}{rest[1:]}"
        return word

    def sentence(self, topics):
        r = self.random
        words = [r.choice(FUNCTION).capitalize()]
        for _ in range(r.randint(8, 16)):
            roll = r.random()
            if roll < 0.42:
                words.append(r.choice(FUNCTION))
            elif roll < 0.47:
                words.append(r.choice(AUXILIARIES))
            else:
                words.append(self.content_word(topics))
        return " ".join(words) + "."

    def document(self, number):
        r = self.random
        city, city_name = r.choice(CITIES)
        topics = tuple(dict.fromkeys(r.choices(TOPICS, _zipf_weights(len(TOPICS)),
                                               k=r.randint(1, 3))))
        slugs = [t[0] for t in topics]
        body_words, sentences = 0, []
        while body_words < 190:
            sentence = self.sentence(slugs)
            sentences.append(sentence)
            body_words += sentence.count(" ") + 1
        topic_text = "\n".join(name + "\n" + "\n".join(aliases) for _, name, aliases in topics)
        title = (f"{self.content_word(slugs)} {r.choice(['in', 'für', 'mit'])} {city_name}: "
                 f"{self.content_word(slugs)} {r.choice(['und', 'im', 'als'])} "
                 f"{self.content_word(slugs)}")
        return IndexDocument(
            id=number, slug=f"erfahrung-{number}", title=title, body=" ".join(sentences),
            city=city, city_name=city_name, topics=tuple(slugs), topic_tree=tuple(slugs),
            topic_text=topic_text, kind=r.choice(KINDS),
            date=datetime(r.randint(2019, 2026), r.randint(1, 12), r.randint(1, 28),
                          r.randint(0, 23), r.randint(0, 59)))

    def documents(self, count):
        return [self.document(number) for number in range(1, count + 1)]

    def queries(self, documents, count):
        """Mixed queries, (text, filters) pairs, drawn like the words of the corpus.

        Users type words they expect in the pages they look for: single terms and
        2-3 terms are content words of one (random) document, so their frequencies
        follow the corpus' Zipf distribution and multi-word queries co-occur; compound
        parts and whole compounds are drawn from the compounds by frequency; phrases
        are 2-3 consecutive words of a document; filters add a city, kind or year.
        """
        r = random.Random(SEED + 1)
        function = set(FUNCTION) | set(AUXILIARIES)
        queries = []
        parts = [singular for singular, _ in HEADS] + [prefix for prefix, _ in PREFIXES]
        in_vocabulary = set(self.vocabulary)
        compounds = [w for w in self.vocabulary if any(w in pair for pair in self.compounds)]
        compound_cumulative = _cumulative(_zipf_weights(len(compounds)))
        kinds = ["single", "two", "three", "part", "compound", "phrase", "filter", "alias"]

        def content_words(document, k):
            words = [w.strip(".:") for w in (document.title + " " + document.body).split()]
            words = list(dict.fromkeys(w for w in words if w in in_vocabulary))
            return r.sample(words, min(k, len(words)))

        for index in range(count):
            kind = kinds[index % len(kinds)]
            filters = {}
            document = r.choice(documents)
            if kind == "single":
                text = content_words(document, 1)[0]
            elif kind == "two":
                text = " ".join(content_words(document, 2))
            elif kind == "three":
                text = " ".join(content_words(document, 3))
            elif kind == "part":
                text = r.choice(parts)
            elif kind == "compound":
                text = r.choices(compounds, cum_weights=compound_cumulative)[0]
            elif kind == "phrase":
                words = [w.strip(".:") for w in document.body.split()]
                while True:
                    start = r.randrange(0, len(words) - 3)
                    phrase = words[start:start + r.randint(2, 3)]
                    if sum(1 for w in phrase if w.lower() not in function) >= 1:
                        break
                text = '"' + " ".join(phrase) + '"'
            elif kind == "filter":
                text = content_words(document, 1)[0]
                filters = r.choice([{"city": r.choice(CITIES)[0]}, {"kind": r.choice(KINDS)},
                                    {"year": str(r.randint(2019, 2026))}])
            else:
                text = r.choice(["OZG", "DMS", "E-Akte", "Glasfaser", "Lotsen", "ISMS",
                                 "mobility", "Bürgerbüro"])
            queries.append((kind, text, filters))
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
    # Warming as at index open, but in the foreground, so it does not run during the queries.
    engine = WhooshEngine(directory, procs=procs, limitmb=limitmb, warm_in_background=False)
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
    warm_started = time.perf_counter()
    warmed = engine.warm()
    print(f"index opened and warmed ({warmed} frequent terms in every field) in "
          f"{time.perf_counter() - warm_started:.1f} s")
    for _, text, filters in queries[:20]:  # warm-up: open searcher, load facet arrays
        run_query(engine, text, synonyms, filters=filters, limit=10)
    profiler = cProfile.Profile() if profile == "query" else None
    latencies, cpu_latencies, totals = [], [], []
    if profiler:
        profiler.enable()
    for _, text, filters in queries:
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
    for _, text, filters in queries:
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
    parser.add_argument("--procs", type=int, default=2,
                        help="Whoosh writer processes (default 2: both cores)")
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
          f"matches per query: median {statistics.median(totals):,.0f}, "
          f"mean {statistics.mean(totals):,.0f} "
          f"({statistics.mean(totals) / len(documents):.1%} of the corpus), "
          f"> 10 % of the corpus: {sum(1 for t in totals if t > len(documents) / 10)} queries")
    print("by query kind (wall ms; CPU ms):")
    kinds = dict.fromkeys(kind for kind, _, _ in queries)
    for kind in kinds:
        rows = [i for i, (k, _, _) in enumerate(queries) if k == kind]
        wall = [w_lat[i] for i in rows]
        cpu = [w_cpu_lat[i] for i in rows]
        print(f"  {kind:<9} n {len(rows):3}  p50 {statistics.median(wall):6.2f}  "
              f"p95 {percentile(wall, .95):6.2f}  max {max(wall):6.2f};  "
              f"CPU p95 {percentile(cpu, .95):6.2f}  median matches "
              f"{statistics.median([totals[i] for i in rows]):,.0f}")
    print("slowest queries (wall ms, CPU ms, matches):")
    for i in sorted(range(len(queries)), key=lambda i: -w_lat[i])[:8]:
        kind, text, filters = queries[i]
        print(f"  {w_lat[i]:7.2f} {w_cpu_lat[i]:7.2f} {totals[i]:7,}  {kind:<9} {text} "
              f"{filters or ''}")
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
