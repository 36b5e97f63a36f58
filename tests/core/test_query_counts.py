"""Every main list page issues the same number of SQL statements at 1, 10 and 500 rows.

A page that loads a relationship row by row (`interest.city`, `experience.topics`, a
page slot's `project.participants`) issues one statement per row: at 11,000 cities the
topic page took 13 s, 8 of them in such loads. Each scenario below builds the rows of
one page's list with bulk inserts (no services, to stay fast), requests the page at a
few row counts and compares the statements issued during the request. The HTML must
stay bounded too: the lists are paged, so 500 rows show no more than one page.
"""
from contextlib import contextmanager
from datetime import datetime, timedelta
from itertools import count

import pytest
import sqlalchemy as sa

from exchange.extensions import db

#: Row counts each page is measured at. Slots on the dashboard show at most 5 to 8 rows,
#: so a query per row shows between 1 and 10 rows; lists with pages of 20 or 50 rows
#: show it between 10 and 500.
SIZES = (1, 10, 500)
#: How far the counts at the three sizes may differ: none per row, but one statement
#: may come and go with what a list happens to load on the way (the viewer's own city
#: arrives with a list of experiences, or on its own when the list holds none of it).
TOLERANCE = 1
#: At 500 rows a page may be at most this many times as long as at 10 rows, plus
#: MAX_HTML_EXTRA: a full page of 20 to 50 rows and a pager, never all 500 rows (the
#: unpaged topic page was 1.5 MB at 9,900 cities).
MAX_HTML_GROWTH = 3
MAX_HTML_EXTRA = 10_000
#: Pages that show every row by design: the topic tree is the taxonomy (about 630
#: topics, deeper levels folded), not a list that grows with the members' data; a
#: visit's programme and delegation are one visit's, shown whole on its page and in print.
UNPAGED = {"topic tree", "visit page"}

pytestmark = pytest.mark.slow

_serial = count(1)
T0 = datetime(2025, 1, 1, 9, 0)


