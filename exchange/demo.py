"""Demo data: the taxonomy, six cities, demo logins, interests, German experiences and
Munich's December visit to Stuttgart.

`load_demo()` only adds what is missing, so running it twice changes nothing and an
edited demo page, interest or visit is never overwritten. The experience texts live in
`exchange/data/demo_experiences.md`.
"""
import csv
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from .extensions import db

DATA_DIR = Path(__file__).resolve().parent / "data"
EXPERIENCES_FILE = DATA_DIR / "demo_experiences.md"
MUNICIPALITIES_FILE = DATA_DIR / "municipalities.csv"
#: The password of every demo login (documented in the README).
DEMO_PASSWORD = "exchange-demo"


@dataclass(frozen=True)
class DemoCity:
    """A demo city; AGS and population are read from municipalities.csv."""

    slug: str
    name: str
    ags: str
    website: str
    profile: str


DEMO_CITIES = (
    DemoCity(
        "stuttgart", "Stuttgart", "08111000", "https://www.stuttgart.de",
        "Die Landeshauptstadt Baden-Württembergs bündelt ihre Verwaltungsdigitalisierung im "
        "Programm **Digital MoveS**.\n\n"
        "## Schwerpunkte\n\n"
        "- OZG-Umsetzung: Online-Dienste für die häufigsten Anliegen\n"
        "- Einführung der E-Akte und eines Dokumentenmanagements\n"
        "- Kollaborationswerkzeuge und mobile Arbeitsplätze\n"
        "- Fortbildung und die **Digital MoverS**: Digitalisierungslotsen in jedem Amt\n"
        "- IT-Sicherheit und Breitband für städtische Gebäude\n"
        "- Mobilität: Mobilitätsdaten und digitale Verkehrssteuerung\n\n"
        "Ansprechpartner ist die Stabsstelle des Chief Digital Officer.",
    ),
    DemoCity(
        "muenchen", "München", "09162000", "https://stadt.muenchen.de",
        "Die Landeshauptstadt München digitalisiert ihre Verwaltung mit dem **Referat für IT** "
        "(IT-Referat) und dem städtischen IT-Dienstleister.\n\n"
        "## Schwerpunkte\n\n"
        "- **muenchen.digital**: das Stadtportal als digitale Eingangstür zur Verwaltung\n"
        "- das **Innovation-Center** als Labor für neue Ideen in der Verwaltung\n"
        "- Open Data und Kollaborationswerkzeuge\n"
        "- OZG-Umsetzung und eAkte\n\n"
        "München sucht den Austausch zu Mobilität und Dokumentenmanagement.",
    ),
    DemoCity(
        "karlsruhe", "Karlsruhe", "08212000", "https://www.karlsruhe.de",
        "Karlsruhe setzt seit Jahren auf eine eigene **Digitalisierungsstrategie** "
        "(„Digitales Karlsruhe“) und eine flächendeckende eAkte.\n\n"
        "- Erfahrungen mit IT-Sicherheit und Awareness-Schulungen\n"
        "- Dokumentenmanagement im Regelbetrieb",
    ),
    DemoCity(
        "ulm", "Ulm", "08421000", "https://www.ulm.de",
        "Die Universitätsstadt Ulm ist Modellkommune für die Digitalisierung und hat alle "
        "Schulen und viele städtische Gebäude an Glasfaser angeschlossen.",
    ),
    DemoCity(
        "nuernberg", "Nürnberg", "09564000", "https://www.nuernberg.de",
        "Nürnberg betreibt ein **Open-Data-Portal** mit Daten aus Verkehr, Umwelt und Statistik "
        "und sucht Erfahrungen mit der Einführung der eAkte.",
    ),
    DemoCity(
        "koeln", "Köln", "05315000", "https://www.stadt-koeln.de",
        "Köln arbeitet an der OZG-Umsetzung und hat die Online-Terminvereinbarung in allen "
        "Kundenzentren (Bürgerbüros) eingeführt.",
    ),
)

