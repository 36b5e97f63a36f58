"""The OpenAPI document: every /api/v1 route with its methods, valid OpenAPI 3.1; the docs
page renders it; errors are RFC 9457 problem documents."""
import re

from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

#: Rules under /api/v1 that describe the API rather than being part of it.
NOT_DESCRIBED = {"/api/v1/openapi.json", "/api/v1/docs"}


def _openapi_path(rule: str) -> str:
    """A werkzeug rule as an OpenAPI path: <int:visit_id> -> {visit_id}."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_the_document_lists_every_api_route_with_its_methods(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    expected = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.rule not in NOT_DESCRIBED:
            expected.setdefault(_openapi_path(rule.rule), set()).update(
                method.lower() for method in rule.methods - {"HEAD", "OPTIONS"})
    documented = {path: {method for method in item if method != "parameters"}
                  for path, item in spec["paths"].items()}
    assert documented == expected


def test_the_document_is_valid_openapi_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"] == "3.1.0"
    validate(spec, cls=OpenAPIV31SpecValidator)
    # 3.1 has no `nullable`: null is a member of the type list.
    assert '"nullable"' not in response.get_data(as_text=True)


def test_the_docs_page_renders_without_javascript(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<script" not in page.split("</main>")[0].split('id="inhalt"')[-1]
    assert "GET /api/v1/cities" in page and "/api/v1/problems/validation" in page
    english = client.get("/api/v1/docs", headers={"Accept-Language": "en"})
    assert "API documentation" in english.get_data(as_text=True)


def test_errors_are_problem_documents_in_the_callers_language(client):
    response = client.get("/api/v1/cities")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == "/api/v1/problems/authentication-required"
    assert body["status"] == 401 and body["title"] == "Anmeldung erforderlich"
    assert body["error"]["status"] == 401 and body["error"]["message"] == body["detail"]
    english = client.get("/api/v1/cities", headers={"Accept-Language": "en"}).get_json()
    assert english["title"] == "Authentication required"

    unknown = client.get("/api/v1/gibt-es-nicht")
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"
    assert unknown.get_json()["type"] == "/api/v1/problems/not-found"
    wrong = client.delete("/api/v1/cities")
    assert wrong.status_code == 405
    assert wrong.get_json()["type"] == "/api/v1/problems/method-not-allowed"


def test_field_errors_are_lists_and_keep_the_old_members(client, auth, anna):
    auth.login(anna.email)
    response = client.post("/api/v1/experiences", json={"title": 5})
    assert response.status_code == 422
    body = response.get_json()
    assert body["type"] == "/api/v1/problems/validation"
    assert isinstance(body["errors"]["title"], list) and body["errors"]["title"]
    assert body["error"]["fields"]["title"]  # the old member, one text per field


def test_domain_errors_share_one_base():
    from exchange.cities.services import CityError, PermissionDenied
    from exchange.errors import DomainError
    from exchange.matching.services import MatchError
    from exchange.projects.services import ProjectConflict, ProjectError, ProjectPermissionError
    from exchange.visits.services import VisitError, VisitPermissionDenied
    from exchange.wiki.services import EditConflict, WikiError

    for kind in (CityError, PermissionDenied, MatchError, ProjectError, ProjectConflict,
                 ProjectPermissionError, VisitError, VisitPermissionDenied, WikiError,
                 EditConflict):
        assert issubclass(kind, DomainError), kind
    assert ProjectConflict("x").status == 409 and ProjectPermissionError("x").status == 403
    error = VisitError(errors={"title": "fehlt"})
    assert error.message == "fehlt" and error.status == 422 and str(error) == "fehlt"
