"""Which addresses tagcast fetches for an article: link pages and https images named by content that may
come from someone else (a remote feed), so never the machine itself or its private network by default.

A URL from an article could name ``http://169.254.169.254/`` (a cloud's metadata service), ``127.0.0.1``,
``10.x``, ``fd00::/8``, redirect into one of them, or name a host whose DNS answer is one of them. Before each
hop (redirects included) :meth:`AddressPolicy.pin` resolves the host once, refuses it when any address it
resolves to is not public (:class:`PrivateAddressError`), and returns the request to make *to the address
that was checked* (the URL with the address in place of the name, the name kept in ``Host`` and in TLS's
server name, so certificates are verified as before). No second lookup happens, so a DNS answer that changes
between the check and the connection (DNS rebinding) cannot slip through::

    policy = AddressPolicy.of(settings)             # [media] private_addresses
    hop = policy.pin(httpx.URL("https://example.org/a.jpg"))
    client.get(hop.url, headers=hop.headers, extensions=hop.extensions)

``[media] private_addresses = "allow"`` fetches every address as written (an intranet); a list of networks
(``["10.1.0.0/16"]``) allows those, still checked and pinned. The names are resolved by tagcast itself, so
an HTTP proxy that resolves names the machine cannot resolve needs ``"allow"``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scheduler.errors import UserError
from scheduler.lazy import httpx

if TYPE_CHECKING:
    from scheduler.config.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]
"""The addresses a host name resolves to (for ``port``), as text: :func:`system_resolver`, or a test's."""

HOW_TO_ALLOW = 'to fetch from private addresses (an intranet), set [media] private_addresses = "allow"'


class PrivateAddressError(UserError):
    """A URL was not fetched: its host is (or resolves to) an address that is not public."""


class UnresolvableHostError(UserError):
    """A URL's host name has no address."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the order the system gives (duplicates dropped)."""
    found: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


def kind_of(address: IPAddress) -> str | None:
    """Why ``address`` is not public (``"loopback"``, ``"private"``, ...), or ``None`` when it is public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return kind_of(address.ipv4_mapped)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local (cloud metadata services live here)", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    )
    for name, matches in checks:
        if matches:
            return name
    return None if address.is_global else "not public"


@dataclass(frozen=True, slots=True)
class Hop:
    """One request to make: ``url`` (the checked address in place of the name), and the ``headers`` and
    ``extensions`` that keep the name for the server (``Host``) and for TLS (``sni_hostname``)."""

    url: httpx.URL
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """What may be fetched: public addresses, and ``allowed`` networks (``allow_all``: everything, nothing
    checked). ``resolve`` looks names up (a test passes its own)."""

    allow_all: bool = False
    allowed: tuple[IPNetwork, ...] = ()
    resolve: Resolver = system_resolver

    @classmethod
    def of(cls, settings: Settings, *, resolve: Resolver = system_resolver) -> AddressPolicy:
        """The policy of ``[media] private_addresses``."""
        chosen = settings.media.private_addresses
        if chosen == "allow":
            return cls(allow_all=True, resolve=resolve)
        if chosen == "refuse":
            return cls(resolve=resolve)
        return cls(allowed=tuple(chosen), resolve=resolve)

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` is not fetched, or ``None`` when it may be."""
        kind = kind_of(address)
        if kind is None or any(address in net for net in self.allowed if net.version == address.version):
            return None
        return kind

    def pin(self, url: httpx.URL) -> Hop:
        """The request for ``url``, made to the address checked here. Raises :class:`PrivateAddressError`
        when the host is (or any address it resolves to is) not public, :class:`UnresolvableHostError`
        when it resolves to nothing."""
        if self.allow_all:
            return Hop(url)
        host = url.raw_host.decode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                answers = self.resolve(host, port)
            except (OSError, UnicodeError) as exc:
                raise UnresolvableHostError(f"cannot resolve {host} ({exc})") from None
            addresses = [ipaddress.ip_address(answer.split("%", 1)[0]) for answer in answers]
            if not addresses:
                raise UnresolvableHostError(f"cannot resolve {host}: no address")
        for address in addresses:
            kind = self.refusal(address)
            if kind is not None:
                named = f"{address} is" if literal is not None else f"{host} resolves to {address},"
                raise PrivateAddressError(f"{named} a {kind} address: not fetched", hint=HOW_TO_ALLOW)
        if literal is not None:
            return Hop(url)
        chosen = addresses[0]
        headers = {"Host": url.netloc.decode("ascii"), "Connection": "close"}  # no connection is reused
        extensions = {"sni_hostname": host} if url.scheme == "https" else {}
        return Hop(url.copy_with(host=str(chosen)), headers, extensions)