#: (e-mail, display name, city slug or None, role, platform admin)
DEMO_USERS = (
    ("cdo@stuttgart.example", "Dr. Thomas Berger", "stuttgart", "city_admin", False),
    ("anna@stuttgart.example", "Anna Schmid", "stuttgart", "staff", False),
    ("planer@stuttgart.example", "Jens Keller", "stuttgart", "visit_planner", False),
    ("cdo@muenchen.example", "Dr. Laura Hofmann", "muenchen", "city_admin", False),
    ("max@muenchen.example", "Max Huber", "muenchen", "staff", False),
    ("planer@muenchen.example", "Sabine Wagner", "muenchen", "visit_planner", False),
    ("digital@karlsruhe.example", "Katrin Neumann", "karlsruhe", "city_admin", False),
    ("digital@ulm.example", "Markus Böhm", "ulm", "city_admin", False),
    ("digital@nuernberg.example", "Julia Schuster", "nuernberg", "city_admin", False),
    ("digital@koeln.example", "Stefan Krämer", "koeln", "city_admin", False),
    ("admin@city-exchange.example", "Plattform-Admin", None, "staff", True),
)

#: city slug -> (topic slug, stance, maturity, note)
DEMO_INTERESTS = {
    "stuttgart": (
        ("mobilitaet", "offers", 5, "Mobilitätsdatenplattform und digitale Verkehrssteuerung."),
        ("digitalisierungslotsen", "offers", 4, "Digital MoverS in jedem Amt."),
        ("fortbildung", "offers", 4, "Qualifizierungsprogramm für alle Beschäftigten."),
        ("innovation-center", "seeks", 1, "Wir möchten ein Innovationslabor aufbauen."),
        ("webauftritt", "seeks", 2, "Relaunch von stuttgart.de in Planung."),
        ("dms", "seeks", 1, "Auswahl eines Dokumentenmanagementsystems steht an."),
        ("ozg-umsetzung", "working_on", 3, ""),
        ("eakte", "working_on", 3, "Pilot im Bürgerbüro, Rollout 2027."),
        ("kollaboration", "working_on", 2, ""),
        ("mobiles-arbeiten", "working_on", 3, ""),
        ("it-sicherheit", "working_on", 3, ""),
        ("breitband", "working_on", 2, ""),
    ),
    "muenchen": (
        ("innovation-center", "offers", 5, "Innovation-Center mit eigenem Team und Räumen."),
        ("webauftritt", "offers", 5, "Relaunch muenchen.digital abgeschlossen."),
        ("open-data", "offers", 4, ""),
        ("mobilitaet", "seeks", 2, "Interesse an einer Mobilitätsdatenplattform."),
        ("dms", "seeks", 1, ""),
        ("ozg-umsetzung", "working_on", 3, ""),
        ("eakte", "working_on", 2, ""),
        ("kollaboration", "working_on", 3, ""),
    ),
    "karlsruhe": (
        ("it-sicherheit", "offers", 4, "Awareness-Programm mit Phishing-Simulation."),
        ("eakte", "offers", 4, "eAkte in der gesamten Kernverwaltung."),
        ("digitalisierungsstrategie", "offers", 4, ""),
        ("mobiles-arbeiten", "seeks", 2, ""),
    ),
    "ulm": (
        ("breitband", "offers", 5, "Alle Schulen mit Glasfaser angeschlossen."),
        ("open-data", "seeks", 2, ""),
        ("ozg-umsetzung", "working_on", 2, ""),
    ),
    "nuernberg": (
        ("open-data", "offers", 5, "Open-Data-Portal seit 2019 im Betrieb."),
        ("eakte", "seeks", 1, ""),
        ("kollaboration", "working_on", 2, ""),
    ),
    "koeln": (
        ("buergerservice", "offers", 4, "Online-Terminvereinbarung in allen Kundenzentren."),
        ("ozg-umsetzung", "working_on", 4, ""),
        ("digitalisierungslotsen", "seeks", 2, ""),
    ),
}

