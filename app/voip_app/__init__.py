"""The CRM calling app: engine (no UI), media adapters, and the Flet views.

Everything under ``app/`` imports as top-level packages (``voip_app``, ``voip_contract``), so the
same imports work from the repository and inside a ``flet build`` bundle whose root is ``app/``.
"""
