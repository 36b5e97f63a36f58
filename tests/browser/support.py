"""Paths and helpers of the browser tests, shared by conftest.py and the test modules."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("EXCHANGE_CHROMIUM", "/usr/bin/chromium")
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
#: Screenshots of every checked page and journey step (gitignored, named in the README).
SCREENSHOTS = ROOT / "build" / "screenshots"
#: The HTML of every checked page, as the browser had it, for the Nu HTML Checker.
SAVED_HTML = ROOT / "build" / "browser-html"
DEMO_PASSWORD = "exchange-demo"
#: Chromium as the machine notes start it: no sandbox (we are root), and no background
#: networking, which this machine's closed network would refuse many times a second.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def log_in(page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the login form as a person would."""
    page.goto("/login")
    page.locator("main input[name=email]").fill(email)
    page.locator("main input[name=password]").fill(password)
    page.locator("main form [type=submit]").first.click()
    page.wait_for_load_state()
    assert "/login" not in page.url, f"login as {email} failed"


def set_language(page, code: str) -> None:
    """Switch the interface language with the language link in the header."""
    page.goto(f"/lang/{code}?next=/")


def screenshot(page, name: str) -> Path:
    """A full-page screenshot under build/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
