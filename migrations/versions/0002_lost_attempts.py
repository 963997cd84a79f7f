"""Jobs count the attempts whose worker vanished (killed, out of memory, power loss).

Revision ID: 0002_lost_attempts
Revises: 0001_initial
Create Date: 2026-11-29 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_lost_attempts"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add jobs.lost_attempts (0 for existing rows)."""
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("lost_attempts", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    """Drop jobs.lost_attempts."""
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("lost_attempts")
