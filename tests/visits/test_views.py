"""The planner's journey through the UI, bad form input and permissions."""
import io
import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from icalendar import Calendar
from pypdf import PdfReader

from exchange.extensions import db
from exchange.visits.models import AgendaSession, Visit

DEMO_PASSWORD = "exchange-demo"


def _form(demo, **overrides):
    data = {
        "title": "Gegenbesuch in München",
        "host_city": str(demo.city("muenchen").id),
        "visiting_city": str(demo.city("stuttgart").id),
        "starts_at": "2027-04-20T09:30",
        "ends_at": "2027-04-21T15:00",
        "place": "Rathaus München",
        "address": "Marienplatz 8, 80331 München",
        "status": "planned",
        "notes": "Was lässt sich noch digital bewegen?",
        "delegation": "cdo@stuttgart.example; Chief Digital Officer\n"
                      "Jürgen Weiß; Bürgermeister; Landeshauptstadt Stuttgart",
    }
    data.update(overrides)
    return data


def _visit_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Visit.id)))


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_planner_journey(client, auth, demo):
    """Log in, plan the April visit, propose and adjust the agenda, get dossier, PDF, .ics,
    record outcomes and create the report draft."""
    assert auth.login("planer@stuttgart.example", DEMO_PASSWORD).status_code == 302
    page = client.get("/besuche")
    assert page.status_code == 200 and "Besuch planen" in _text(page)

    response = client.post("/besuche/neu", data=_form(demo))
    assert response.status_code == 302
    # The demo already holds Munich's December visit; this is the new one.
    visit = db.session.scalar(sa.select(Visit).order_by(Visit.id.desc()))
    assert visit.title == "Gegenbesuch in München"
    assert response.headers["Location"].endswith(f"/besuche/{visit.id}")
    assert {m.name for m in visit.members} == {"Dr. Thomas Berger", "Jürgen Weiß"}
    base = f"/besuche/{visit.id}"

    # The agenda proposal.
    assert client.post(f"{base}/agenda/vorschlag", data={}).status_code == 302
    page = _text(client.get(base))
    for title in ("Innovation-Center: Erfahrungen aus München",
                  "Digitaler Webauftritt: Erfahrungen aus München",
                  "Mobilität: Erfahrungen aus Stuttgart", "Gemeinsames Thema: OZG-Umsetzung",
                  "Gemeinsames Thema: eAkte"):
        assert title in page
    assert "muenchen.digital: Relaunch des Stadtportals" in page
    assert "überschneiden sich" not in page

    # Reorder: move the second session down.
    db.session.expire_all()
    sessions = list(db.session.get(Visit, visit.id).sessions)
    second, third = sessions[1], sessions[2]
    response = client.post(f"{base}/sitzungen/{second.id}/verschieben/runter", data={})
    assert response.status_code == 302
    db.session.expire_all()
    titles = [s.title for s in db.session.get(Visit, visit.id).sessions]
    assert titles[1] == third.title and titles[2] == second.title

    # Edit a session so it overlaps the next one: saved, and flagged.
    edit_form = _text(client.get(f"{base}/sitzungen/{second.id}/bearbeiten"))
    slugs = [e.slug for e in second.experiences]
    assert slugs and slugs[0] in edit_form            # the linked experiences, pre-filled
    edit = {"title": "Innovation-Center mit Laborbesuch", "starts_at": "2027-04-20T10:00",
            "ends_at": "2027-04-20T11:30", "room": "Innovation-Center, 3. OG",
            "kind": "transfer_host_offers", "description": "Rundgang durch das Labor",
            "open_questions": "- Wie wird das Labor finanziert?",
            "experiences": "\n".join(slugs + ["gibt-es-nicht"])}
    response = client.post(f"{base}/sitzungen/{second.id}/bearbeiten", data=edit)
    assert response.status_code == 400
    assert "Unbekannte oder nicht veröffentlichte Erfahrungen: gibt-es-nicht" in _text(response)
    edit["experiences"] = "\n".join(f"http://localhost/erfahrungen/{slug}" for slug in slugs)
    response = client.post(f"{base}/sitzungen/{second.id}/bearbeiten", data=edit)
    assert response.status_code == 302
    db.session.expire_all()
    assert [e.slug for e in db.session.get(AgendaSession, second.id).experiences] == slugs
    page = _text(client.get(base))
    assert "Innovation-Center mit Laborbesuch" in page
    assert "Programmpunkte überschneiden sich zeitlich" in page
    assert "Überschneidet sich mit:" in page
    api = client.get(f"/api/v1/visits/{visit.id}").get_json()
    flagged = [s for s in api["agenda"] if s["overlaps"]]
    assert api["has_overlaps"] and len(flagged) == 2

    # Add a session, and a session outside the visit is refused with a German message.
    response = client.post(f"{base}/sitzungen/neu", data={
        "title": "Abendessen", "starts_at": "2027-04-21T19:00", "ends_at": "2027-04-21T21:00",
        "kind": "custom"})
    assert response.status_code == 400
    assert "außerhalb des Besuchs" in _text(response)
    response = client.post(f"{base}/sitzungen/neu", data={
        "title": "Stadtrundgang Werksviertel", "starts_at": "2027-04-21T13:00",
        "ends_at": "2027-04-21T14:00", "kind": "custom", "room": "Treffpunkt Rathaus"})
    assert response.status_code == 302
    added = db.session.scalar(sa.select(AgendaSession).where(
        AgendaSession.title == "Stadtrundgang Werksviertel"))
    # ... and removed again.
    assert client.post(f"{base}/sitzungen/{added.id}/loeschen", data={}).status_code == 302
    assert db.session.get(AgendaSession, added.id) is None

    # Delegation: add a host-side person, an unknown e-mail gives a clear error.
    response = client.post(f"{base}/mitglieder", data={"email": "max@muenchen.example",
                                                       "role": "Webredaktion", "side": "host"})
    assert response.status_code == 302
    response = client.post(f"{base}/mitglieder", data={"email": "wer@nirgendwo.example"})
    assert response.status_code == 400
    assert "Unbekanntes Delegationsmitglied" in _text(response)

    # Dossier page with both cities and the agenda.
    page = _text(client.get(f"{base}/dossier"))
    assert "Briefing-Dossier" in page and "München" in page and "Stuttgart" in page
    assert "Innovation-Center mit Laborbesuch" in page
    assert "Das Innovation-Center als Labor für die Verwaltung" in page
    assert "09162000" in page and "08111000" in page
    # The print rules live in the stylesheet (the CSP allows no inline <style>).
    assert 'class="dossier-page"' in page
    assert "@page dossier" in client.get("/static/style.css").get_data(as_text=True)

    # PDF: text checked with pypdf.
    response = client.get(f"{base}/dossier.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = re.sub(r"\s+", " ", text)
    for expected in ("Gegenbesuch in München", "Stuttgart zu Gast in München",
                     "Innovation-Center mit Laborbesuch", "Gemeinsames Thema: eAkte",
                     "muenchen.digital: Relaunch des Stadtportals", "Baden-Württemberg",
                     "Jürgen Weiß", "Wie wird das Labor finanziert?", "Seite 1 von"):
        assert expected in flat, expected
    assert "„" in text and "“" in text     # German quotes around experience titles
    assert len(reader.pages) >= 2

    # Calendar download.
    response = client.get(f"/besuche/{visit.id}.ics")
    assert response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    assert len(calendar.walk("VEVENT")) == len(db.session.get(Visit, visit.id).sessions) + 1

    # After the visit: outcomes, report draft, link back.
    response = client.post(f"{base}/ergebnisse", data={
        "outcomes": "- Gemeinsames Projekt zur **eAkte** vereinbart\n"
                    "- Hospitation im Innovation-Center"})
    assert response.status_code == 302
    # The visit is held (a report needs a visit that has begun): a year earlier.
    held = db.session.get(Visit, visit.id)
    shift = held.starts_at.replace(year=held.starts_at.year - 1) - held.starts_at
    held.starts_at, held.ends_at = held.starts_at + shift, held.ends_at + shift
    for session in held.sessions:
        session.starts_at, session.ends_at = session.starts_at + shift, session.ends_at + shift
    db.session.commit()
    response = client.post(f"{base}/bericht", data={})
    assert response.status_code == 302
    db.session.expire_all()
    report = db.session.get(Visit, visit.id).report_experience
    assert report is not None and report.kind == "visit_report" and report.status == "draft"
    assert response.headers["Location"].endswith(f"/erfahrungen/{report.slug}")
    assert "Jürgen Weiß" in report.body and "Gemeinsames Projekt zur **eAkte**" in report.body
    assert "Innovation-Center mit Laborbesuch" in report.body
    page = _text(client.get(base))
    assert report.title in page
    # A second report is refused, not duplicated.
    client.post(f"{base}/bericht", data={})
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).report_experience_id == report.id