#: Munich's December 2026 visit to Stuttgart (the story's first visit, already held); the
#: return visit in April 2027 is left for the planner to create in the UI.
DEMO_VISIT = {
    "title": "Münchens CDO zu Gast in Stuttgart",
    "host_city": "stuttgart",
    "visiting_city": "muenchen",
    "starts_at": datetime(2026, 12, 8, 9, 30),
    "ends_at": datetime(2026, 12, 9, 15, 0),
    "place": "Rathaus Stuttgart",
    "address": "Marktplatz 1, 70173 Stuttgart",
    "status": "done",
    "topics": ("digitalisierungslotsen", "mobilitaet", "eakte"),
    "notes": "Programm **Digital MoveS** kennenlernen und Themen für eine engere "
             "Zusammenarbeit finden.",
    "outcomes": "- Austausch der Unterlagen zu Digitalisierungslotsen und "
                "Mobilitätsdatenplattform\n"
                "- gemeinsamer Workshop zur Auswahl eines Dokumenten-Management-Systems im "
                "ersten Quartal 2027\n"
                "- Prüfung eines gemeinsamen Projekts zu Kollaborationswerkzeugen\n"
                "- Gegenbesuch der Stuttgarter Delegation im April 2027 mit Schwerpunkt "
                "Innovation-Center",
    "planner": "planer@muenchen.example",
    "members": (
        {"user": "cdo@muenchen.example", "role": "Chief Digital Officer"},
        {"user": "max@muenchen.example", "role": "Referent Digitalisierung"},
        {"guest_name": "Claudia Fischer", "role": "Stadträtin",
         "organisation": "Stadtrat der Landeshauptstadt München"},
    ),
    "report": "besuchsbericht-muenchens-cdo-zu-gast-in-stuttgart",
}

_ENTRY = re.compile(r"<!-- experience\n(?P<header>.*?)\n-->\n(?P<body>.*?)(?=<!-- experience\n|\Z)",
                    re.DOTALL)
_CONTACT = re.compile(r"^(?P<name>.*?)\s*<(?P<email>[^>]+)>$")


def demo_experiences(path: Path = EXPERIENCES_FILE) -> list[dict]:
    """The demo experiences parsed from their Markdown file, in file order.

    Each entry starts with an HTML comment `<!-- experience` holding `key: value` lines
    (slug, city, author, kind, topics, contact, title) and ends at the next entry.
    """
    entries = []
    for match in _ENTRY.finditer(path.read_text(encoding="utf-8")):
        header = {}
        for line in match["header"].splitlines():
            key, _, value = line.partition(":")
            header[key.strip()] = value.strip()
        contact = _CONTACT.match(header.get("contact", ""))
        entries.append({
            "slug": header["slug"],
            "city": header["city"],
            "author": header["author"],
            "kind": header["kind"],
            "title": header["title"],
            "topics": [slug.strip() for slug in header.get("topics", "").split(",")
                       if slug.strip()],
            "contact_name": contact["name"] if contact else None,
            "contact_email": contact["email"] if contact else None,
            "body": match["body"].strip() + "\n",
        })
    return entries


def _municipalities(ags_wanted: set[str]) -> dict[str, dict]:
    with MUNICIPALITIES_FILE.open(encoding="utf-8", newline="") as handle:
        return {row["ags"]: row for row in csv.DictReader(handle) if row["ags"] in ags_wanted}


def load_demo() -> str:
    """Add the demo taxonomy, cities, users, interests and experiences that are missing.

    Flushes, never commits; returns a one-line summary of what was created.
    """
    from .auth.models import User
    from .auth.services import create_user, find_user_by_email
    from .cities.models import City, Interest, Topic
    from .cities.taxonomy import seed_taxonomy
    from .wiki.models import Experience
    from .wiki.services import create_experience

    _apply_search_outbox()
    topics_created = seed_taxonomy()
    counts = {"cities": 0, "users": 0, "interests": 0, "experiences": 0}

    municipalities = _municipalities({city.ags for city in DEMO_CITIES})
    cities = {city.slug: city for city in db.session.scalars(sa.select(City))}
    for spec in DEMO_CITIES:
        if spec.slug in cities:
            continue
        row = municipalities[spec.ags]
        city = City(slug=spec.slug, name=spec.name, state=row["state"], ags=spec.ags,
                    population=int(row["population"]), website=spec.website,
                    profile=spec.profile)
        db.session.add(city)
        cities[spec.slug] = city
        counts["cities"] += 1
    db.session.flush()

    for email, name, city_slug, role, is_admin in DEMO_USERS:
        if find_user_by_email(email) is None:
            create_user(email, name, city=cities.get(city_slug), role=role,
                        password=DEMO_PASSWORD, is_admin=is_admin, is_approved=True)
            counts["users"] += 1

    wanted = {slug for interests in DEMO_INTERESTS.values() for slug, *_ in interests}
    topics = {topic.slug: topic for topic in db.session.scalars(
        sa.select(Topic).where(Topic.slug.in_(wanted)))}
    existing = set(db.session.execute(sa.select(Interest.city_id, Interest.topic_id)).all())
    for city_slug, interests in DEMO_INTERESTS.items():
        city = cities[city_slug]
        for topic_slug, stance, maturity, note in interests:
            topic = topics[topic_slug]
            if (city.id, topic.id) in existing:
                continue
            db.session.add(Interest(city=city, topic=topic, stance=stance, maturity=maturity,
                                    note=note))
            counts["interests"] += 1
    db.session.flush()

    slugs = set(db.session.scalars(sa.select(Experience.slug)))
    for entry in demo_experiences():
        if entry["slug"] in slugs:
            continue
        author = db.session.scalar(sa.select(User).where(User.email == entry["author"]))
        create_experience(
            author, cities[entry["city"]], entry["title"], entry["body"], kind=entry["kind"],
            topics=entry["topics"], status="published", slug=entry["slug"],
            contact_name=entry["contact_name"], contact_email=entry["contact_email"],
        )
        counts["experiences"] += 1

    visit_created = _load_demo_visit(cities)

    return (f"Demo-Daten: {topics_created} Themen, {counts['cities']} Städte, "
            f"{counts['users']} Benutzer, {counts['interests']} Interessen, "
            f"{counts['experiences']} Erfahrungen neu angelegt; Demo-Besuch: "
            f"{'neu angelegt' if visit_created else 'schon vorhanden'}.")


