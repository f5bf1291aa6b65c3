"""Revisions, oldest first (alembic reads them; nothing imports them but each other)."""
