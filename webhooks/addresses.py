"""Server-side request forgery guard: a trusted site's host must resolve to public addresses only.

Private, loopback, link-local, multicast, reserved and unspecified addresses (IPv4 and IPv6,
IPv4-mapped included) are refused unless they fall in settings.WEBHOOK_ALLOWED_NETWORKS (CIDRs,
e.g. "10.1.2.0/24" for an on-premises CRM; the tests allow 127.0.0.0/8). Checked when a site is
saved and again before every request (DNS can change)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


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


def check_url(url: str) -> None:
    """Raise AddressRefused unless the URL is http(s) and every address its host resolves to is
    public or allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused("Only http and https URLs with a host can be called.")
    if parts.username or parts.password:
        raise AddressRefused("Put credentials in the site's authentication, not in the URL.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError) as error:
        raise AddressRefused(f"The host {parts.hostname!r} cannot be resolved: {error}") from None
    allowed = _allowed_networks()
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if _public(address) or any(address in network for network in allowed):
            continue
        raise AddressRefused(
            f"{parts.hostname} resolves to {address}, a private or reserved address; "
            "allow its network in WEBHOOK_ALLOWED_NETWORKS to call it."
        )
