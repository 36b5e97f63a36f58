"""Briefing dossier of a visit: the data (shared by the HTML page and the PDF) and the PDF.

The PDF is drawn with fpdf2 (pure Python, actively maintained) in Source Sans Pro, a
Unicode TTF font shipped by the `font-source-sans-pro` package from PyPI, so „German
quotes“, dashes, € and umlauts render on every machine without system fonts.
"""
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel import lazy_gettext as _l

from ..cities.models import Interest
from ..extensions import db
from ..markup import excerpt, markdown_to_text, shorten
from .agenda import session_time_text
from .models import KIND_LABELS, STATUS_LABELS, Visit
from .services import overlaps
from .timeutil import format_clock, format_day, now_local

#: Characters of each experience's excerpt in the dossier.
EXCERPT_LENGTH = 260
#: Characters of a city profile shown in the dossier.
PROFILE_LENGTH = 600
STANCE_LABELS = {"offers": _l("bietet"), "seeks": _l("sucht"),
                 "working_on": _l("arbeitet an")}


def kind_label(kind: str) -> str:
    """German (translated) label of a session kind."""
    return str(KIND_LABELS.get(kind, kind))


def status_label(status: str) -> str:
    """German (translated) label of a visit status."""
    return str(STATUS_LABELS.get(status, status))


@dataclass
class CityFacts:
    """A city's profile and key figures for the dossier."""

    city: object
    experience_count: int
    interests: dict[str, list[str]]
    profile_text: str


@dataclass
class Dossier:
    """Everything the briefing dossier shows, computed once."""

    visit: Visit
    host: CityFacts
    guest: CityFacts
    sessions: list
    overlaps: dict
    experiences: dict[int, list[dict]]
    delegation: dict[str, list]
    projects: list | None
    #: When the dossier was made (Berlin time), printed in the footer.
    created: datetime = field(default_factory=now_local)


def city_facts(city) -> CityFacts:
    """Key figures of a city: published experiences and interests by stance."""
    from ..wiki.models import Experience

    count = db.session.scalar(
        sa.select(sa.func.count(Experience.id)).where(
            Experience.city_id == city.id, Experience.status == "published",
            Experience.deleted_at.is_(None))) or 0
    interests: dict[str, list[str]] = {stance: [] for stance in STANCE_LABELS}
    rows = db.session.scalars(sa.select(Interest).where(Interest.city_id == city.id)
                              .order_by(Interest.maturity.desc()))
    for interest in rows:
        interests[interest.stance].append(interest.topic.name_de)
    return CityFacts(city, count, interests, excerpt(city.profile, PROFILE_LENGTH))


def running_projects(visit: Visit) -> list | None:
    """Active joint projects of the two cities, or None when the projects domain is absent."""
    try:
        from ..projects.services import city_projects
    except ImportError:
        return None
    projects = []
    for project in city_projects(visit.host_city, ("active",)):
        participant = project.participant(visit.visiting_city)
        if participant is not None and participant.response == "accepted":
            projects.append(project)
    return projects


def build_dossier(visit: Visit) -> Dossier:
    """Collect the dossier's content for the HTML page and the PDF."""
    sessions = list(visit.sessions)
    experiences = {
        session.id: [{"experience": experience, "excerpt": shorten(experience.excerpt or "",
                                                                   EXCERPT_LENGTH)}
                     for experience in session.experiences]
        for session in sessions
    }
    delegation = {"guest": [m for m in visit.members if m.side == "guest"],
                  "host": [m for m in visit.members if m.side == "host"]}
    return Dossier(visit=visit, host=city_facts(visit.host_city),
                   guest=city_facts(visit.visiting_city), sessions=sessions,
                   overlaps=overlaps(visit), experiences=experiences, delegation=delegation,
                   projects=running_projects(visit))


# --- PDF ---------------------------------------------------------------------------------

FONT_FAMILY = "SourceSans"
#: Colours: dark ink, a muted grey for meta lines, the app's accent blue for headings.
INK = (29, 37, 48)
MUTED = (91, 102, 117)
ACCENT = (11, 92, 173)
LINE = (217, 222, 229)
SHADE = (230, 240, 250)


def _font_files() -> dict[str, str]:
    """Regular, bold and italic TTF files of the dossier font."""
    import font_source_sans_pro as fonts

    files = fonts.font_files_ttf
    return {"": files["SourceSansPro"], "B": files["SourceSansProBold"],
            "I": files["SourceSansProIt"], "BI": files["SourceSansProBoldIt"]}


def _dossier_pdf_class():
    from fpdf import FPDF

    class DossierPDF(FPDF):
        """A4 pages with a running header and a footer with page numbers."""

        title_text = ""
        footer_text = ""

        def header(self):
            if self.page_no() == 1:
                return
            self.set_font(FONT_FAMILY, "", 8)
            self.set_text_color(*MUTED)
            self.cell(0, 5, self.title_text, new_x="LMARGIN", new_y="NEXT")
            self.set_draw_color(*LINE)
            self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
            self.ln(4)
            self.set_text_color(*INK)

        def footer(self):
            self.set_y(-14)
            self.set_draw_color(*LINE)
            self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
            self.set_font(FONT_FAMILY, "", 8)
            self.set_text_color(*MUTED)
            self.cell(0, 8, self.footer_text, align="L")
            self.set_x(self.l_margin)
            self.cell(0, 8, _("Seite %(page)s von %(pages)s", page=self.page_no(),
                              pages="{nb}"), align="R")
            self.set_text_color(*INK)

    return DossierPDF


