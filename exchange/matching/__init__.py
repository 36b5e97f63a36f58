"""Matchmaking between cities: scoring and explanations."""
