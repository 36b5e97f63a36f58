"""Wiki services without a request: revisions, conflicts, restore, delete, outbox, validation."""
import pytest
import sqlalchemy as sa

from exchange.extensions import db
from exchange.search.models import IndexTask
from exchange.wiki import services
from exchange.wiki.models import Experience, Revision
from exchange.wiki.services import EditConflict, PermissionDenied, WikiError


def outbox_ids():
    return list(db.session.scalars(sa.select(IndexTask.experience_id).order_by(IndexTask.id)))


def create(actor, **fields):
    fields.setdefault("title", "Einführung der E-Akte im Bürgerbüro")
    fields.setdefault("body", "Wir haben die E-Akte eingeführt.\n\nZweiter Absatz.")
    experience = services.create_experience(actor, fields.pop("city", actor.city), **fields)
    db.session.commit()
    return experience


def test_create_makes_revision_one_and_enqueues(anna, topics):
    experience = create(anna, topics=["eakte", topics["dms"]], contact_name="Anna Schmid",
                        contact_email="Anna@Stuttgart.example", summary="Start")
    assert experience.slug == "einfuehrung-der-e-akte-im-buergerbuero"
    assert experience.status == "draft" and experience.published_at is None
    assert [r.number for r in experience.revisions] == [1]
    revision = experience.current_revision
    assert (revision.title, revision.author, revision.summary) == (experience.title, anna, "Start")
    assert experience.body.startswith("Wir haben")
    assert sorted(t.slug for t in experience.topics) == ["dms", "eakte"]
    assert experience.contact_email == "Anna@stuttgart.example"
    assert outbox_ids() == [experience.id]


def test_auto_slugs_get_suffixes_and_explicit_duplicates_are_refused(anna):
    first = create(anna)
    second = create(anna)
    third = create(anna)
    assert (second.slug, third.slug) == (first.slug + "-2", first.slug + "-3")
    with pytest.raises(WikiError) as caught:
        create(anna, slug=first.slug)
    assert "schon vergeben" in caught.value.errors["slug"]
    with pytest.raises(WikiError) as caught:
        create(anna, slug="Große Buchstaben")
    assert "slug" in caught.value.errors


def test_publish_sets_published_at_and_unpublish_clears_it(anna):
    experience = create(anna)
    services.publish(anna, experience)
    db.session.commit()
    assert experience.status == "published" and experience.published_at is not None
    assert len(experience.revisions) == 1
    services.unpublish(anna, experience)
    db.session.commit()
    assert experience.status == "draft" and experience.published_at is None


def test_revisions_are_numbered_and_title_mirrors_current(anna, cdo_stuttgart):
    experience = create(anna)
    services.update_experience(cdo_stuttgart, experience, experience.current_revision_id,
                               title="E-Akte: Bilanz nach einem Jahr", body="Neu", summary="Bilanz")
    db.session.commit()
    services.update_experience(anna, experience, experience.current_revision_id, body="Neuer")
    db.session.commit()
    numbers = db.session.scalars(sa.select(Revision.number).where(
        Revision.experience_id == experience.id).order_by(Revision.number)).all()
    assert numbers == [1, 2, 3]
    assert experience.title == "E-Akte: Bilanz nach einem Jahr"
    assert experience.current_revision.number == 3
    assert experience.revisions[1].author == cdo_stuttgart
    assert experience.revisions[0].body.startswith("Wir haben")  # history untouched


def test_unchanged_save_creates_no_revision_but_metadata_changes(anna, topics):
    experience = create(anna)
    before = len(outbox_ids())
    services.update_experience(anna, experience, experience.current_revision_id,
                               title=experience.title, body=experience.body)
    db.session.commit()
    assert len(experience.revisions) == 1
    assert len(outbox_ids()) == before
    services.update_experience(anna, experience, experience.current_revision_id,
                               title=experience.title, body=experience.body,
                               topics=["mobilitaet"], kind="practice", status="published",
                               contact_name="Anna")
    db.session.commit()
    assert len(experience.revisions) == 1
    assert [t.slug for t in experience.topics] == ["mobilitaet"]
    assert (experience.kind, experience.status, experience.contact_name) == (
        "practice", "published", "Anna")
    assert len(outbox_ids()) == before + 1


def test_stale_base_revision_raises_conflict_and_keeps_text(anna, cdo_stuttgart):
    experience = create(anna)
    base = experience.current_revision_id
    services.update_experience(cdo_stuttgart, experience, base, body="Änderung des CDO")
    db.session.commit()
    with pytest.raises(EditConflict) as caught:
        services.update_experience(anna, experience, base, body="Annas Änderung")
    db.session.rollback()
    assert caught.value.current.number == 2
    assert "inzwischen gespeichert" in str(caught.value)
    db.session.expire_all()
    assert experience.body == "Änderung des CDO"
    assert len(experience.revisions) == 2


def test_missing_base_revision_is_an_error(anna):
    experience = create(anna)
    with pytest.raises(WikiError) as caught:
        services.update_experience(anna, experience, None, body="x")
    assert "base_revision" in caught.value.errors


