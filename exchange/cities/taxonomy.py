"""The seeded topic taxonomy: the Stuttgart/Munich story topics and the OZG catalogue."""
import json
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..util import slugify
from .models import Topic, TopicAlias

#: The OZG-Leistungskatalog (14 Themenfelder, 55 Lebenslagen, 557 Leistungen), see data/SOURCES.md.
OZG_CATALOG = Path(__file__).resolve().parent.parent / "data" / "ozg_catalog.jsonl"
#: Topic.slug is a String(80).
SLUG_LENGTH = 80
ROOT_SLUG = "verwaltungsdigitalisierung"
OZG_SLUG = "ozg-umsetzung"


@dataclass(frozen=True)
class TopicSpec:
    """A topic the seed guarantees: slug, names, description, aliases and parent slug."""

    slug: str
    name_de: str
    name_en: str
    description: str
    aliases: tuple[str, ...] = ()
    parent: str | None = ROOT_SLUG
    ozg_key: str | None = None
    #: The English description ("": none, English pages show the German one, marked).
    description_en: str = ""


#: The story topics (see the demo data contract); all below "Verwaltungsdigitalisierung".
STORY_TOPICS = (
    TopicSpec(
        ROOT_SLUG, "Verwaltungsdigitalisierung", "Digital administration",
        "Alles, was Städte tun, um ihre Verwaltung digital, bürgernah und effizient zu "
        "machen: von der Strategie über Online-Dienste und die elektronische Akte bis zu "
        "Arbeitsplätzen, Qualifizierung und Infrastruktur.",
        parent=None,
        description_en=(
            "Everything cities do to make their administration digital, close to citizens and "
            "efficient: from the strategy through online services and electronic files to "
            "workplaces, skills and infrastructure."),
    ),
    TopicSpec(
        "digitalisierungsstrategie", "Digitalisierungsstrategie", "Digital strategy",
        "Wie eine Stadt ihre Digitalisierung steuert: Leitbild, Ziele, Programme wie "
        "Stuttgarts „Digital MoveS“, Governance mit CDO und Digitalisierungsbeirat, "
        "Priorisierung von Vorhaben und Messung des Fortschritts.",
        description_en=(
            "How a city steers its digitalisation: mission statement, goals, programmes such "
            "as Stuttgart's “Digital MoveS”, governance with a CDO and a digitalisation "
            "board, prioritising projects and measuring progress."),
    ),
    TopicSpec(
        OZG_SLUG, "OZG-Umsetzung", "OZG implementation",
        "Umsetzung des Onlinezugangsgesetzes (OZG): Verwaltungsleistungen als Online-Dienste "
        "anbieten, Nachnutzung nach dem Einer-für-Alle-Prinzip, Anbindung an Servicekonten "
        "und Fachverfahren. Darunter liegt der OZG-Leistungskatalog mit Themenfeldern, "
        "Lebenslagen und Leistungen.",
        aliases=("OZG", "Onlinezugangsgesetz", "Online-Dienste"),
        description_en=(
            "Implementing the Online Access Act (OZG): offering administrative services "
            "online, reuse under the one-for-all principle, connecting service accounts and "
            "specialist applications. Below it lies the OZG catalogue of services with its "
            "topic fields, life situations and services."),
    ),
    TopicSpec(
        "eakte", "eAkte", "Electronic files",
        "Einführung der elektronischen Akte: Aktenplan, Scannen und ersetzendes Scannen, "
        "Umstellung von Papierakten, Schulung der Beschäftigten und Anbindung an "
        "Fachverfahren und das Dokumentenmanagement.",
        aliases=("E-Akte", "elektronische Akte", "e-file"),
        description_en=(
            "Introducing electronic files: file plan, scanning and substitute scanning, "
            "moving from paper files, staff training and connecting specialist applications "
            "and document management."),
    ),
    TopicSpec(
        "dms", "Dokumentenmanagement", "Document management",
        "Auswahl, Einführung und Betrieb eines Dokumenten-Management-Systems (DMS): "
        "Anforderungen, Marktvergleich, Ausschreibung, Migration von Altbeständen, "
        "revisionssichere Ablage und Archivierung.",
        aliases=("DMS", "Dokumenten-Management-System", "document management"),
        description_en=(
            "Choosing, introducing and running a document management system (DMS): "
            "requirements, market comparison, tender, migrating old holdings, audit-proof "
            "storage and archiving."),
    ),
    TopicSpec(
        "kollaboration", "Kollaborationswerkzeuge", "Collaboration tools",
        "Werkzeuge für die Zusammenarbeit in und zwischen Verwaltungen: Videokonferenzen, "
        "gemeinsames Bearbeiten von Dokumenten, Chat und Aufgabenverwaltung, "
        "datenschutzkonform und möglichst souverän betrieben.",
        aliases=("Collaboration", "Zusammenarbeit"),
        description_en=(
            "Tools for working together within and between administrations: video "
            "conferencing, editing documents together, chat and task management, compliant "
            "with data protection and run as sovereignly as possible."),
    ),
    TopicSpec(
        "mobiles-arbeiten", "Mobiles Arbeiten", "Mobile work",
        "Mobile Arbeitsplätze und Homeoffice in der Verwaltung: Geräteausstattung, sicherer "
        "Fernzugriff, Dienstvereinbarungen, Führung auf Distanz und Arbeitsplatzkonzepte "
        "wie Desksharing.",
        aliases=("Mobile Arbeitsplätze", "Homeoffice", "mobile work"),
        description_en=(
            "Mobile workplaces and working from home in the administration: devices, secure "
            "remote access, works agreements, leading at a distance and workplace concepts "
            "such as desk sharing."),
    ),
    TopicSpec(
        "fortbildung", "Fortbildung & Qualifizierung", "Training & qualification",
        "Digitale Kompetenzen der Beschäftigten aufbauen: Schulungsprogramme, E-Learning, "
        "Lernformate für Führungskräfte und die Qualifizierung von Multiplikatorinnen und "
        "Multiplikatoren.",
        aliases=("Schulung", "Training"),
        description_en=(
            "Building the digital skills of staff: training programmes, e-learning, formats "
            "for managers and training multipliers."),
    ),
    TopicSpec(
        "digitalisierungslotsen", "Digitalisierungslotsen (Digital MoverS)",
        "Digitalisation pilots (Digital MoverS)",
        "Beschäftigte, die in jedem Amt die Digitalisierung voranbringen: Stuttgarts "
        "„Digital MoverS“ erkennen Verbesserungspotenziale, begleiten Projekte, geben "
        "Wissen weiter und sind Ansprechpersonen für ihre Kolleginnen und Kollegen.",
        aliases=("Digital MoverS", "Digitallotsen", "Lotsen"),
        description_en=(
            "Staff who drive digitalisation in every department: Stuttgart's “Digital MoverS” "
            "spot room for improvement, support projects, pass on knowledge and are the "
            "contact for their colleagues."),
    ),
    TopicSpec(
        "it-sicherheit", "IT-Sicherheit", "IT security",
        "Informationssicherheit in der Kommunalverwaltung: ISMS nach BSI-Grundschutz, "
        "Notfallplanung, Schutz vor Ransomware und Phishing sowie Sensibilisierung und "
        "Schulung der Beschäftigten.",
        aliases=("Informationssicherheit", "ISMS", "IT security"),
        description_en=(
            "Information security in local government: an ISMS following BSI IT-Grundschutz, "
            "emergency planning, protection against ransomware and phishing, and staff "
            "awareness and training."),
    ),
    TopicSpec(
        "breitband", "Breitband für städtische Gebäude", "Broadband for city buildings",
        "Glasfaseranschlüsse und WLAN für Schulen, Verwaltungsgebäude und andere städtische "
        "Liegenschaften: Planung, Förderprogramme, Ausbau und Betrieb.",
        aliases=("Glasfaser", "broadband"),
        description_en=(
            "Fibre connections and Wi-Fi for schools, administrative buildings and other city "
            "properties: planning, funding programmes, roll-out and operation."),
    ),
    TopicSpec(
        "webauftritt", "Digitaler Webauftritt", "Web presence",
        "Das Stadtportal als digitale Eingangstür: Relaunch, Nutzerzentrierung, "
        "Barrierefreiheit, Redaktionsprozesse und die Einbindung von Online-Diensten, "
        "etwa bei muenchen.digital.",
        aliases=("muenchen.digital", "Stadtportal", "web presence"),
        description_en=(
            "The city portal as the digital front door: relaunch, user-centred design, "
            "accessibility, editorial processes and embedding online services, as at "
            "muenchen.digital."),
    ),
    TopicSpec(
        "innovation-center", "Innovation-Center", "Innovation centre",
        "Ein Ort und ein Team, an dem die Verwaltung neue Ideen mit Methoden wie Design "
        "Thinking und Prototyping erprobt, oft gemeinsam mit Start-ups, Hochschulen und "
        "der Stadtgesellschaft – wie das Innovation-Center der Stadt München.",
        aliases=("Innovationslabor", "Innovation Lab"),
        description_en=(
            "A place and a team where the administration tries out new ideas with methods "
            "such as design thinking and prototyping, often together with start-ups, "
            "universities and civil society, like the City of Munich's Innovation-Center."),
    ),
    TopicSpec(
        "mobilitaet", "Mobilität", "Mobility",
        "Digitale Lösungen für Verkehr und Mobilität: Mobilitätsdaten und -plattformen, "
        "Verkehrssteuerung, Parkraummanagement, Sharing-Angebote und Smart Mobility.",
        aliases=("Verkehr", "Smart Mobility", "mobility"),
        description_en=(
            "Digital solutions for traffic and mobility: mobility data and platforms, traffic "
            "control, parking management, sharing services and smart mobility."),
    ),
    TopicSpec(
        "open-data", "Open Data", "Open data",
        "Offene Verwaltungsdaten veröffentlichen und nutzen: Datenportale, Lizenzen, "
        "Datenqualität, Metadaten nach DCAT-AP.de und die Zusammenarbeit mit der "
        "Zivilgesellschaft.",
        aliases=("Offene Daten", "open government data"),
        description_en=(
            "Publishing and using open government data: data portals, licences, data quality, "
            "metadata following DCAT-AP.de and working with civil society."),
    ),
    TopicSpec(
        "buergerservice", "Bürgerservice & Bürgerbüro", "Citizen services & citizen office",
        "Der Kontakt zwischen Bürgerinnen, Bürgern und Verwaltung: Bürgerbüros, "
        "Online-Terminvereinbarung, Wartezeiten, Servicecenter und der Weg vom Schalter "
        "zum Online-Dienst.",
        aliases=("Bürgerbüro", "citizen office"),
        description_en=(
            "Contact between citizens and the administration: citizen offices, online "
            "appointment booking, waiting times, service centres and the way from the counter "
            "to the online service."),
    ),
)

