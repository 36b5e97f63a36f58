"""Scoring on tiny hand-made matrices: directions, joint fit, rarity, maturity, tree, evidence."""
import math

import numpy as np
import pytest

from exchange.matching import scoring
from exchange.matching.scoring import (
    EVIDENCE_BONUS, EVIDENCE_WEIGHT, GAP_DOUBLING_LEVELS, JOINT_SEEKING_WEIGHT,
    JOINT_WORKING_WEIGHT, OFFER_WORKING_WEIGHT, TREE_DECAY,
)

OFFERS, SEEKS, WORKING = (scoring.STANCE_CODES[s] for s in ("offers", "seeks", "working_on"))
#: Four unrelated root topics unless a test builds a tree.
FLAT = [-1, -1, -1, -1]


def model(n_cities, interests, parent=FLAT, evidence=()):
    """Build a model from (city, topic, stance, maturity) tuples and (city, topic) evidence."""
    rows, cols, stances, maturity = zip(*interests) if interests else ((), (), (), ())
    ev_rows, ev_cols = zip(*evidence) if evidence else ((), ())
    return scoring.build_model(n_cities, parent, rows, cols, stances, maturity, ev_rows, ev_cols)


def directions(reasons):
    return {(r.topic, r.direction) for r in reasons}


def test_transfer_counts_both_directions():
    # City 0 seeks topic 0 that city 1 offers; city 1 seeks topic 1 that city 0 offers.
    m = model(2, [(0, 0, SEEKS, 3), (1, 0, OFFERS, 3), (1, 1, SEEKS, 3), (0, 1, OFFERS, 3)])
    transfer, joint = scoring.score_city(m, 0)
    one_way = model(2, [(0, 0, SEEKS, 3), (1, 0, OFFERS, 3)])
    single, _ = scoring.score_city(one_way, 0)
    assert joint[1] == 0
    assert transfer[1] == pytest.approx(2 * single[1])
    assert directions(scoring.explain(m, 0, 1)) == {(0, "they_offer"), (1, "we_offer")}
    # Seen from the other city the directions swap.
    assert directions(scoring.explain(m, 1, 0)) == {(0, "we_offer"), (1, "they_offer")}
    assert scoring.score_city(m, 1)[0][0] == pytest.approx(transfer[1])


def test_joint_fit_from_working_on_and_seeking_alike():
    m = model(3, [(0, 0, WORKING, 3), (1, 0, WORKING, 3), (0, 1, SEEKS, 3), (2, 1, SEEKS, 3)])
    transfer, joint = scoring.score_city(m, 0)
    assert transfer[1] == 0 and transfer[2] == 0
    assert joint[1] > 0 and joint[2] > 0
    # Same rarity for both topics, so the ratio is the ratio of the named weights.
    assert joint[2] / joint[1] == pytest.approx(JOINT_SEEKING_WEIGHT / JOINT_WORKING_WEIGHT)
    assert directions(scoring.explain(m, 0, 1)) == {(0, "joint_working")}
    assert directions(scoring.explain(m, 0, 2)) == {(1, "joint_seeking")}


def test_offer_and_working_on_make_a_transfer_fit_but_no_joint_fit():
    # Until issue 12 an offer meeting a city that works on the topic counted nothing.
    m = model(2, [(0, 0, OFFERS, 3), (1, 0, WORKING, 3)])
    transfer, joint = scoring.score_city(m, 0)
    assert transfer[1] > 0 and joint[1] == 0
    assert directions(scoring.explain(m, 0, 1)) == {(0, "we_offer_working")}
    assert directions(scoring.explain(m, 1, 0)) == {(0, "they_offer_working")}
    # An offer and a seek of different topics make nothing.
    m = model(2, [(0, 0, OFFERS, 3), (1, 1, SEEKS, 3)])
    assert scoring.score_city(m, 0)[0][1] == 0 and scoring.explain(m, 0, 1) == []


def test_offer_meeting_working_on_counts_with_its_own_weight_and_the_maturity_gap():
    working = model(2, [(0, 0, WORKING, 3), (1, 0, OFFERS, 4)])
    seeking = model(2, [(0, 0, SEEKS, 3), (1, 0, OFFERS, 4)])
    assert working.rarity[0] == pytest.approx(seeking.rarity[0])
    transfer, joint = scoring.score_city(working, 0)
    assert transfer[1] == pytest.approx(OFFER_WORKING_WEIGHT * scoring.score_city(seeking, 0)[0][1])
    assert transfer[1] == pytest.approx(
        working.rarity[0] * OFFER_WORKING_WEIGHT * 2 ** ((4 - 3) / GAP_DOUBLING_LEVELS))
    [reason] = scoring.explain(working, 0, 1)
    assert (reason.direction, reason.their_maturity, reason.our_maturity) == (
        "they_offer_working", 4, 3)
    assert reason.weight == pytest.approx(transfer[1])
    # The mirror: the same pair seen from the offering city, the same score.
    [mirror] = scoring.explain(working, 1, 0)
    assert (mirror.direction, mirror.our_maturity, mirror.their_maturity) == (
        "we_offer_working", 4, 3)
    assert scoring.score_city(working, 1)[0][0] == pytest.approx(transfer[1])
    assert scoring.pair_scores(working, 0, 1) == pytest.approx((transfer[1], 0.0))
    # An offer on the parent of the topic worked on counts through the tree, decayed.
    tree = model(2, [(0, 1, WORKING, 3), (1, 0, OFFERS, 4)], parent=[-1, 0])
    [reason] = scoring.explain(tree, 0, 1)
    assert (reason.direction, reason.our_origin, reason.their_origin) == (
        "they_offer_working", 1, 0)


