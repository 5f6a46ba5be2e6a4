"""Persistence: SQLAlchemy 2 models (:mod:`server.db.models`) and the async engine."""