#: English names of the 14 OZG Themenfelder, by catalogue id.
THEMENFELD_NAMES_EN = {
    1: "Work & retirement",
    2: "Building & housing",
    3: "Education",
    4: "Immigration & emigration",
    5: "Volunteering & hobbies",
    6: "Family & children",
    7: "Research & funding",
    8: "Health",
    9: "Mobility & travel",
    10: "Cross-cutting services",
    11: "Law & order",
    12: "Taxes & customs",
    13: "Environment",
    14: "Business management & development",
}


#: English names of the 55 OZG Lebenslagen (life situations), by catalogue id. The
#: catalogue publishes English names for the Themenfelder only; these are our translations.
LEBENSLAGE_NAMES_EN = {
    1: "(Threatened) job loss & job search",
    2: "Waste & environmental protection",
    3: "Adoption & foster children",
    4: "Retirement provision",
    5: "Installations & substances",
    6: "Being an employer",
    7: "Changing jobs",
    8: "Occupational safety",
    9: "Training, further education & expertise",
    10: "Stay abroad",
    11: "Foreign trade",
    12: "Tenders & public contracts",
    13: "Emigration",
    14: "Construction & real estate",
    15: "Disability",
    16: "Vocational training",
    17: "Boat ownership",
    18: "Marriage",
    19: "Immigration",
    20: "Volunteering & participation",
    21: "Securing a livelihood / help with financial problems",
    22: "Financing & funding",
    23: "Fishing & hunting",
    24: "Research & development",
    25: "Driving licence",
    26: "Birth",
    27: "Court and out-of-court proceedings",
    28: "Closing a business & business succession",
    29: "Health care",
    30: "Building a house & buying property",
    31: "Vehicle ownership",
    32: "Childcare",
    33: "Illness",
    34: "Logistics & transport",
    35: "Natural disasters",
    36: "Long-term care",
    37: "Cross-cutting services for citizens",
    38: "Cross-cutting services for businesses",
    39: "Offences: reports and help for victims",
    40: "Pensions & social compensation",
    41: "Divorce",
    42: "School",
    43: "Statistics & reporting obligations",
    44: "Tax return",
    45: "Taxes & levies",
    46: "Higher education",
    47: "Keeping animals",
    48: "Death",
    49: "Separation with children",
    50: "Starting a business & trade licensing",
    51: "Holding an event",
    52: "Events",
    53: "Further education",
    54: "Other services",
    55: "Housing & moving",
}


