"""Revision diffs: line kinds, word highlights, folding, titles, escaping."""
from types import SimpleNamespace

from exchange.wiki.diff import diff_lines, diff_revisions, inline_diff


def rev(title="Titel", body=""):
    return SimpleNamespace(title=title, body=body)


def test_changed_line_gets_word_highlights():
    rows = diff_lines("Ein Amt hat eine Lotsin.", "Ein Amt hat zwei Lotsinnen.")
    assert [row.kind for row in rows] == ["delete", "insert"]
    assert str(rows[0].html) == 'Ein Amt hat <del class="word">eine Lotsin</del>.'
    assert str(rows[1].html) == 'Ein Amt hat <ins class="word">zwei Lotsinnen</ins>.'
    assert (rows[0].old_number, rows[1].new_number) == (1, 1)


def test_added_and_removed_lines_and_numbers():
    rows = diff_lines("a\nb\nc", "a\nc\nd")
    kinds = [(row.kind, row.old_number, row.new_number, str(row.html)) for row in rows]
    assert kinds == [("equal", 1, 1, "a"), ("delete", 2, None, "b"), ("equal", 3, 2, "c"),
                     ("insert", None, 3, "d")]


def test_long_unchanged_runs_are_folded():
    old = "\n".join(f"Zeile {n}" for n in range(1, 31))
    new = old.replace("Zeile 15", "Zeile fünfzehn")
    rows = diff_lines(old, new)
    kinds = [row.kind for row in rows]
    assert kinds[0] == "skip" and kinds[-1] == "skip"
    assert kinds.count("equal") == 6 and kinds.count("delete") == kinds.count("insert") == 1


def test_everything_is_escaped():
    old_html, new_html = inline_diff("<b>x</b>", '<img src=x onerror="alert(1)">')
    assert "<img" not in new_html and "&lt;" in new_html and "&#34;alert" in new_html
    assert "<b>" not in old_html
    rows = diff_lines("", "<script>alert(1)</script>")
    assert all("<script>" not in str(row.html) for row in rows)


def test_title_change_and_no_change():
    diff = diff_revisions(rev("E-Akte", "gleich"), rev("E-Akte im Bürgerbüro", "gleich"))
    assert diff.title_changed and diff.has_changes
    assert '<ins class="word"> im Bürgerbüro</ins>' in diff.title_html
    same = diff_revisions(rev("A", "x\ny"), rev("A", "x\ny"))
    assert not same.has_changes and same.stats == (0, 0)


def test_windows_line_endings_do_not_count_as_changes():
    assert not diff_revisions(rev(body="a\r\nb"), rev(body="a\nb")).has_changes