@contextmanager
def counted_statements():
    """Collect the SQL statements sent to the database inside the block."""
    statements: list[str] = []

    def before(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def measure(client):
    """measure(url) -> (statements, html) of one GET request by the logged-in client."""
    def run(url: str):
        db.session.remove()  # the request must not find the rows in our identity map
        with counted_statements() as statements:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return statements, response.get_data(as_text=True)

    return run


def _insert(model, rows: list[dict]) -> list[int]:
    """Insert `rows` in one statement per batch; returns the new ids in order."""
    if not rows:
        return []
    table = model.__table__ if hasattr(model, "__table__") else model
    result = db.session.execute(
        sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


def _insert_plain(table, rows: list[dict]) -> None:
    """Insert rows into a table without an id column (association tables)."""
    if rows:
        db.session.execute(sa.insert(table), rows)


# --- row builders -----------------------------------------------------------------------

STATES = ("Baden-Württemberg", "Bayern", "Hessen", "Sachsen")
STANCES = ("offers", "seeks", "working_on")


def add_cities(n: int) -> list[int]:
    """n cities with states and size bands in turn."""
    from exchange.cities.models import City

    rows = []
    for _ in range(n):
        k = next(_serial)
        population = (8_000, 45_000, 230_000, 800_000)[k // len(STATES) % 4] + k % 1000
        rows.append({"slug": f"stadt-{k:05d}", "name": f"Stadt {k:05d}",
                     "state": STATES[k % len(STATES)], "population": population,
                     "profile": "", "created_at": T0})
    return _insert(City, rows)


def add_topics(n: int, parent_id=None) -> list[int]:
    """n topics (under `parent_id`)."""
    from exchange.cities.models import Topic

    rows = []
    for _ in range(n):
        k = next(_serial)
        rows.append({"slug": f"thema-{k:05d}", "name_de": f"Thema {k:05d}",
                     "parent_id": parent_id, "description": ""})
    return _insert(Topic, rows)


def add_interests(pairs) -> None:
    """Interests for (city_id, topic_id) pairs, stances in turn."""
    from exchange.cities.models import Interest

    _insert(Interest, [{"city_id": city_id, "topic_id": topic_id,
                        "stance": STANCES[i % 3], "maturity": 1 + i % 5, "note": "",
                        "updated_at": T0} for i, (city_id, topic_id) in enumerate(pairs)])


def add_experiences(n: int, city_ids, topic_ids=(), author_id=None, status="published",
                    revisions: int = 1) -> list[int]:
    """n experiences (cities in turn), each with `revisions` revisions and the topics."""
    from exchange.wiki.models import Experience, Revision, experience_topics

    city_ids = list(city_ids)
    rows = []
    for i in range(n):
        k = next(_serial)
        rows.append({"slug": f"erfahrung-{k:05d}", "title": f"Erfahrung {k:05d}",
                     "kind": "lesson_learned", "status": status,
                     "city_id": city_ids[i % len(city_ids)], "created_at": T0,
                     "updated_at": T0 + timedelta(minutes=k),
                     "published_at": T0 if status == "published" else None})
    ids = _insert(Experience, rows)
    revision_rows = [{"experience_id": experience_id, "number": number,
                      "title": f"Version {number}", "body": f"Text {number} " * 20,
                      "summary": f"Änderung {number}", "author_id": author_id,
                      "created_at": T0 + timedelta(minutes=number)}
                     for experience_id in ids for number in range(1, revisions + 1)]
    revision_ids = _insert(Revision, revision_rows)
    current = {row["experience_id"]: revision_id
               for row, revision_id in zip(revision_rows, revision_ids)}
    table = Experience.__table__
    db.session.execute(sa.update(table).where(table.c.id == sa.bindparam("eid"))
                       .values(current_revision_id=sa.bindparam("rid")),
                       [{"eid": eid, "rid": rid} for eid, rid in current.items()])
    _insert_plain(experience_topics, [{"experience_id": eid, "topic_id": tid}
                                      for eid in ids for tid in topic_ids])
    return ids


def add_revisions(experience_id: int, n: int, author_ids) -> None:
    """n more revisions of one experience (authors in turn); the newest becomes current."""
    from exchange.wiki.models import Experience, Revision

    author_ids = list(author_ids)
    last = db.session.scalar(sa.select(sa.func.max(Revision.number))
                             .where(Revision.experience_id == experience_id)) or 0
    ids = _insert(Revision, [{"experience_id": experience_id, "number": number,
                              "title": "Titel", "body": f"Text {number}",
                              "summary": f"Änderung {number}",
                              "author_id": author_ids[number % len(author_ids)],
                              "created_at": T0 + timedelta(minutes=number)}
                             for number in range(last + 1, last + n + 1)])
    db.session.execute(sa.update(Experience.__table__)
                       .where(Experience.__table__.c.id == experience_id)
                       .values(current_revision_id=ids[-1]))


def add_users(n: int, city_ids) -> list[int]:
    """n approved staff users (cities in turn), without passwords."""
    from exchange.auth.models import User

    city_ids = list(city_ids)
    rows = []
    for i in range(n):
        k = next(_serial)
        rows.append({"email": f"person{k}@example.org", "display_name": f"Person {k}",
                     "city_id": city_ids[i % len(city_ids)], "role": "staff",
                     "is_admin": False, "is_approved": True, "created_at": T0})
    return _insert(User, rows)


def add_projects(n: int, initiator_id: int, partner_ids, topic_ids=(), state="active",
                 own_response="accepted", own_role="initiator") -> list[int]:
    """n projects of `initiator_id` with one partner each (in turn) and the topics.

    With `own_role="invited"` the first partner is the initiator and `initiator_id` is
    invited with `own_response`.
    """
    from exchange.projects.models import Project, ProjectParticipant, project_topics

    partner_ids = list(partner_ids)
    rows, pairs = [], []
    for i in range(n):
        k = next(_serial)
        partner = partner_ids[i % len(partner_ids)]
        initiator = initiator_id if own_role == "initiator" else partner
        rows.append({"title": f"Projekt {k:05d}", "description": "", "state": state,
                     "initiator_city_id": initiator, "created_at": T0,
                     "updated_at": T0 + timedelta(minutes=k)})
        pairs.append(partner)
    ids = _insert(Project, rows)
    participants = []
    for project_id, partner in zip(ids, pairs):
        if own_role == "initiator":
            participants += [
                {"project_id": project_id, "city_id": initiator_id, "role": "initiator",
                 "response": "accepted"},
                {"project_id": project_id, "city_id": partner, "role": "invited",
                 "response": "accepted" if state == "active" else "pending"}]
        else:
            participants += [
                {"project_id": project_id, "city_id": partner, "role": "initiator",
                 "response": "accepted"},
                {"project_id": project_id, "city_id": initiator_id, "role": "invited",
                 "response": own_response}]
    for row in participants:
        row.update(message="", invited_at=T0)
    _insert(ProjectParticipant, participants)
    _insert_plain(project_topics, [{"project_id": pid, "topic_id": tid}
                                   for pid in ids for tid in topic_ids])
    return ids


def add_project_history(project_id: int, n: int, author_ids, city_id: int) -> None:
    """n comments on a project, each with its "commented" event."""
    from exchange.projects.models import ProjectComment, ProjectEvent

    author_ids = list(author_ids)
    start = next(_serial) * 1000
    comment_ids = _insert(ProjectComment, [
        {"project_id": project_id, "author_id": author_ids[i % len(author_ids)],
         "body": f"Kommentar {start + i}", "created_at": T0 + timedelta(seconds=start + i)}
        for i in range(n)])
    _insert(ProjectEvent, [
        {"project_id": project_id, "kind": "commented", "message": "",
         "actor_id": author_ids[i % len(author_ids)], "city_id": city_id,
         "comment_id": comment_id, "created_at": T0 + timedelta(seconds=start + i)}
        for i, comment_id in enumerate(comment_ids)])


def add_notifications(user_id: int, n: int) -> None:
    """n notifications for one user, every other one unread."""
    from exchange.projects.models import Notification

    start = next(_serial) * 1000
    _insert(Notification, [
        {"user_id": user_id, "kind": "comment", "title": f"Nachricht {start + i}",
         "body": "Ein Kommentar", "link": "/projekte",
         "created_at": T0 + timedelta(seconds=start + i),
         "read_at": T0 if i % 2 else None} for i in range(n)])


def add_visits(n: int, city_id: int, other_ids, topic_ids=(), first_day: int = 1,
               spread: int = 400) -> None:
    """n visits between `city_id` and other cities (in turn), one day each, on the days
    `first_day` to `first_day + spread` from today (negative: in the past)."""
    from exchange.visits.models import Visit, visit_topics

    other_ids = list(other_ids)
    today = datetime.now().replace(hour=9, minute=0, second=0, microsecond=0)
    rows = []
    for i in range(n):
        k = next(_serial)
        day = today + timedelta(days=first_day + k % spread)
        host, guest = (other_ids[i % len(other_ids)], city_id) if i % 2 else \
            (city_id, other_ids[i % len(other_ids)])
        rows.append({"title": f"Besuch {k:05d}", "host_city_id": host,
                     "visiting_city_id": guest, "starts_at": day,
                     "ends_at": day + timedelta(hours=8), "place": "Rathaus", "address": "",
                     "status": "planned", "notes": "", "outcomes": "", "created_at": T0,
                     "updated_at": T0})
    ids = _insert(Visit, rows)
    _insert_plain(visit_topics, [{"visit_id": vid, "topic_id": tid}
                                 for vid in ids for tid in topic_ids])


# --- scenarios: one page each, rows added in steps ----------------------------------------

@pytest.fixture
def world(app, stuttgart, muenchen, make_user, make_topic):
    """Two cities, a Stuttgart admin (logged in), a topic and a few partner cities."""
    from exchange.cities.models import Interest

    user = make_user("cdo@stuttgart.example", city=stuttgart, role="city_admin",
                     display_name="Dr. Thomas Berger")
    root = make_topic("verwaltungsdigitalisierung", "Verwaltungsdigitalisierung")
    topic = make_topic("eakte", "eAkte", parent=root, aliases=["E-Akte"])
    partners = add_cities(5) + [muenchen.id]
    db.session.add(Interest(city_id=stuttgart.id, topic_id=topic.id, stance="seeks",
                            maturity=2))
    db.session.commit()
    return {"user": user, "user_id": user.id, "city": stuttgart.id, "topic": topic.id, "root": root.id,
            "partners": partners, "muenchen": muenchen.id}


def grow_city_list(w, n):
    ids = add_cities(n)
    add_interests([(city_id, w["topic"]) for city_id in ids])
    return "/staedte"


def grow_city_page(w, n, city="city", slug="stuttgart"):
    topic_ids = add_topics(n, parent_id=w["root"])
    add_interests([(w[city], topic_id) for topic_id in topic_ids])
    add_experiences(n, [w[city]], topic_ids=[w["topic"], topic_ids[0]])
    add_experiences(n, [w[city]], status="draft")
    add_projects(n, w[city], add_cities(n), topic_ids=[w["topic"]])
    add_visits(n, w[city], add_cities(n))
    return f"/staedte/{slug}"


def grow_other_city_page(w, n):
    """Another city's page adds the matching section "Warum passt ... zu meiner Stadt?"."""
    return grow_city_page(w, n, city="muenchen", slug="muenchen")


def grow_topic_page(w, n):
    city_ids = add_cities(n)
    add_interests([(city_id, w["topic"]) for city_id in city_ids])
    add_experiences(n, city_ids, topic_ids=[w["topic"]])
    return "/themen/eakte"


def grow_topic_tree(w, n):
    topic_ids = add_topics(n, parent_id=w["root"])
    add_interests([(w["partners"][i % len(w["partners"])], topic_id)
                   for i, topic_id in enumerate(topic_ids)])
    return "/themen"


def grow_experience_list(w, n):
    topic_ids = add_topics(2, parent_id=w["root"])
    # The filter lists every writing city; 25 of them still give each row of a page of 20
    # a city of its own, so a load per row would show.
    w.setdefault("writers", add_cities(25))
    add_experiences(n, w["writers"], topic_ids=topic_ids)
    return "/erfahrungen"


def grow_experience_history(w, n):
    if "experience" not in w:
        w["experience"] = add_experiences(1, [w["city"]], topic_ids=[w["topic"]])[0]
    add_revisions(w["experience"], n, add_users(n, [w["city"]]))
    return "/erfahrungen/" + _experience_slug(w["experience"]) + "/versionen"


def grow_experience_page(w, n):
    grow_experience_history(w, n)
    return "/erfahrungen/" + _experience_slug(w["experience"])


def grow_changes(w, n):
    city_ids = add_cities(n)
    for author_id, city_id in zip(add_users(n, city_ids), city_ids):
        add_experiences(1, [city_id], topic_ids=[w["topic"]], author_id=author_id)
    return "/aenderungen"


def grow_inbox(w, n):
    add_notifications(w["user_id"], n)
    return "/postfach"


def grow_project_list(w, n):
    add_projects(n, w["city"], add_cities(n), topic_ids=add_topics(2))
    return "/projekte?scope=all"


def grow_project_page(w, n):
    if "project" not in w:
        w["project"] = add_projects(1, w["city"], w["partners"], topic_ids=[w["topic"]])[0]
    add_project_history(w["project"], n, add_users(n, [w["city"]]), w["city"])
    return f"/projekte/{w['project']}"


def grow_visit_list(w, n):
    w.setdefault("hosts", add_cities(25))  # the filter lists every city with visits
    add_visits(n, w["city"], w["hosts"], topic_ids=[w["topic"]])
    return "/besuche?wann=all"


def grow_visit_page(w, n):
    """A visit's programme: n sessions, each with a topic and a linked experience of the
    other city, and n delegation members (users of both cities)."""
    from exchange.visits.models import (AgendaSession, AgendaSessionExperience, Visit,
                                        VisitMember, session_topics)

    if "visit" not in w:
        w["visit"] = db.session.scalar(sa.select(Visit.id).where(
            Visit.title == add_visit_for_page(w)))
    visit_id = w["visit"]
    other = w["partners"][0]
    start = datetime(2027, 4, 20, 9, 0)
    sessions = []
    for _ in range(n):
        k = next(_serial)
        begins = start + timedelta(minutes=30 * (k % 20))
        sessions.append({"visit_id": visit_id, "position": k, "title": f"Programmpunkt {k}",
                         "starts_at": begins, "ends_at": begins + timedelta(minutes=30),
                         "room": "", "description": "", "kind": "custom",
                         "open_questions": ""})
    session_ids = _insert(AgendaSession, sessions)
    experience_ids = add_experiences(n, [other])
    _insert_plain(session_topics, [{"session_id": sid, "topic_id": w["topic"]}
                                   for sid in session_ids])
    _insert_plain(AgendaSessionExperience.__table__,
                  [{"session_id": sid, "experience_id": eid, "rank": 0}
                   for sid, eid in zip(session_ids, experience_ids)])
    user_ids = add_users(n, [w["city"], other])
    _insert(VisitMember, [{"visit_id": visit_id, "user_id": uid, "role": "",
                           "organisation": "", "side": "guest" if i % 2 else "host"}
                          for i, uid in enumerate(user_ids)])
    return f"/besuche/{visit_id}"


def add_visit_for_page(w) -> str:
    """One visit between the world's city and its first partner; its title."""
    from exchange.visits.models import Visit

    title = f"Besuch mit Programm {next(_serial)}"
    day = datetime(2027, 4, 20, 9, 0)
    _insert(Visit, [{"title": title, "host_city_id": w["partners"][0],
                     "visiting_city_id": w["city"], "starts_at": day,
                     "ends_at": day + timedelta(hours=10), "place": "Rathaus", "address": "",
                     "status": "planned", "notes": "", "outcomes": "", "created_at": T0,
                     "updated_at": T0}])
    return title


def grow_dashboard(w, n):
    city_ids = add_cities(n)
    for author_id, city_id in zip(add_users(n, city_ids), city_ids):
        add_experiences(1, [city_id], author_id=author_id, revisions=2)
    add_experiences(n, [w["city"]], status="draft")
    add_projects(n, w["city"], add_cities(n), state="active")
    add_projects(n, w["city"], add_cities(n), state="proposed")
    add_projects(n, w["city"], add_cities(n), state="proposed", own_role="invited",
                 own_response="pending")
    add_visits(n, w["city"], add_cities(n))
    add_visits(n, w["city"], add_cities(n), first_day=-80, spread=70)
    return "/"


def _experience_slug(experience_id: int) -> str:
    from exchange.wiki.models import Experience

    return db.session.scalar(sa.select(Experience.slug).where(Experience.id == experience_id))


SCENARIOS = {
    "city list": grow_city_list,
    "city page": grow_city_page,
    "other city's page": grow_other_city_page,
    "topic page": grow_topic_page,
    "topic tree": grow_topic_tree,
    "experience list": grow_experience_list,
    "experience history": grow_experience_history,
    "experience page": grow_experience_page,
    "recent changes": grow_changes,
    "inbox": grow_inbox,
    "project list": grow_project_list,
    "project page": grow_project_page,
    "visit list": grow_visit_list,
    "visit page": grow_visit_page,
    "dashboard": grow_dashboard,
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_statements_do_not_grow_with_rows(name, world, login, measure):
    grow = SCENARIOS[name]
    login(world["user"])
    results, have = {}, 0
    for size in SIZES:
        url = grow(world, size - have)
        have = size
        db.session.commit()
        measure(url)  # warm up: per-process caches (catalogues, matching model) fill once
        statements, html = measure(url)
        results[size] = (len(statements), len(html), statements)
    counts = {size: result[0] for size, result in results.items()}
    print(name, counts, {size: result[1] for size, result in results.items()})
    few, many = results[SIZES[0]], results[SIZES[-1]]
    assert max(counts.values()) <= min(counts.values()) + TOLERANCE, \
        (name, counts, _new_statements(few[2], many[2]))
    if name not in UNPAGED:
        limit = MAX_HTML_GROWTH * results[SIZES[1]][1] + MAX_HTML_EXTRA
        assert many[1] <= limit, (name, many[1], limit)


def _new_statements(few: list[str], many: list[str]) -> list[str]:
    """Statements of the large page beyond those of the small one (for the message)."""
    remaining = list(few)
    extra = []
    for statement in many:
        if statement in remaining:
            remaining.remove(statement)
        else:
            extra.append(statement)
    return [statement[:200] for statement in extra[:5]] + [f"... {len(extra)} in all"]


# --- the pages behind the bounds: pagers, filters and "alle" links work -------------------

def _rows(html: str, marker: str) -> int:
    return html.count(marker)


def _cities_section(html: str) -> str:
    """The interested cities of a topic page (between its "Städte" and "Erfahrungen")."""
    return html[html.index('id="staedte"'):html.index("<h2>Erfahrungen</h2>")]


def _count_cities(where: str = "1 = 1") -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(sa.text("cities"))
                             .where(sa.text(where)))


def test_city_list_pages_keep_the_filters(world, login, client):
    add_cities(120)
    db.session.commit()
    total = _count_cities()
    bavarian = _count_cities("state = 'Bayern' AND name LIKE 'Stadt%'")
    login(world["user"])
    html = client.get("/staedte").get_data(as_text=True)
    assert _rows(html, 'href="/staedte/') == 50
    assert f"Seite 1 von {-(-total // 50)}" in html and f"{total} Städte" in html
    assert 'href="/staedte?page=2" rel="next"' in html
    html = client.get("/staedte?land=Bayern&q=stadt").get_data(as_text=True)
    assert f"{bavarian} Städte" in html and "München" not in html  # no "stadt" in München
    assert "Seite" not in html
    html = client.get("/staedte?land=Bayern&page=2").get_data(as_text=True)
    assert "Keine Stadt gefunden." in html  # all Bavarian cities fit on page 1


def test_topic_page_filters_by_state_and_size_and_pages_one_stance(world, login, client):
    city_ids = add_cities(90)
    add_interests([(city_id, world["topic"]) for city_id in city_ids])  # 30 per stance
    db.session.commit()
    login(world["user"])
    html = _cities_section(client.get("/themen/eakte").get_data(as_text=True))
    # 20 cities per stance in the overview, counts of the whole list (Stuttgart seeks too).
    assert _rows(html, 'href="/staedte/') == 60
    assert "(30)" in html and "(31)" in html
    assert 'href="/themen/eakte?haltung=offers">alle 30 anzeigen</a>' in html
    html = _cities_section(client.get("/themen/eakte?haltung=offers").get_data(as_text=True))
    assert _rows(html, 'href="/staedte/') == 30 and "Seite" not in html
    assert 'href="/themen/eakte">alle Haltungen anzeigen</a>' in html

    ids = ", ".join(map(str, city_ids))
    bavarian = _count_cities(f"state = 'Bayern' AND id IN ({ids})")
    html = _cities_section(client.get("/themen/eakte?land=Bayern").get_data(as_text=True))
    assert _rows(html, 'href="/staedte/') == bavarian > 0
    assert "Stuttgart" not in html

    small = _count_cities(f"population < 20000 AND id IN ({ids})")
    html = _cities_section(client.get("/themen/eakte?groesse=klein").get_data(as_text=True))
    assert _rows(html, 'href="/staedte/') == small > 0
    large = _count_cities(f"population >= 500000 AND id IN ({ids})")
    html = _cities_section(client.get("/themen/eakte?groesse=metropole").get_data(as_text=True))
    assert _rows(html, 'href="/staedte/') == large + 1 and "Stuttgart" in html  # 613,392
    assert client.get("/themen/eakte?groesse=riesig&land=Atlantis").status_code == 200


def test_topic_page_pages_through_a_large_stance(world, login, client):
    city_ids = add_cities(330)
    add_interests([(city_id, world["topic"]) for city_id in city_ids])  # 110 per stance
    db.session.commit()
    login(world["user"])
    html = client.get("/themen/eakte?haltung=working_on").get_data(as_text=True)
    assert "Seite 1 von 3" in html and _rows(_cities_section(html), 'href="/staedte/') == 50
    assert 'href="/themen/eakte?page=2&amp;haltung=working_on" rel="next"' in html
    last = client.get("/themen/eakte?page=3&haltung=working_on").get_data(as_text=True)
    assert _rows(_cities_section(last), 'href="/staedte/') == 10

    html = client.get("/themen/eakte?haltung=working_on&groesse=mittel").get_data(as_text=True)
    assert '<input type="hidden" name="haltung" value="working_on">' in html
    assert 'href="/themen/eakte?groesse=mittel">alle Haltungen anzeigen</a>' in html


def test_city_page_links_to_the_full_lists(world, login, client):
    add_experiences(15, [world["city"]])
    add_projects(8, world["city"], add_cities(8))
    db.session.commit()
    login(world["user"])
    html = client.get("/staedte/stuttgart").get_data(as_text=True)
    assert _rows(html, 'href="/erfahrungen/erfahrung-') == 10
    assert 'href="/erfahrungen?city=stuttgart">alle 15 Erfahrungen von Stuttgart</a>' in html
    assert 'href="/projekte?scope=all&amp;stadt=stuttgart"' in html
    projects = client.get("/projekte?scope=all&stadt=stuttgart").get_data(as_text=True)
    assert _rows(projects, 'href="/projekte/') >= 8 and "mit Stuttgart" in projects
    assert client.get("/projekte?stadt=atlantis").status_code == 404


def test_history_inbox_and_project_timeline_are_paged(world, login, client):
    experience_id = add_experiences(1, [world["city"]])[0]
    add_revisions(experience_id, 119, add_users(2, [world["city"]]))
    add_notifications(world["user_id"], 60)
    project_id = add_projects(1, world["city"], world["partners"])[0]
    add_project_history(project_id, 70, add_users(2, [world["city"]]), world["city"])
    db.session.commit()
    login(world["user"])
    slug = _experience_slug(experience_id)

    history = client.get(f"/erfahrungen/{slug}/versionen").get_data(as_text=True)
    assert "120 Versionen" in history and "Seite 1 von 3" in history
    assert f'/versionen/120"' in history and f'/versionen/70"' not in history
    last = client.get(f"/erfahrungen/{slug}/versionen?page=3").get_data(as_text=True)
    assert f'/versionen/1"' in last and "Version 120 von 120" not in last
    assert "Version 120 von 120" in client.get(f"/erfahrungen/{slug}").get_data(as_text=True)

    inbox = client.get("/postfach").get_data(as_text=True)
    assert _rows(inbox, 'class="notification ') == 50 and "Seite 1 von 2" in inbox
    unread = client.get("/postfach?ungelesen=1").get_data(as_text=True)
    assert _rows(unread, 'class="notification unread"') == 30 and "Seite" not in unread

    timeline = client.get(f"/projekte/{project_id}").get_data(as_text=True)
    assert "Seite 2 von 2" in timeline and _rows(timeline, 'class="event ') == 20
    assert f'href="/projekte/{project_id}?page=1" rel="prev"' in timeline
    first = client.get(f"/projekte/{project_id}?page=1").get_data(as_text=True)
    assert _rows(first, 'class="event ') == 50
