"""The answer text with each answer, and indexes on what admins filter and retention prunes by.

Databases stamped at 0001 may already have ``answer_text`` (added by ``ALTER TABLE`` before
migrations existed) and may lack ``corrections`` (made before corrections existed): both are
checked, so every such database ends at the same schema.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from api.migrations.versions.v0001_initial import create_corrections

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "answer_text" not in {c["name"] for c in inspector.get_columns("answers")}:
        op.add_column("answers", sa.Column("answer_text", sa.Text(), nullable=True))
    if not inspector.has_table("corrections"):
        create_corrections()
    op.create_index("ix_feedback_helpful", "feedback", ["helpful"])
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_feedback_created_at", "feedback")
    op.drop_index("ix_feedback_helpful", "feedback")
    op.drop_column("answers", "answer_text")
