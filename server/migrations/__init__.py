"""Alembic migrations, shipped inside the package; run by ``voip-server migrate``."""
