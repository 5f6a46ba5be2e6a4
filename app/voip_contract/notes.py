"""A party's outcome and note on a finished call, and the outcomes a tenant offers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from voip_contract.base import Inbound, Outbound

NOTE_MAX = 2000
"""Longest note text on a call."""
OUTCOME_MAX = 64
DEFAULT_OUTCOMES = ("connected", "left_voicemail", "no_answer", "follow_up")
"""A tenant's call outcomes until its admins set others."""


class NotePayload(Inbound):
    """``PUT /api/calls/{id}/note``: an outcome (one of the tenant's) and/or a note."""

    outcome: str | None = Field(default=None, min_length=1, max_length=OUTCOME_MAX)
    text: str | None = Field(default=None, max_length=NOTE_MAX)


OutcomeName = Annotated[str, Field(min_length=1, max_length=OUTCOME_MAX, pattern=r"^[^,]+$")]


class Outcomes(Inbound):
    """A tenant's call outcomes (``GET /api/outcomes``, ``PUT /api/admin/outcomes``)."""

    outcomes: list[
        Annotated[str, Field(min_length=1, max_length=OUTCOME_MAX, pattern=r"^[^,]+$")]
    ] = Field(min_length=1, max_length=20)


class CallNote(Outbound):
    """A party's outcome and note on a finished call (``PUT /api/calls/{id}/note``)."""

    outcome: str | None = None
    text: str | None = None
    by: str
    """The user id of the party who wrote it (the last writer)."""
    at: datetime
