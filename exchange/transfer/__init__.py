"""Export and import of all content as JSON Lines: one object per line with a "type".

The format is documented in docs/import-export.md. `export` writes every record in a
deterministic order, read in one snapshot; `schema` defines the record types and checks a
whole file before anything is written; `importer` applies the checked lines in file order,
idempotent by natural keys (slug, e-mail). The names below are the package's interface.
"""
from .export import export_jsonl, export_records, snapshot_session
from .importer import EXPERIENCE_BATCH, import_jsonl, import_records
from .schema import FIELDS, MAX_REPORTED_ERRORS, TYPES, TransferError

__all__ = ["EXPERIENCE_BATCH", "FIELDS", "MAX_REPORTED_ERRORS", "TYPES", "TransferError",
           "export_jsonl", "export_records", "import_jsonl", "import_records",
           "snapshot_session"]
