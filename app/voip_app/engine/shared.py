"""What the engine's parts share (:class:`Shared`), handed to each when the facade wires them."""

from __future__ import annotations

from dataclasses import dataclass

from voip_app.clock import Clock
from voip_app.engine.session import Session
from voip_app.engine.snapshot import Publisher
from voip_app.engine.tasks import EngineTasks


@dataclass(frozen=True, slots=True)
class Shared:
    """The snapshot every part publishes to, the task sets, the clock, the signed-in session
    and this installation's device id (``None``: it cannot rejoin calls after a restart)."""

    out: Publisher
    tasks: EngineTasks
    clock: Clock
    session: Session
    device_id: str | None
