"""Everything devsfu does with aiortc's private internals, in one place.

aiortc has no public way to receive RTP without decoding it, nor to name a sender's stream. This
module holds the three narrow hooks devsfu needs, written against aiortc 1.16 (pinned in
``pyproject.toml``):

- :func:`tap_receiver` replaces an ``RTCRtpReceiver``'s jitter buffer
  (``_RTCRtpReceiver__jitter_buffer``) with a tap. aiortc's ``_handle_rtp_packet`` still does
  everything up to that point (the enabled check, codec lookup, RTX unwrapping, the receive
  statistics behind RTCP receiver reports and ``getStats``), then hands the packet to the
  jitter buffer's ``add()``; the tap passes it on at once and answers "no frame", so nothing
  is buffered, nothing reaches the decoder thread and no Opus decoder is ever created.
- The sending side needs no hook: ``RTCRtpSender`` sends a track's ``av.Packet`` as it is
  (``Encoder.pack``), which is aiortc's public path for pre-encoded media.
- :func:`label_sender` sets ``RTCRtpSender._stream_id``/``_track_id``, which aiortc writes into
  the SDP's ``msid``: the SDK attributes a track to its publisher by that stream id.

:func:`require_aiortc_internals` checks that all of this is still there; devsfu calls it at start
and refuses to run (:class:`AiortcIncompatible`) rather than quietly decode or misname tracks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiortc
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.codecs.opus import OpusEncoder
from aiortc.rtcpeerconnection import create_media_description_for_transceiver
from aiortc.rtp import RtpPacket

_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"


class AiortcIncompatible(RuntimeError):
    """The installed aiortc lacks an internal devsfu relies on (see :mod:`devsfu.aiortc_hooks`)."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"aiortc {aiortc.__version__} is not supported by devsfu: {what}. devsfu forwards "
            "Opus through private aiortc internals written for aiortc 1.16 (see "
            "devsfu/aiortc_hooks.py); install the version pinned in pyproject.toml."
        )


class _Tap:
    """Stands where the receiver's jitter buffer was: every packet goes on, none is kept."""

    def __init__(self, on_packet: Callable[[RtpPacket], None]) -> None:
        self._on_packet = on_packet

    def add(self, packet: RtpPacket) -> tuple[bool, None]:
        self._on_packet(packet)
        return False, None  # no picture loss to report, no frame to decode


def tap_receiver(receiver: RTCRtpReceiver, on_packet: Callable[[RtpPacket], None]) -> None:
    """Hand each RTP packet ``receiver`` accepts to ``on_packet`` instead of decoding it.

    Call it before media flows (in the peer connection's ``track`` event). ``on_packet`` runs
    on the event loop, in aiortc's receive path: it must not block.
    """
    if not hasattr(receiver, _JITTER_BUFFER):
        raise AiortcIncompatible("RTCRtpReceiver has no jitter buffer to replace")
    setattr(receiver, _JITTER_BUFFER, _Tap(on_packet))


def label_sender(sender: RTCRtpSender, participant_sid: str, track_sid: str) -> None:
    """Make the SDP name the track as LiveKit does: stream ``PA_…|TR_…``, track ``TR_…``."""
    sender._stream_id = f"{participant_sid}|{track_sid}"
    sender._track_id = track_sid


class _ClosedProbe:
    """Just enough of a DTLS transport for ``RTCRtpReceiver.__init__``."""

    state = "new"


def _names(function: Any) -> tuple[str, ...]:
    code = getattr(function, "__code__", None)
    return tuple(code.co_names) if code is not None else ()


def require_aiortc_internals() -> None:
    """Raise :class:`AiortcIncompatible` unless every hook of this module will work."""
    receive = getattr(RTCRtpReceiver, "_handle_rtp_packet", None)
    if receive is None:
        raise AiortcIncompatible("RTCRtpReceiver._handle_rtp_packet is gone")
    if not {_JITTER_BUFFER, "add"} <= set(_names(receive)):
        raise AiortcIncompatible(
            "RTCRtpReceiver._handle_rtp_packet no longer feeds its jitter buffer's add()"
        )
    try:
        receiver = RTCRtpReceiver("audio", _ClosedProbe())  # type: ignore[arg-type]
    except Exception as exc:
        raise AiortcIncompatible(f"cannot construct an RTCRtpReceiver ({exc!r})") from exc
    if not callable(getattr(getattr(receiver, _JITTER_BUFFER, None), "add", None)):
        raise AiortcIncompatible("RTCRtpReceiver no longer keeps a jitter buffer")
    if "pack" not in _names(getattr(RTCRtpSender, "_next_encoded_frame", None)):
        raise AiortcIncompatible("RTCRtpSender no longer sends pre-encoded packets")
    if not callable(getattr(OpusEncoder, "pack", None)):
        raise AiortcIncompatible("the Opus encoder cannot pack pre-encoded packets")
    if not {"_stream_id", "_track_id"} <= set(_names(create_media_description_for_transceiver)):
        raise AiortcIncompatible("the SDP msid no longer comes from RTCRtpSender._stream_id")
