"""The PDF dossier is a tagged PDF/UA-1 document: structure tree, headings and table
header cells, bookmarks, title and language in the reader's locale (issue 10)."""
import io

import pytest
from pypdf import PdfReader
from pypdf.generic import IndirectObject

from exchange.extensions import db
from exchange.visits.agenda import propose_agenda
from exchange.visits.dossier import build_dossier, render_pdf

DEMO_PASSWORD = "exchange-demo"


def _resolve(value):
    return value.get_object() if isinstance(value, IndirectObject) else value


def _structure_types(reader: PdfReader) -> set[str]:
    """Every structure type (/S) in the document's structure tree."""
    seen, stack = set(), [reader.trailer["/Root"]["/StructTreeRoot"]]
    while stack:
        node = _resolve(stack.pop())
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not hasattr(node, "get"):
            continue  # a marked-content id
        if "/S" in node:
            seen.add(str(node["/S"]))
        kids = node.get("/K")
        if kids is not None:
            stack.append(kids)
    return seen


def _outline_titles(reader: PdfReader) -> list[str]:
    titles, stack = [], list(reader.outline)
    while stack:
        item = stack.pop(0)
        if isinstance(item, list):
            stack[:0] = item
        else:
            titles.append(item.title)
    return titles


@pytest.fixture
def planned_visit(demo, april_visit):
    propose_agenda(demo.user("planer@stuttgart.example"), april_visit)
    db.session.commit()
    return april_visit


@pytest.mark.parametrize("language, lang, headings", [
    ("de", "de", ["Gegenbesuch in München", "Die beiden Städte", "Agenda",
                  "Delegation und Teilnehmende"]),
    ("en", "en", ["Gegenbesuch in München", "The two cities", "Agenda",
                  "Delegation and participants"]),
])
def test_pdf_is_tagged_in_the_readers_language(client, auth, planned_visit, language, lang,
                                               headings):
    auth.login("planer@stuttgart.example", DEMO_PASSWORD)
    client.get(f"/lang/{language}")
    response = client.get(f"/besuche/{planned_visit.id}/dossier.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    catalog = reader.trailer["/Root"]

    assert str(catalog["/Lang"]) == lang
    assert catalog["/MarkInfo"]["/Marked"]
    assert "/Title" in reader.metadata and "Gegenbesuch in München" in reader.metadata.title
    # PDF/UA: viewers show the title, not the file name.
    assert catalog["/ViewerPreferences"]["/DisplayDocTitle"]

    types = _structure_types(reader)
    for expected in ("/Document", "/H1", "/H2", "/H3", "/P", "/Table", "/TR", "/TH", "/TD"):
        assert expected in types, expected

    titles = _outline_titles(reader)
    for heading in headings:
        assert heading in titles, (heading, titles)
    # Session headings are bookmarks too, under "Die Programmpunkte im Einzelnen", with
    # the generated titles in the reader's language ("Welcome and introduction …").
    first = planned_visit.sessions[0].text("title", language)
    assert any(title.endswith(first) for title in titles)
    if language == "en":
        assert first == "Welcome and introduction of the delegations"


def test_pdf_without_a_request_uses_the_default_language(planned_visit):
    """From a command (no request) the PDF is made in the default language, German."""
    reader = PdfReader(io.BytesIO(render_pdf(build_dossier(planned_visit))))
    assert str(reader.trailer["/Root"]["/Lang"]) == "de"
    assert "/StructTreeRoot" in reader.trailer["/Root"]


def test_pdf_fetches_nothing_from_outside(demo, make_visit):
    """An image in a visit's notes is neither fetched nor embedded: the PDF renderer reads
    only our static files and fonts (a server on this machine counts the requests)."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_error(404)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/lageplan.png"
        visit = make_visit(demo.user("planer@stuttgart.example"), demo.city("muenchen"),
                           demo.city("stuttgart"), notes=f"Plan: ![Lageplan]({url})")
        reader = PdfReader(io.BytesIO(render_pdf(build_dossier(visit))))
    finally:
        server.shutdown()
        server.server_close()
    assert requests == []
    assert all(not page.images for page in reader.pages)
    assert "Plan" in reader.pages[0].extract_text()
