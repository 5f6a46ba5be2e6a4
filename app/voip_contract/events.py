"""Socket.IO namespace and event names of the contract."""

from __future__ import annotations

from enum import StrEnum

NAMESPACE = "/call"


class ClientEvent(StrEnum):
    """Client -> server events; each takes an ack (:class:`voip_contract.models.Ack`)."""

    INVITE = "invite"
    ACCEPT = "accept"
    DECLINE = "decline"
    CANCEL = "cancel"
    HANGUP = "hangup"
    SYNC = "sync"
    PRESENCE_WATCH = "presence_watch"
    RENEW_TOKEN = "renew_token"
    RECORDING_START = "recording_start"
    RECORDING_STOP = "recording_stop"


class ServerEvent(StrEnum):
    """Server -> client events."""

    INCOMING = "incoming"
    RINGING = "ringing"
    ACCEPTED = "accepted"
    ANSWERED_ELSEWHERE = "answered_elsewhere"
    ENDED = "ended"
    PRESENCE = "presence"
    RECORDING = "recording"
