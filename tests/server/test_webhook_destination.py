"""Where webhook deliveries may go, against a real SQLite database and a real receiver on
loopback (http, and https with a certificate made for the test): private addresses refused
unless allowed, each attempt connecting to the address it checked (so a name rebound between
the check and the connection cannot steer it), https naming the host for its certificate. DNS
answers come from a table the test writes (:class:`DnsTable`), for names under ``.invalid``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.webhooks.destination import (
    DestinationRefused,
    check_destination,
    check_url,
    pin_destination,
)
from server.webhooks.signing import new_secret
from tests.server.domain import domain
from tests.server.webhook_bench import Hooks
from tests.support.tls import self_signed, server_context
from tests.support.webhook_receiver import WebhookReceiver


async def test_private_destinations_are_refused_unless_allowed(hooks: Hooks) -> None:
    deps, sender = hooks.node("node-a", allow_private=False)
    url = hooks.receiver.url.replace("127.0.0.1", "localhost")
    await hooks.endpoint(url)
    await hooks.call_ends(deps)
    assert await sender.deliver_due() == 1
    assert hooks.receiver.hits == []
    (row,) = await hooks.rows()
    assert row.state == "pending"
    assert row.last_error is not None
    assert "not a public address" in row.last_error


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://10.1.2.3/x",
        "http://192.168.0.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://[fe80::1]/x",
        "http://[::ffff:10.0.0.1]/x",
        "http://0.0.0.0/x",
        "ftp://crm.example.com/x",
        "file:///etc/passwd",
        "http://user:pw@crm.example.com/x",
    ],
)
def test_urls_never_delivered_to(url: str) -> None:
    with pytest.raises(DestinationRefused):
        check_url(url, allow_private=False)


def test_public_and_allowed_private_urls_pass() -> None:
    check_url("https://crm.example.com/hooks", allow_private=False)
    check_url("https://93.184.215.14/hooks", allow_private=False)
    check_url("http://127.0.0.1:8080/hooks", allow_private=True)


async def test_a_host_name_is_checked_by_every_address_it_resolves_to() -> None:
    with pytest.raises(DestinationRefused, match="not a public address"):
        await check_destination("http://localhost:9/x", allow_private=False)
    await check_destination("http://localhost:9/x", allow_private=True)


class DnsTable:
    """The DNS as a test writes it: each name's answers, in turn (the last one repeats)."""

    def __init__(self, **answers: list[list[str]]) -> None:
        self._answers = {name.replace("_", "-") + ".invalid": a for name, a in answers.items()}
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        answers = self._answers.get(host)
        if answers is None:
            raise OSError(f"{host}: no such name")
        return answers.pop(0) if len(answers) > 1 else answers[0]


async def test_an_attempt_connects_to_the_address_it_checked(hooks: Hooks) -> None:
    # "crm.invalid" resolves only through the sender's checked lookup: a second lookup (by the
    # HTTP client) would fail, so the hit shows the connection went to the checked address.
    dns = DnsTable(crm=[["127.0.0.1"]])
    deps, sender = hooks.node("node-a", resolve=dns)
    port = hooks.receiver.url.split(":")[2].split("/")[0]
    await hooks.endpoint(hooks.receiver.url.replace("127.0.0.1", "crm.invalid"))
    await hooks.call_ends(deps)
    assert await sender.deliver_due() == 1
    (hit,) = hooks.receiver.hits
    assert (hit.answered, hit.signed) == (200, True)
    assert hit.headers["host"] == f"crm.invalid:{port}"
    assert dns.asked == ["crm.invalid"]


async def test_a_name_rebound_to_a_private_address_is_refused_at_the_attempt(
    hooks: Hooks,
) -> None:
    # Public when the endpoint was set, the cloud's metadata address now: nothing is sent.
    dns = DnsTable(crm=[["169.254.169.254"]])
    deps, sender = hooks.node("node-a", allow_private=False, resolve=dns)
    await hooks.endpoint("http://crm.invalid/hooks")
    await hooks.call_ends(deps)
    assert await sender.deliver_due() == 1
    (row,) = await hooks.rows()
    assert row.state == "pending"
    assert "169.254.169.254 is not a public address" in (row.last_error or "")


@pytest.mark.parametrize(
    ("url", "addresses", "pinned", "host", "sni"),
    [
        (
            "http://crm.invalid/h?a=1",
            ["93.184.215.14"],
            "http://93.184.215.14/h?a=1",
            "crm.invalid",
            None,
        ),
        (
            "https://crm.invalid:8443/h",
            ["2606:2800:21f:cb07::1", "93.184.215.14"],
            "https://[2606:2800:21f:cb07::1]:8443/h",
            "crm.invalid:8443",
            "crm.invalid",
        ),
        (
            "https://93.184.215.14/h",
            [],
            "https://93.184.215.14/h",
            "93.184.215.14",
            "93.184.215.14",
        ),
    ],
)
async def test_the_pinned_request_names_the_host_and_goes_to_the_first_address(
    url: str, addresses: list[str], pinned: str, host: str, sni: str | None
) -> None:
    # Spec: the URL's host replaced by the first checked address (IPv6 in brackets), its port,
    # path and query kept; Host is the URL's host[:port]; https also names it for TLS (SNI).
    request = await pin_destination(url, allow_private=False, resolve=DnsTable(crm=[addresses]))
    assert (request.url, request.host) == (pinned, host)
    assert request.extensions.get("sni_hostname") == sni


@pytest.fixture
def crm_certificate(tmp_path: Path) -> Path:
    """A certificate for ``crm.invalid`` (its own CA)."""
    return self_signed(tmp_path, "crm.invalid")


@pytest.fixture
def tls_receiver(crm_certificate: Path) -> Iterator[WebhookReceiver]:
    with WebhookReceiver(wall_clock=False, tls=server_context(crm_certificate)) as made:
        made.secret = new_secret()
        yield made


@pytest.mark.parametrize(("name", "delivered"), [("crm", True), ("other", False)])
async def test_https_goes_to_the_checked_address_and_checks_the_certificate_by_name(
    tmp_path: Path,
    tls_receiver: WebhookReceiver,
    crm_certificate: Path,
    name: str,
    delivered: bool,
) -> None:
    # Both names resolve to the receiver; its certificate is crm.invalid's (trusted through
    # VOIP_WEBHOOK_CA_FILE): a delivery to crm.invalid is made, one to other.invalid is refused
    # by TLS, although it connects to the same address.
    dns = DnsTable(crm=[["127.0.0.1"]], other=[["127.0.0.1"]])
    url = tls_receiver.url.replace("127.0.0.1", f"{name}.invalid")
    async with domain(tmp_path, "alice", "bob") as made:
        hooks = Hooks(made, tls_receiver, made.people["alice"], made.people["bob"])
        deps, sender = hooks.node("node-a", resolve=dns, webhook_ca_file=crm_certificate)
        try:
            await hooks.endpoint(url)
            await hooks.call_ends(deps)
            assert await sender.deliver_due() == 1
            (row,) = await hooks.rows()
        finally:
            await sender.aclose()
    assert [h.signed for h in tls_receiver.hits] == ([True] if delivered else [])
    assert row.state == ("delivered" if delivered else "pending")
    if not delivered:
        assert "CERTIFICATE_VERIFY_FAILED" in (row.last_error or "")
