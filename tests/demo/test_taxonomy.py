"""The seeded taxonomy: story topics, the OZG catalogue below ozg-umsetzung, idempotence."""
import sqlalchemy as sa

from exchange.cities.models import Topic, TopicAlias
from exchange.cities.taxonomy import seed_taxonomy
from exchange.extensions import db

STORY_SLUGS = (
    "verwaltungsdigitalisierung", "digitalisierungsstrategie", "ozg-umsetzung", "eakte", "dms",
    "kollaboration", "mobiles-arbeiten", "fortbildung", "digitalisierungslotsen",
    "it-sicherheit", "breitband", "webauftritt", "innovation-center", "mobilitaet",
    "open-data", "buergerservice",
)


def topic(slug):
    return db.session.scalar(sa.select(Topic).where(Topic.slug == slug))


def aliases(slug):
    return {alias.alias for alias in topic(slug).aliases}


def test_seed_creates_story_topics_below_the_root(app):
    seed_taxonomy()
    db.session.commit()
    for slug in STORY_SLUGS[1:]:
        assert topic(slug).parent.slug == "verwaltungsdigitalisierung", slug
        assert topic(slug).name_en and topic(slug).description, slug
    assert topic("verwaltungsdigitalisierung").parent is None
    assert topic("dms").name_de == "Dokumentenmanagement"
    assert topic("digitalisierungslotsen").name_de == "Digitalisierungslotsen (Digital MoverS)"
    assert topic("buergerservice").name_de == "Bürgerservice & Bürgerbüro"


def test_seed_sets_the_contract_aliases(app):
    seed_taxonomy()
    assert aliases("ozg-umsetzung") == {"OZG", "Onlinezugangsgesetz", "Online-Dienste"}
    assert aliases("eakte") == {"E-Akte", "elektronische Akte", "e-file"}
    assert aliases("dms") == {"DMS", "Dokumenten-Management-System", "document management"}
    assert aliases("digitalisierungslotsen") == {"Digital MoverS", "Digitallotsen", "Lotsen"}
    assert aliases("webauftritt") == {"muenchen.digital", "Stadtportal", "web presence"}
    assert aliases("mobilitaet") == {"Verkehr", "Smart Mobility", "mobility"}
    assert aliases("buergerservice") == {"Bürgerbüro", "citizen office"}


def test_ozg_catalogue_hangs_below_ozg_umsetzung(app):
    seed_taxonomy()
    ozg = topic("ozg-umsetzung")
    themenfelder = ozg.children
    assert len(themenfelder) == 14
    lebenslagen = [child for field in themenfelder for child in field.children]
    leistungen = [child for situation in lebenslagen for child in situation.children]
    assert len(lebenslagen) == 55
    assert len(leistungen) == 557
    mobility = topic("ozg-mobilitaet-reisen")
    assert mobility.parent == ozg
    assert mobility.ozg_key == "themenfeld:9"
    assert mobility.name_en == "Mobility & travel"
    assert all(field.name_en for field in themenfelder)
    assert all(item.ozg_key.startswith("leistung:") for item in leistungen)
    parental_allowance = db.session.scalar(
        sa.select(Topic).where(Topic.ozg_key == "leistung:10000"))
    assert parental_allowance.slug == "ozg-10000-elterngeld"
    assert parental_allowance.parent.slug.startswith("ozg-ll-")
    assert parental_allowance.ancestors()[:2] == [topic("verwaltungsdigitalisierung"), ozg]
    assert all(len(item.slug) <= 80 for item in leistungen)


def test_seed_is_idempotent_and_never_deletes(app):
    first = seed_taxonomy()
    db.session.commit()
    assert first == 16 + 14 + 55 + 557
    extra = Topic(slug="eigenes-thema", name_de="Eigenes Thema")
    db.session.add(extra)
    topic("eakte").name_de = "Umbenannt"
    db.session.commit()
    counts = (db.session.scalar(sa.select(sa.func.count(Topic.id))),
              db.session.scalar(sa.select(sa.func.count(TopicAlias.id))))

    assert seed_taxonomy() == 0
    db.session.commit()

    assert (db.session.scalar(sa.select(sa.func.count(Topic.id))),
            db.session.scalar(sa.select(sa.func.count(TopicAlias.id)))) == counts
    assert topic("eigenes-thema") is not None
    assert topic("eakte").name_de == "eAkte"


def test_seed_adds_missing_aliases_to_an_existing_topic(app, make_topic):
    make_topic("eakte", "eAkte", aliases=("Digitalakte",))
    seed_taxonomy()
    db.session.commit()
    assert aliases("eakte") == {"Digitalakte", "E-Akte", "elektronische Akte", "e-file"}
    assert topic("eakte").parent.slug == "verwaltungsdigitalisierung"


def test_topics_seed_command(runner):
    result = runner.invoke(args=["topics", "seed"])
    assert result.exit_code == 0, result.output
    assert "642 Themen neu angelegt" in result.output
    result = runner.invoke(args=["topics", "seed"])
    assert "0 Themen neu angelegt" in result.output
    assert topic("ozg-umsetzung") is not None
