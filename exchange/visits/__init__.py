"""Delegation visits: agenda, dossier, calendar."""
