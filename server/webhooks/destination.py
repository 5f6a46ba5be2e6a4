"""Where a webhook may go: ``http(s)`` only, and never to loopback, link-local, private or
otherwise non-public addresses unless ``VOIP_WEBHOOK_ALLOW_PRIVATE=true``, so a tenant admin
cannot make the server probe the internal network. Checked when an endpoint is set (the URL, a
literal address) and before every attempt (every address the host name resolves to)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class DestinationRefused(Exception):
    """The URL is not one the server delivers to; the message says why."""


def _split(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefused("the URL must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise DestinationRefused("the URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise DestinationRefused("the URL's port is not valid") from exc
    return parts.hostname, port


def _check_address(address: str, allow_private: bool) -> None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if not allow_private and not ip.is_global:
        raise DestinationRefused(f"{ip} is not a public address")


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse a URL that can never be delivered to (scheme, credentials, a literal address)."""
    host, _ = _split(url)
    try:
        _check_address(host, allow_private)
    except ValueError:
        return  # a host name: checked at each attempt, after resolving it


async def check_destination(url: str, *, allow_private: bool) -> None:
    """Refuse ``url`` unless every address its host resolves to may be delivered to."""
    host, port = _split(url)
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise DestinationRefused(f"{host} does not resolve: {exc}") from exc
    for *_, sockaddr in found:
        _check_address(str(sockaddr[0]), allow_private)
