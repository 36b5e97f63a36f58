"""A fixed German test corpus with judged queries, and recall@10 / nDCG@10 for two analyzers.

Used by tests/search/test_relevance.py (asserts thresholds) and by
benchmarks/search_bench.py (prints both numbers). Judgements: for each query the
slugs of the relevant documents, best first (graded: the first listed gets gain 2,
the others gain 1).
"""
import math
import tempfile
from datetime import datetime

from exchange.search.engine import IndexDocument
from exchange.search.query import SynonymGroup, SynonymTable

#: Topic slug -> (German name, English name, aliases).
TOPICS = {
    "eakte": ("eAkte", "e-file", ("E-Akte", "elektronische Akte", "e-file")),
    "dms": ("Dokumentenmanagement", "Document management",
            ("DMS", "Dokumenten-Management-System", "document management")),
    "ozg-umsetzung": ("OZG-Umsetzung", "OZG implementation",
                      ("OZG", "Onlinezugangsgesetz", "Online-Dienste")),
    "digitalisierungslotsen": ("Digitalisierungslotsen (Digital MoverS)", "Digitalisation pilots",
                               ("Digital MoverS", "Digitallotsen", "Lotsen")),
    "mobilitaet": ("Mobilität", "Mobility", ("Verkehr", "Smart Mobility", "mobility")),
    "it-sicherheit": ("IT-Sicherheit", "IT security",
                      ("Informationssicherheit", "ISMS", "IT security")),
    "breitband": ("Breitband für städtische Gebäude", "Broadband", ("Glasfaser", "broadband")),
    "fortbildung": ("Fortbildung & Qualifizierung", "Training", ("Schulung", "Training")),
    "buergerservice": ("Bürgerservice & Bürgerbüro", "Citizen services",
                       ("Bürgerbüro", "citizen office")),
    "mobiles-arbeiten": ("Mobiles Arbeiten", "Mobile work",
                         ("Mobile Arbeitsplätze", "Homeoffice", "mobile work")),
    "open-data": ("Open Data", "Open data", ("offene Daten",)),
    "digitalisierungsstrategie": ("Digitalisierungsstrategie", "Digital strategy", ()),
}

