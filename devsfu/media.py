"""aiortc plumbing: peer connections with host candidates only, and ICE candidate translation.

(What devsfu does with aiortc's private internals lives in :mod:`devsfu.aiortc_hooks` alone.)

devsfu never contacts a STUN or TURN server (``RTCConfiguration(iceServers=[])``) and, when it
is given a specific address, gathers host candidates on that address only.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import aioice.ice
from aiortc import RTCConfiguration, RTCIceCandidate, RTCPeerConnection
from aiortc.sdp import candidate_from_sdp

log = logging.getLogger(__name__)

_WILDCARDS = {"", "0.0.0.0", "::"}


def restrict_ice_to(host: str) -> None:
    """Gather ICE host candidates on ``host`` only (process-wide; a wildcard keeps them all).

    aiortc offers no per-connection interface filter, so this replaces aioice's host address
    lookup for the whole process: call it only in a process that is a devsfu server.
    """
    if host in _WILDCARDS:
        return

    def only_host(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [host]

    aioice.ice.get_host_addresses = only_host


def new_peer_connection() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


def parse_candidate_init(candidate_init: str) -> RTCIceCandidate | None:
    """A client's trickled ``candidateInit`` JSON as an aiortc candidate; ``None`` to skip it.

    Skipped: end-of-candidates (empty), TCP candidates (aiortc speaks ICE over UDP only) and
    anything malformed.
    """
    try:
        init = json.loads(candidate_init)
        line = str(init.get("candidate", ""))
        if not line:
            return None
        candidate = candidate_from_sdp(line.split(":", 1)[1] if ":" in line else line)
    except (ValueError, IndexError, AssertionError, AttributeError) as exc:
        log.debug("ignoring malformed candidate %r: %s", candidate_init, exc)
        return None
    if candidate.protocol.lower() != "udp":
        return None
    sdp_mid = init.get("sdpMid")
    index = init.get("sdpMLineIndex")
    candidate.sdpMid = str(sdp_mid) if sdp_mid is not None else None
    candidate.sdpMLineIndex = int(index) if index is not None else None
    if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
        candidate.sdpMLineIndex = 0
    return candidate


@dataclass(frozen=True)
class LocalCandidate:
    """One local candidate as the client expects it in a trickle message."""

    candidate: str
    sdp_mid: str
    sdp_mline_index: int

    def to_init(self) -> str:
        return json.dumps(
            {
                "candidate": self.candidate,
                "sdpMid": self.sdp_mid,
                "sdpMLineIndex": self.sdp_mline_index,
            }
        )


def local_candidates(sdp: str) -> list[LocalCandidate]:
    """The candidates of the first media section of a local SDP (all sections are bundled)."""
    sections: list[list[str]] = []
    for raw in sdp.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            sections.append([])
        elif sections:
            sections[-1].append(line)
    if not sections:
        return []
    first = sections[0]
    mid = next((a[len("a=mid:") :] for a in first if a.startswith("a=mid:")), "0")
    return [LocalCandidate(a[len("a=") :], mid, 0) for a in first if a.startswith("a=candidate:")]