def test_bad_form_input_gives_german_errors_and_stores_nothing(client, auth, demo):
    auth.login("planer@stuttgart.example", DEMO_PASSWORD)
    stored = _visit_count()          # the demo's December visit
    cases = [
        (_form(demo, ends_at="2027-04-19T15:00"), "Das Ende muss nach dem Beginn liegen"),
        (_form(demo, host_city=str(demo.city("stuttgart").id)),
         "Eine Stadt kann sich nicht selbst besuchen"),
        (_form(demo, delegation="cdo@stuttgart.example\nunbekannt@stuttgart.example"),
         "Unbekanntes Delegationsmitglied „unbekannt@stuttgart.example“"),
        (_form(demo, title="T" * 201), "höchstens 200 Zeichen"),
        (_form(demo, starts_at="morgen früh"), "Kein gültiges Datum mit Zeit"),
        (_form(demo, ends_at=""), "Bitte geben Sie Datum und Uhrzeit an"),
        (_form(demo, title=""), "Bitte geben Sie einen Titel ein"),
    ]
    for data, message in cases:
        response = client.post("/besuche/neu", data=data)
        assert response.status_code == 400, message
        assert message in _text(response), message
    assert _visit_count() == stored


def test_edit_keeps_the_stored_visit_on_bad_input(client, auth, demo, april_visit):
    auth.login("planer@stuttgart.example", DEMO_PASSWORD)
    response = client.post(f"/besuche/{april_visit.id}/bearbeiten",
                           data=_form(demo, title="Neuer Titel", ends_at="2027-04-20T08:00"))
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Visit, april_visit.id).title == "Gegenbesuch in München"
    response = client.post(f"/besuche/{april_visit.id}/bearbeiten",
                           data=_form(demo, title="Gegenbesuch München 2027"))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Visit, april_visit.id).title == "Gegenbesuch München 2027"


