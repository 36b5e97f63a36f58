"""The one domain error type: a refusal with a message, field errors and an HTTP status.

Every domain's error classes (CityError, WikiError, ProjectError, VisitError, MatchError,
AccountError, the permission refusals) are subclasses, so the UI views keep catching
their own class while the API has one handler for all of them (exchange/api/problems.py
turns a DomainError into an RFC 9457 problem document).
"""


class DomainError(Exception):
    """A refused operation: `message` for people, `errors` {field: message}, HTTP `status`.

    `problem` names the problem type of the API's answer (docs/api.md, "Errors");
    subclasses set `status` and `problem` as class attributes, an instance may override
    `status` (keyword argument) for one refusal.
    """

    status = 400
    problem = "validation"

    def __init__(self, message=None, errors: dict | None = None, status: int | None = None):
        self.errors = dict(errors or {})
        if message is None:
            message = " ".join(str(text) for text in self.errors.values())
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return str(self.message)


class DomainPermissionError(DomainError, PermissionError):
    """The actor may not do this (403); still a PermissionError for older callers."""

    status = 403
    problem = "forbidden"


class DomainConflict(DomainError):
    """The current state does not allow this (409)."""

    status = 409
    problem = "conflict"
