"""Users, roles, login, API tokens and the permission rules."""
