"""Delegation members are looked up only among approved, active users of the visit's two
cities: a planner cannot read other people's names and addresses by trying ids or
e-mail addresses (issue 9, leaks)."""
import pytest

from exchange.auth.services import deactivate_user
from exchange.extensions import db
from exchange.visits import services
from exchange.visits.services import VisitError
from tests.conftest import PASSWORD


@pytest.fixture
def outsiders(make_user, make_city, admin):
    """People a Stuttgart–Munich delegation must not reveal: the platform admin, a user of
    a third city and a pending registration of Munich."""
    koeln = make_city("koeln", "Köln", "Nordrhein-Westfalen")
    from exchange.cities.models import City
    muenchen = db.session.scalar(db.select(City).where(City.slug == "muenchen"))
    return {"admin": admin,
            "koeln": make_user("eva@koeln.example", city=koeln, display_name="Eva Köln"),
            "pending": make_user("neu@muenchen.example", city=muenchen,
                                 display_name="Nina Neu", is_approved=False)}


def test_service_refuses_people_outside_the_two_cities(planer_stuttgart, make_visit, muenchen,
                                                        stuttgart, outsiders, max_muenchen):
    visit = make_visit(planer_stuttgart, muenchen, stuttgart)
    for person in outsiders.values():
        for reference in (person.id, person.email, str(person.id)):
            with pytest.raises(VisitError) as caught:
                services.add_member(planer_stuttgart, visit, services.MemberSpec(user=reference))
            db.session.rollback()
            assert "Unbekanntes Delegationsmitglied" in caught.value.message
            assert person.display_name not in caught.value.message
    deactivate_user(max_muenchen)
    db.session.commit()
    with pytest.raises(VisitError):
        services.add_member(planer_stuttgart, visit, services.MemberSpec(user=max_muenchen.id))
    db.session.rollback()
    assert visit.members == []


def test_create_visit_refuses_outsiders_too(planer_stuttgart, muenchen, stuttgart, outsiders):
    from datetime import datetime
    with pytest.raises(VisitError) as caught:
        services.create_visit(planer_stuttgart, title="Besuch", host_city=muenchen,
                              visiting_city=stuttgart, starts_at=datetime(2027, 4, 20, 9),
                              ends_at=datetime(2027, 4, 20, 17),
                              members=[{"user": outsiders["admin"].id}])
    assert "members-0" in caught.value.errors


def test_api_does_not_reveal_name_or_email(client, planer_stuttgart, make_visit, muenchen,
                                           stuttgart, outsiders, anna, auth):
    visit = make_visit(planer_stuttgart, muenchen, stuttgart)
    auth.login("planer@stuttgart.example", PASSWORD)
    url = f"/api/v1/visits/{visit.id}/members"
    for person in outsiders.values():
        response = client.post(url, json={"user": person.id})
        assert response.status_code == 422, response.get_json()
        text = response.get_data(as_text=True)
        assert person.email not in text and person.display_name not in text
    response = client.get(f"/api/v1/visits/{visit.id}")
    assert response.get_json()["members"] == []
    # A user of one of the two cities is still found, by id as by address.
    response = client.post(url, json={"user": anna.id})
    assert response.status_code == 201 and response.get_json()["email"] == anna.email


def test_page_form_does_not_reveal_outsiders(client, planer_stuttgart, make_visit, muenchen,
                                             stuttgart, outsiders, auth):
    visit = make_visit(planer_stuttgart, muenchen, stuttgart)
    auth.login("planer@stuttgart.example", PASSWORD)
    response = client.post(f"/besuche/{visit.id}/mitglieder",
                           data={"email": outsiders["admin"].email, "side": "guest"})
    assert response.status_code == 400
    assert "Unbekanntes Delegationsmitglied" in response.get_data(as_text=True)
    assert outsiders["admin"].display_name not in response.get_data(as_text=True)


def test_trusted_command_may_still_add_anyone(planer_stuttgart, make_visit, muenchen, stuttgart,
                                              outsiders):
    visit = make_visit(planer_stuttgart, muenchen, stuttgart)
    member = services.add_member(None, visit, services.MemberSpec(user=outsiders["koeln"].id))
    assert member.user == outsiders["koeln"]
