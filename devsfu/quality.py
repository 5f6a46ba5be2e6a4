"""Connection quality from what devsfu measures, reported the way LiveKit reports it.

Every few seconds each participant's quality is judged from the packet loss devsfu sees on the
audio it receives from that participant (its publisher connection) and the loss that participant
reports, in RTCP receiver reports, on the audio devsfu sends it (its subscriber connection):

- no packets at all from an unmuted published track in the interval: ``LOST``;
- loss up to 1 %: ``EXCELLENT``; up to 5 %: ``GOOD``; more: ``POOR``;
- nothing measured yet (no media either way): no verdict, nothing is sent.

This is simpler than LiveKit's MOS-based score, but the verdicts mean the same to the SDK
(``connection_quality_changed``).
"""

from __future__ import annotations

from dataclasses import dataclass

from livekit.protocol import models

EXCELLENT_MAX_LOSS = 0.01
GOOD_MAX_LOSS = 0.05


@dataclass(frozen=True)
class Counters:
    """Cumulative RTP counters of the audio received from one participant."""

    received: int = 0
    lost: int = 0


def loss_between(before: Counters, after: Counters) -> tuple[int, float]:
    """Packets that arrived in the interval, and the fraction lost (0 when none expected)."""
    received = max(after.received - before.received, 0)
    lost = max(after.lost - before.lost, 0)
    expected = received + lost
    return received, (lost / expected if expected else 0.0)


def judge(
    before: Counters | None,
    after: Counters | None,
    *,
    expect_media: bool,
    remote_fraction_lost: float | None,
) -> models.ConnectionQuality | None:
    """The verdict for one interval, or ``None`` when there is nothing to judge."""
    losses: list[float] = []
    if before is not None and after is not None:
        received, fraction = loss_between(before, after)
        if expect_media and received == 0:
            return models.LOST
        if received:
            losses.append(fraction)
    if remote_fraction_lost is not None:
        losses.append(remote_fraction_lost)
    if not losses:
        return None
    worst = max(losses)
    if worst <= EXCELLENT_MAX_LOSS:
        return models.EXCELLENT
    if worst <= GOOD_MAX_LOSS:
        return models.GOOD
    return models.POOR
