"""Translation catalogues: compile a missing or outdated .mo from its .po at startup.

The German msgids are the source texts; exchange/translations/<lang>/LC_MESSAGES/
messages.po holds the translations. Compiled .mo files are build output (gitignored);
`make install` compiles them, and create_app() calls `ensure_compiled` so a fresh
checkout or an edited .po never silently shows German to English users.
"""
import logging
import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

DOMAIN = "messages"


def translation_directories(app) -> list[Path]:
    """The directories Flask-Babel reads, resolved like Flask-Babel does (root_path)."""
    configured = app.config.get("BABEL_TRANSLATION_DIRECTORIES", "translations")
    return [Path(app.root_path, entry) for entry in configured.split(";") if entry]


def _needs_compiling(po: Path, mo: Path) -> bool:
    return not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime


def compile_catalogue(po: Path, mo: Path) -> None:
    """Compile one .po into .mo atomically (parallel workers never read half a file)."""
    with po.open("rb") as handle:
        catalogue = read_po(handle, locale=po.parent.parent.name, domain=DOMAIN)
    fd, temporary = tempfile.mkstemp(dir=mo.parent, prefix=f".{mo.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write_mo(handle, catalogue, use_fuzzy=False)
        os.replace(temporary, mo)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def ensure_compiled(app) -> list[Path]:
    """Compile every catalogue whose .mo is missing or older than its .po; return those.

    A read-only installation cannot write next to the .po; then the existing .mo (or,
    without one, the German source text) is used and a warning is logged.
    """
    compiled = []
    for directory in translation_directories(app):
        for po in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            mo = po.with_suffix(".mo")
            if not _needs_compiling(po, mo):
                continue
            try:
                compile_catalogue(po, mo)
            except OSError as error:
                log.warning("Could not compile %s (%s); run `make translations`.", po, error)
            else:
                compiled.append(mo)
    if compiled:
        # Flask-Babel caches loaded catalogues per process, not per app.
        forget_loaded_translations(app)
    return compiled


def forget_loaded_translations(app) -> None:
    """Drop Flask-Babel's process-wide catalogue cache; the next request loads the .mo."""
    from .extensions import babel

    with app.app_context():
        babel.domain_instance.cache.clear()