# (slug, city, kind, year, topics, title, body)
_DOCS = [
    ("lotsen-in-jedem-amt", "stuttgart", "practice", 2025, ("digitalisierungslotsen",),
     "Digitalisierungslotsen in jedem Amt",
     "In jedem Amt gibt es Digitalisierungslotsen, die Kolleginnen bei neuen Werkzeugen "
     "begleiten. Die Lotsen treffen sich monatlich und teilen ihre Erfahrungen."),
    ("lotsenprogramm-bilanz", "stuttgart", "project_report", 2026, ("digitalisierungslotsen", "fortbildung"),
     "Ein Jahr Lotsenprogramm: Bilanz",
     "Nach einem Jahr ziehen wir Bilanz: 120 Beschäftigte wurden qualifiziert, die "
     "Schulungen fanden in kleinen Gruppen statt."),
    ("eakte-buergerbuero", "stuttgart", "lesson_learned", 2025, ("eakte", "buergerservice"),
     "Einführung der E-Akte im Bürgerbüro",
     "Die elektronische Akte ersetzt im Bürgerbüro die Papierakten. Wichtig war die "
     "Schulung aller Beschäftigten vor dem Start."),
    ("eakte-scanstelle", "karlsruhe", "practice", 2024, ("eakte",),
     "Zentrale Scanstelle für die eAkte",
     "Eingehende Post wird zentral gescannt und direkt der eAkte zugeordnet. Das spart "
     "Wege und Zeit."),
    ("dms-vergleich", "muenchen", "lesson_learned", 2025, ("dms", "eakte"),
     "Dokumenten-Management-Systeme im Vergleich",
     "Wir haben drei Dokumenten-Management-Systeme verglichen: Schnittstellen, "
     "Berechtigungen und Archivierung standen im Mittelpunkt."),
    ("dms-ausschreibung", "koeln", "project_report", 2024, ("dms",),
     "Ausschreibung eines Dokumentenmanagementsystems",
     "Die Ausschreibung für ein neues Dokumentenmanagementsystem dauerte neun Monate. "
     "Die Leistungsbeschreibung entstand gemeinsam mit den Fachämtern."),
    ("ozg-50-dienste", "stuttgart", "lesson_learned", 2025, ("ozg-umsetzung",),
     "OZG-Umsetzung: Erfahrungen mit den ersten 50 Online-Diensten",
     "Das Onlinezugangsgesetz verpflichtet die Kommunen, Leistungen online anzubieten. "
     "Unsere Erfahrungen mit den ersten 50 Diensten."),
    ("ozg-koeln-rueckblick", "koeln", "lesson_learned", 2026, ("ozg-umsetzung",),
     "Rückblick auf das Onlinezugangsgesetz in Köln",
     "Was wir heute anders machen würden: weniger Formulare, mehr Ende-zu-Ende-Prozesse."),
    ("online-antraege-ulm", "ulm", "practice", 2024, ("ozg-umsetzung",),
     "Online-Anträge für Anwohnerparken",
     "Anwohnerparkausweise können jetzt vollständig online beantragt werden."),
    ("mobilitaetsdaten", "stuttgart", "project_report", 2025, ("mobilitaet", "open-data"),
     "Mobilitätsdaten auf einer Plattform bündeln",
     "Verkehrsdaten aus Ampeln, Parkhäusern und dem Nahverkehr laufen auf einer "
     "Plattform zusammen. Mobilität wird so planbar."),
    ("verkehrsversuch", "ulm", "lesson_learned", 2024, ("mobilitaet",),
     "Verkehrsversuch in der Innenstadt",
     "Ein halbes Jahr lang haben wir die Innenstadt für Autos gesperrt und den "
     "Radverkehr gestärkt."),
    ("isms-einfuehrung", "karlsruhe", "practice", 2025, ("it-sicherheit",),
     "Ein ISMS nach BSI-Grundschutz einführen",
     "Das Informationssicherheitsmanagementsystem haben wir schrittweise eingeführt, "
     "begonnen mit den kritischen Fachverfahren."),
    ("phishing-uebung", "muenchen", "practice", 2026, ("it-sicherheit", "fortbildung"),
     "Phishing-Übungen für alle Beschäftigten",
     "Simulierte Phishing-Mails schärfen den Blick. Die Klickrate sank nach drei Runden "
     "deutlich."),
    ("glasfaser-schulen", "nuernberg", "project_report", 2025, ("breitband",),
     "Glasfaser für alle Schulen",
     "Bis Ende des Jahres sind alle städtischen Schulgebäude an das Glasfasernetz "
     "angeschlossen."),
    ("breitband-rathaus", "stuttgart", "lesson_learned", 2024, ("breitband",),
     "Breitbandanschluss für Rathaus und Bezirksämter",
     "Der Breitbandausbau der städtischen Gebäude brauchte eine gute Abstimmung mit "
     "den Netzbetreibern."),
    ("homeoffice-regeln", "muenchen", "lesson_learned", 2024, ("mobiles-arbeiten",),
     "Regeln für das Homeoffice",
     "Eine Dienstvereinbarung regelt mobiles Arbeiten: Erreichbarkeit, Ausstattung und "
     "Datenschutz zu Hause."),
    ("mobile-arbeitsplaetze", "stuttgart", "project_report", 2025, ("mobiles-arbeiten",),
     "Mobile Arbeitsplätze für 3.000 Beschäftigte",
     "Wir haben Notebooks, Headsets und VPN-Zugänge ausgerollt, damit Beschäftigte "
     "flexibel arbeiten können."),
    ("strategie-karlsruhe", "karlsruhe", "lesson_learned", 2025, ("digitalisierungsstrategie",),
     "Digitalisierungsstrategie: Vom Papier zur Umsetzung",
     "Eine Strategie wirkt nur, wenn sie mit Budget und Verantwortlichen hinterlegt ist."),
    ("strategieprozess-ulm", "ulm", "practice", 2026, ("digitalisierungsstrategie",),
     "Beteiligung im Strategieprozess",
     "Bürgerinnen, Bürger und Beschäftigte haben die Leitlinien der Strategie "
     "mitgeschrieben."),
    ("buergerbuero-termine", "koeln", "practice", 2025, ("buergerservice",),
     "Online-Terminvereinbarung für alle Bürgerbüros",
     "Seit der Einführung der Terminbuchung gibt es kaum noch Warteschlangen im Bürgerbüro."),
    ("buergeramt-chatbot", "nuernberg", "practice", 2026, ("buergerservice",),
     "Ein Chatbot für das Bürgeramt",
     "Der Chatbot beantwortet einfache Fragen zu Ausweisen und Meldebescheinigungen."),
    ("open-data-portal", "nuernberg", "project_report", 2024, ("open-data",),
     "Das Open-Data-Portal der Stadt",
     "Mehr als 300 Datensätze sind offen verfügbar, darunter Haushaltsdaten und "
     "Umweltdaten."),
    ("prozessmanagement", "karlsruhe", "lesson_learned", 2024, (),
     "Prozesse vor der Digitalisierung verbessern",
     "Wer schlechte Prozesse digitalisiert, bekommt schlechte digitale Prozesse. Erst "
     "das Prozessmanagement, dann die Software."),
    ("prozesslandkarte", "koeln", "practice", 2025, (),
     "Eine Prozesslandkarte für die Verwaltung",
     "Alle Kernprozesse der Verwaltung sind in einer Landkarte erfasst und priorisiert."),
    ("staedtepartnerschaft", "muenchen", "visit_report", 2026, (),
     "Städte lernen voneinander",
     "Der Austausch zwischen Städten beschleunigt die Digitalisierung der Verwaltung."),
    ("stadtportal", "muenchen", "project_report", 2025, (),
     "Relaunch des Stadtportals",
     "Das neue Stadtportal ist barrierefrei und für Smartphones gemacht."),
    ("videokonferenzen", "muenchen", "lesson_learned", 2024, (),
     "Videokonferenzen in der Verwaltung",
     "Videokonferenzen sparen Dienstreisen. Wichtig sind gute Headsets und klare Regeln."),
    ("kollaborationsplattform", "stuttgart", "project_report", 2026, (),
     "Eine Kollaborationsplattform für Projektteams",
     "Gemeinsame Dokumente, Aufgaben und Chats an einem Ort – auch mit externen Partnern."),
    ("innovationslabor", "muenchen", "practice", 2025, (),
     "Das Innovationslabor der Stadtverwaltung",
     "Im Labor testen Teams neue Ideen mit Bürgerinnen und Bürgern, bevor sie in den "
     "Regelbetrieb gehen."),
    ("systemwechsel-finanzen", "ulm", "lesson_learned", 2025, (),
     "Systemwechsel im Finanzwesen",
     "Der Wechsel des Finanzsystems war aufwendig: Daten, Schnittstellen, Schulungen."),
    ("fachverfahren-systeme", "karlsruhe", "lesson_learned", 2026, (),
     "Fachverfahren und ihre Systeme",
     "Viele Systeme sind Insellösungen. Eine Plattform verbindet sie über Schnittstellen."),
    ("personalamt-digital", "nuernberg", "practice", 2024, (),
     "Das Personalamt arbeitet papierlos",
     "Bewerbungen, Personalakten und Urlaubsanträge sind digital."),
    ("wohngeld-online", "koeln", "practice", 2026, ("ozg-umsetzung",),
     "Wohngeld online beantragen",
     "Der Wohngeldantrag ist digital und wird medienbruchfrei bearbeitet."),
    ("ki-assistent", "stuttgart", "lesson_learned", 2026, (),
     "Ein KI-Assistent für Verwaltungsschreiben",
     "Ein Sprachmodell hilft beim Formulieren verständlicher Bescheide."),
    ("parkraum-sensoren", "muenchen", "project_report", 2024, ("mobilitaet",),
     "Sensoren für Parkraummanagement",
     "Sensoren melden freie Parkplätze; eine App zeigt sie an."),
    ("datenschutz-schulung", "ulm", "practice", 2025, ("fortbildung",),
     "Datenschutzschulungen online",
     "Alle Beschäftigten absolvieren jährlich eine kurze Online-Schulung zum Datenschutz."),
]