def test_munich_staff_reads_but_may_not_edit(client, auth, demo, april_visit):
    auth.login("max@muenchen.example", DEMO_PASSWORD)
    base = f"/besuche/{april_visit.id}"
    assert client.get(base).status_code == 200
    assert "Agenda vorschlagen" not in _text(client.get(base))
    assert client.get(f"{base}/dossier").status_code == 200
    assert client.get(f"{base}.ics").status_code == 200
    for method, url in (("get", f"{base}/bearbeiten"), ("post", f"{base}/bearbeiten"),
                        ("post", f"{base}/agenda/vorschlag"), ("get", f"{base}/sitzungen/neu"),
                        ("post", f"{base}/mitglieder"), ("get", f"{base}/ergebnisse"),
                        ("post", f"{base}/bericht"), ("post", f"{base}/loeschen"),
                        ("get", "/besuche/neu")):
        assert getattr(client, method)(url, data={}).status_code == 403, url
    db.session.expire_all()
    assert db.session.get(Visit, april_visit.id).sessions == []


def test_munich_planner_may_edit_the_visit(client, auth, demo, april_visit):
    auth.login("planer@muenchen.example", DEMO_PASSWORD)
    assert client.get(f"/besuche/{april_visit.id}/bearbeiten").status_code == 200


