"""Joint project proposals and their state machine."""
