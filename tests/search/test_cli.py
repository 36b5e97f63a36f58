"""flask --app exchange search reindex | status | apply."""
from pathlib import Path

from exchange.extensions import db
from exchange.search.indexer import get_engine, pending_count
from exchange.wiki import services as wiki


def test_reindex_builds_a_new_generation(runner, app, corpus):
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "5 Dokumente indexiert" in result.output
    first = get_engine().current_generation()
    assert (Path(app.config["INDEX_DIR"]) / first).is_dir()
    runner.invoke(args=["search", "reindex"])
    assert get_engine().current_generation() != first
    assert pending_count() == 0


def test_status_reports_database_index_and_outbox(runner, app, corpus, anna):
    result = runner.invoke(args=["search", "status"])
    assert "Index: fehlt" in result.output
    runner.invoke(args=["search", "reindex"])
    wiki.create_experience(anna, anna.city, "Neue Seite zur Telefonie", "Text",
                           status="published")
    db.session.commit()
    result = runner.invoke(args=["search", "status"])
    assert result.exit_code == 0
    assert "Datenbank (veröffentlicht): 6" in result.output
    assert "Index: 5 (fehlend: 1, veraltet: 0)" in result.output
    assert "Ausstehend (Outbox): 1" in result.output
    result = runner.invoke(args=["search", "apply"])
    assert "1 Outbox-Einträge angewendet" in result.output
    result = runner.invoke(args=["search", "status"])
    assert "Index: 6 (fehlend: 0, veraltet: 0)" in result.output
    assert "Ausstehend (Outbox): 0" in result.output


def test_reindex_indexes_each_document_once_not_again_from_the_outbox(runner, app, corpus):
    """After a bulk import every page waits in the outbox; the rebuild covers them."""
    from exchange.search import indexer

    assert pending_count() >= 5  # the corpus was written, nothing applied yet
    indexed = []
    original = indexer.published_documents

    def counting(session, ids=None):
        documents = original(session, ids)
        indexed.extend(document.id for document in documents)
        return documents

    indexer.published_documents = counting
    try:
        assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    finally:
        indexer.published_documents = original
    assert sorted(indexed) == sorted(set(indexed)) and len(indexed) == 5
    assert pending_count() == 0
