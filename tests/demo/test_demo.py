"""seed-demo: the contract's cities, logins and interests, real experiences, idempotence."""
import sqlalchemy as sa

from exchange.auth.models import User
from exchange.auth.services import authenticate
from exchange.cities.models import City, Interest, Topic
from exchange.demo import DEMO_PASSWORD, demo_experiences, load_demo
from exchange.extensions import db
from exchange.search.models import IndexTask
from exchange.wiki.models import Experience, Revision

TABLES = (City, User, Topic, Interest, Experience, Revision)


def counts():
    return {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in TABLES}


def interests_of(slug):
    city = db.session.scalar(sa.select(City).where(City.slug == slug))
    return {(i.topic.slug, i.stance, i.maturity) for i in city.interests}


def experience(slug):
    return db.session.scalar(sa.select(Experience).where(Experience.slug == slug))


def test_demo_is_idempotent(app):
    summary = load_demo()
    db.session.commit()
    assert "6 Städte" in summary and "16 Erfahrungen" in summary
    first = counts()
    assert first["City"] == 6 and first["Experience"] == 16 and first["Revision"] == 16

    summary = load_demo()
    db.session.commit()
    assert counts() == first
    assert "0 Städte, 0 Benutzer, 0 Interessen, 0 Erfahrungen" in summary


def test_demo_never_overwrites_edits(app):
    load_demo()
    db.session.commit()
    stuttgart = db.session.scalar(sa.select(City).where(City.slug == "stuttgart"))
    stuttgart.profile = "Eigenes Profil"
    interest = next(i for i in stuttgart.interests if i.topic.slug == "mobilitaet")
    interest.maturity = 2
    db.session.commit()
    load_demo()
    db.session.commit()
    assert stuttgart.profile == "Eigenes Profil"
    assert interest.maturity == 2


def test_demo_cities_have_real_keys_and_profiles(app):
    load_demo()
    cities = {city.slug: city for city in db.session.scalars(sa.select(City))}
    assert set(cities) == {"stuttgart", "muenchen", "karlsruhe", "ulm", "nuernberg", "koeln"}
    assert (cities["stuttgart"].ags, cities["stuttgart"].population) == ("08111000", 613392)
    assert (cities["muenchen"].ags, cities["muenchen"].population) == ("09162000", 1378176)
    assert cities["koeln"].state == "Nordrhein-Westfalen"
    assert cities["nuernberg"].name == "Nürnberg"
    assert "Digital MoveS" in cities["stuttgart"].profile
    assert "muenchen.digital" in cities["muenchen"].profile
    assert "Innovation-Center" in cities["muenchen"].profile
    assert "Referat für IT" in cities["muenchen"].profile


def test_demo_interests_follow_the_contract(app):
    load_demo()
    assert interests_of("stuttgart") == {
        ("mobilitaet", "offers", 5), ("digitalisierungslotsen", "offers", 4),
        ("fortbildung", "offers", 4), ("innovation-center", "seeks", 1),
        ("webauftritt", "seeks", 2), ("dms", "seeks", 1), ("ozg-umsetzung", "working_on", 3),
        ("eakte", "working_on", 3), ("kollaboration", "working_on", 2),
        ("mobiles-arbeiten", "working_on", 3), ("it-sicherheit", "working_on", 3),
        ("breitband", "working_on", 2),
    }
    assert interests_of("muenchen") == {
        ("innovation-center", "offers", 5), ("webauftritt", "offers", 5),
        ("open-data", "offers", 4), ("mobilitaet", "seeks", 2), ("dms", "seeks", 1),
        ("ozg-umsetzung", "working_on", 3), ("eakte", "working_on", 2),
        ("kollaboration", "working_on", 3),
    }
    for slug in ("karlsruhe", "ulm", "nuernberg", "koeln"):
        assert len(interests_of(slug)) >= 3, slug
    assert ("breitband", "offers", 5) in interests_of("ulm")


