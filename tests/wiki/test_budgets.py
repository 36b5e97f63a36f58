"""Size and time budgets of the revision diff and of Markdown rendering.

Inputs that cost minutes before (two revisions of one long line, lines repeating a few
values, a body of "![") are answered with a coarser result that says what it is; the
tests assert which fallback is used and that the pages answer, never how long anything
took (benchmarks/budgets.py has the figures).
"""
import random
import re
from types import SimpleNamespace

import pytest

from exchange.extensions import db
from exchange.markup import MAX_MARKDOWN_CHARS, markdown_to_text, render_markdown
from exchange.wiki.diff import MAX_ROWS, Budget, diff_revisions
from exchange.wiki.services import update_experience

WORDS = ("die Verwaltung digitalisiert ihre Akten und das Bürgerbüro prüft Anträge mit "
         "der neuen Software während die Stadt Erfahrungen sammelt").split()
SCRIPT = "<script>alert(1)</script><img src=x onerror=alert(1)>"
#: A tag with an event handler: what must never reach the page.
HANDLER = re.compile(r"<[^>]*\bon\w+\s*=", re.IGNORECASE)


def is_safe(html: str) -> bool:
    return "<script" not in html.lower() and not HANDLER.search(html)


def prose(chars: int, seed: int, sentences_per_paragraph: int = 5, one_line=False) -> str:
    """Seeded German-looking text of `chars` characters, in paragraphs or on one line."""
    r = random.Random(seed)
    paragraphs, size = [], 0
    while size < chars:
        sentences = [" ".join(r.choice(WORDS) for _ in range(r.randint(8, 16))).capitalize()
                     + "." for _ in range(sentences_per_paragraph)]
        paragraphs.append(" ".join(sentences))
        size += len(paragraphs[-1]) + 2
    return (" " if one_line else "\n\n").join(paragraphs)[:chars]


def edited(text: str, edits: int, seed: int = 1) -> str:
    r = random.Random(seed)
    words = text.split(" ")
    for _ in range(edits):
        index = r.randrange(len(words))
        words[index] += "x"
    return " ".join(words)


def diff(old: str, new: str, budget=None):
    return diff_revisions(SimpleNamespace(title="T", body=old),
                          SimpleNamespace(title="T", body=new), budget=budget)


# --- the revision diff ------------------------------------------------------------------------

def test_a_small_edit_of_200_kb_is_diffed_word_by_word():
    old = prose(200_000, seed=1)
    result = diff(old, edited(old, 200))
    assert result.fallbacks == frozenset()
    assert any('<ins class="word">' in row.html for row in result.lines)


def test_two_200_kb_bodies_rewritten_fall_back_to_a_line_diff():
    """100 long paragraphs, all rewritten: the word budget lasts for some of them; the
    others are shown as whole removed and added lines."""
    old = prose(200_000, seed=1, sentences_per_paragraph=25)
    new = prose(200_000, seed=2, sentences_per_paragraph=25)
    result = diff(old, new)
    assert "lines" in result.fallbacks
    changed = [row for row in result.lines if row.kind == "insert" and row.html]
    highlighted = [row for row in changed if '<ins class="word">' in row.html]
    assert highlighted and len(highlighted) < len(changed)
    assert "weitere geänderte Zeilen werden ganz gezeigt" in " ".join(result.notices)


@pytest.mark.parametrize("chars, edits", [(25_000, 20), (200_000, 200)])
def test_one_huge_line_is_diffed_sentence_by_sentence(chars, edits):
    old = prose(chars, seed=3, one_line=True)
    result = diff(old, edited(old, edits))
    assert "sentences" in result.fallbacks
    removed, added = [row for row in result.lines if row.kind in ("delete", "insert")]
    assert '<del class="word">' in removed.html and '<ins class="word">' in added.html
    assert str(added.html).count("<ins") <= edits
    assert "Satz für Satz" in " ".join(result.notices)


def test_lines_too_much_alike_are_shown_as_one_changed_block():
    old = "\n".join(str(i % 50) for i in range(20_000))
    new = "\n".join(str(i % 49) for i in range(20_000))
    result = diff(old, new)
    assert {"block", "truncated"} <= result.fallbacks
    assert len(result.lines) <= MAX_ROWS
    assert not any("<del" in row.html or "<ins" in row.html for row in result.lines)


def test_more_rows_than_shown_are_cut():
    result = diff("a\n" * 100_000, "b\n" * 100_000)
    assert "truncated" in result.fallbacks and len(result.lines) == MAX_ROWS
    assert f"höchstens {MAX_ROWS} Zeilen" in " ".join(result.notices)


