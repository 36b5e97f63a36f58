"""The operator's texts for the legal pages: Markdown files in LEGAL_DIR, by part and language.

Each page (templates/core/legal_*.html) is our own text about what the application does
plus operator parts (who runs it, the feedback contact, the enforcement body, …). An
operator part is read from `<LEGAL_DIR>/<part>.<language>.md`, then `<part>.de.md`, then
`<part>.md`; without a file the page shows its default, which says what the operator
still has to complete."""
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from markupsafe import Markup

from ..markup import render_markdown

#: The operator parts and what each holds (docs/OPERATIONS.md, "Legal pages").
PARTS = {
    "betreiber": "who runs this installation: name, address, representative, contact",
    "impressum": "further imprint details: responsible for content, register, VAT id",
    "kontakt-barrierefreiheit": "where people report accessibility barriers",
    "durchsetzungsstelle": "the enforcement or arbitration body responsible for the operator",
    "barrierefreiheit": "additions to the accessibility statement: date, how it was assessed",
    "datenschutz": "the privacy notice's operator part: data protection officer, legal "
                   "basis, retention periods, hosting, supervisory authority",
}
#: Larger files are not read (an operator's text is a few kilobytes).
MAX_BYTES = 200_000


@dataclass(frozen=True)
class LegalText:
    """An operator text rendered to HTML, and the language it is written in."""
    html: Markup
    lang: str


def legal_dir() -> Path:
    """The folder the operator's legal texts are read from."""
    configured = current_app.config.get("LEGAL_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "legal"


def legal_text(part: str, locale: str) -> LegalText | None:
    """The operator's text for `part` in `locale` (else German), or None when there is none.

    An unreadable, oversized or non-UTF-8 file is logged and treated as missing, so the
    page still shows (with its default) instead of failing."""
    if part not in PARTS:
        raise KeyError(part)
    folder = legal_dir()
    for name, lang in ((f"{part}.{locale}.md", locale), (f"{part}.de.md", "de"),
                       (f"{part}.md", "de")):
        path = folder / name
        try:
            if not path.is_file():
                continue
            if path.stat().st_size > MAX_BYTES:
                current_app.logger.error("legal text %s is larger than %s bytes", path, MAX_BYTES)
                continue
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            current_app.logger.error("legal text %s unreadable: %s", path, error)
            continue
        if text.strip():
            return LegalText(render_markdown(text), lang)
    return None


def legal_texts(locale: str) -> dict[str, LegalText | None]:
    """Every operator part for `locale` (None where the default applies)."""
    return {part: legal_text(part, locale) for part in PARTS}
