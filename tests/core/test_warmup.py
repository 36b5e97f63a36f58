"""The start-up warm-up of a web process opens the index and builds the cached models."""
from exchange.extensions import db
from exchange.matching.models import MATCHING, TAXONOMY
from exchange.matching.snapshot import cache
from exchange.search.indexer import get_engine, reindex
from exchange.warmup import warm_in_background


def test_warm_up_opens_the_index_and_builds_the_models(app, anna, make_topic):
    make_topic("eakte", "eAkte", aliases=("E-Akte",))
    reindex()
    get_engine().close()
    before = cache(MATCHING).builds, cache(TAXONOMY).builds
    warm_in_background(app).join(60)
    assert cache(MATCHING).builds == before[0] + 1
    assert cache(TAXONOMY).builds == before[1] + 1
    assert get_engine()._searcher is not None  # the index is open
    db.session.rollback()


def test_warm_up_without_an_index_does_not_fail(app, caplog):
    warm_in_background(app).join(60)
    assert any("not warmed" in record.getMessage() for record in caplog.records)