def _apply_search_outbox() -> None:
    """Index committed pages still waiting in the search outbox, before our first write.

    The demo visit's agenda searches; each search first applies the outbox in a session of
    its own, which on SQLite waits for (and then gives up on) the write lock this unit of
    work holds. Nothing committed is pending after this, so those searches never wait.
    """
    try:
        from .search.services import apply_outbox
    except ImportError:  # search domain not installed: the agenda uses tagged pages
        return
    apply_outbox()


def demo_visit_query(cities: dict):
    """The demo visit: any visit of Munich to Stuttgart starting in December 2026.

    Matched by direction and month, not by title or exact time, so a planner's edits
    to it never make the next `load_demo()` add a second one.
    """
    from .visits.models import Visit

    start = DEMO_VISIT["starts_at"]
    month = datetime(start.year, start.month, 1)
    next_month = datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
    return sa.select(Visit).where(
        Visit.host_city_id == cities[DEMO_VISIT["host_city"]].id,
        Visit.visiting_city_id == cities[DEMO_VISIT["visiting_city"]].id,
        Visit.starts_at >= month, Visit.starts_at < next_month)


def _load_demo_visit(cities: dict) -> bool:
    """Create the demo visit with delegation, proposed agenda, outcomes and report link,
    unless it exists; returns whether it was created."""
    from .auth.services import find_user_by_email
    from .cities.models import Topic
    from .visits.agenda import propose_agenda
    from .visits.services import create_visit, update_visit
    from .wiki.models import Experience

    if db.session.scalar(demo_visit_query(cities).limit(1)) is not None:
        return False
    planner = find_user_by_email(DEMO_VISIT["planner"])
    topics = list(db.session.scalars(sa.select(Topic).where(
        Topic.slug.in_(DEMO_VISIT["topics"]))))
    # Demo users renamed or removed since an earlier run are left out, not re-created.
    members = [member for member in DEMO_VISIT["members"]
               if "user" not in member or find_user_by_email(member["user"]) is not None]
    # Trusted command (actor None): a demo login whose role was changed meanwhile must not
    # stop the seeding; the planner is still recorded as the creator.
    visit = create_visit(
        None, title=DEMO_VISIT["title"], host_city=cities[DEMO_VISIT["host_city"]],
        visiting_city=cities[DEMO_VISIT["visiting_city"]],
        starts_at=DEMO_VISIT["starts_at"], ends_at=DEMO_VISIT["ends_at"],
        place=DEMO_VISIT["place"], address=DEMO_VISIT["address"], status="planned",
        topics=topics, notes=DEMO_VISIT["notes"], members=members)
    visit.created_by = planner
    propose_agenda(None, visit)
    update_visit(None, visit, status=DEMO_VISIT["status"], outcomes=DEMO_VISIT["outcomes"])
    report = db.session.scalar(sa.select(Experience).where(
        Experience.slug == DEMO_VISIT["report"], Experience.deleted_at.is_(None)))
    if report is not None and report.kind == "visit_report":
        visit.report_experience = report
    db.session.flush()
    return True