def load_ozg_catalog(path: Path = OZG_CATALOG) -> list[dict]:
    """The catalogue's rows (themenfeld, lebenslage, leistung), in file order."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def ozg_specs(rows: list[dict]) -> list[TopicSpec]:
    """TopicSpecs for the OZG catalogue: Themenfelder, then Lebenslagen, then Leistungen."""
    themenfelder = {row["id"]: row for row in rows if row["level"] == "themenfeld"}
    lebenslagen = {row["id"]: row for row in rows if row["level"] == "lebenslage"}
    tf_slug = {tid: slugify(f"ozg-{row['name']}", SLUG_LENGTH) for tid, row in themenfelder.items()}
    ll_slug = {lid: slugify(f"ozg-ll-{row['name']}", SLUG_LENGTH)
               for lid, row in lebenslagen.items()}
    specs = []
    for tid, row in sorted(themenfelder.items()):
        specs.append(TopicSpec(
            tf_slug[tid], row["name"], THEMENFELD_NAMES_EN.get(tid, ""),
            f"OZG-Themenfeld „{row['name']}“ mit seinen Lebenslagen und Leistungen.",
            parent=OZG_SLUG, ozg_key=f"themenfeld:{tid}",
            description_en=(f"OZG topic field “{THEMENFELD_NAMES_EN[tid]}” with its life "
                            "situations and services." if tid in THEMENFELD_NAMES_EN else ""),
        ))
    for lid, row in sorted(lebenslagen.items()):
        name_en = LEBENSLAGE_NAMES_EN.get(lid, "")
        field_en = THEMENFELD_NAMES_EN.get(row["themenfeld"], "")
        specs.append(TopicSpec(
            ll_slug[lid], row["name"], name_en,
            f"OZG-Lebenslage „{row['name']}“ im Themenfeld "
            f"„{themenfelder[row['themenfeld']]['name']}“.",
            parent=tf_slug[row["themenfeld"]], ozg_key=f"lebenslage:{lid}",
            description_en=(f"OZG life situation “{name_en}” in the topic field “{field_en}”."
                            if name_en and field_en else ""),
        ))
    # The 557 services have no English name: English pages show the German one, marked
    # lang="de", and an English description that says where the service sits.
    for row in rows:
        if row["level"] != "leistung":
            continue
        situation_en = LEBENSLAGE_NAMES_EN.get(row["lebenslage"], "")
        specs.append(TopicSpec(
            slugify(f"ozg-{row['ozg_id']}-{row['name']}", SLUG_LENGTH), row["name"], "",
            f"OZG-Leistung {row['ozg_id']}: {row['name']}.",
            parent=ll_slug[row["lebenslage"]], ozg_key=f"leistung:{row['ozg_id']}",
            description_en=(f"OZG service {row['ozg_id']} in the life situation "
                            f"“{situation_en}”. The catalogue names it in German only."
                            if situation_en else ""),
        ))
    return specs


def taxonomy_specs() -> list[TopicSpec]:
    """Every seeded topic, parents before children."""
    return list(STORY_TOPICS) + ozg_specs(load_ozg_catalog())


def seed_taxonomy() -> int:
    """Create missing topics, update names and aliases of existing ones; never deletes.

    Descriptions (German and English) are only filled where empty: an operator's edit stays.

    Existing topics are found by OZG key first, then by slug, so a renamed OZG entry keeps
    its row. Aliases are only added, never removed. Returns the number of topics created.
    """
    topics = db.session.scalars(sa.select(Topic).options(selectinload(Topic.aliases))).all()
    by_slug = {topic.slug: topic for topic in topics}
    by_key = {topic.ozg_key: topic for topic in topics if topic.ozg_key}
    created = 0
    with db.session.no_autoflush:
        for spec in taxonomy_specs():
            topic = (by_key.get(spec.ozg_key) if spec.ozg_key else None) or by_slug.get(spec.slug)
            if topic is None:
                topic = Topic(slug=spec.slug, description=spec.description, ozg_key=spec.ozg_key)
                db.session.add(topic)
                by_slug[spec.slug] = topic
                created += 1
            topic.name_de = spec.name_de
            if spec.name_en:
                topic.name_en = spec.name_en
            if not topic.description:
                topic.description = spec.description
            if spec.description_en and not topic.description_en:
                topic.description_en = spec.description_en
            if spec.ozg_key and topic.ozg_key is None:
                topic.ozg_key = spec.ozg_key
            if spec.parent is not None and topic.parent is None:
                topic.parent = by_slug[spec.parent]
            present = {alias.alias for alias in topic.aliases}
            for alias in spec.aliases:
                if alias not in present:
                    topic.aliases.append(TopicAlias(alias=alias))
    db.session.flush()
    return created
