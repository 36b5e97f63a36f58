"""find_partners / explain_pair on the database: ranking, filters, reasons, evidence."""
import pytest

from exchange.extensions import db
from exchange.matching import services
from exchange.matching.services import MatchError, UnknownTopic, explain_pair, find_partners


def by_city(matches):
    return {m.city.slug: m for m in matches}


def reason_keys(match):
    return {(r.topic.slug, r.direction) for r in match.reasons}


def test_muenchen_first_for_stuttgart_with_both_kinds_of_fit(world):
    matches = find_partners(world.stuttgart)
    assert matches[0].city == world.muenchen
    best = matches[0]
    assert best.transfer_score > 0 and best.joint_score > 0
    assert best.score == pytest.approx(best.transfer_score + best.joint_score, abs=1e-3)
    assert {("innovation", "they_offer"), ("web", "they_offer"), ("mobilitaet", "we_offer"),
            ("ozg", "joint_working"), ("eakte", "joint_working"),
            ("dms", "joint_seeking")} <= reason_keys(best)
    texts = [r.text for r in best.reasons]
    assert ("München bietet Erfahrung zu Innovation-Center (Reife 5), Stuttgart sucht sie "
            "(Reife 1)") in texts
    assert ("Stuttgart bietet Erfahrung zu Mobilität (Reife 5), München sucht sie "
            "(Reife 2)") in texts
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    assert world.stuttgart not in [m.city for m in matches]


def test_reasons_carry_maturities_and_are_strongest_first(world):
    match = explain_pair(world.stuttgart, world.muenchen)
    reasons = {(r.topic.slug, r.direction): r for r in match.reasons}
    innovation = reasons[("innovation", "they_offer")]
    assert (innovation.their_maturity, innovation.our_maturity) == (5, 1)
    assert innovation.kind == "transfer" and reasons[("eakte", "joint_working")].kind == "joint"
    weights = [r.weight for r in match.reasons]
    assert weights == sorted(weights, reverse=True)
    # The pair explanation gives the same scores as the ranking.
    ranked = by_city(find_partners(world.stuttgart))["muenchen"]
    assert (match.score, match.transfer_score, match.joint_score) == (
        ranked.score, ranked.transfer_score, ranked.joint_score)


def test_sub_topic_match_names_the_sub_topic(world):
    # Karlsruhe works on "OZG Mobilität & Reisen", Stuttgart on OZG as a whole.
    match = explain_pair(world.stuttgart, world.karlsruhe)
    [reason] = [r for r in match.reasons if r.direction == "joint_working"]
    assert reason.topic == world.ozg and reason.via == [world.ozg_mobil]
    assert "über das Unterthema OZG Mobilität & Reisen" in reason.text


def test_kind_filter(world):
    transfer = by_city(find_partners(world.stuttgart, kind="transfer"))
    # Karlsruhe offers eAkte, which Stuttgart works on (issue 12).
    assert set(transfer) == {"muenchen", "ulm", "karlsruhe"}
    assert all(m.transfer_score > 0 for m in transfer.values())
    joint = find_partners(world.stuttgart, kind="joint")
    assert [m.city.slug for m in joint] == ["muenchen", "karlsruhe"]
    assert all(m.joint_score > 0 for m in joint)


def test_topic_filter_restricts_to_the_subtree(world):
    matches = find_partners(world.stuttgart, topic="ozg")
    assert [m.city.slug for m in matches] == ["muenchen", "karlsruhe"]
    for match in matches:
        assert {r.topic.slug for r in match.reasons} <= {"ozg", "ozg-mobil"}
    # Only the topic's part of the score counts.
    assert matches[0].score < explain_pair(world.stuttgart, world.muenchen).score
    assert [m.city.slug for m in find_partners(world.stuttgart, topic=world.mobilitaet)] == [
        "muenchen", "ulm"]


def test_state_and_size_band_filters(world):
    in_bw = find_partners(world.stuttgart, state="Baden-Württemberg")
    assert "muenchen" not in by_city(in_bw) and {"ulm", "karlsruhe"} <= set(by_city(in_bw))
    assert [m.city.slug for m in find_partners(world.stuttgart, state="Bayern")] == ["muenchen"]
    assert find_partners(world.stuttgart, state="Bremen") == []
    assert [m.city.slug for m in find_partners(world.stuttgart, size_band="metropole")] == [
        "muenchen"]
    gross = set(by_city(find_partners(world.stuttgart, size_band="gross")))
    assert gross == {"ulm", "karlsruhe"}
    assert services.size_band_of(19_999) == "klein"
    assert services.size_band_of(20_000) == "mittel"
    assert services.size_band_of(None) is None


def test_limit(world):
    assert len(find_partners(world.stuttgart, limit=1)) == 1


@pytest.mark.parametrize("kwargs", [
    {"kind": "friendship"}, {"size_band": "riesig"}, {"state": "Bavaria"}, {"limit": 0},
    {"limit": 1000},
])
def test_bad_filters_raise_a_clear_error(world, kwargs):
    with pytest.raises(MatchError):
        find_partners(world.stuttgart, **kwargs)