def test_wiki_evidence_of_a_city_working_on_a_topic_serves_another_one_working_on_it():
    m = model(2, [(0, 0, WORKING, 2), (1, 0, WORKING, 4)], evidence=[(1, 0)])
    reasons = {r.direction: r for r in scoring.explain(m, 0, 1)}
    assert set(reasons) == {"joint_working", "they_offer_working"}
    assert reasons["they_offer_working"].inferred_from_wiki
    assert reasons["they_offer_working"].their_maturity == 4


def test_rarity_lets_a_niche_topic_outweigh_a_common_one():
    # Topic 0 is worked on by all six cities; topic 1 only by cities 0 and 1.
    interests = [(c, 0, WORKING, 3) for c in range(6)] + [(0, 1, WORKING, 3), (1, 1, WORKING, 3)]
    m = model(6, interests)
    assert m.rarity[1] > m.rarity[0]
    assert m.rarity[0] == pytest.approx(1.0)
    assert m.rarity[1] == pytest.approx(math.log(7 / 3) + 1)
    _, joint = scoring.score_city(m, 0)
    # City 1 shares the niche and the common topic; the niche part alone beats the common one.
    reasons = scoring.explain(m, 0, 1)
    assert [r.topic for r in reasons] == [1, 0]
    assert joint[1] > joint[2]
    assert joint[1] - joint[2] > joint[2]


def test_maturity_gap_makes_an_offer_worth_more():
    big_gap = model(2, [(0, 0, SEEKS, 1), (1, 0, OFFERS, 5)])
    no_gap = model(2, [(0, 0, SEEKS, 3), (1, 0, OFFERS, 3)])
    behind = model(2, [(0, 0, SEEKS, 5), (1, 0, OFFERS, 1)])
    big, _ = scoring.score_city(big_gap, 0)
    same, _ = scoring.score_city(no_gap, 0)
    low, _ = scoring.score_city(behind, 0)
    assert big[1] / same[1] == pytest.approx(2 ** (4 / GAP_DOUBLING_LEVELS))
    assert low[1] < same[1] < big[1]
    reason = scoring.explain(big_gap, 0, 1)[0]
    assert (reason.their_maturity, reason.our_maturity) == (5, 1)


def test_sub_topic_counts_partly_toward_its_parent():
    # 0 is the root, 1 its child, 2 the child's child.
    parent = [-1, 0, 1]
    m = model(2, [(0, 1, SEEKS, 3), (1, 2, OFFERS, 3)], parent=parent)
    direct = model(2, [(0, 1, SEEKS, 3), (1, 1, OFFERS, 3)], parent=parent)
    via_child, _ = scoring.score_city(m, 0)
    same_topic, _ = scoring.score_city(direct, 0)
    assert 0 < via_child[1] < same_topic[1]
    [reason] = scoring.explain(m, 0, 1)
    assert reason.topic == 1 and reason.their_origin == 2 and reason.our_origin == 1
    # The offer reaches topic 1 at TREE_DECAY; at the root both sides are only
    # propagated, which does not count.
    assert reason.weight == pytest.approx(m.rarity[1] * TREE_DECAY)
    assert via_child[1] == pytest.approx(reason.weight)
    # A seeker of the grandchild is served partly by an offer on its parent, too.
    general = model(2, [(0, 2, SEEKS, 3), (1, 1, OFFERS, 3)], parent=parent)
    [reason] = scoring.explain(general, 0, 1)
    assert (reason.topic, reason.our_origin, reason.their_origin) == (1, 2, 1)


def test_siblings_do_not_match_through_their_common_parent():
    # Both work on different children of the root: no joint fit at the root.
    m = model(2, [(0, 1, WORKING, 3), (1, 2, WORKING, 3)], parent=[-1, 0, 0])
    assert scoring.score_city(m, 0)[1][1] == 0
    assert scoring.explain(m, 0, 1) == []
    # A city working on the root itself does meet the child.
    m = model(2, [(0, 0, WORKING, 3), (1, 2, WORKING, 3)], parent=[-1, 0, 0])
    assert scoring.score_city(m, 0)[1][1] == pytest.approx(m.rarity[0] * TREE_DECAY)


