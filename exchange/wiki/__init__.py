"""The experience wiki: pages with append-only revisions."""
