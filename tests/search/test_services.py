"""The search service on a real database and index: ranking, facets, outbox, robustness."""
import fcntl
import logging
from pathlib import Path

import pytest

from exchange.extensions import db
from exchange.search import services
from exchange.search.indexer import apply_outbox, get_engine, pending_count, reindex, status
from exchange.wiki import services as wiki


def titles(results):
    return [hit.title for hit in results.hits]


def test_part_of_a_compound_finds_the_whole_and_exact_word_ranks_first(corpus):
    results = services.search("Lotsen")
    assert titles(results)[0] == "Digitalisierungslotsen in jedem Amt"
    assert "Mobilitätsdaten bündeln" in titles(results)  # the word "Lotsen" itself


def test_exact_whole_word_outranks_compound_part(corpus, anna, make_experience):
    make_experience(anna, "Bericht A", "Wir sprechen über Lotsen und Lotsen.")
    make_experience(anna, "Bericht B", "Wir sprechen über Amtslotsen und Amtslotsen.")
    ranked = titles(services.search("Lotsen"))
    assert ranked.index("Bericht A") < ranked.index("Bericht B")


@pytest.mark.parametrize("query, expected", [
    ("Buergerbuero", "Einführung der E-Akte im Bürgerbüro"),
    ("Burgerburo", "Einführung der E-Akte im Bürgerbüro"),
    ("Mobilitaet", "Mobilitätsdaten bündeln"),
    ("Management", "Dokumenten-Management-Systeme im Vergleich"),
    ("Dokumentenmanagementsystem", "Dokumenten-Management-Systeme im Vergleich"),
    ("Onlinezugangsgesetz", "OZG-Umsetzung: Erfahrungen mit den ersten 50 Online-Diensten"),
    ("OZG Erfahrungen", "OZG-Umsetzung: Erfahrungen mit den ersten 50 Online-Diensten"),
    ("e-file", "Einführung der E-Akte im Bürgerbüro"),
    ("document management", "Dokumenten-Management-Systeme im Vergleich"),
    ('"elektronische Akte"', "Einführung der E-Akte im Bürgerbüro"),
])
def test_german_queries_find_the_right_page_first(corpus, query, expected):
    assert titles(services.search(query))[0] == expected


def test_drafts_are_never_found(corpus):
    assert "Geheimer Entwurf zur Lotsenausbildung" not in titles(services.search("Lotsen"))
    assert services.search("Geheimer Entwurf").total == 0


def test_facets_count_all_matches_and_filters_narrow(corpus):
    results = services.search("eAkte")
    assert results.total == 2
    assert results.facets["city"] == {"muenchen": 1, "stuttgart": 1}
    assert results.facets["topic"]["eakte"] == 2 and results.facets["topic"]["dms"] == 1
    assert set(results.facets["kind"]) == {"lesson_learned"}
    assert sum(results.facets["year"].values()) == 2
    only_munich = services.search("eAkte", city="muenchen")
    assert titles(only_munich) == ["Dokumenten-Management-Systeme im Vergleich"]
    assert only_munich.facets["city"] == {"muenchen": 1}
    assert services.search("Lotsen", kind="practice").total == 1
    assert services.search("Lotsen", topic="mobilitaet").total == 1
    year = next(iter(results.facets["year"]))
    assert services.search("eAkte", year=year).total == 2
    assert services.search("eAkte", year="1999").total == 0
    assert services.search("eAkte", city="gibt-es-nicht").total == 0


def test_topic_filter_includes_subtopics(corpus, anna, make_topic, make_experience, topics):
    child = make_topic("ozg-mobilitaet-reisen", "Mobilität & Reisen", parent=topics["ozg"])
    make_experience(anna, "Kfz-Zulassung online", "Die Zulassung geht jetzt online.",
                    topics=[child])
    results = services.search("online", topic="ozg-umsetzung")
    assert "Kfz-Zulassung online" in titles(results)
    assert results.facets["topic"].get("ozg-mobilitaet-reisen") == 1


def test_pagination_and_sort_by_date(anna, make_experience):
    for number in range(25):
        make_experience(anna, f"Schulung Nummer {number}", "Eine Schulung für alle.")
    first = services.search("Schulung", per_page=10)
    third = services.search("Schulung", page=3, per_page=10)
    assert first.total == 25 and first.pages == 3
    assert len(first.hits) == 10 and len(third.hits) == 5
    assert not set(titles(first)) & set(titles(third))
    assert services.search("Schulung", page=4, per_page=10).hits == []
    by_date = services.search("Schulung", sort="date", per_page=25)
    dates = [hit.date for hit in by_date.hits]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize("arguments", [
    {"page": 0}, {"page": -1}, {"per_page": 0}, {"per_page": 1000}, {"sort": "title"},
    {"page": "2"},
])
def test_bad_arguments_raise_a_search_error(app, arguments):
    with pytest.raises(services.SearchError):
        services.search("Akte", **arguments)


