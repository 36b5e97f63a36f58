"""Relevance: recall@10 and nDCG@10 on a judged German query set, ours vs. plain Whoosh."""
import importlib.util
from pathlib import Path

import pytest


def _load_relevance_set():
    """The judged set module, shared with benchmarks/search_bench.py (loaded by path)."""
    path = Path(__file__).with_name("relevance_set.py")
    spec = importlib.util.spec_from_file_location("search_relevance_set", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_set = _load_relevance_set()
JUDGEMENTS, NDCG_THRESHOLD, RECALL_THRESHOLD = (_set.JUDGEMENTS, _set.NDCG_THRESHOLD,
                                                _set.RECALL_THRESHOLD)
evaluate = _set.evaluate


@pytest.fixture(scope="module")
def metrics():
    return evaluate()


def test_the_judged_set_is_big_enough():
    assert len(JUDGEMENTS) >= 40


def test_our_analysis_reaches_the_thresholds(metrics):
    assert metrics["ours"]["recall@10"] >= RECALL_THRESHOLD, metrics["ours"]["recall@10"]
    assert metrics["ours"]["ndcg@10"] >= NDCG_THRESHOLD, metrics["ours"]["ndcg@10"]


def test_plain_standard_analyzer_does_not(metrics):
    assert metrics["plain"]["recall@10"] < RECALL_THRESHOLD
    assert metrics["plain"]["ndcg@10"] < NDCG_THRESHOLD


@pytest.mark.parametrize("query", ["Lotsen", "Buergerbuero", "OZG", "document management",
                                   "Digitalisierng", "Management", "Städte"])
def test_key_queries_rank_a_judged_page_first(metrics, query):
    assert metrics["ours"]["rankings"][query][0] in JUDGEMENTS[query]
