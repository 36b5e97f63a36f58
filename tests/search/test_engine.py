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


PHRASE_DOCS = [doc(1, "Titel 1", "Die elektronische Akte im Amt."),
               doc(2, "Titel 2", "Akte und elektronische Post."),
               doc(3, "Titel 3", "Akte, dann elektronische Wege."),
               doc(4, "Titel 4", "Die Akte ist elektronische Zukunft."),
               doc(5, "Titel 5", "Wir lieben die elektronische Akte.")]


@pytest.mark.parametrize("edited", [1, 3, 5])
def test_phrase_after_an_edit_uses_the_live_postings(tmp_path, edited):
    """../shared/repro/phrase_cache_after_edit.py: postings cached by a word search, one
    document updated (Whoosh deletes its old copy), then a phrase search."""
    engine = WhooshEngine(tmp_path / "index", warm_in_background=False)
    engine.rebuild(PHRASE_DOCS)
    assert engine.search(plan("elektronische", "Akte")).total == 5  # caches the postings
    with engine.writer() as writer:
        writer.update(doc(edited, f"Titel {edited}", "Die elektronische Akte, neu geschrieben."))
    result = engine.search(plan("elektronische", "Akte", phrase=True))
    assert sorted(hit.id for hit in result.hits) == sorted({1, 5, edited})
    with engine.writer() as writer:
        writer.delete(5)
    result = engine.search(plan("elektronische", "Akte", phrase=True))
    assert sorted(hit.id for hit in result.hits) == sorted({1, edited} - {5})
    engine.close()


def test_phrases_stay_right_through_a_stream_of_edits(tmp_path):
    """Random updates and deletes across several segments: every phrase and word search
    agrees with a plain scan of the live documents (the cached arrays never go stale)."""
    import random

    rng = random.Random(16)
    words = ["elektronische", "Akte", "Bürgerbüro", "Portal", "offene", "Daten"]

    def text():
        return " ".join(rng.choice(words) for _ in range(rng.randint(2, 8)))

    live = {number: text() for number in range(1, 31)}
    engine = WhooshEngine(tmp_path / "index", warm_in_background=False)
    engine.rebuild([doc(number, "x", body) for number, body in live.items()])
    analysis = engine.analysis

    def expected_phrase(first, second):
        found = set()
        for number, body in live.items():
            mains = [word.main for _, word, _, _ in analysis.words(body)]
            pair = (analysis.word(first).main, analysis.word(second).main)
            if any(tuple(mains[i:i + 2]) == pair for i in range(len(mains) - 1)):
                found.add(number)
        return found

    for step in range(40):
        for first, second in (("elektronische", "Akte"), ("offene", "Daten"),
                              ("Akte", "Portal")):
            result = engine.search(plan(first, second, phrase=True), limit=100, facets=False)
            assert {hit.id for hit in result.hits} == expected_phrase(first, second), step
        assert engine.search(plan("Bürgerbüro"), limit=100).total == sum(
            "Bürgerbüro" in body for body in live.values())
        with engine.writer() as writer:
            for _ in range(rng.randint(1, 3)):
                number = rng.randint(1, 40)
                if number in live and rng.random() < 0.3:
                    del live[number]
                    writer.delete(number)
                else:
                    live[number] = text()
                    writer.update(doc(number, "x", live[number]))
    engine.close()


def test_facets_merge_segments_after_commits_and_keep_the_most_frequent(tmp_path):
    """Facet pairs are cached per segment; a commit's new segment (new values, deleted old
    copies) merges into right counts; only the FACET_VALUES most frequent are listed."""
    from exchange.search import whoosh_engine

    cities = [f"stadt-{n:03}" for n in range(whoosh_engine.FACET_VALUES + 10)]
    docs = [doc(n, "Akte", city=cities[n % len(cities)]) for n in range(1, 3 * len(cities))]
    docs += [doc(1000 + n, "Akte", city="gross") for n in range(9)]
    engine = WhooshEngine(tmp_path / "index", warm_in_background=False)
    engine.rebuild(docs)
    before = engine.search(plan("Akte")).facets["city"]
    assert len(before) == whoosh_engine.FACET_VALUES and before["gross"] == 9
    assert next(iter(before)) == "gross"
    with engine.writer() as writer:
        writer.update(doc(1000, "Akte", city="neu"))  # moves one page of "gross"
        writer.update(doc(5000, "Akte", city="neu"))
    after = engine.search(plan("Akte")).facets["city"]
    assert after["gross"] == 8 and "neu" not in after  # 2 pages: not among the most frequent
    assert engine.search(plan("Akte"), filters={"city": "neu"}).facets["city"] == {"neu": 2}
    engine.close()


def test_searches_are_answered_while_the_index_warms(tmp_path, monkeypatch):
    """A fresh web process warms at start; its searches get the engine between steps."""
    import threading

    from exchange.search import whoosh_engine

    engine = WhooshEngine(tmp_path / "index", warm_in_background=False)
    engine.rebuild(DOCS)
    monkeypatch.setattr(whoosh_engine, "WARM_PAUSE", 0.05)  # room for a busy machine
    first_step, searching = threading.Event(), threading.Event()
    found, seen_by_later_steps = [], []
    warm_term = whoosh_engine._Arrays._warm_term

    def step(self, fields, term):
        if not first_step.is_set():
            first_step.set()
            searching.wait(10)
        else:
            seen_by_later_steps.append(bool(found))
        warm_term(self, fields, term)

    def search():
        searching.set()  # it waits for the engine lock the first step holds
        found.append(engine.search(plan("Akte")))

    monkeypatch.setattr(whoosh_engine._Arrays, "_warm_term", step)
    warming = threading.Thread(target=engine.warm)
    warming.start()
    assert first_step.wait(10)
    searcher = threading.Thread(target=search)
    searcher.start()
    warming.join(30)
    searcher.join(10)
    engine.close()
    assert slugs(found[0]) == ["doc-2"]
    assert seen_by_later_steps and seen_by_later_steps[0]  # answered before step two
