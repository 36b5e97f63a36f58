"""Full-text search: German analysis, Whoosh index, outbox, query service."""
