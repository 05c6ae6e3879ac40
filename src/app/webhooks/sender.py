"""Sending one signed delivery to a customer's server, where the server must not be ours: the
address actually connected to is checked (after DNS), redirects are not followed, and the
exchange is bounded in time and size (SSRF defence)."""

import asyncio
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import httpx2
from standardwebhooks import Webhook

from app.core.config import Settings

# What is kept of an answer's body, and what is read of it at most.
KEPT_BODY = 1000
READ_BODY = 64 * 1024
USER_AGENT = "app-webhooks/1"
# Cloud metadata services: refused even where private addresses are allowed.
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Attempt:
    """One try: the body exactly as signed, the secrets that sign it (the current one first)."""

    delivery_id: str
    url: str
    body: str
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class Result:
    status: int | None = None
    body: str | None = None
    error: str | None = None
    # A refusal no retry can change (the URL's address is not allowed).
    permanent: bool = False

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def address_problem(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why deliveries may not go to `address`, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA or address.is_link_local:
        return "a link-local or metadata address"
    if address.is_multicast or address.is_unspecified:
        return "not a unicast address"
    if address.is_global:
        return None
    if allow_private and (address.is_loopback or address.is_private):
        return None
    return "a loopback, private or reserved address"


def url_problem(url: str, *, production: bool, allow_private: bool) -> str | None:
    """Why `url` cannot be an endpoint, as far as it tells without DNS (which is checked at
    each delivery), or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a URL"
    allowed = ("https",) if production else ("https", "http")
    if parts.scheme not in allowed:
        return "must be https" if production else "must be http or https"
    if not parts.hostname:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials"
    if port == 0:
        return "has no port"
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        local = parts.hostname == "localhost" or parts.hostname.endswith(".localhost")
        return "is on this machine" if local and not allow_private else None
    problem = address_problem(address, allow_private=allow_private)
    return f"is {problem}" if problem else None


def signatures(attempt: Attempt, timestamp: datetime) -> str:
    """`webhook-signature`: one `v1,…` per secret, space-separated (Standard Webhooks)."""
    return " ".join(
        Webhook(secret).sign(attempt.delivery_id, timestamp, attempt.body)
        for secret in attempt.secrets
    )


class WebhookSender:
    """A worker's resource: posts attempts under the settings' limits."""

    def __init__(self, settings: Settings):
        self.timeout = settings.webhooks_timeout
        self.allow_private = settings.webhooks_allow_private
        self.production = settings.is_production
        self.tls = ssl.create_default_context()

    async def send(self, attempt: Attempt, timestamp: datetime) -> Result:
        """The answer, or why there was none; never raises for the endpoint's faults."""
        if problem := url_problem(
            attempt.url, production=self.production, allow_private=self.allow_private
        ):
            return Result(error=f"The URL {problem}", permanent=True)
        try:
            async with asyncio.timeout(self.timeout):
                return await self._post(attempt, timestamp)
        except TimeoutError:
            return Result(error=f"No answer within {self.timeout:g} s")
        except socket.gaierror:
            return Result(error="The host name does not resolve")
        except (httpx2.HTTPError, OSError) as error:
            return Result(error=f"{type(error).__name__}: {error}"[:500])

    async def _post(self, attempt: Attempt, timestamp: datetime) -> Result:
        url = httpx2.URL(attempt.url)
        address = await self._address(url)
        if isinstance(address, Result):
            return address
        headers = {
            "host": url.netloc.decode("ascii"),
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": attempt.delivery_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": signatures(attempt, timestamp),
        }
        # The connection goes to the address checked; TLS still verifies the host's name.
        extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
        async with (
            httpx2.AsyncClient(verify=self.tls, trust_env=False, follow_redirects=False) as client,
            client.stream(
                "POST",
                url.copy_with(host=str(address)),
                content=attempt.body.encode(),
                headers=headers,
                extensions=extensions,
            ) as response,
        ):
            body = await _start_of(response)
        error = None
        if response.is_redirect:
            error = f"Redirects are not followed ({response.status_code})"
        elif not response.is_success:
            error = f"Answered {response.status_code}"
        return Result(status=response.status_code, body=body, error=error)

    async def _address(self, url: httpx2.URL) -> IPAddress | Result:
        """The address to connect to: every address the name resolves to must be allowed (a
        name may resolve differently from one lookup to the next)."""
        port = url.port or (443 if url.scheme == "https" else 80)
        found = await asyncio.get_running_loop().getaddrinfo(
            url.host, port, type=socket.SOCK_STREAM
        )
        addresses = [ipaddress.ip_address(info[4][0]) for info in found]
        for address in addresses:
            if problem := address_problem(address, allow_private=self.allow_private):
                return Result(error=f"{url.host} resolves to {problem}", permanent=True)
        return addresses[0]


async def _start_of(response: httpx2.Response) -> str:
    """At most `READ_BODY` bytes are read of an answer; `KEPT_BODY` characters kept."""
    read = bytearray()
    async for chunk in response.aiter_raw():
        read += chunk
        if len(read) >= READ_BODY:
            break
    return bytes(read[:READ_BODY]).decode("utf-8", "replace")[:KEPT_BODY]