def documents() -> list[IndexDocument]:
    """The corpus as IndexDocuments (ids from 1, in list order)."""
    result = []
    for number, (slug, city, kind, year, topics, title, body) in enumerate(_DOCS, 1):
        topic_words = []
        for topic in topics:
            name_de, name_en, aliases = TOPICS[topic]
            topic_words += [name_de, name_en, *aliases]
        result.append(IndexDocument(
            id=number, slug=slug, title=title, body=body, city=city, city_name=city.title(),
            topics=topics, topic_tree=topics, topic_text="\n".join(topic_words), kind=kind,
            date=datetime(year, 6, 1)))
    return result


def synonym_groups() -> list[SynonymGroup]:
    """The topics' names and aliases as synonym groups (as services.synonym_table does)."""
    groups = []
    for name_de, name_en, aliases in TOPICS.values():
        if aliases:
            groups.append(SynonymGroup((name_de, name_en, *aliases)))
    return groups


#: Query -> relevant slugs (best first). Covers stems, umlauts and their ae/oe/ue
#: spellings, compounds (part finds whole), abbreviations, English aliases, typos.
JUDGEMENTS = {
    # compounds: a part finds the whole
    "Lotsen": ["lotsen-in-jedem-amt", "lotsenprogramm-bilanz"],
    "Strategie": ["strategie-karlsruhe", "strategieprozess-ulm"],
    "Management": ["dms-vergleich", "dms-ausschreibung", "prozessmanagement", "parkraum-sensoren",
                   "isms-einfuehrung"],
    "Dokumentenmanagement": ["dms-ausschreibung", "dms-vergleich"],
    "Dokumentenmanagementsystem": ["dms-ausschreibung", "dms-vergleich"],
    "Dokumenten-Management-System": ["dms-vergleich", "dms-ausschreibung"],
    "Glasfasernetz": ["glasfaser-schulen"],
    "Portal": ["open-data-portal", "stadtportal"],
    "Termine": ["buergerbuero-termine"],
    "Parkraum": ["parkraum-sensoren"],
    "Landkarte": ["prozesslandkarte"],
    "Schulgebäude": ["glasfaser-schulen"],
    # umlauts and their transcriptions
    "Buergerbuero": ["eakte-buergerbuero", "buergerbuero-termine"],
    "Burgerburo": ["eakte-buergerbuero", "buergerbuero-termine"],
    "Bürgerbüro": ["eakte-buergerbuero", "buergerbuero-termine"],
    "Mobilitaet": ["mobilitaetsdaten", "verkehrsversuch", "parkraum-sensoren"],
    "Mobilitätsdaten": ["mobilitaetsdaten"],
    "Mobile Arbeitsplaetze": ["mobile-arbeitsplaetze"],
    "Uebungen Phishing": ["phishing-uebung"],
    "Rueckblick": ["ozg-koeln-rueckblick"],
    # stems
    "Prozess": ["prozessmanagement", "prozesslandkarte", "ozg-koeln-rueckblick"],
    "Städte": ["staedtepartnerschaft"],
    "Systeme": ["fachverfahren-systeme", "dms-vergleich", "systemwechsel-finanzen"],
    "digitalisieren": ["prozessmanagement", "staedtepartnerschaft"],
    "Schulungen": ["datenschutz-schulung", "eakte-buergerbuero", "systemwechsel-finanzen",
                   "lotsenprogramm-bilanz"],
    "Videokonferenz": ["videokonferenzen"],
    "Sensor": ["parkraum-sensoren"],
    # abbreviations and synonyms from topic aliases
    "OZG": ["ozg-50-dienste", "ozg-koeln-rueckblick", "online-antraege-ulm", "wohngeld-online"],
    "Onlinezugangsgesetz": ["ozg-koeln-rueckblick", "ozg-50-dienste", "online-antraege-ulm",
                            "wohngeld-online"],
    "eAkte": ["eakte-scanstelle", "eakte-buergerbuero", "dms-vergleich"],
    "E-Akte": ["eakte-buergerbuero", "eakte-scanstelle", "dms-vergleich"],
    "elektronische Akte": ["eakte-buergerbuero", "eakte-scanstelle", "dms-vergleich"],
    "DMS": ["dms-vergleich", "dms-ausschreibung"],
    "ISMS": ["isms-einfuehrung"],
    "Digital MoverS": ["lotsen-in-jedem-amt", "lotsenprogramm-bilanz"],
    "Homeoffice": ["homeoffice-regeln", "mobile-arbeitsplaetze"],
    # English aliases find German text
    "document management": ["dms-vergleich", "dms-ausschreibung"],
    "broadband": ["breitband-rathaus", "glasfaser-schulen"],
    "mobility": ["mobilitaetsdaten", "verkehrsversuch", "parkraum-sensoren"],
    "IT security": ["isms-einfuehrung", "phishing-uebung"],
    "citizen office": ["buergerbuero-termine", "eakte-buergerbuero", "buergeramt-chatbot"],
    # typos
    "Digitalisierng": ["prozessmanagement", "staedtepartnerschaft", "strategie-karlsruhe"],
    "Glasfasr": ["glasfaser-schulen", "breitband-rathaus"],
    "Videokonferenzn": ["videokonferenzen"],
    # multi-word
    "OZG Erfahrungen": ["ozg-50-dienste"],
    "Lotsen Bilanz": ["lotsenprogramm-bilanz"],
}

