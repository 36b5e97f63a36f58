"""The story on the demo data: Stuttgart's partners and why München fits."""
import pytest

from exchange.cities.models import City
from exchange.demo import load_demo
from exchange.extensions import db
from exchange.matching.services import explain_pair, find_partners


@pytest.fixture
def demo(app):
    load_demo()
    db.session.commit()
    return {city.slug: city for city in db.session.scalars(db.select(City))}


def test_stuttgart_finds_muenchen_first_with_the_story_reasons(demo):
    matches = find_partners(demo["stuttgart"])
    best = matches[0]
    assert best.city.slug == "muenchen"
    assert best.transfer_score > 0 and best.joint_score > 0
    assert all(best.score >= other.score for other in matches[1:])
    reasons = {(r.topic.slug, r.direction): r for r in best.reasons}
    for key in [("innovation-center", "they_offer"), ("webauftritt", "they_offer"),
                ("mobilitaet", "we_offer"), ("ozg-umsetzung", "joint_working"),
                ("eakte", "joint_working"), ("kollaboration", "joint_working"),
                ("dms", "joint_seeking")]:
        assert key in reasons, key
    assert reasons[("innovation-center", "they_offer")].text == (
        "München bietet Erfahrung zu Innovation-Center (Reife 5), Stuttgart sucht sie (Reife 1)")
    web = reasons[("webauftritt", "they_offer")]
    assert [e.slug for e in web.evidence] == ["muenchen-digital-relaunch-des-stadtportals"]
    mobility = reasons[("mobilitaet", "we_offer")]
    assert (mobility.our_maturity, mobility.their_maturity) == (5, 2)
    assert "mobilitaetsdaten-auf-einer-plattform-buendeln" in [e.slug for e in mobility.evidence]
    assert not any(r.inferred_from_wiki for r in best.reasons
                   if r.topic.slug in ("innovation-center", "webauftritt", "mobilitaet"))


def test_story_pages_and_api(demo, client, auth):
    auth.login("cdo@stuttgart.example", "exchange-demo")
    html = client.get("/partner").get_data(as_text=True)
    first_card = html[html.index('class="card match-card"'):]
    assert first_card.index("München") < first_card.index("</article>")
    data = client.get("/api/v1/cities/stuttgart/matches?limit=3").get_json()
    assert data["matches"][0]["city"] == "muenchen"
    joint = client.get("/api/v1/cities/stuttgart/matches?kind=joint").get_json()
    assert joint["matches"][0]["city"] == "muenchen"
    html = client.get("/staedte/muenchen").get_data(as_text=True)
    assert "Warum passt München zu meiner Stadt?" in html
    assert "muenchen.digital: Relaunch des Stadtportals" in html


def test_muenchen_sees_stuttgart_for_mobility(demo):
    match = explain_pair(demo["muenchen"], demo["stuttgart"])
    reasons = {(r.topic.slug, r.direction) for r in match.reasons}
    assert ("mobilitaet", "they_offer") in reasons
    assert ("innovation-center", "we_offer") in reasons
