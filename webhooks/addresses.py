"""Server-side request forgery guard: a trusted site's host must resolve to public addresses only.

Private, loopback, link-local, multicast, reserved and unspecified addresses (IPv4 and IPv6,
IPv4-mapped included) are refused unless they fall in settings.WEBHOOK_ALLOWED_NETWORKS (CIDRs,
e.g. "10.1.2.0/24" for an on-premises CRM; the tests allow 127.0.0.0/8).

Checked when a site is saved (`check_url`) and, authoritatively, when a connection is opened:
`PinnedAdapter` (a requests transport adapter) resolves the host ONCE, refuses the whole answer
if any address is not allowed, and connects the socket to that checked address — so a DNS answer
that changes between the check and the connection (DNS rebinding: public first, 127.0.0.1 next)
cannot reach a private address. Only the socket's address is pinned: the Host header, TLS SNI and
certificate verification keep using the site's host name. Redirects are never followed
(webhooks.sending), so no second host is ever connected to."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection


class AddressRefused(Exception):
    pass


def _allowed_networks():
    return [ipaddress.ip_network(n, strict=False) for n in getattr(settings, "WEBHOOK_ALLOWED_NETWORKS", [])]


def _public(address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def resolve(host: str, port: int) -> list[str]:
    """The host's addresses, in the resolver's order (the one DNS lookup of a connection; the
    tests replace it with a resolver that changes its answer)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(info[4][0] for info in infos))


def allowed_addresses(host: str, port: int) -> list[str]:
    """Resolve `host` once; its addresses when every one is public or allowed, else
    AddressRefused (one bad address refuses the host: a rebinding answer may mix them)."""
    try:
        answer = resolve(host, port)
    except (OSError, ValueError, UnicodeError) as error:
        raise AddressRefused(f"The host {host!r} cannot be resolved: {error}") from None
    if not answer:
        raise AddressRefused(f"The host {host!r} has no address.")
    allowed = _allowed_networks()
    for text in answer:
        address = ipaddress.ip_address(text.split("%")[0])
        if _public(address) or any(address in network for network in allowed):
            continue
        raise AddressRefused(
            f"{host} resolves to {address}, a private or reserved address; "
            "allow its network in WEBHOOK_ALLOWED_NETWORKS to call it."
        )
    return answer


def check_scheme(url: str):
    """The URL's parts when it is http(s) with a host and no credentials; else AddressRefused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused("Only http and https URLs with a host can be called.")
    if parts.username or parts.password:
        raise AddressRefused("Put credentials in the site's authentication, not in the URL.")
    return parts


def check_url(url: str) -> None:
    """Raise AddressRefused unless the URL is http(s) and every address its host resolves to is
    public or allowed (the form's check; sending checks again at connection time)."""
    parts = check_scheme(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise AddressRefused(f"Bad port: {error}") from None
    allowed_addresses(parts.hostname, port)


# --- connecting to the checked address ------------------------------------------------------------


class _PinnedConnectionMixin:
    """urllib3 connection whose socket goes to an address checked by allowed_addresses(): the
    resolution and the connection use the same answer. `self.host` (Host header, SNI, the
    certificate's name) is untouched."""

    pinned_address = ""

    def _new_conn(self):
        addresses = allowed_addresses(self._dns_host, self.port)  # AddressRefused propagates
        last: OSError | None = None
        for address in addresses:
            try:
                sock = urllib3_connection.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as error:
                raise ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
                ) from error
            except OSError as error:
                last = error
                continue
            self.pinned_address = address
            return sock
        raise NewConnectionError(self, f"Failed to establish a new connection: {last}")


class PinnedHTTPConnection(_PinnedConnectionMixin, HTTPConnection):
    pass


class PinnedHTTPSConnection(_PinnedConnectionMixin, HTTPSConnection):
    pass


class PinnedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = PinnedHTTPConnection


class PinnedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = PinnedHTTPSConnection


class PinnedAdapter(HTTPAdapter):
    """A requests transport adapter whose every new connection is SSRF-checked and pinned (mount
    it for http:// and https:// on a session with trust_env = False: no proxy)."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": PinnedHTTPConnectionPool,
            "https": PinnedHTTPSConnectionPool,
        }
