"""`flask export PATH` writes a file only its owner can read (issue 9, leaks)."""
import json
import os
import stat


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_export_file_is_0600_whatever_the_umask(runner, anna, tmp_path):
    path = tmp_path / "export.jsonl"
    previous = os.umask(0o022)
    try:
        result = runner.invoke(args=["export", str(path)])
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    assert _mode(path) == 0o600
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert {"type": "user", "email": "anna@stuttgart.example"}.items() <= lines[1].items()


def test_existing_world_readable_file_is_narrowed_and_replaced(runner, anna, tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_text("old content that is longer than nothing\n" * 100, encoding="utf-8")
    os.chmod(path, 0o644)
    result = runner.invoke(args=["export", str(path)])
    assert result.exit_code == 0, result.output
    assert _mode(path) == 0o600
    assert "old content" not in path.read_text(encoding="utf-8")


def test_standard_output_unchanged(runner, anna):
    result = runner.invoke(args=["export", "-"])
    assert result.exit_code == 0
    assert '"email": "anna@stuttgart.example"' in result.stdout