def test_restore_creates_new_revision_and_keeps_history(anna):
    experience = create(anna, body="Fassung eins")
    first = experience.current_revision
    services.update_experience(anna, experience, first.id, body="Fassung zwei")
    db.session.commit()
    services.restore_revision(anna, experience, first)
    db.session.commit()
    assert [r.body for r in experience.revisions] == ["Fassung eins", "Fassung zwei",
                                                      "Fassung eins"]
    current = experience.current_revision
    assert current.number == 3 and current.restored_from_id == first.id
    assert "Version 1 wiederhergestellt" in current.summary
    with pytest.raises(WikiError):  # already current text
        services.restore_revision(anna, experience, first)


def test_restore_refuses_a_revision_of_another_experience(anna):
    one, two = create(anna), create(anna)
    with pytest.raises(WikiError):
        services.restore_revision(anna, one, two.current_revision)


def test_soft_delete_keeps_history_and_hides_the_page(anna):
    experience = create(anna, status="published")
    services.delete_experience(anna, experience)
    db.session.commit()
    assert experience.deleted_at is not None and not experience.is_published
    assert db.session.get(Experience, experience.id) is not None
    assert len(experience.revisions) == 1
    assert services.get_experience(experience.slug) is None
    assert services.get_experience(experience.slug, include_deleted=True) is experience
    assert outbox_ids() == [experience.id, experience.id]
    with pytest.raises(WikiError):
        services.update_experience(anna, experience, experience.current_revision_id, body="x")


def test_every_change_writes_an_outbox_row(anna):
    experience = create(anna, body="a")
    services.update_experience(anna, experience, experience.current_revision_id, body="b")
    services.restore_revision(anna, experience, experience.revisions[0])
    services.delete_experience(anna, experience)
    db.session.commit()
    assert outbox_ids() == [experience.id] * 4


def test_other_cities_may_not_write(anna, max_muenchen, stuttgart):
    experience = create(anna)
    with pytest.raises(PermissionDenied):
        services.create_experience(max_muenchen, stuttgart, "Titel", "Text")
    with pytest.raises(PermissionDenied):
        services.update_experience(max_muenchen, experience, experience.current_revision_id,
                                   body="fremd")
    with pytest.raises(PermissionDenied):
        services.restore_revision(max_muenchen, experience, experience.current_revision)
    with pytest.raises(PermissionDenied):
        services.delete_experience(max_muenchen, experience)
    assert experience.deleted_at is None


def test_platform_admin_may_write_for_any_city(admin, anna):
    experience = create(anna)
    services.update_experience(admin, experience, experience.current_revision_id, body="Admin")
    db.session.commit()
    assert experience.current_revision.author == admin


@pytest.mark.parametrize("fields, field, text", [
    ({"title": "  "}, "title", "Titel ein"),
    ({"title": "x" * 201}, "title", "höchstens 200"),
    ({"body": "x" * 200_001}, "body", "höchstens 200000"),
    ({"kind": "gossip"}, "kind", "Unbekannte Art"),
    ({"status": "archived"}, "status", "Unbekannter Status"),
    ({"topics": ["eakte", "gibt-es-nicht"]}, "topics", "gibt-es-nicht"),
    ({"contact_email": "keine-adresse"}, "contact_email", "gültige E-Mail"),
    ({"contact_name": "n" * 121}, "contact_name", "höchstens 120"),
    ({"summary": "s" * 301}, "summary", "höchstens 300"),
])
def test_validation_messages_are_german_and_nothing_is_stored(anna, topics, fields, field,
                                                              text):
    with pytest.raises(WikiError) as caught:
        create(anna, **fields)
    db.session.rollback()
    assert text in caught.value.errors[field]
    assert db.session.scalar(sa.select(sa.func.count(Experience.id))) == 0


def test_title_of_exactly_200_characters_is_fine(anna):
    assert len(create(anna, title="x" * 200).title) == 200


def test_update_validates_too(anna):
    experience = create(anna)
    with pytest.raises(WikiError) as caught:
        services.update_experience(anna, experience, experience.current_revision_id,
                                   title="", kind="x")
    assert set(caught.value.errors) == {"title", "kind"}
    db.session.rollback()
    assert len(experience.revisions) == 1


def test_visibility_queries(anna, max_muenchen, make_experience):
    draft = create(anna, title="Entwurf")
    published = create(anna, title="Veröffentlicht", status="published")
    mine = db.session.scalars(services.experiences_query(anna)).all()
    theirs = db.session.scalars(services.experiences_query(max_muenchen)).all()
    assert set(mine) == {draft, published}
    assert theirs == [published]
    recent = db.session.scalars(services.recent_revisions_query(max_muenchen)).all()
    assert [r.experience for r in recent] == [published]


def test_topic_filter_includes_subtopics(anna, make_topic):
    root = make_topic("ozg-umsetzung", "OZG-Umsetzung")
    field = make_topic("ozg-mobilitaet-reisen", "Mobilität & Reisen", parent=root)
    leaf = make_topic("ozg-kfz", "Kfz-Zulassung", parent=field)
    other = make_topic("breitband", "Breitband")
    on_leaf = create(anna, title="Online-Kfz-Zulassung", topics=[leaf], status="published")
    on_root = create(anna, title="OZG allgemein", topics=[root], status="published")
    create(anna, title="Glasfaser", topics=[other], status="published")
    found = set(db.session.scalars(services.experiences_query(anna, topic=root)))
    assert found == {on_leaf, on_root}
    assert set(db.session.scalars(services.experiences_query(anna, topic=leaf))) == {on_leaf}