def test_demo_logins_work(app):
    load_demo()
    db.session.commit()
    expected = {
        "cdo@stuttgart.example": ("stuttgart", "city_admin", False),
        "anna@stuttgart.example": ("stuttgart", "staff", False),
        "planer@stuttgart.example": ("stuttgart", "visit_planner", False),
        "cdo@muenchen.example": ("muenchen", "city_admin", False),
        "max@muenchen.example": ("muenchen", "staff", False),
        "planer@muenchen.example": ("muenchen", "visit_planner", False),
    }
    for email, (city, role, is_admin) in expected.items():
        user = authenticate(email, DEMO_PASSWORD)
        assert user is not None and user.is_approved, email
        assert (user.city.slug, user.role, user.is_admin) == (city, role, is_admin)
    admin = authenticate("admin@city-exchange.example", DEMO_PASSWORD)
    assert admin.is_admin and admin.is_approved
    assert authenticate("anna@stuttgart.example", "wrong-password") is None


def test_demo_login_through_the_form(client, auth):
    load_demo()
    db.session.commit()
    response = auth.login("anna@stuttgart.example", DEMO_PASSWORD)
    assert response.status_code in (302, 303)


def test_demo_experiences_are_substantial_and_published(app):
    load_demo()
    db.session.commit()
    experiences = db.session.scalars(sa.select(Experience)).all()
    assert len(experiences) >= 14
    for item in experiences:
        words = len(item.body.split())
        assert 200 <= words <= 500, (item.slug, words)
        assert item.is_published and item.topics and item.contact_name and item.contact_email
        assert "## " in item.body and ("\n- " in item.body or "\n1. " in item.body)
        assert item.current_revision.author is not None
        assert item.current_revision.author.city == item.city
    kinds = {item.kind for item in experiences}
    assert kinds == {"lesson_learned", "practice", "project_report", "visit_report"}
    assert {item.city.slug for item in experiences} == {
        "stuttgart", "muenchen", "karlsruhe", "ulm", "nuernberg", "koeln"}
    queued = set(db.session.scalars(sa.select(IndexTask.experience_id)))
    assert {item.id for item in experiences} <= queued


def test_demo_experiences_use_the_words_people_search_for(app):
    load_demo()
    lotsen = experience("digitalisierungslotsen-in-jedem-amt")
    assert lotsen.city.slug == "stuttgart"
    assert "Digitalisierungslotsen" in lotsen.body and "Digital MoverS" in lotsen.body
    eakte = experience("einfuehrung-der-e-akte-im-buergerbuero")
    assert "E-Akte" in eakte.body and "elektronische Akte" in eakte.body
    assert "Bürgerbüro" in eakte.body
    for slug in ("ozg-umsetzung-erfahrungen-mit-den-ersten-50-online-diensten",
                 "ozg-in-koeln-was-wir-anders-machen-wuerden"):
        body = experience(slug).body
        assert "OZG" in body and "Onlinezugangsgesetz" in body and "Online-Dienste" in body
    mobility = experience("mobilitaetsdaten-auf-einer-plattform-buendeln")
    assert "Mobilität" in mobility.body and "Mobilitätsdaten" in mobility.body
    dms = experience("dokumenten-management-systeme-im-vergleich")
    assert "Dokumenten-Management-System" in dms.body
    assert "Dokumentenmanagementsystem" in dms.body
    visit = experience("besuchsbericht-muenchens-cdo-zu-gast-in-stuttgart")
    assert visit.kind == "visit_report" and "Dezember" in visit.body
    assert experience("muenchen-digital-relaunch-des-stadtportals").city.slug == "muenchen"
    assert experience("glasfaser-fuer-schulen-und-staedtische-gebaeude").city.slug == "ulm"


def test_demo_file_references_only_known_topics_and_authors(app):
    from exchange.cities.taxonomy import STORY_TOPICS
    from exchange.demo import DEMO_USERS

    topics = {spec.slug for spec in STORY_TOPICS}
    users = {email: city for email, _, city, *_ in DEMO_USERS}
    for entry in demo_experiences():
        assert set(entry["topics"]) <= topics, entry["slug"]
        assert users[entry["author"]] == entry["city"], entry["slug"]


def test_seed_demo_command(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "16 Erfahrungen" in result.output
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "0 Erfahrungen" in result.output
    assert db.session.scalar(sa.select(sa.func.count(Experience.id))) == 16
