"""Parsing user queries: phrases, exclusions, OR, synonyms, and input that must not fail."""
import pytest

from exchange.search.engine import Alternative, Clause
from exchange.search.query import SynonymGroup, SynonymTable, parse_query


@pytest.fixture(scope="module")
def synonyms():
    return SynonymTable([
        SynonymGroup(("eAkte", "e-file", "E-Akte", "elektronische Akte")),
        SynonymGroup(("OZG-Umsetzung", "OZG", "Onlinezugangsgesetz")),
    ])


def test_words_become_required_clauses():
    plan = parse_query("Akte Bürgerbüro")
    assert plan.match_all
    assert plan.clauses == (Clause((Alternative(("Akte",)),)),
                            Clause((Alternative(("Bürgerbüro",)),)))


def test_phrase_in_quotes():
    plan = parse_query('"elektronische Akte" Schulung')
    assert plan.clauses[0].alternatives[0].words == ("elektronische", "Akte")
    assert plan.clauses[0].alternatives[0].is_phrase
    assert plan.clauses[1].alternatives[0].words == ("Schulung",)


@pytest.mark.parametrize("text", [
    '"unbalanced quote', 'Akte"', '"""', "AND OR NOT", "((Akte", "Akte:", "*", "~~^^",
    "-", "+", "Akte -", "NICHT", '" "', "\x00\x01", "ä" * 5000, "🙂 Akte", "OR Akte OR",
])
def test_odd_input_never_raises(text):
    plan = parse_query(text)
    assert all(alternative.words for clause in plan.clauses for alternative in clause.alternatives)


@pytest.mark.parametrize("text", ["", "   ", "der die das", '""', "AND OR", "-Akte"])
def test_empty_or_meaningless_query_gives_empty_plan(text):
    assert parse_query(text).is_empty


def test_unbalanced_quote_keeps_the_words():
    plan = parse_query('"elektronische Akte')
    words = [clause.alternatives[0].words for clause in plan.clauses]
    assert words == [("elektronische",), ("Akte",)]


def test_exclusion_and_or():
    plan = parse_query("Akte -Papier")
    assert [clause.exclude for clause in plan.clauses] == [False, True]
    plan = parse_query("Akte NICHT Papier")
    assert [clause.exclude for clause in plan.clauses] == [False, True]
    assert not parse_query("Akte ODER Papier").match_all


def test_alias_expands_to_the_other_names(synonyms):
    plan = parse_query("OZG Erfahrungen", synonyms)
    first = plan.clauses[0]
    assert first.alternatives[0] == Alternative(("OZG",))
    others = {alternative.words for alternative in first.alternatives[1:]}
    assert ("Onlinezugangsgesetz",) in others and ("OZG-Umsetzung",) in others
    assert all(alternative.weight < 1 for alternative in first.alternatives[1:])
    assert plan.clauses[1].alternatives == (Alternative(("Erfahrungen",)),)


def test_multi_word_alias_is_recognised(synonyms):
    plan = parse_query("elektronische Akte einführen", synonyms)
    assert plan.clauses[0].alternatives[0].words == ("elektronische", "Akte")
    assert ("eAkte",) in {alternative.words for alternative in plan.clauses[0].alternatives}
    assert len(plan.clauses) == 2


def test_alias_spelling_variants_match(synonyms):
    for text in ("eakte", "E-Akte", "e-file", '"elektronische Akte"'):
        plan = parse_query(text, synonyms)
        assert len(plan.clauses[0].alternatives) > 1, text