def test_logged_out_users_are_sent_to_login(client, demo, april_visit):
    response = client.get(f"/besuche/{april_visit.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_list_filters(client, auth, demo, april_visit):
    from exchange.visits.services import create_visit

    create_visit(None, title="Münchens CDO in Stuttgart", host_city=demo.city("stuttgart"),
                 visiting_city=demo.city("muenchen"), starts_at=datetime(2025, 12, 4, 10),
                 ends_at=datetime(2025, 12, 4, 16), status="done")
    create_visit(None, title="Köln besucht Ulm", host_city=demo.city("ulm"),
                 visiting_city=demo.city("koeln"), starts_at=datetime(2027, 5, 4, 10),
                 ends_at=datetime(2027, 5, 4, 16))
    db.session.commit()
    auth.login("anna@stuttgart.example", DEMO_PASSWORD)
    page = _text(client.get("/besuche"))
    assert "Gegenbesuch in München" in page and "Köln besucht Ulm" in page
    assert "Münchens CDO in Stuttgart" not in page
    page = _text(client.get("/besuche?wann=past"))
    assert "Münchens CDO in Stuttgart" in page and "Gegenbesuch in München" not in page
    page = _text(client.get("/besuche?stadt=stuttgart&wann=all"))
    assert "Münchens CDO in Stuttgart" in page and "Köln besucht Ulm" not in page
    page = _text(client.get("/besuche?status=done&wann=all"))
    assert "Münchens CDO in Stuttgart" in page and "Gegenbesuch in München" not in page
    assert client.get("/besuche?status=unsinn&stadt=atlantis&page=x").status_code == 200


def test_dashboard_and_city_page_slots(client, auth, demo, april_visit):
    auth.login("anna@stuttgart.example", DEMO_PASSWORD)
    page = _text(client.get("/"))
    assert "Bevorstehende Besuche" in page and "Gegenbesuch in München" in page
    page = _text(client.get("/staedte/muenchen"))
    assert "Gegenbesuch in München" in page and "Gäste aus Stuttgart" in page
    page = _text(client.get("/staedte/nuernberg"))
    assert "Gegenbesuch in München" not in page
    assert "Besuch in Nürnberg planen" not in page       # staff do not plan visits
    auth.logout()
    auth.login("planer@stuttgart.example", DEMO_PASSWORD)
    page = _text(client.get("/staedte/nuernberg"))
    nuernberg = demo.city("nuernberg")
    assert f"/besuche/neu?gastgeber={nuernberg.id}" in page
    form = _text(client.get(f"/besuche/neu?gastgeber={nuernberg.id}"))
    assert f'<option selected value="{nuernberg.id}">' in form or \
        f'<option value="{nuernberg.id}" selected>' in form


@pytest.fixture
def csrf_on(app_config):
    """Turn CSRF protection on for this test's app (it is off in tests by default)."""
    app_config["WTF_CSRF_ENABLED"] = True


def test_forms_carry_csrf_tokens(csrf_on, client, demo, april_visit):
    login_page = _text(client.get("/login"))
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    response = client.post("/login", data={"email": "planer@stuttgart.example",
                                           "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    page = _text(client.get(f"/besuche/{april_visit.id}"))
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    url = f"/besuche/{april_visit.id}/agenda/vorschlag"
    assert client.post(url, data={}).status_code == 400
    assert db.session.get(Visit, april_visit.id).sessions == []
    assert client.post(url, data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Visit, april_visit.id).sessions


def test_planners_get_no_project_links_they_cannot_open(client, auth, demo):
    """The demo visit (done) lists its agreed topics; a planner may not propose, so no
    link to the proposal form (which would answer 403) is offered."""
    visit = db.session.scalar(sa.select(Visit).where(Visit.status == "done"))
    auth.login("planer@stuttgart.example", DEMO_PASSWORD)
    page = _text(client.get(f"/besuche/{visit.id}"))
    assert "Gemeinsames Projekt starten" in page
    assert "/projekte/neu" not in page
    assert "Mobilität" in page


def test_session_form_help_keeps_its_placeholder_visible(client, auth, demo, april_visit):
    auth.login("planer@muenchen.example", DEMO_PASSWORD)
    page = _text(client.get(f"/besuche/{april_visit.id}/sitzungen/neu"))
    assert "/erfahrungen/&lt;kurz-url&gt;" in page


def test_slots_show_recent_past_visits_after_upcoming_ones(client, auth, demo, april_visit,
                                                           make_visit):
    """A visit that took place last month stays visible under "Zuletzt"; old ones do not."""
    from exchange.visits.timeutil import now_local

    stuttgart, muenchen = demo.city("stuttgart"), demo.city("muenchen")
    planner = demo.user("planer@stuttgart.example")
    start = (now_local() - timedelta(days=30)).replace(hour=9, minute=30, second=0,
                                                          microsecond=0)
    make_visit(planner, muenchen, stuttgart, starts_at=start,
               ends_at=start.replace(hour=17), title="Werkstattbesuch vor einem Monat")
    old = start - timedelta(days=200)
    make_visit(planner, muenchen, stuttgart, starts_at=old, ends_at=old.replace(hour=17),
               title="Besuch vor langer Zeit")
    auth.login("anna@stuttgart.example", DEMO_PASSWORD)
    for url in ("/", "/staedte/muenchen"):
        page = _text(client.get(url))
        assert "Zuletzt" in page and "Werkstattbesuch vor einem Monat" in page
        assert page.index("Gegenbesuch in München") < page.index("Zuletzt") \
            < page.index("Werkstattbesuch vor einem Monat")
        assert "Besuch vor langer Zeit" not in page


def test_one_day_visit_shows_its_date_once(client, auth, demo, make_visit):
    """Visit page and dossier (HTML and PDF) write a one-day visit as 08.12.2027, 09:30–17:00."""
    visit = make_visit(demo.user("planer@stuttgart.example"), demo.city("muenchen"),
                       demo.city("stuttgart"), starts_at=datetime(2027, 12, 8, 9, 30),
                       ends_at=datetime(2027, 12, 8, 17, 0), title="Ein Tag in München")
    auth.login("planer@stuttgart.example", DEMO_PASSWORD)
    for url in (f"/besuche/{visit.id}", f"/besuche/{visit.id}/dossier"):
        page = _text(client.get(url))
        assert "08.12.2027, 09:30–17:00" in page
        assert "08.12.2027, 17:00" not in page
    reader = PdfReader(io.BytesIO(client.get(f"/besuche/{visit.id}/dossier.pdf").data))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "09:30–17:00" in text and "08.12.2027, 17:00" not in text
