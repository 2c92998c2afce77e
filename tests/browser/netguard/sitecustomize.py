"""GaugeLab network guard, loaded by any Python whose PYTHONPATH starts with this directory.

It hooks Python's audit events (PEP 578, ``sys.addaudithook``), which the interpreter raises from C
for every socket operation, whichever module calls it (``socket``, ``_socket``, asyncio, urllib,
requests...). Every attempt to reach a non-loopback address is refused (ConnectionRefusedError)
and logged as one JSON line to $GAUGELAB_NETGUARD_LOG:

* name resolution: ``socket.getaddrinfo``, ``socket.gethostbyname`` (and ``_ex``),
  ``socket.gethostbyaddr``, ``socket.getnameinfo``;
* connections and datagrams: ``socket.connect`` (also connect_ex), ``socket.sendto``,
  ``socket.sendmsg`` (TCP, UDP, raw; IPv4 and IPv6, IPv4-mapped IPv6 included);
* ctypes: looking up a C networking function (``connect``, ``sendto``, ``getaddrinfo``...) through
  ``ctypes.dlsym`` is refused, since such a call would bypass the socket events;
* child processes: ``subprocess.Popen`` children get the guard in their environment even when
  started with a cleared or edited ``env`` (PYTHONPATH and the log are put back), and
  ``os.exec*`` / ``os.posix_spawn*`` / ``os.spawn*`` with an environment that lacks the guard are
  refused (their environment cannot be edited from the hook), so a Python child is guarded too.

Loopback (127.0.0.0/8, ::1, "localhost", this machine's own host name), the unspecified address and
Unix sockets are allowed, so kernels, ZMQ and local servers work. Native code that opens its own
sockets (libzmq, a browser started as a child) is outside what Python can see.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import sys
import traceback

GUARD_ACTIVE = True
GUARD_DIR = os.path.dirname(os.path.realpath(__file__))
_LOG = os.environ.get("GAUGELAB_NETGUARD_LOG")
#: With GAUGELAB_NETGUARD_ANNOUNCE=1 every guarded process logs one record of kind LOADED at start:
#: a test can then show that a process it did not start itself (a JupyterLab kernel) was guarded.
_ANNOUNCE = os.environ.get("GAUGELAB_NETGUARD_ANNOUNCE") == "1"
LOADED = "guard loaded"
_LOCAL_NAMES = {"", "localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
try:
    _LOCAL_NAMES.add(socket.gethostname().lower())
except OSError:  # pragma: no cover
    pass
_INET = (socket.AF_INET, socket.AF_INET6)
_NET_SYMBOLS = {
    "connect",
    "sendto",
    "sendmsg",
    "sendmmsg",
    "getaddrinfo",
    "gethostbyname",
    "gethostbyname2",
    "gethostbyname_r",
    "gethostbyaddr",
    "getnameinfo",
    "res_query",
    "res_search",
}
_selftest = False


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
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


def _log(kind: str, target) -> None:
    record = {
        "pid": os.getpid(),
        "kind": kind,
        "target": repr(target)[:200],
        # the command line as started: at start-up sys.argv of `python -m mod` is still ['-m', ...]
        "argv": [str(a)[:200] for a in getattr(sys, "orig_argv", sys.argv)[:4]],
        "stack": traceback.format_stack(limit=12)[:-3],
    }
    try:
        with open(_LOG, "a") as fh:
            fh.write(json.dumps(record) + "\n")
    except OSError:  # pragma: no cover
        pass


def _refuse(kind: str, target) -> None:
    if _LOG and not _selftest:
        _log(kind, target)
    raise ConnectionRefusedError(f"gaugelab network guard: {kind} to {target!r} refused (not loopback)")


def _guarded_env(env) -> bool:
    """True if ``env`` (a mapping) loads this guard in a Python child."""
    try:
        first = str(env.get("PYTHONPATH", "") or "").split(os.pathsep)[0]
    except AttributeError:
        return False
    return os.path.realpath(first) == GUARD_DIR if first else False


def _add_guard(env) -> None:
    """Put this guard first on ``env``'s PYTHONPATH and its log variable back (in place)."""
    rest = [
        p
        for p in str(env.get("PYTHONPATH", "") or "").split(os.pathsep)
        if p and os.path.realpath(p) != GUARD_DIR
    ]
    env["PYTHONPATH"] = os.pathsep.join([GUARD_DIR, *rest])
    if _LOG:
        env["GAUGELAB_NETGUARD_LOG"] = _LOG
    if _ANNOUNCE:
        env["GAUGELAB_NETGUARD_ANNOUNCE"] = "1"


def _env_lookup(env, key: str):
    for k, v in env.items() if hasattr(env, "items") else []:
        k = k.decode() if isinstance(k, bytes) else k
        if k == key:
            return v.decode() if isinstance(v, bytes) else v
    return None


def _audit(event: str, args) -> None:
    """The audit hook: cheap for the many events it ignores (imports, opens, compiles...)."""
    if event.startswith(("socket.", "subprocess.", "os.", "ctypes.")):
        _check(event, args)


def _check(event: str, args) -> None:
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[1]
        if getattr(sock, "family", None) in _INET and isinstance(address, tuple) and address:
            if not _is_local(address[0]):
                _refuse(event.split(".")[1], address)
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
        if not _is_local(args[0]):
            _refuse(event.split(".")[1], args[0])
    elif event == "socket.getnameinfo":
        sockaddr = args[0]
        if isinstance(sockaddr, tuple) and sockaddr and not _is_local(sockaddr[0]):
            _refuse("getnameinfo", sockaddr)
    elif event == "ctypes.dlsym":
        name = args[1]
        name = name.decode(errors="replace") if isinstance(name, bytes) else str(name)
        if name in _NET_SYMBOLS:
            _refuse("ctypes.dlsym", name)
    elif event == "subprocess.Popen":
        env = args[3]
        if env is None:
            if not _guarded_env(os.environ):
                _add_guard(os.environ)
        elif hasattr(env, "__setitem__"):
            if not _guarded_env(env):
                _add_guard(env)
        else:  # an immutable mapping we cannot edit
            _refuse("subprocess without the guard", args[0])
    elif event == "os.system":
        if not _guarded_env(os.environ):
            _add_guard(os.environ)
    elif event in ("os.exec", "os.posix_spawn", "os.spawn"):
        env = args[3] if event == "os.spawn" else args[2]  # (mode,) path, argv, env
        if env is None:
            if not _guarded_env(os.environ):
                _add_guard(os.environ)
        else:
            path = _env_lookup(env, "PYTHONPATH")
            if not (path and os.path.realpath(path.split(os.pathsep)[0]) == GUARD_DIR):
                _refuse(f"{event} with an environment without the guard", args[0])


def selftest() -> bool:
    """True if the hook refuses a public name lookup here (nothing is logged, nothing is sent)."""
    global _selftest
    import _socket

    _selftest = True
    try:
        _socket.getaddrinfo("guard-selftest.example", 80)
    except ConnectionRefusedError as exc:
        return "gaugelab network guard" in str(exc)
    except OSError:
        return False
    finally:
        _selftest = False
    return False


sys.addaudithook(_audit)
if _LOG:
    os.environ.setdefault("GAUGELAB_NETGUARD_LOG", _LOG)
    if _ANNOUNCE:
        _log(LOADED, None)
