"""The gateway address a `Client` is given, turned into what grpcio connects to.

grpcio takes `host:port` (and its own `dns:`, `ipv4:`, `ipv6:`, `unix:` targets) but has
no `http://` or `https://` scheme: given one it resolves the whole string as a host name
and never connects. So URL-style targets are mapped here, and say whether TLS is meant.
"""

from __future__ import annotations

from typing import NamedTuple, Optional
from urllib.parse import urlsplit


class Target(NamedTuple):
    """`address` is what grpcio connects to; `tls` is True for https://, False for
    http://, and None when the target does not say (host:port, or a grpcio target)."""

    address: str
    tls: Optional[bool]


_DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_target(target: str) -> Target:
    """Maps `http://host:port` (plaintext) and `https://host:port` (TLS) to `host:port`;
    anything else (`host:port`, `[::1]:port`, `dns:///host:port`...) is passed to grpcio
    as is. A URL without a port gets its scheme's (80, 443); a URL with a path, query,
    fragment or user name is refused (ValueError), as gRPC has no use for them."""
    scheme, sep, _ = target.partition("://")
    if not sep or scheme.lower() not in _DEFAULT_PORTS:
        if not target:
            raise ValueError("empty gateway target")
        return Target(target, None)
    scheme = scheme.lower()
    parts = urlsplit(target)
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"gateway target {target!r}: only {scheme}://host:port is accepted")
    host = parts.hostname  # lowercased, IPv6 brackets removed
    if not host:
        raise ValueError(f"gateway target {target!r} has no host")
    try:
        port = parts.port
    except ValueError as error:  # not a number, or out of range
        raise ValueError(f"gateway target {target!r}: {error}") from None
    if port is None:
        port = _DEFAULT_PORTS[scheme]
    if ":" in host:
        host = f"[{host}]"
    return Target(f"{host}:{port}", scheme == "https")
