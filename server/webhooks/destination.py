"""Where a webhook may go: ``http(s)`` only, and never to loopback, link-local, private or
otherwise non-public addresses unless ``VOIP_WEBHOOK_ALLOW_PRIVATE=true``, so a tenant admin
cannot make the server probe the internal network. Checked when an endpoint is set (the URL, a
literal address) and before every attempt (every address the host name resolves to).

Each attempt then connects to the address it checked (:func:`pin_destination`), not to
whatever a second lookup returns: a host name whose DNS answers change between the check and
the connection (DNS rebinding, a TTL of 0) cannot steer the request to an internal address.
The request still names the host (``Host``, TLS SNI and certificate check).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``(host, port)`` -> the addresses it resolves to (the system's resolver unless a test's)."""


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


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, by the system's resolver."""
    loop = asyncio.get_running_loop()
    found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(sockaddr[0]) for *_, sockaddr in found]


@dataclass(frozen=True)
class PinnedRequest:
    """Where one attempt connects: ``url`` with the checked address for its host, and what
    keeps the request addressed to the host by name."""

    url: str
    host: str
    """The ``Host`` header: the URL's own host (and port)."""
    extensions: dict[str, str] = field(default_factory=dict)
    """``sni_hostname`` for https: TLS names the host and checks its certificate for it."""


async def check_destination(
    url: str, *, allow_private: bool, resolve: Resolver = system_resolver
) -> list[str]:
    """Refuse ``url`` unless every address its host resolves to may be delivered to; those
    addresses."""
    host, port = _split(url)
    try:
        _check_address(host, allow_private)
        return [host]  # a literal address
    except ValueError:
        pass
    try:
        addresses = await resolve(host, port)
    except OSError as exc:
        raise DestinationRefused(f"{host} does not resolve: {exc}") from exc
    if not addresses:
        raise DestinationRefused(f"{host} does not resolve")
    for address in addresses:
        _check_address(address, allow_private)
    return addresses


async def pin_destination(
    url: str, *, allow_private: bool, resolve: Resolver = system_resolver
) -> PinnedRequest:
    """:func:`check_destination`, then the request to the first address it checked."""
    address = (await check_destination(url, allow_private=allow_private, resolve=resolve))[0]
    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    pinned = urlunsplit(parts._replace(netloc=netloc))
    host = parts.netloc.rsplit("@", 1)[-1]
    extensions = {"sni_hostname": str(parts.hostname)} if parts.scheme == "https" else {}
    return PinnedRequest(pinned, host, extensions)