def render_pdf(dossier: Dossier) -> bytes:
    """The dossier as a PDF: title block, city profiles, agenda table, sessions in detail,
    delegation and running projects; page numbers and a footer on every page."""
    from fpdf.fonts import FontFace

    visit = dossier.visit
    pdf = _dossier_pdf_class()(format="A4")
    for style, path in _font_files().items():
        pdf.add_font(FONT_FAMILY, style, path)
    pdf.set_title(_("Briefing-Dossier: %(title)s", title=visit.title))
    pdf.set_author("City Exchange")
    pdf.set_creator("City Exchange")
    pdf.set_lang("de-DE")
    pdf.title_text = _("Briefing-Dossier · %(title)s", title=visit.title)
    pdf.footer_text = _("City Exchange · Stand %(date)s · vertraulich, nur für den "
                        "Dienstgebrauch", date=dossier.created.strftime("%d.%m.%Y"))
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    width = pdf.epw

    def heading(text, size=14, space=6):
        if pdf.get_y() > pdf.h - 50:
            pdf.add_page()
        pdf.ln(space)
        pdf.set_font(FONT_FAMILY, "B", size)
        pdf.set_text_color(*ACCENT)
        pdf.multi_cell(width, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*INK)
        pdf.ln(1.5)

    def paragraph(text, size=10, style="", color=INK, height=5):
        if not text:
            return
        pdf.set_font(FONT_FAMILY, style, size)
        pdf.set_text_color(*color)
        pdf.multi_cell(width, height, text, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*INK)

    # Title block.
    pdf.set_fill_color(*ACCENT)
    pdf.rect(0, 0, pdf.w, 8, style="F")
    pdf.set_fill_color(255, 255, 255)
    pdf.ln(14)
    paragraph(_("Briefing-Dossier Delegationsbesuch"), size=11, style="B", color=MUTED)
    pdf.ln(2)
    pdf.set_font(FONT_FAMILY, "B", 24)
    pdf.multi_cell(width, 11, visit.title, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    paragraph(_("%(guest)s zu Gast in %(host)s", guest=visit.visiting_city.name,
                host=visit.host_city.name), size=15)
    pdf.ln(4)
    pdf.set_font(FONT_FAMILY, "", 10.5)
    with pdf.table(col_widths=(35, 125), first_row_as_headings=False, line_height=6.5,
                   borders_layout="HORIZONTAL_LINES", text_align=("LEFT", "LEFT")) as table:
        for label, value in (
            (_("Termin"), _day_span(visit)),
            (_("Ort"), ", ".join(p for p in (visit.place, visit.address) if p)
             or visit.host_city.name),
            (_("Status"), status_label(visit.status)),
            (_("Gastgeber"), visit.host_city.name),
            (_("Delegation"), ngettext("%(city)s, %(num)s Person", "%(city)s, %(num)s Personen",
                                       len(dossier.delegation["guest"]),
                                       city=visit.visiting_city.name)),
            (_("Themen"), ", ".join(t.name_de for t in visit.topics) or "–"),
        ):
            row = table.row()
            row.cell(label, style=FontFace(emphasis="BOLD", color=MUTED))
            row.cell(value)
    if visit.notes:
        heading(_("Ziele und Hinweise"), size=12)
        for block in _blocks(visit.notes):
            paragraph(block)

    # City profiles and key figures.
    heading(_("Die beiden Städte"))
    for facts, role in ((dossier.host, _("Gastgeber")), (dossier.guest, _("Gäste"))):
        city = facts.city
        pdf.set_font(FONT_FAMILY, "B", 12)
        pdf.multi_cell(width, 6, f"{city.name} ({role})", align="L", new_x="LMARGIN",
                       new_y="NEXT")
        pdf.set_font(FONT_FAMILY, "", 10)
        with pdf.table(col_widths=(45, 115), first_row_as_headings=False, line_height=5.5,
                       borders_layout="NONE", text_align=("LEFT", "LEFT")) as table:
            rows = [
                (_("Bundesland"), city.state or "–"),
                (_("Gemeindeschlüssel (AGS)"), city.ags or "–"),
                (_("Einwohner"), f"{city.population:,}".replace(",", ".")
                 if city.population else "–"),
                (_("Erfahrungen im Wiki"), str(facts.experience_count)),
            ]
            for stance, label in STANCE_LABELS.items():
                if facts.interests[stance]:
                    rows.append((str(label), ", ".join(facts.interests[stance])))
            for label, value in rows:
                row = table.row()
                row.cell(label, style=FontFace(color=MUTED))
                row.cell(value)
        paragraph(facts.profile_text, size=9.5, color=MUTED)
        pdf.ln(3)

    # Agenda overview.
    heading(_("Agenda"))
    if not dossier.sessions:
        paragraph(_("Noch keine Agenda geplant."))
    else:
        heading_style = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=ACCENT)
        pdf.set_font(FONT_FAMILY, "", 10)
        with pdf.table(col_widths=(32, 88, 40), line_height=5.5, headings_style=heading_style,
                       text_align=("LEFT", "LEFT", "LEFT"), cell_fill_color=SHADE,
                       cell_fill_mode="ROWS", borders_layout="HORIZONTAL_LINES") as table:
            row = table.row()
            for label in (_("Zeit"), _("Programmpunkt"), _("Themen")):
                row.cell(label)
            for session in dossier.sessions:
                row = table.row()
                when = session_time_text(session)
                if session.id in dossier.overlaps:
                    when += "\n" + _("überschneidet sich")
                row.cell(when)
                title = session.title + (f"\n{session.room}" if session.room else "")
                row.cell(title)
                row.cell(", ".join(t.name_de for t in session.topics) or kind_label(session.kind))

    # Sessions in detail.
    detailed = [s for s in dossier.sessions if s.kind not in ("break",)]
    if detailed:
        heading(_("Die Programmpunkte im Einzelnen"))
    for session in detailed:
        heading(f"{format_clock(session.starts_at)} {session.title}", size=11.5, space=3)
        meta = [session_time_text(session), kind_label(session.kind)]
        if session.room:
            meta.append(session.room)
        paragraph(" · ".join(meta), size=9, color=MUTED)
        if session.topics:
            paragraph(_("Themen: %(topics)s", topics=", ".join(t.name_de for t in session.topics)),
                      size=9.5, style="B")
        for block in _blocks(session.description):
            paragraph(block, size=10)
        items = dossier.experiences.get(session.id, [])
        if items:
            pdf.ln(1)
            paragraph(_("Erfahrungen und Lessons Learned"), size=10, style="B")
            for item in items:
                experience = item["experience"]
                paragraph(f"„{experience.title}“ – {experience.city.name}", size=10, style="B")
                paragraph(item["excerpt"], size=9.5, color=MUTED, height=4.6)
        if session.contacts:
            paragraph(_("Ansprechpersonen: %(names)s", names="; ".join(
                f"{p['name']} ({p['city']}{', ' + p['email'] if p['email'] else ''})"
                for p in session.contacts)), size=9.5)
        if session.open_questions:
            pdf.ln(1)
            paragraph(_("Offene Fragen"), size=10, style="B")
            for block in _lines(session.open_questions):
                paragraph(block, size=10)

    # Delegation.
    heading(_("Delegation und Teilnehmende"))
    members = dossier.delegation["guest"] + dossier.delegation["host"]
    if not members:
        paragraph(_("Noch keine Teilnehmenden eingetragen."))
    else:
        heading_style = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=ACCENT)
        pdf.set_font(FONT_FAMILY, "", 10)
        with pdf.table(col_widths=(50, 50, 35, 25), line_height=5.5,
                       headings_style=heading_style, borders_layout="HORIZONTAL_LINES",
                       cell_fill_color=SHADE, cell_fill_mode="ROWS",
                       text_align=("LEFT", "LEFT", "LEFT", "LEFT")) as table:
            row = table.row()
            for label in (_("Name"), _("Funktion"), _("Organisation"), _("Stadt")):
                row.cell(label)
            for member in members:
                row = table.row()
                row.cell(member.name)
                row.cell(member.role or "–")
                row.cell(member.organisation or ("–" if member.user is None
                                                 else member.city.name))
                row.cell(member.city.name)

    # Running joint projects.
    if dossier.projects is not None:
        heading(_("Laufende gemeinsame Projekte"))
        if not dossier.projects:
            paragraph(_("Zwischen %(a)s und %(b)s laufen noch keine gemeinsamen Projekte.",
                        a=visit.host_city.name, b=visit.visiting_city.name))
        for project in dossier.projects:
            paragraph(project.title, style="B")
            paragraph(excerpt(project.description, EXCERPT_LENGTH), size=9.5, color=MUTED)
    return bytes(pdf.output())


def _blocks(text: str) -> list[str]:
    """Markdown paragraphs as plain-text blocks (blank lines separate them)."""
    return [markdown_to_text(block) for block in (text or "").replace("\r\n", "\n").split("\n\n")
            if block.strip()]


def _lines(text: str) -> list[str]:
    """Markdown list items or lines as plain text, each starting with a dash."""
    items = []
    for line in (text or "").splitlines():
        line = line.strip().lstrip("-*").strip()
        if line:
            items.append("– " + markdown_to_text(line))
    return items


def _day_span(visit: Visit) -> str:
    start, end = visit.starts_at, visit.ends_at
    if start.date() == end.date():
        return _("%(day)s, %(start)s–%(end)s Uhr", day=format_day(start),
                 start=format_clock(start), end=format_clock(end))
    return _("%(day)s, %(start)s Uhr – %(end_day)s, %(end)s Uhr", day=format_day(start),
             start=format_clock(start), end_day=format_day(end), end=format_clock(end))
