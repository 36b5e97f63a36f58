"""marshmallow schemas of the API, one module per domain (also for the JSON Lines import).

Request schemas check types and shapes; the limits they name (`maxLength`, `enum`) are
the domain's own constants, and the domain services stay the place that enforces the
rules and words the per-field messages (German msgids, in the caller's language).
"""
