"""Checksums of an index generation's files: written after each commit, checked on open.

Whoosh keeps no checksums. A segment truncated or overwritten on disk (a failing disk,
an operator's copy, a full file system during a crash) used to surface as SIGBUS in
every process that had it memory-mapped, or as garbage results. Index files never
change once written (a commit adds new segment and table-of-contents files; deletions
live in the new table of contents), so each commit records the size and CRC-32 of
every file in `MANIFEST_NAME` beside them:

- opening a generation compares the sizes (cheap: one stat per file), which catches
  truncation before anything is read;
- `verify()` compares the CRC-32 too (reads every file): run when a read failed, to
  tell a damaged index from a bug in our code, and by `search status --verify`.

Files the manifest does not list yet (written by a commit that crashed before the
manifest was renamed into place) are not judged; files it lists that are gone were
removed by a Whoosh merge and are not judged either (Whoosh's own open fails if the
table of contents still needs them).
"""
import json
import os
import uuid
import zlib
from pathlib import Path

MANIFEST_NAME = "CHECKSUMS.json"
#: Read size for CRC-32 computation.
_CHUNK = 1 << 20


def _is_index_file(path: Path) -> bool:
    """Whoosh's data files (segments, tables of contents), not locks or our manifest."""
    return (path.is_file() and path.name != MANIFEST_NAME and not path.name.endswith("LOCK")
            and not path.name.startswith(MANIFEST_NAME))


def crc32(path: Path) -> int:
    """CRC-32 of a whole file."""
    value = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            value = zlib.crc32(chunk, value)
    return value


def read_manifest(generation: Path) -> dict[str, list[int]] | None:
    """{file name: [size, crc32]} of a generation, or None when it has no manifest."""
    try:
        data = json.loads((generation / MANIFEST_NAME).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # unreadable: nothing can be judged by it; verify() reports it
    return {name: list(entry) for name, entry in data.get("files", {}).items()}


def write_manifest(generation: Path) -> None:
    """Record size and CRC-32 of every index file (only new files are read again)."""
    known = read_manifest(generation) or {}
    files = {}
    for path in sorted(generation.iterdir()):
        if not _is_index_file(path):
            continue
        size = path.stat().st_size
        entry = known.get(path.name)
        files[path.name] = entry if entry and entry[0] == size else [size, crc32(path)]
    temporary = generation / f"{MANIFEST_NAME}.{os.getpid()}.{uuid.uuid4().hex[:6]}"
    with open(temporary, "w") as handle:
        json.dump({"files": files}, handle, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, generation / MANIFEST_NAME)


def size_problems(generation: Path) -> list[str]:
    """Files whose size differs from the manifest (truncated or grown): cheap, on open."""
    problems = []
    for name, (size, _) in (read_manifest(generation) or {}).items():
        try:
            actual = (generation / name).stat().st_size
        except FileNotFoundError:
            continue
        if actual != size:
            problems.append(f"{name}: {actual} bytes, {size} expected")
    return problems


def verify(generation: Path) -> list[str]:
    """Every way the generation's files differ from their manifest (sizes and CRC-32).

    A generation without a manifest (built before manifests existed) cannot be
    checked; that is reported as a problem of its own.
    """
    manifest = read_manifest(generation)
    if manifest is None:
        return [f"{MANIFEST_NAME} missing"]
    if not manifest:
        return [f"{MANIFEST_NAME} unreadable"]
    problems = size_problems(generation)
    damaged = {problem.split(":", 1)[0] for problem in problems}
    for name, (_, checksum) in manifest.items():
        path = generation / name
        if name in damaged or not path.exists():
            continue
        if crc32(path) != checksum:
            problems.append(f"{name}: checksum differs")
    return problems
