"""/api/v1/docs: the OpenAPI document as a page of ours, rendered on the server.

Swagger UI and ReDoc load scripts from a CDN and use inline code, which our CSP forbids;
this page needs no JavaScript: operations grouped by tag with method, path, summary,
parameters, request and response schemas, and the list of problem types.
"""
from flask import Blueprint, current_app, render_template

from .problems import PROBLEM_TYPES, problem_uri

bp = Blueprint("api_docs_page", __name__, url_prefix="/api/v1")

#: Levels of nested schemas the page unfolds (deeper ones are named, not expanded).
MAX_DEPTH = 4
METHODS = ("get", "post", "put", "patch", "delete")


def _resolve(spec: dict, schema: dict) -> tuple[dict, str | None]:
    """The schema behind a $ref, with the referenced component's name."""
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if not ref:
        return schema or {}, None
    name = ref.rsplit("/", 1)[-1]
    return spec.get("components", {}).get("schemas", {}).get(name, {}), name


def type_label(spec: dict, schema: dict) -> str:
    """A short type text: "string", "integer | null", "array of Experience", ..."""
    resolved, name = _resolve(spec, schema)
    if name:
        return name
    if "anyOf" in resolved or "oneOf" in resolved:
        return " | ".join(type_label(spec, part)
                          for part in resolved.get("anyOf") or resolved.get("oneOf"))
    kind = resolved.get("type", "any")
    kinds = kind if isinstance(kind, list) else [kind]
    labels = []
    for item in kinds:
        if item == "array":
            labels.append("array of " + type_label(spec, resolved.get("items", {})))
        else:
            labels.append(str(item))
    return " | ".join(labels)


def _notes(schema: dict) -> list[str]:
    notes = []
    for key in ("maxLength", "minimum", "maximum", "format", "default"):
        if key in schema:
            notes.append(f"{key}: {schema[key]}")
    if "enum" in schema:
        notes.append("one of: " + ", ".join("null" if value is None else str(value)
                                            for value in schema["enum"]))
    return notes


def schema_rows(spec: dict, schema: dict, prefix: str = "", depth: int = 0) -> list[dict]:
    """The fields of an object schema as rows (name with dotted path, type, required,
    description, notes); nested objects and lists of objects are unfolded."""
    resolved, _name = _resolve(spec, schema)
    if resolved.get("type") == "array" or (isinstance(resolved.get("type"), list)
                                           and "array" in resolved["type"]):
        return schema_rows(spec, resolved.get("items", {}), prefix + "[]", depth)
    rows = []
    required = set(resolved.get("required", []))
    for field, sub in (resolved.get("properties") or {}).items():
        inner, _ = _resolve(spec, sub)
        name = f"{prefix}.{field}" if prefix else field
        rows.append({"name": name, "type": type_label(spec, sub),
                     "required": field in required,
                     "description": sub.get("description") or inner.get("description", ""),
                     "notes": _notes(sub) or _notes(inner)})
        if depth < MAX_DEPTH:
            target = inner
            if target.get("type") == "array" or isinstance(target.get("type"), list):
                target, _ = _resolve(spec, target.get("items", {}))
            if target.get("properties"):
                rows.extend(schema_rows(spec, target, name + ("[]" if inner.get("type")
                                                              == "array" else ""), depth + 1))
    return rows


def operations_by_tag(spec: dict) -> list[dict]:
    """[{name, description, operations: [...]}] in the document's tag order."""
    groups = {tag["name"]: {"name": tag["name"], "description": tag.get("description", ""),
                            "operations": []} for tag in spec.get("tags", [])}
    for path, item in spec.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            tag = (operation.get("tags") or ["API"])[0]
            group = groups.setdefault(tag, {"name": tag, "description": "", "operations": []})
            body = None
            content = (operation.get("requestBody") or {}).get("content", {})
            for media_type, media in content.items():
                body = {"media_type": media_type,
                        "type": type_label(spec, media.get("schema", {})),
                        "rows": schema_rows(spec, media.get("schema", {}))}
            responses = []
            for status, response in operation.get("responses", {}).items():
                resolved = response
                if "$ref" in response:
                    name = response["$ref"].rsplit("/", 1)[-1]
                    resolved = spec.get("components", {}).get("responses", {}).get(name, {})
                media_types = resolved.get("content", {})
                media_type, media = next(iter(media_types.items()), (None, {}))
                is_problem = media_type == "application/problem+json"
                responses.append({
                    "status": status, "description": resolved.get("description", ""),
                    "media_type": media_type,
                    "type": type_label(spec, media["schema"]) if media.get("schema") else "",
                    "rows": [] if is_problem or not media.get("schema")
                    else schema_rows(spec, media["schema"])})
            group["operations"].append({
                "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                "method": method.upper(), "path": path,
                "summary": operation.get("summary", ""),
                "description": operation.get("description", ""),
                "parameters": [{"name": p["name"], "in": p["in"],
                                "required": p.get("required", False),
                                "type": type_label(spec, p.get("schema", {})),
                                "description": p.get("description", ""),
                                "notes": _notes(p.get("schema", {}))}
                               for p in shared + operation.get("parameters", [])],
                "body": body, "responses": responses})
    return [group for group in groups.values() if group["operations"]]


@bp.route("/docs")
def page():
    """The API reference page (public, like the OpenAPI document)."""
    api = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    spec = api.spec.to_dict()
    problem_rows = schema_rows(spec, {"$ref": "#/components/schemas/Problem"})
    return render_template(
        "api/docs.html", spec=spec, groups=operations_by_tag(spec), problem_rows=problem_rows,
        problem_types=[(problem_uri(slug), status, str(title))
                       for slug, (status, title) in PROBLEM_TYPES.items()])