def test_the_time_budget_is_the_backstop():
    """With no time left, the line diff gives up at its first search: one changed block."""
    old = "\n".join(f"Zeile {n}" for n in range(200))
    new = old.replace("Zeile 100", "Zeile hundert").replace("Zeile 7\n", "")
    result = diff(old, new, budget=Budget(seconds=0, line_seconds=0))
    assert "block" in result.fallbacks
    assert result.has_changes


def test_popular_words_on_one_line_are_diffed_within_the_budget():
    result = diff("a " * 5_000, "a " * 4_990 + "b")
    assert result.has_changes and "lines" not in result.fallbacks


def test_the_compare_page_answers_with_the_fallback_named(client, login, anna,
                                                         make_experience):
    experience = make_experience(anna, body=prose(25_000, seed=4, one_line=True))
    update_experience(anna, experience, experience.current_revision_id,
                      body=edited(experience.body, 20))
    db.session.commit()
    login(anna)
    response = client.get(f"/erfahrungen/{experience.slug}/vergleich")
    assert response.status_code == 200
    assert "Satz für Satz verglichen" in response.text
    assert '<ins class="word">' in response.text


def test_the_compare_page_of_two_200_kb_bodies_answers(client, login, anna, make_experience):
    experience = make_experience(anna, body=prose(199_000, seed=5, sentences_per_paragraph=25))
    update_experience(anna, experience, experience.current_revision_id,
                      body=prose(199_000, seed=6, sentences_per_paragraph=25))
    db.session.commit()
    login(anna)
    response = client.get(f"/erfahrungen/{experience.slug}/vergleich")
    assert response.status_code == 200
    assert "weitere geänderte Zeilen werden ganz gezeigt" in response.text


# --- Markdown -----------------------------------------------------------------------------------

PATHOLOGICAL = {
    "![": "![" * 100_000, "[": "[" * 200_000, "*": "*" * 200_000, "_": "_" * 200_000,
    "[a](": "[a](" * 50_000, "<": "<" * 100_000, "`": "`" * 100_000,
    "> nested": "".join("> " * level + "x\n" for level in range(1, 400)),
    "> deep": "> " * 5_000 + "x", "- nested": "".join("  " * n + "- x\n" for n in range(500)),
    "lines": "a\n" * 50_000,
}


@pytest.mark.parametrize("name", PATHOLOGICAL)
def test_pathological_markdown_is_rendered_and_safe(name):
    """Rendered as Markdown or, over the budget, as escaped text: safe either way."""
    html = render_markdown(PATHOLOGICAL[name] + "\n\n" + SCRIPT, budget=0.25)
    assert html.strip() and is_safe(html)


def test_markdown_over_the_time_budget_is_escaped_plain_text():
    text = "![" * 100_000 + "\n\nZweiter Absatz\nmit Zeile " + SCRIPT
    html = render_markdown(text, budget=0.01)
    assert html.startswith('<p class="meta markup-plain">Dieser Text wird ohne Formatierung')
    assert "<p>Zweiter Absatz<br>mit Zeile &lt;script&gt;" in html
    assert is_safe(html) and "<img" not in html
    assert render_markdown(text, budget=0.01) == html  # remembered: no second attempt
    assert markdown_to_text(text, budget=0.01).endswith("Zweiter Absatz mit Zeile " + SCRIPT)


def test_markdown_over_the_size_budget_is_plain_text():
    html = render_markdown("**fett** " + "a" * MAX_MARKDOWN_CHARS)
    assert "markup-plain" in html and "<strong>" not in html


def test_ordinary_markdown_stays_markdown():
    """A long ordinary text is rendered in full: the budget rules never cut it short by
    themselves. The budget is generous here, so the test does not depend on the speed of
    a busy machine (a full run once fell back to plain text under load); how long such a
    text takes against the default budget is what benchmarks/budgets.py measures."""
    text = "## Titel\n\n" + "\n\n".join(f"**Absatz {n}** mit [Link](https://example.org/{n}) "
                                       f"und *Betonung*.\n\n- eins\n- zwei\n\n> Zitat"
                                       for n in range(1_500))
    html = render_markdown(text, budget=120)
    assert "markup-plain" not in html
    assert html.count("<strong>") == 1_500 and 'href="https://example.org/1499"' in html


def test_the_experience_page_of_a_pathological_body_answers(client, login, anna,
                                                            make_experience):
    experience = make_experience(anna, body="![" * 99_000 + SCRIPT)
    login(anna)
    for _ in range(2):
        response = client.get(f"/erfahrungen/{experience.slug}")
        assert response.status_code == 200
        assert is_safe(response.text.split("<article", 1)[1])
        assert "&lt;script&gt;alert(1)" in response.text or "alert(1)" not in response.text
