"""Creating a page with the slug of another city's draft must not reveal that the draft
exists (issue 9, leaks): the new page quietly gets the next free slug, as a title does;
a taken slug the writer can read is still a form error."""
import pytest

from exchange.extensions import db
from exchange.wiki import services
from exchange.wiki.services import WikiError


@pytest.fixture
def munich_draft(make_experience, max_muenchen):
    """Munich's unpublished plan, which Stuttgart must not learn about."""
    return make_experience(max_muenchen, title="Geheimer Plan Bürgerkonto",
                           slug="geheimer-plan", status="draft")


def test_service_picks_a_free_slug_for_a_hidden_draft(anna, munich_draft):
    experience = services.create_experience(anna, anna.city, "Unser Plan", "Text",
                                            slug="geheimer-plan")
    db.session.commit()
    assert experience.slug == "geheimer-plan-2"
    assert services.get_experience("geheimer-plan") == munich_draft


def test_readable_slug_is_still_an_error(anna, max_muenchen, munich_draft, make_experience):
    published = make_experience(max_muenchen, title="Offen", slug="offen")
    with pytest.raises(WikiError) as caught:
        services.create_experience(anna, anna.city, "Auch offen", "Text", slug=published.slug)
    assert "schon vergeben" in caught.value.errors["slug"]
    db.session.rollback()
    # The draft's own city sees it, so for Munich it is an error too.
    with pytest.raises(WikiError):
        services.create_experience(max_muenchen, max_muenchen.city, "Noch ein Plan", "Text",
                                   slug="geheimer-plan")


def test_deleted_page_is_not_revealed_either(anna, make_experience, cdo_stuttgart):
    old = make_experience(anna, title="Alt", slug="alt")
    services.delete_experience(cdo_stuttgart, old)
    db.session.commit()
    experience = services.create_experience(anna, anna.city, "Neu", "Text", slug="alt")
    assert experience.slug == "alt-2"


def test_long_slug_stays_within_the_limit(anna, make_experience, max_muenchen):
    slug = "a" * services.MAX_SLUG
    make_experience(max_muenchen, title="Lang", slug=slug, status="draft")
    experience = services.create_experience(anna, anna.city, "Lang", "Text", slug=slug)
    assert len(experience.slug) <= services.MAX_SLUG and experience.slug.endswith("-2")


def test_page_and_api_do_not_say_taken(client, login, anna, munich_draft, api):
    login(anna)
    response = client.post("/erfahrungen/neu", data={
        "title": "Unser Plan", "kind": "practice", "topics": [], "body": "Text",
        "contact_name": "", "contact_email": "", "status": "draft", "summary": "",
        "slug": "geheimer-plan"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/erfahrungen/geheimer-plan-2")
    response = api(anna).post("/api/v1/experiences", json={
        "title": "Unser zweiter Plan", "body": "Text", "slug": "geheimer-plan"})
    assert response.status_code == 201, response.json
    assert response.json["slug"] == "geheimer-plan-3"
    assert "Bürgerkonto" not in response.get_data(as_text=True)