def test_topic_mask_restricts_to_a_subtree():
    parent = [-1, 0, -1]
    m = model(2, [(0, 1, WORKING, 3), (1, 1, WORKING, 3), (0, 2, WORKING, 3),
                  (1, 2, WORKING, 3)], parent=parent)
    mask = scoring.subtree_mask(m.parent, 0)
    assert mask.tolist() == [True, True, False]
    _, joint = scoring.score_city(m, 0, mask)
    assert {r.topic for r in scoring.explain(m, 0, 1, mask)} == {1}
    assert joint[1] == pytest.approx(sum(r.weight for r in scoring.explain(m, 0, 1, mask)))
    _, unmasked = scoring.score_city(m, 0)
    assert unmasked[1] > joint[1]


def test_wiki_evidence_infers_an_offer_and_flags_it():
    m = model(2, [(0, 0, SEEKS, 1)], evidence=[(1, 0), (1, 0)])
    transfer, _ = scoring.score_city(m, 0)
    [reason] = scoring.explain(m, 0, 1)
    assert reason.direction == "they_offer" and reason.inferred_from_wiki
    declared = model(2, [(0, 0, SEEKS, 1), (1, 0, OFFERS, scoring.INFERRED_MATURITY)])
    declared_transfer, _ = scoring.score_city(declared, 0)
    assert transfer[1] == pytest.approx(EVIDENCE_WEIGHT * declared_transfer[1])
    assert not scoring.explain(declared, 0, 1)[0].inferred_from_wiki


def test_evidence_backs_a_declared_offer_but_not_a_seek():
    plain = model(2, [(0, 0, SEEKS, 2), (1, 0, OFFERS, 4)])
    backed = model(2, [(0, 0, SEEKS, 2), (1, 0, OFFERS, 4)], evidence=[(1, 0)])
    assert scoring.score_city(backed, 0)[0][1] == pytest.approx(
        (1 + EVIDENCE_BONUS) * scoring.score_city(plain, 0)[0][1])
    assert not scoring.explain(backed, 0, 1)[0].inferred_from_wiki
    # A city that seeks a topic and wrote about it still seeks it: no inferred offer.
    seeker = model(2, [(0, 0, SEEKS, 2), (1, 0, SEEKS, 2)], evidence=[(1, 0)])
    assert directions(scoring.explain(seeker, 0, 1)) == {(0, "joint_seeking")}


def test_inferred_offer_keeps_the_working_on_maturity():
    m = model(2, [(0, 0, SEEKS, 1), (1, 0, WORKING, 4)], evidence=[(1, 0)])
    reasons = {r.direction: r for r in scoring.explain(m, 0, 1)}
    assert reasons["they_offer"].inferred_from_wiki
    assert reasons["they_offer"].their_maturity == 4


def test_explanation_weights_add_up_to_the_scores():
    rng = np.random.default_rng(7)
    parent = [-1, 0, 0, 1, 1, 2, -1, 6]
    interests = {}
    for city in range(12):
        for topic in rng.choice(len(parent), size=4, replace=False):
            interests[(city, int(topic))] = (int(rng.integers(0, 3)), int(rng.integers(1, 6)))
    m = model(12, [(c, t, s, mat) for (c, t), (s, mat) in interests.items()], parent=parent,
              evidence=[(3, 5), (4, 7)])
    for city in range(12):
        transfer, joint = scoring.score_city(m, city)
        for other in range(12):
            if other == city:
                continue
            reasons = scoring.explain(m, city, other)
            kept = sum(r.weight for r in reasons)
            total = scoring.combine(transfer[other], joint[other])
            assert kept <= total + 1e-9
            assert kept >= (1 - len(scoring.DIRECTIONS) * 8 * scoring.REASON_MIN_SHARE) * total - 1e-9
            assert scoring.pair_scores(m, city, other) == pytest.approx(
                (transfer[other], joint[other]))


def test_all_top_k_agrees_with_one_city_at_a_time():
    rng = np.random.default_rng(3)
    parent = [-1, 0, 0, 1, -1, 4]
    interests = {(c, int(t)): (int(rng.integers(0, 3)), int(rng.integers(1, 6)))
                 for c in range(30) for t in rng.choice(6, size=3, replace=False)}
    m = model(30, [(c, t, s, mat) for (c, t), (s, mat) in interests.items()], parent=parent)
    best, best_scores = scoring.all_top_k(m, k=5, block=7)
    for city in range(30):
        combined = scoring.combine(*scoring.score_city(m, city))
        expected = scoring.top_k(combined, 5)
        got = best[city][best[city] >= 0]
        assert got.tolist() == expected.tolist()
        assert best_scores[city][: len(got)] == pytest.approx(combined[expected])
        assert city not in got


def test_top_k_orders_best_first_and_respects_candidates():
    scores = np.array([0.0, 3.0, 1.0, 3.0, 2.0, 0.0])
    assert scoring.top_k(scores, 3).tolist() == [1, 3, 4]
    candidates = np.array([True, False, True, True, True, True])
    assert scoring.top_k(scores, 10, candidates).tolist() == [3, 4, 2]
