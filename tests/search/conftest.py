"""Fixtures of the search tests: a small German corpus written through the wiki services."""
import pytest


@pytest.fixture(autouse=True)
def _close_engines():
    """Each test has its own INDEX_DIR; close the searchers the test opened."""
    yield
    from exchange.search import whoosh_engine

    with whoosh_engine._engines_guard:
        engines = list(whoosh_engine._engines.values())
        whoosh_engine._engines.clear()
    for engine in engines:
        engine.close()


@pytest.fixture
def topics(make_topic):
    """Story topics with the aliases of the demo data contract."""
    return {
        "eakte": make_topic("eakte", "eAkte", aliases=("E-Akte", "elektronische Akte", "e-file"),
                            name_en="e-file"),
        "dms": make_topic("dms", "Dokumentenmanagement",
                          aliases=("DMS", "Dokumenten-Management-System", "document management")),
        "ozg": make_topic("ozg-umsetzung", "OZG-Umsetzung",
                          aliases=("OZG", "Onlinezugangsgesetz", "Online-Dienste")),
        "lotsen": make_topic("digitalisierungslotsen", "Digitalisierungslotsen (Digital MoverS)",
                             aliases=("Digital MoverS", "Digitallotsen", "Lotsen")),
        "mobilitaet": make_topic("mobilitaet", "Mobilität",
                                 aliases=("Verkehr", "Smart Mobility", "mobility")),
    }


@pytest.fixture
def corpus(anna, max_muenchen, topics, make_experience):
    """Six experiences of Stuttgart and Munich (five published, one draft)."""
    t = topics
    docs = {
        "lotsen": make_experience(
            anna, "Digitalisierungslotsen in jedem Amt",
            "In **jedem Amt** gibt es Digitalisierungslotsen. Sie begleiten neue Werkzeuge.",
            topics=[t["lotsen"]], kind="practice"),
        "eakte": make_experience(
            anna, "Einführung der E-Akte im Bürgerbüro",
            "Die elektronische Akte ersetzt im Bürgerbüro die Papierakten. <script>alert(1)</script>",
            topics=[t["eakte"]]),
        "ozg": make_experience(
            anna, "OZG-Umsetzung: Erfahrungen mit den ersten 50 Online-Diensten",
            "Das Onlinezugangsgesetz verpflichtet Kommunen. Unsere Erfahrungen mit 50 Diensten.",
            topics=[t["ozg"]], kind="project_report"),
        "dms": make_experience(
            max_muenchen, "Dokumenten-Management-Systeme im Vergleich",
            "Drei Dokumentenmanagementsysteme im Test; die eAkte braucht ein gutes DMS.",
            topics=[t["dms"], t["eakte"]]),
        "mobilitaet": make_experience(
            max_muenchen, "Mobilitätsdaten bündeln",
            "Mobilität in München: Verkehrsdaten auf einer Plattform. Lotsen helfen.",
            topics=[t["mobilitaet"]], kind="project_report"),
        "draft": make_experience(
            anna, "Geheimer Entwurf zur Lotsenausbildung", "Noch nicht fertig: Lotsen.",
            status="draft"),
    }
    return docs

