"""Run by test_concurrent_edits.py in a separate process: read-modify-write one experience.

Usage: python edit_process.py CONFIG_JSON TASK_JSON
TASK: {"slug": slug, "token": clear API token, "name": marker, "edits": attempts,
       "via": "api" | "form", "user_id": id (for "form")}
Prints "ready", waits for a line on stdin (so all writers start together), then makes
`edits` attempts, each one: read the page, append a line to its text, save it with the
revision it read as the base (API `PUT` with `base_revision`, or the edit form with its
hidden `base_revision`). Prints one JSON line: a list of outcomes
{"via", "status", "outcome": "saved" | "conflict" | "other", "base", "body", "revision"}
— `revision` is the id the answer names: the written revision (API 200), the current
one (API 409, or the conflict page's new hidden base); a saved form answers no id.
"""
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

#: The hidden field of the edit form that carries the base revision id.
BASE_FIELD = re.compile(r'name="base_revision" type="hidden" value="(\d+)"')


def main():
    config = json.loads(sys.argv[1])
    task = json.loads(sys.argv[2])
    from exchange import create_app

    app = create_app(config)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {task['token']}"}
    api_url = f"/api/v1/experiences/{task['slug']}"
    if task["via"] == "form":
        from exchange.auth.models import User
        from exchange.auth.sessions import SESSION_KEY, open_login
        from exchange.extensions import db

        with app.app_context():  # a stored login, as the login form makes it
            key = open_login(db.session.get(User, task["user_id"]))
            db.session.commit()
        with client.session_transaction() as session:
            session["_user_id"] = str(task["user_id"])
            session["_fresh"] = True
            session[SESSION_KEY] = key
    print("ready", flush=True)
    sys.stdin.readline()

    outcomes = []
    for attempt in range(task["edits"]):
        page = client.get(api_url, headers=headers).json
        body = f"{page['body']}\n- {task['name']} {attempt}"
        if task["via"] == "api":
            response = client.put(api_url, headers=headers,
                                  json={"base_revision": page["revision"], "body": body})
            answer = response.json or {}
            outcome = {200: "saved", 409: "conflict"}.get(response.status_code, "other")
            revision = answer.get("revision" if outcome == "saved" else "current_revision")
        else:
            response = client.post(f"/erfahrungen/{task['slug']}/bearbeiten", data={
                "title": page["title"], "body": body, "kind": page["kind"],
                "status": page["status"], "topics": page["topics"],
                "contact_name": page["contact_name"] or "",
                "contact_email": page["contact_email"] or "", "summary": "",
                "base_revision": str(page["revision"])})
            outcome, revision = "other", None
            if response.status_code == 302:
                outcome = "saved"
            elif response.status_code == 200 and "Bearbeitungskonflikt" in response.text:
                outcome = "conflict"
                moved = BASE_FIELD.search(response.text)
                revision = int(moved.group(1)) if moved else None
        outcomes.append({"via": task["via"], "status": response.status_code,
                         "outcome": outcome, "base": page["revision"], "body": body,
                         "revision": revision})
    print(json.dumps(outcomes), flush=True)


if __name__ == "__main__":
    main()