@pytest.mark.parametrize("query", ["", "   ", "der und die", '"', "AND OR (", "-Akte"])
def test_empty_and_nonsensical_queries_give_empty_results(corpus, query):
    results = services.search(query)
    assert results.total == 0 and results.hits == []


def test_snippets_are_html_safe_and_marked(corpus):
    hit = services.search("Papierakten").hits[0]
    html = str(hit.snippet)
    assert "<mark>Papierakten</mark>" in html
    assert "<script>" not in html
    assert "Bürgerbüro" in html
    assert "<mark>" in str(services.search("Lotsen").hits[0].title_html)


def test_snippets_come_from_the_indexed_text_not_from_the_markdown(corpus):
    """A search reads no revision bodies and renders no Markdown: the index stored the
    plain text once when it indexed the page."""
    import sqlalchemy as sa

    services.search("Lotsen")  # the outbox is applied before this search's count
    statements = []

    def count(_connection, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        hit = services.search("Werkzeuge").hits[0]
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert "<mark>Werkzeuge</mark>" in str(hit.snippet) and "**" not in str(hit.snippet)
    assert not any("FROM revisions" in statement for statement in statements)


def test_suggestion_for_misspelt_words(corpus):
    results = services.search("Digitalisierungslotsn")
    assert results.suggestion == "Digitalisierungslotsen"
    assert results.corrected
    assert titles(results)[0] == "Digitalisierungslotsen in jedem Amt"
    missing_umlaut = services.search("Mobilitat")
    assert missing_umlaut.suggestion == "Mobilität"
    assert missing_umlaut.total == 1 and not missing_umlaut.corrected
    assert services.search("Mobilität").suggestion is None
    assert services.search("Lotsen").suggestion is None
    assert services.search("Xylophonorchester").suggestion is None


def test_and_without_results_relaxes_to_or(corpus):
    results = services.search("Lotsen Quarkbrötchen")
    assert results.relaxed and results.total >= 1


def test_every_change_reaches_the_index(corpus, anna, app):
    experience = corpus["eakte"]
    wiki.update_experience(anna, experience, experience.current_revision_id,
                           title="Die E-Akte im Standesamt")
    db.session.commit()
    assert titles(services.search("Standesamt")) == ["Die E-Akte im Standesamt"]
    wiki.unpublish(anna, experience)
    db.session.commit()
    assert services.search("Standesamt").total == 0
    wiki.publish(anna, experience)
    db.session.commit()
    assert services.search("Standesamt").total == 1
    first = experience.revisions[0]
    wiki.restore_revision(anna, experience, first)
    db.session.commit()
    assert services.search("Standesamt").total == 0
    assert titles(services.search("Bürgerbüro"))[0] == "Einführung der E-Akte im Bürgerbüro"
    wiki.delete_experience(anna, experience)
    db.session.commit()
    assert services.search("Bürgerbüro").total == 0
    assert pending_count() == 0


def test_outbox_is_applied_once_and_replay_is_harmless(corpus, app):
    assert pending_count() > 0
    applied = apply_outbox(blocking=True)
    assert applied > 0 and pending_count() == 0
    count = get_engine().doc_count()
    from exchange.search.models import IndexTask

    for experience in corpus.values():  # replay everything again
        db.session.add(IndexTask(experience_id=experience.id))
    db.session.add(IndexTask(experience_id=999999))  # an experience that does not exist
    db.session.commit()
    apply_outbox(blocking=True)
    assert get_engine().doc_count() == count == 5
    assert pending_count() == 0


def test_without_apply_on_query_the_index_waits_for_the_worker(app, corpus, anna):
    apply_outbox(blocking=True)
    app.config["SEARCH_APPLY_OUTBOX_ON_QUERY"] = False
    wiki.create_experience(anna, anna.city, "Telefonanlage erneuert", "VoIP überall.",
                           status="published")
    db.session.commit()
    assert services.search("Telefonanlage").total == 0
    assert pending_count() == 1
    apply_outbox(blocking=True)
    assert services.search("Telefonanlage").total == 1


def test_busy_writer_lock_means_search_reads_current_index(app, corpus, anna):
    apply_outbox(blocking=True)
    wiki.create_experience(anna, anna.city, "Telefonanlage erneuert", "VoIP überall.",
                           status="published")
    db.session.commit()
    lock_path = Path(app.config["INDEX_DIR"]) / "writer.lock"
    with open(lock_path, "a+") as handle:  # another "process" holds the writer lock
        fcntl.flock(handle, fcntl.LOCK_EX)
        results = services.search("Lotsen")
        assert results.total >= 1
        assert services.search("Telefonanlage").total == 0
        assert pending_count() == 1
        fcntl.flock(handle, fcntl.LOCK_UN)
    assert services.search("Telefonanlage").total == 1
    assert pending_count() == 0


def test_missing_index_is_rebuilt_with_a_warning(app, corpus, caplog):
    apply_outbox(blocking=True)
    engine = get_engine()
    engine.close()
    import shutil

    shutil.rmtree(app.config["INDEX_DIR"])
    with caplog.at_level(logging.WARNING, logger="exchange.search"):
        results = services.search("Lotsen")
    assert results.total >= 1
    assert any("rebuilding" in record.getMessage() for record in caplog.records)


def test_corrupt_index_is_rebuilt_with_a_warning(app, corpus, caplog):
    apply_outbox(blocking=True)
    engine = get_engine()
    engine.close()
    for toc in engine.current_path().glob("*.toc"):
        toc.write_bytes(b"garbage, not a Whoosh table of contents")
    with caplog.at_level(logging.WARNING, logger="exchange.search"):
        results = services.search("Lotsen")
    assert results.total >= 1
    assert any("rebuilding" in record.getMessage() for record in caplog.records)


def test_reindex_swaps_generations_while_searches_keep_working(app, corpus):
    apply_outbox(blocking=True)
    engine = get_engine()
    before = engine.current_generation()
    assert services.search("Lotsen").total >= 1  # a searcher is open on the old generation
    assert reindex() == 5
    after = engine.current_generation()
    assert after != before
    assert services.search("Lotsen").total >= 1
    reindex()
    generations = sorted(path.name for path in Path(app.config["INDEX_DIR"]).glob("gen-*"))
    assert before not in generations and len(generations) == 2  # current + previous
    info = status()
    current = engine.current_generation()
    assert {key: info[key] for key in ("database", "index", "missing", "stale", "pending",
                                       "generation", "serving", "damaged")} == {
        "database": 5, "index": 5, "missing": 0, "stale": 0, "pending": 0,
        "generation": current, "serving": current, "damaged": []}
    assert info["worker"] == "absent" and info["rebuild_requested"] is False


def test_search_inside_an_unfinished_write_does_not_wait_for_its_own_lock(app, corpus, anna,
                                                                           caplog):
    apply_outbox(blocking=True)
    experience = corpus["eakte"]
    wiki.update_experience(anna, experience, experience.current_revision_id,
                           title="Die E-Akte im Standesamt")
    db.session.flush()  # this unit of work has written and not committed
    with caplog.at_level(logging.WARNING, logger="exchange.search"):
        results = services.search("Lotsen")
    assert results.total >= 1
    assert not [r for r in caplog.records if "locked" in r.getMessage()]
    db.session.commit()
    assert titles(services.search("Standesamt")) == ["Die E-Akte im Standesamt"]
    assert pending_count() == 0


def test_year_facet_uses_the_berlin_date_shown_on_the_page(anna, make_experience, app, client,
                                                          auth):
    """Published on 31 Dec 2025 at 23:30 UTC is 1 Jan 2026 in Germany: the page shows
    01.01.2026, so the year facet and filter say 2026 too."""
    from datetime import datetime

    experience = make_experience(anna, "Silvesterbericht Feuerwerk", "Ein Bericht zum Jahreswechsel.")
    experience.published_at = datetime(2025, 12, 31, 23, 30)
    wiki_summer = make_experience(anna, "Sommerbericht Feuerwerk", "Ein Bericht im Sommer.")
    wiki_summer.published_at = datetime(2025, 7, 1, 21, 59)  # 23:59 in Berlin, same day
    db.session.commit()
    reindex()
    results = services.search("Feuerwerk")
    assert results.facets["year"] == {"2025": 1, "2026": 1}
    assert titles(services.search("Feuerwerk", year="2026")) == ["Silvesterbericht Feuerwerk"]
    assert titles(services.search("Feuerwerk", year="2025")) == ["Sommerbericht Feuerwerk"]
    auth.login()
    page = client.get("/suche?q=Silvesterbericht").get_data(as_text=True)
    assert "01.01.2026" in page


def test_rebuild_with_two_writer_processes(app, corpus):
    """SEARCH_WRITER_PROCS = 2: reindex runs Whoosh's multiprocessing writer, same results."""
    before = titles(services.search("Lotsen"))
    app.config["SEARCH_WRITER_PROCS"] = 2
    try:
        assert reindex() == 5
        assert get_engine().procs == 2
        assert titles(services.search("Lotsen")) == before
    finally:
        app.config["SEARCH_WRITER_PROCS"] = 1
        get_engine()


def test_synonyms_are_cached_until_the_taxonomy_changes(app, corpus, topics):
    """Aliases are read once per taxonomy version, not on every search."""
    from exchange.cities.models import TopicAlias
    from exchange.matching.models import TAXONOMY
    from exchange.matching.snapshot import cache

    services.search("e-file")
    builds = cache(TAXONOMY).builds
    assert services.search("e-file").total >= 1 and services.search("Lotsen").total >= 1
    assert cache(TAXONOMY).builds == builds
    assert services.search("Schriftgutverwaltung").total == 0
    topics["eakte"].aliases.append(TopicAlias(alias="Schriftgutverwaltung"))
    db.session.commit()
    assert services.search("Schriftgutverwaltung").total >= 1  # the new alias, at once
    assert cache(TAXONOMY).builds == builds + 1
