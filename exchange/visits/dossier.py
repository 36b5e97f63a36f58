"""Briefing dossier of a visit: the data (shared by the HTML page and the PDF) and the PDF.

The PDF is the dossier page itself (visits/dossier.html, one template for both) laid out
by WeasyPrint as a tagged PDF/UA-1 document, in Source Sans Pro, a Unicode TTF font
shipped by the `font-source-sans-pro` package from PyPI, so „German quotes“, dashes, €
and umlauts render on every machine without system fonts (docs/visits.md).
"""
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.request import url2pathname

import sqlalchemy as sa
from flask import current_app, has_request_context, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..cities.models import Interest
from ..extensions import db
from ..markup import excerpt, shorten
from .models import KIND_LABELS, STATUS_LABELS, Visit
from .services import overlaps
from .timeutil import now_local

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
    #: Topics by stance, most mature first.
    interests: dict[str, list]
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
    interests: dict[str, list] = {stance: [] for stance in STANCE_LABELS}
    rows = db.session.scalars(sa.select(Interest).where(Interest.city_id == city.id)
                              .order_by(Interest.maturity.desc()))
    for interest in rows:
        interests[interest.stance].append(interest.topic)
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

#: The PDF standard the dossier follows: PDF/UA-1 (ISO 14289-1), a tagged PDF with a
#: structure tree (headings, paragraphs, tables with header cells, lists), the document
#: language and title, and bookmarks for the headings — what BITV 2.0 asks of a PDF.
PDF_VARIANT = "pdf/ua-1"
#: The family name the PDF stylesheet gives the embedded Source Sans Pro.
FONT_FAMILY = "SourceSans"
#: Colours of the running header and footer: the app's muted grey.
MUTED = "#5b6675"


def _font_files() -> dict[tuple[str, str], str]:
    """(weight, style) -> TTF file of the dossier font."""
    import font_source_sans_pro as fonts

    files = fonts.font_files_ttf
    return {("normal", "normal"): files["SourceSansPro"],
            ("bold", "normal"): files["SourceSansProBold"],
            ("normal", "italic"): files["SourceSansProIt"],
            ("bold", "italic"): files["SourceSansProBoldIt"]}


def _css_string(text: str) -> str:
    """`text` as a quoted CSS string (user content goes into the running header)."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\r\n\f]+", " ", text) + '"'


def _page_label_css() -> str:
    """CSS content for "Seite N von M" in the reader's language.

    The message keeps its placeholders for the translators; CSS fills in the counters."""
    marker = "\x00"
    text = _("Seite %(page)s von %(pages)s", page=marker + "page" + marker,
             pages=marker + "pages" + marker)
    parts = []
    for index, part in enumerate(text.split(marker)):
        if index % 2:
            parts.append(f"counter({part})")
        elif part:
            parts.append(_css_string(part))
    return " ".join(parts)


def _pdf_stylesheet(dossier: Dossier) -> str:
    """The PDF's own rules on top of style.css's print rules: the embedded font, the
    running header (from page 2) and footer with page numbers, sections that may break
    across pages (one page per section wasted paper) and no skip link.

    WeasyPrint treats these as user rules, which yield to the page's own (author) rules
    unless marked important."""
    faces = "\n".join(
        f"@font-face {{ font-family: {FONT_FAMILY}; font-weight: {weight}; "
        f"font-style: {style}; src: url({Path(path).as_uri()}); }}"
        for (weight, style), path in _font_files().items())
    title = _("Briefing-Dossier · %(title)s", title=dossier.visit.title)
    footer = _("City Exchange · Stand %(date)s · vertraulich, nur für den Dienstgebrauch",
               date=dossier.created.strftime("%d.%m.%Y"))
    box = f"font-family: {FONT_FAMILY}; font-size: 8pt; color: {MUTED};"
    return f"""{faces}
body, body * {{ font-family: {FONT_FAMILY} !important; }}
.skip-link {{ display: none !important; }}
section {{ break-inside: auto !important; }}
@page {{
  @top-left {{ content: {_css_string(title)}; {box} }}
  @bottom-left {{ content: {_css_string(footer)}; {box} }}
  @bottom-right {{ content: {_page_label_css()}; {box} }}
}}
@page :first {{ @top-left {{ content: none; }} }}
"""


def _static_fetcher(static_url: str, static_folder: str, fonts: set[str]):
    """A WeasyPrint URL fetcher that reads the app's static files and the dossier fonts
    from disk and fetches nothing else: no request leaves the server while a PDF is made
    (an image in a user's Markdown stays out of the PDF)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    folder = Path(static_folder).resolve()

    class StaticFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            path = None
            if url.startswith(static_url):
                candidate = (folder / url[len(static_url):].split("?")[0]).resolve()
                if candidate.is_relative_to(folder):
                    path = candidate
            elif url.startswith("file:") and url in fonts:
                path = Path(url2pathname(url.removeprefix("file:")))
            if path is None or not path.is_file():
                raise ValueError(f"not fetched for the dossier PDF: {url}")
            return URLFetcherResponse(url, path.read_bytes(),
                                      {"Content-Type": mimetypes.guess_type(path.name)[0]
                                       or "application/octet-stream"})

    return StaticFetcher()


def render_pdf(dossier: Dossier) -> bytes:
    """The dossier as a tagged PDF (PDF/UA-1), rendered by WeasyPrint from the same
    template as the dossier page (visits/dossier.html with its print rules), in the
    reader's language: /Lang from the page's lang, bookmarks from its headings."""
    if not has_request_context():
        # Rendering the page needs url_for and the locale of a request; from a command
        # there is none, so build the links on the public address.
        with current_app.test_request_context(
                "/", base_url=current_app.config.get("PUBLIC_URL") or None):
            return render_pdf(dossier)
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    visit = dossier.visit
    page = render_template("visits/dossier.html", dossier=dossier, visit=visit)
    base_url = request.host_url
    static_url = url_for("static", filename="", _external=True)
    fonts = {Path(path).as_uri() for path in _font_files().values()}
    fetcher = _static_fetcher(static_url, current_app.static_folder, fonts)
    fonts_seen = FontConfiguration()  # @font-face rules only load through one of these
    document = HTML(string=page, base_url=base_url, url_fetcher=fetcher).render(
        stylesheets=[CSS(string=_pdf_stylesheet(dossier), url_fetcher=fetcher,
                         font_config=fonts_seen)],
        font_config=fonts_seen, pdf_variant=PDF_VARIANT)
    document.metadata.title = _("Briefing-Dossier: %(title)s", title=visit.title)
    document.metadata.authors = ["City Exchange"]
    document.metadata.generator = "City Exchange"
    return document.write_pdf(pdf_variant=PDF_VARIANT)