def test_unknown_topic(world):
    with pytest.raises(UnknownTopic, match="Unbekanntes Thema"):
        find_partners(world.stuttgart, topic="gibt-es-nicht")


def test_explain_pair_refuses_the_own_city(world):
    with pytest.raises(MatchError):
        explain_pair(world.stuttgart, world.stuttgart)


def test_experiences_back_offers_and_infer_new_ones(world, make_user, make_experience):
    author = make_user("autorin@muenchen.example", city=world.muenchen)
    relaunch = make_experience(author, title="muenchen.digital: Relaunch des Stadtportals",
                               topics=[world.web])
    make_experience(author, title="Entwurf zum Innovation-Center", topics=[world.innovation],
                    status="draft")
    ulm_author = make_user("it@ulm.example", city=world.ulm)
    dms_report = make_experience(ulm_author, title="DMS-Ausschreibung in Ulm",
                                 topics=[world.dms])

    match = explain_pair(world.stuttgart, world.muenchen)
    reasons = {(r.topic.slug, r.direction): r for r in match.reasons}
    assert reasons[("web", "they_offer")].evidence == [relaunch]
    assert not reasons[("web", "they_offer")].inferred_from_wiki
    # Drafts are no evidence.
    assert reasons[("innovation", "they_offer")].evidence == []

    # Ulm did not say it offers DMS, but its published report makes it a DMS source.
    ulm = explain_pair(world.stuttgart, world.ulm)
    [dms] = [r for r in ulm.reasons if r.topic == world.dms]
    assert dms.direction == "they_offer" and dms.inferred_from_wiki
    assert dms.evidence == [dms_report]
    assert "aus dem Wiki abgeleitet" in dms.text


def test_evidence_counts_only_while_published(world, make_user, make_experience):
    from exchange.wiki.services import delete_experience

    author = make_user("it@ulm.example", city=world.ulm)
    report = make_experience(author, title="DMS-Ausschreibung in Ulm", topics=[world.dms])
    assert any(r.topic == world.dms for r in explain_pair(world.stuttgart, world.ulm).reasons)
    delete_experience(author, report)
    db.session.commit()
    assert not any(r.topic == world.dms
                   for r in explain_pair(world.stuttgart, world.ulm).reasons)


def test_active_joint_project_topics_are_excluded_unless_asked(world, make_user):
    from exchange.projects.services import propose_project, respond

    cdo = make_user("cdo@stuttgart.example", city=world.stuttgart, role="city_admin")
    cdo_m = make_user("cdo@muenchen.example", city=world.muenchen, role="city_admin")
    project = propose_project(cdo, "Gemeinsame eAkte", "Wir führen die eAkte gemeinsam ein.",
                              [world.eakte], [world.muenchen])
    respond(cdo_m, project, accept=True, message="Gerne!")
    db.session.commit()
    assert project.state == "active"

    before = explain_pair(world.stuttgart, world.muenchen)
    muenchen = by_city(find_partners(world.stuttgart))["muenchen"]
    assert ("eakte", "joint_working") not in reason_keys(muenchen)
    assert ("ozg", "joint_working") in reason_keys(muenchen)
    assert muenchen.joint_score < before.joint_score
    # Restricted to the project's topic, München drops out entirely.
    assert "muenchen" not in by_city(find_partners(world.stuttgart, topic="eakte"))
    # ... unless active partnerships are asked for.
    again = by_city(find_partners(world.stuttgart, include_active=True))["muenchen"]
    assert ("eakte", "joint_working") in reason_keys(again)
    assert again.score == before.score
    # Other partners are untouched.
    assert "karlsruhe" in by_city(find_partners(world.stuttgart, kind="joint"))


def test_visit_reports_are_no_evidence_of_an_offer(world, make_user, make_experience):
    author = make_user("it@ulm.example", city=world.ulm)
    make_experience(author, title="Besuchsbericht: DMS in München", topics=[world.dms],
                    kind="visit_report")
    assert not any(r.topic == world.dms for r in explain_pair(world.stuttgart, world.ulm).reasons)


def test_experiences_on_sub_topics_back_the_parent(world, make_user, make_experience,
                                                   set_interests):
    # Karlsruhe offers OZG as a whole and wrote about its OZG mobility services.
    set_interests(world.ulm, (world.ozg, "seeks", 1))
    author = make_user("it@karlsruhe.example", city=world.karlsruhe)
    general = make_experience(author, title="OZG in Karlsruhe", topics=[world.ozg])
    specific = make_experience(author, title="Online-Kfz-Zulassung", topics=[world.ozg_mobil])
    match = explain_pair(world.ulm, world.karlsruhe)
    [reason] = [r for r in match.reasons if r.direction == "they_offer"]
    assert reason.topic == world.ozg and reason.inferred_from_wiki
    assert reason.evidence == [general, specific]