#: Thresholds our analysis must reach and the plain StandardAnalyzer does not.
RECALL_THRESHOLD = 0.85
NDCG_THRESHOLD = 0.75


def _ndcg(ranked: list[str], relevant: list[str], k: int = 10) -> float:
    gains = {slug: (2 if index == 0 else 1) for index, slug in enumerate(relevant)}
    dcg = sum(gains.get(slug, 0) / math.log2(rank + 2) for rank, slug in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def _recall(ranked: list[str], relevant: list[str], k: int = 10) -> float:
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def ours_rankings(directory: str) -> dict[str, list[str]]:
    """Top-10 slugs per judged query with our engine and query pipeline."""
    from exchange.search.services import run_query
    from exchange.search.whoosh_engine import WhooshEngine

    engine = WhooshEngine(directory)
    docs = documents()
    lexicon = [word for name_de, _, aliases in TOPICS.values() for word in (name_de, *aliases)]
    engine.rebuild(docs, [word for text in lexicon for word in text.split()])
    synonyms = SynonymTable(synonym_groups())
    rankings = {}
    for query in JUDGEMENTS:
        outcome = run_query(engine, query, synonyms, limit=10)
        rankings[query] = [hit.slug for hit in outcome.result.hits] if outcome else []
    engine.close()
    return rankings


def plain_rankings(directory: str) -> dict[str, list[str]]:
    """Top-10 slugs per judged query with Whoosh's StandardAnalyzer and MultifieldParser."""
    from whoosh import index
    from whoosh.analysis import StandardAnalyzer
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.qparser import MultifieldParser

    schema = Schema(slug=ID(stored=True), title=TEXT(analyzer=StandardAnalyzer(), field_boost=3.0),
                    topics=TEXT(analyzer=StandardAnalyzer(), field_boost=2.5),
                    body=TEXT(analyzer=StandardAnalyzer()))
    ix = index.create_in(directory, schema)
    with ix.writer() as writer:
        for doc in documents():
            writer.add_document(slug=doc.slug, title=doc.title, topics=doc.topic_text,
                                body=doc.body)
    parser = MultifieldParser(["title", "topics", "body"], schema)
    rankings = {}
    with ix.searcher() as searcher:
        for query in JUDGEMENTS:
            hits = searcher.search(parser.parse(query), limit=10)
            rankings[query] = [hit["slug"] for hit in hits]
    return rankings


def evaluate() -> dict[str, dict[str, float]]:
    """Mean recall@10 and nDCG@10 over JUDGEMENTS for ours and the plain analyzer."""
    result = {}
    for name, rank in (("ours", ours_rankings), ("plain", plain_rankings)):
        with tempfile.TemporaryDirectory() as directory:
            rankings = rank(directory)
        result[name] = {
            "recall@10": _mean(_recall(rankings[q], rel) for q, rel in JUDGEMENTS.items()),
            "ndcg@10": _mean(_ndcg(rankings[q], rel) for q, rel in JUDGEMENTS.items()),
            "rankings": rankings,
        }
    return result


if __name__ == "__main__":
    metrics = evaluate()
    for name in ("ours", "plain"):
        print(name, round(metrics[name]["recall@10"], 3), round(metrics[name]["ndcg@10"], 3))
    for query, relevant in JUDGEMENTS.items():
        got = metrics["ours"]["rankings"][query]
        if _recall(got, relevant) < 1 or _ndcg(got, relevant) < 0.8:
            print(f"{query!r}: want {relevant} got {got[:6]}")
