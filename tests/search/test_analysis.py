"""The German analysis chain: folding, stemming, stop words, compound splitting."""
import pickle

import pytest

from exchange.search.analysis import GermanAnalysis, fold
from exchange.search.whoosh_engine import make_schema


@pytest.fixture(scope="module")
def analysis():
    return GermanAnalysis(lexicon=["Digitalisierungslotsen"])


def main(analysis, word):
    return analysis.word(word).main


@pytest.mark.parametrize("spellings", [
    ("Bürgerbüro", "Buergerbuero", "Burgerburo", "BÜRGERBÜRO"),
    ("Mobilität", "Mobilitaet", "Mobilitat"),
    ("Straße", "Strasse"),
    ("Übersicht", "Uebersicht"),
    ("Schöneberg", "Schoeneberg"),
])
def test_umlaut_spellings_meet(analysis, spellings):
    assert len({main(analysis, word) for word in spellings}) == 1


@pytest.mark.parametrize("word", ["Steuer", "neue", "Feuer", "Frauen", "Quelle", "Trauer"])
def test_ue_after_a_vowel_or_q_is_not_an_umlaut(word):
    assert "ue" in fold(word) or "eu" in fold(word)
    assert fold(word) == word.lower()


def test_distinct_words_stay_distinct(analysis):
    assert main(analysis, "Steuer") != main(analysis, "Stur")
    assert main(analysis, "Akte") != main(analysis, "Amt")


@pytest.mark.parametrize("forms", [
    ("Digitalisierung", "digitalisieren", "digitalisiert"),
    ("System", "Systeme", "Systems"),
    ("Prozess", "Prozesse", "Prozessen"),
    ("Stadt", "Städte", "Staedte"),
    ("Schulung", "Schulungen"),
    ("Erfahrung", "Erfahrungen"),
])
def test_stemming_joins_word_forms(analysis, forms):
    assert len({main(analysis, word) for word in forms}) == 1


def test_stop_words_are_dropped(analysis):
    assert analysis.word("der") is None
    assert analysis.word("und") is None
    assert analysis.main_terms("die Akte und der Bürger") == [main(analysis, "Akte"),
                                                               main(analysis, "Bürger")]


@pytest.mark.parametrize("compound, part", [
    ("Digitalisierungslotsen", "Lotsen"),           # linking -s-
    ("Digitalisierungsstrategie", "Strategie"),
    ("Dokumentenmanagementsystem", "Management"),   # -en- and three parts
    ("Dokumentenmanagementsystem", "System"),
    ("Dokumenten-Management-Systeme", "Management"),  # hyphens
    ("Dokumenten-Management-Systeme", "Dokument"),
    ("Verwaltungsdigitalisierung", "Verwaltung"),
    ("Einwohnermeldeamt", "Amt"),
    ("Bürgerbüro", "Büro"),
    ("E-Akte", "Akte"),
    ("Arbeitsplätze", "Platz"),
])
def test_compound_parts_are_emitted(analysis, compound, part):
    analysed = analysis.word(compound)
    assert main(analysis, part) in analysed.parts
    # the whole word stays the main term, so exact matches can rank first
    assert analysed.main not in analysed.parts


def test_hyphenated_and_closed_compounds_share_the_main_term(analysis):
    assert main(analysis, "Dokumenten-Management-System") == main(analysis,
                                                                  "Dokumentenmanagementsystem")
    assert main(analysis, "E-Akte") == main(analysis, "eAkte")


@pytest.mark.parametrize("word", ["Beamter", "Version", "Management", "Lotsen", "Mobilität"])
def test_simple_words_are_not_split(analysis, word):
    assert analysis.word(word).parts == ()


def test_split_needs_known_parts_and_hyphenation_points(analysis):
    assert analysis.split_compound(fold("Quarkbrötchenbäckerei")) == []
    assert analysis.split_compound("digitalisierungslotsen") == ["digitalisierung", "lotsen"]


def test_surface_form_kept_for_spelling(analysis):
    assert analysis.word("Mobilität").surface == "mobilität"
    assert analysis.word("E-Akte").surface is None  # joined tokens are not suggested


def test_analysis_is_cached(analysis):
    assert analysis.word("Erfahrungsaustausch") is analysis.word("erfahrungsaustausch")


def test_schema_pickles_with_its_lexicon():
    analysis = GermanAnalysis(lexicon=["Quarkbrötchen", "Bäckerei"])
    schema = pickle.loads(pickle.dumps(make_schema(analysis)))
    restored = schema["title"].analyzer.analysis
    assert "quarkbrotchen" in restored.lexicon
    assert restored.word("Quarkbrötchenbäckerei").parts  # the lexicon travels with the index


def test_whoosh_analyzer_yields_positions_and_chars(analysis):
    from exchange.search.analysis import GermanAnalyzer

    tokens = [(t.text, t.pos, t.startchar, t.endchar)
              for t in GermanAnalyzer(analysis, "parts")("Die Digitalisierungslotsen",
                                                         positions=True, chars=True)]
    assert tokens == [("digitalisi", 0, 4, 26), ("lots", 0, 4, 26)]


def test_the_snippet_prefilter_marks_what_full_analysis_marks():
    """Highlighting skips unseen words whose folded letters hold no query term; that must
    never drop a word that full analysis would mark. Every word of the demo texts is
    tried as a query against all of them, each time with nothing cached."""
    from pathlib import Path

    import exchange
    from exchange.search.analysis import WORD_RE
    from exchange.search.highlight import _matches, query_terms

    text = (Path(exchange.__file__).parent / "data" / "demo_experiences.md").read_text()
    text += " Buergerbuero, E-Akte-Einführung, muenchen.digital, XRechnung 2026 Straßenbau"
    lexicon = {word for word in WORD_RE.findall(text) if word[:1].isupper()}
    reference, fresh = GermanAnalysis(lexicon), GermanAnalysis(lexicon)

    def expected(mains, parts):
        spans = []
        for _, word, start, end in reference.words(text):
            if (word.main in mains or any(part in mains for part in word.parts)
                    or parts and (word.main in parts or set(word.parts) >= parts)):
                spans.append((start, end))
        return spans

    queries = sorted(set(WORD_RE.findall(text)))[::12]
    assert len(queries) > 100
    for query in queries:
        mains, parts = query_terms([query], reference)
        fresh._cache.clear()  # every word unseen: the prefilter decides
        assert _matches(text, fresh, mains, parts) == expected(mains, parts), query
