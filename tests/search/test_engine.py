"""The Whoosh engine on its own: generations, writers, numpy scoring, facets, caches."""
from datetime import datetime

import pytest

from exchange.search.engine import (Alternative, Clause, EngineBusy, IndexDocument,
                                    IndexUnavailable, QueryPlan)
from exchange.search.whoosh_engine import WhooshEngine


def doc(number, title, body="", city="ulm", kind="practice", topics=(), year=2025):
    return IndexDocument(id=number, slug=f"doc-{number}", title=title, body=body, city=city,
                         city_name=city.title(), topics=topics, topic_tree=topics,
                         topic_text=" ".join(topics), kind=kind, date=datetime(year, 1, 1 + number % 28))


def plan(*words, phrase=False):
    if phrase:
        return QueryPlan((Clause((Alternative(tuple(words)),)),))
    return QueryPlan(tuple(Clause((Alternative((word,)),)) for word in words))


DOCS = [
    doc(1, "Digitalisierungslotsen im Amt", "Lotsen helfen allen Ämtern.", "stuttgart",
        topics=("lotsen",), year=2024),
    doc(2, "Akten scannen", "Die elektronische Akte im Bürgerbüro.", "ulm", "lesson_learned",
        ("eakte",), 2025),
    doc(3, "Strategie", "Eine Digitalisierungsstrategie für die Stadt.", "ulm",
        topics=("strategie",), year=2026),
]


@pytest.fixture
def engine(tmp_path):
    engine = WhooshEngine(tmp_path / "index")
    engine.rebuild(DOCS)
    yield engine
    engine.close()


def slugs(result):
    return [hit.slug for hit in result.hits]


def test_missing_index_is_unavailable(tmp_path):
    engine = WhooshEngine(tmp_path / "nothing")
    with pytest.raises(IndexUnavailable):
        engine.search(plan("Akte"))
    with pytest.raises(IndexUnavailable):
        with engine.writer():
            pass


def test_search_scores_filters_and_facets(engine):
    result = engine.search(plan("Lotsen"))
    assert slugs(result) == ["doc-1"] and result.hits[0].score > 0
    result = engine.search(plan("Digitalisierung"))
    assert set(slugs(result)) == {"doc-1", "doc-3"}
    assert result.facets["city"] == {"stuttgart": 1, "ulm": 1}
    assert result.facets["year"] == {"2024": 1, "2026": 1}
    assert slugs(engine.search(plan("Digitalisierung"), filters={"city": "ulm"})) == ["doc-3"]
    assert slugs(engine.search(plan("Digitalisierung"), sort="date")) == ["doc-3", "doc-1"]
    assert engine.search(plan("Digitalisierung"), offset=1, limit=1).total == 2
    assert len(engine.search(plan("Digitalisierung"), offset=1, limit=1).hits) == 1


def test_phrases_need_adjacent_words(engine):
    assert slugs(engine.search(plan("elektronische", "Akte", phrase=True))) == ["doc-2"]
    assert engine.search(plan("Akte", "elektronische", phrase=True)).total == 0


def test_exclusion_and_or(engine):
    both = QueryPlan((Clause((Alternative(("Digitalisierung",)),)),
                      Clause((Alternative(("Lotsen",)),), exclude=True)))
    assert slugs(engine.search(both)) == ["doc-3"]
    either = plan("Lotsen", "Strategie").with_match_all(False)
    assert engine.search(either).total == 2
    assert engine.search(plan("Lotsen", "Strategie")).total == 0


def test_updates_and_deletes_are_seen_and_cached_arrays_stay_right(engine):
    assert engine.search(plan("Lotsen")).total == 1
    with engine.writer() as writer:
        writer.update(doc(1, "Bibliothek", "Bücher", "stuttgart"))
        writer.update(doc(4, "Neue Lotsen", "Lotsen überall", "koeln"))
    result = engine.search(plan("Lotsen"))
    assert slugs(result) == ["doc-4"] and result.facets["city"] == {"koeln": 1}
    with engine.writer() as writer:
        writer.delete(4)
        writer.delete(99)
    assert engine.search(plan("Lotsen")).total == 0
    assert engine.doc_count() == 3 and engine.document_ids() == {1, 2, 3}


def test_writer_lock_is_exclusive(engine, tmp_path):
    other = WhooshEngine(tmp_path / "index")  # as if in another process
    with engine.exclusive():
        with pytest.raises(EngineBusy):
            with other.writer(blocking=False):
                pass
    with other.writer(blocking=False) as writer:
        writer.delete(3)
    assert engine.doc_count() == 2


def test_spelling_helpers(engine):
    assert engine.knows_word("Bürgerbüro") and not engine.knows_word("Burgerburo")
    assert ("bürgerbüro", 1) in engine.similar_words("burgerbüro", 1)
    assert engine.knows_term(engine.analysis.word("Lotsen").main)


def test_rebuild_with_two_writer_processes_gives_the_same_results(tmp_path):
    docs = [doc(n, f"Schulung {n}", f"Text {n} über Lotsen und Akten", year=2020 + n % 5)
            for n in range(1, 41)]
    single = WhooshEngine(tmp_path / "one")
    double = WhooshEngine(tmp_path / "two", procs=2)
    single.rebuild(docs)
    double.rebuild(docs)
    for words in (("Lotsen",), ("Schulung", "Akte"), ("Text",)):
        a, b = single.search(plan(*words), limit=40), double.search(plan(*words), limit=40)
        assert a.total == b.total == 40
        assert sorted(slugs(a)) == sorted(slugs(b)) and a.facets == b.facets
    single.close()
    double.close()
