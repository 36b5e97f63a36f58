"""Issue 12: a city that offers a topic is a partner for one that works on it.

In the world fixture Karlsruhe offers eAkte at maturity 4 and Stuttgart works on eAkte at
3; München works on eAkte at 2. Before the fix neither the topic page nor the API
suggested Karlsruhe to Stuttgart (offers × working_on counted nothing).
"""
from flask_babel import force_locale

from exchange.matching.scoring import OFFER_WORKING_WEIGHT
from exchange.matching.services import explain_pair, find_partners

TEXT = "Karlsruhe bietet Erfahrung zu eAkte (Reife 4), Stuttgart arbeitet daran (Reife 3)"


def by_city(matches):
    return {m.city.slug: m for m in matches}


def reasons_of(match):
    return {(r.topic.slug, r.direction): r for r in match.reasons}


def test_stuttgart_working_on_eakte_finds_karlsruhe_offering_it(world):
    matches = by_city(find_partners(world.stuttgart, topic="eakte"))
    assert "karlsruhe" in matches
    karlsruhe = matches["karlsruhe"]
    reason = reasons_of(karlsruhe)[("eakte", "they_offer_working")]
    assert reason.text == TEXT
    assert (reason.their_maturity, reason.our_maturity) == (4, 3)
    assert reason.kind == "transfer" and not reason.inferred_from_wiki
    assert karlsruhe.transfer_score > 0 and karlsruhe.joint_score == 0
    # München, who works on it too, stays a joint-project partner on the topic.
    assert set(matches) == {"muenchen", "karlsruhe"}
    assert set(reasons_of(matches["muenchen"])) == {("eakte", "joint_working")}
    # The named weight: an offer meeting a city at work on it counts OFFER_WORKING_WEIGHT
    # of an offer meeting a seeker at the same maturity.
    assert 0 < OFFER_WORKING_WEIGHT < 1


def test_the_mirror_karlsruhe_finds_the_cities_working_on_what_it_offers(world):
    matches = by_city(find_partners(world.karlsruhe, topic="eakte"))
    assert set(matches) == {"stuttgart", "muenchen"}
    stuttgart = reasons_of(matches["stuttgart"])[("eakte", "we_offer_working")]
    # Seen from Karlsruhe the sentence names the same facts.
    assert stuttgart.text == TEXT
    assert (stuttgart.our_maturity, stuttgart.their_maturity) == (4, 3)
    muenchen = reasons_of(matches["muenchen"])[("eakte", "we_offer_working")]
    assert muenchen.text == ("Karlsruhe bietet Erfahrung zu eAkte (Reife 4), München "
                             "arbeitet daran (Reife 2)")
    # München is two levels behind, Stuttgart one: the maturity gap ranks München first.
    assert [m.city.slug for m in find_partners(world.karlsruhe, topic="eakte")] == [
        "muenchen", "stuttgart"]
    # Both views give the pair the same scores.
    there = explain_pair(world.karlsruhe, world.stuttgart)
    back = explain_pair(world.stuttgart, world.karlsruhe)
    assert (there.transfer_score, there.joint_score) == (back.transfer_score, back.joint_score)


def test_the_pairing_counts_without_a_topic_filter_and_for_kind_transfer(world):
    assert "karlsruhe" in by_city(find_partners(world.stuttgart, kind="transfer"))
    match = explain_pair(world.stuttgart, world.karlsruhe)
    assert ("eakte", "they_offer_working") in reasons_of(match)
    assert ("ozg", "joint_working") in reasons_of(match)
    assert match.score == by_city(find_partners(world.stuttgart))["karlsruhe"].score


def test_reason_texts_in_english(world, app):
    with app.test_request_context(), force_locale("en"):
        stuttgart = explain_pair(world.stuttgart, world.karlsruhe)
        karlsruhe = explain_pair(world.karlsruhe, world.stuttgart)
    expected = ("Karlsruhe offers experience on eAkte (maturity 4), Stuttgart is working on "
                "it (maturity 3)")
    assert reasons_of(stuttgart)[("eakte", "they_offer_working")].text == expected
    assert reasons_of(karlsruhe)[("eakte", "we_offer_working")].text == expected


def test_wiki_evidence_backs_and_infers_the_offer(world, make_user, make_experience):
    author = make_user("it@karlsruhe.example", city=world.karlsruhe)
    report = make_experience(author, title="Die eAkte in Karlsruhe", topics=[world.eakte])
    reason = reasons_of(explain_pair(world.stuttgart, world.karlsruhe))[
        ("eakte", "they_offer_working")]
    assert reason.evidence == [report] and not reason.inferred_from_wiki
    # München published on eAkte without offering it: inferred, at its working maturity.
    writer = make_user("it@muenchen.example", city=world.muenchen)
    make_experience(writer, title="eAkte-Einführung in München", topics=[world.eakte])
    inferred = reasons_of(explain_pair(world.stuttgart, world.muenchen))[
        ("eakte", "they_offer_working")]
    assert inferred.inferred_from_wiki and inferred.their_maturity == 2
    assert inferred.text == ("München hat Erfahrungen zu eAkte im Wiki veröffentlicht (aus "
                             "dem Wiki abgeleitet), Stuttgart arbeitet daran (Reife 3)")


def test_api_suggests_karlsruhe_with_the_new_direction(client, world, anna, token_for):
    headers = {"Authorization": f"Bearer {token_for(anna, 'issue 12')}"}
    data = client.get("/api/v1/cities/stuttgart/matches?topic=eakte", headers=headers).get_json()
    matches = {m["city"]: m for m in data["matches"]}
    assert "karlsruhe" in matches
    [reason] = matches["karlsruhe"]["reasons"]
    assert reason["direction"] == "they_offer_working" and reason["topic"] == "eakte"
    assert (reason["their_maturity"], reason["our_maturity"]) == (4, 3)
    assert reason["text"] == TEXT and reason["weight"] > 0
    assert matches["karlsruhe"]["transfer_score"] > 0
    # The mirror, from Karlsruhe's side.
    data = client.get("/api/v1/cities/karlsruhe/matches?topic=eakte", headers=headers).get_json()
    stuttgart = {m["city"]: m for m in data["matches"]}["stuttgart"]
    assert [r["direction"] for r in stuttgart["reasons"]] == ["we_offer_working"]


def test_topic_page_suggests_karlsruhe_with_label_and_reason(client, auth, anna, world):
    auth.login()
    html = client.get("/themen/eakte").get_data(as_text=True)
    section = html[html.index("Passende Partner für Stuttgart zu diesem Thema"):]
    assert "Karlsruhe" in section and TEXT in section
    assert 'class="reason-they_offer_working"' in section
    assert "Wissen holen für laufende Arbeit" in section


def test_agenda_turns_the_new_directions_into_transfer_sessions():
    from exchange.matching.scoring import DIRECTIONS
    from exchange.visits.agenda import DIRECTION_KIND

    assert set(DIRECTIONS) <= set(DIRECTION_KIND)
    assert DIRECTION_KIND["they_offer_working"] == DIRECTION_KIND["they_offer"]
    assert DIRECTION_KIND["we_offer_working"] == DIRECTION_KIND["we_offer"]
