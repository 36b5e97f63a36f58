"""The OpenAPI 3.1 document of /api/v1: flask-smorest's Api with problem documents as the
error responses, the two ways to authenticate and the tags the docs page groups by."""
import http

from flask_smorest import Api
from flask_smorest.utils import prepare_response

from .problems import PROBLEM_MEDIA_TYPE
from .schemas.common import ProblemSchema

#: Tags in the order the docs page shows them, with a sentence each.
TAGS = (
    ("Cities", "Cities and their profiles (read only)."),
    ("Topics", "The topic tree: story topics and the OZG catalogue (read only)."),
    ("Interests", "One city's stance on one topic (read only)."),
    ("Experiences", "The wiki: experiences and their append-only revisions."),
    ("Search", "Full-text search over the published experiences."),
    ("Matching", "Ranked partner cities with scores and reasons."),
    ("Projects", "Joint project proposals, answers, comments and state changes."),
    ("Notifications", "The caller's inbox."),
    ("Visits", "Delegation visits, their agenda, delegation and calendar file."),
)

API_DESCRIPTION = (
    "JSON API of City Exchange. Authenticate with a personal token "
    "(`Authorization: Bearer cx_...`, scopes read or read write) or the session cookie; "
    "session writes must be `application/json`. Errors are RFC 9457 problem documents "
    "(`application/problem+json`) that keep the older `error` member; lists answer "
    "`items`, `total`, `page`, `per_page`. The contract: docs/api.md.")


class ExchangeApi(Api):
    """flask-smorest's Api whose error responses are our problem documents."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        """Every status's response component as application/problem+json (not the
        library's own error body)."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error: a problem document (docs/api.md)",
                    "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


def spec_options(app) -> dict:
    """APISpec keyword arguments: description and security."""
    return {
        "info": {"description": API_DESCRIPTION},
        "security": [{"bearerToken": []}, {"session": []}],
    }


def finish(api: Api) -> None:
    """Security schemes and our tags in TAGS order (instead of the blueprint's catch-all
    tag: each operation names its domain's tag)."""
    api.spec.components.security_scheme("bearerToken", {
        "type": "http", "scheme": "bearer",
        "description": "A personal API token from the profile page (cx_...)."})
    api.spec.components.security_scheme("session", {
        "type": "apiKey", "in": "cookie", "name": "session",
        "description": "The browser session of a logged-in member."})
    api.spec._tags[:] = []  # apispec has no public way to drop a tag
    for name, text in TAGS:
        api.spec.tag({"name": name, "description": text})
