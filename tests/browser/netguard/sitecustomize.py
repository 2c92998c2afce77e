"""GaugeLab network guard, loaded by any Python whose PYTHONPATH starts with this directory.

Every Python-level attempt to reach a non-loopback address is refused (ConnectionRefusedError) and
logged as one JSON line to $GAUGELAB_NETGUARD_LOG: name resolution (getaddrinfo, gethostbyname*),
socket.create_connection and socket.socket.connect / connect_ex / sendto. Loopback (127.0.0.0/8,
::1, "localhost", this machine's own host name) and Unix sockets are allowed, so kernels, ZMQ and
local servers work. It cannot see native code that opens its own sockets (libzmq, a Chromium
started as a subprocess): it guards Python code, which is what notebooks and gaugelab are.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import sys
import traceback

GUARD_ACTIVE = True
_LOG = os.environ.get("GAUGELAB_NETGUARD_LOG")
_LOCAL_NAMES = {"", "localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
try:
    _LOCAL_NAMES.add(socket.gethostname().lower())
except OSError:  # pragma: no cover
    pass


def _is_local(host) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]").split("%")[0].lower()
    if host in _LOCAL_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def _refuse(kind: str, target) -> None:
    record = {
        "pid": os.getpid(),
        "kind": kind,
        "target": repr(target)[:200],
        "argv": [str(a)[:200] for a in sys.argv[:3]],
        "stack": traceback.format_stack(limit=12)[:-2],
    }
    if _LOG:
        try:
            with open(_LOG, "a") as fh:
                fh.write(json.dumps(record) + "\n")
        except OSError:  # pragma: no cover
            pass
    raise ConnectionRefusedError(f"gaugelab network guard: {kind} to {target!r} refused (not loopback)")


def _address_host(sock_or_family, address):
    family = getattr(sock_or_family, "family", sock_or_family)
    if family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple) and address:
        return address[0], True
    return None, False


_getaddrinfo = socket.getaddrinfo
_gethostbyname = socket.gethostbyname
_gethostbyname_ex = socket.gethostbyname_ex
_create_connection = socket.create_connection
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_sendto = socket.socket.sendto


def getaddrinfo(host, *args, **kwargs):
    if not _is_local(host):
        _refuse("getaddrinfo", host)
    return _getaddrinfo(host, *args, **kwargs)


def gethostbyname(host):
    if not _is_local(host):
        _refuse("gethostbyname", host)
    return _gethostbyname(host)


def gethostbyname_ex(host):
    if not _is_local(host):
        _refuse("gethostbyname_ex", host)
    return _gethostbyname_ex(host)


def create_connection(address, *args, **kwargs):
    if isinstance(address, tuple) and address and not _is_local(address[0]):
        _refuse("create_connection", address)
    return _create_connection(address, *args, **kwargs)


def connect(self, address):
    host, inet = _address_host(self, address)
    if inet and not _is_local(host):
        _refuse("connect", address)
    return _connect(self, address)


def connect_ex(self, address):
    host, inet = _address_host(self, address)
    if inet and not _is_local(host):
        _refuse("connect_ex", address)
    return _connect_ex(self, address)


def sendto(self, data, *args):
    address = args[-1] if args else None
    host, inet = _address_host(self, address)
    if inet and not _is_local(host):
        _refuse("sendto", address)
    return _sendto(self, data, *args)


socket.getaddrinfo = getaddrinfo
socket.gethostbyname = gethostbyname
socket.gethostbyname_ex = gethostbyname_ex
socket.create_connection = create_connection
socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.socket.sendto = sendto
