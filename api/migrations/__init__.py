"""Alembic migrations of the answer log (answers, feedback, corrections); see env.py."""
