"""A loopback wire-protocol relay that lets mongorestore talk to MongoDB-compatible servers.

The pinned mongorestore refuses servers whose `buildInfo` lacks `versionArray` (nx-27017), and
sends `insert.bypassEmptyTsReplacement` to anything claiming MongoDB >= 7.0.13, which FerretDB v1
rejects as an unknown field (FerretDB#5071). The relay forwards every byte unchanged except:
- a `buildInfo` reply without `versionArray` gets one parsed from the server's own `version`;
- `bypassEmptyTsReplacement` is removed from insert/update commands when the server rejects it;
- the `ns` option mongorestore adds to every index spec is removed when the server rejects it
  (real MongoDB ignores it; FerretDB v1 answers "Index option "ns" is unknown").
None changes what is stored; both are decided by probing the server (`needs`), and real
MongoDB never goes through the relay.
"""

from __future__ import annotations

import secrets
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import bson
from bson.son import SON
from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

OP_MSG = 2013
_HEADER = struct.Struct("<iiii")
_CODEC = bson.CodecOptions(document_class=SON)
_BYPASS = "bypassEmptyTsReplacement"


@dataclass
class Fixes:
    """Which rewrites a server needs; empty means mongorestore can talk to it directly."""

    version_array: list[int] | None = None  # add this to buildInfo replies
    strip_bypass: bool = False
    strip_index_ns: bool = False
    reasons: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.version_array is not None or self.strip_bypass or self.strip_index_ns


def _version_array(version: str) -> list[int]:
    parts = [int(p) if p.isdigit() else 0 for p in (version.split("-")[0].split(".") + ["0"] * 4)[:4]]
    return parts


def needs(client: MongoClient) -> Fixes:
    """Probe what mongorestore would trip over on this server."""
    fixes = Fixes()
    info = client.admin.command("buildInfo")
    if len(info.get("versionArray") or []) < 3:
        fixes.version_array = _version_array(str(info.get("version", "0.0.0")))
        fixes.reasons.append("buildInfo has no versionArray (mongorestore needs it)")
    db = client[f"harness_probe_{secrets.token_hex(4)}"]
    try:
        db.command(SON([("insert", "probe"), ("documents", [{"_id": 1}]), (_BYPASS, True)]))
    except OperationFailure as exc:
        if _BYPASS in str(exc):
            fixes.strip_bypass = True
            fixes.reasons.append(f"rejects insert.{_BYPASS}, which mongorestore sends to 7.0.13+ servers")
    except PyMongoError:
        pass
    try:
        db.command(SON([("createIndexes", "probe"),
                        ("indexes", [{"key": {"a": 1}, "name": "a_1", "ns": f"{db.name}.probe"}])]))
    except OperationFailure as exc:
        if '"ns"' in str(exc) or "'ns'" in str(exc) or " ns " in str(exc):
            fixes.strip_index_ns = True
            fixes.reasons.append("rejects the `ns` option mongorestore adds to index specs")
    except PyMongoError:
        pass
    finally:
        with suppress(PyMongoError):
            client.drop_database(db.name)
    return fixes


def _read_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _read_message(sock: socket.socket) -> tuple[tuple[int, int, int, int], bytes] | None:
    head = _read_exact(sock, 16)
    if head is None:
        return None
    header = _HEADER.unpack(head)
    body = _read_exact(sock, header[0] - 16)
    return (header, body) if body is not None else None


def _split_msg(body: bytes) -> tuple[int, bytes, int]:
    """(flags, kind-0 document, offset after it) of an OP_MSG body whose first section is kind 0."""
    flags = struct.unpack_from("<I", body)[0]
    if body[4] != 0:
        return flags, b"", -1
    size = struct.unpack_from("<i", body, 5)[0]
    return flags, body[5:5 + size], 5 + size


def _rebuild(header: tuple[int, int, int, int], flags: int, doc: dict, body: bytes, end: int) -> bytes:
    rest = body[end:]
    if flags & 1:  # checksumPresent: the checksum no longer matches; drop it
        rest, flags = rest[:-4], flags & ~1
    payload = struct.pack("<I", flags) + b"\x00" + bson.encode(doc) + rest
    return _HEADER.pack(16 + len(payload), header[1], header[2], header[3]) + payload


class Relay:
    """Listens on 127.0.0.1:<port> and forwards to the server at `target` (host, port)."""

    def __init__(self, target: tuple[str, int], fixes: Fixes) -> None:
        self.target, self.fixes = target, fixes
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._pending: set[int] = set()  # requestIDs of buildInfo commands
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []

    def start(self) -> Relay:
        t = threading.Thread(target=self._accept, name="relay-accept", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def close(self) -> None:
        self._stop.set()
        for s in [self._listener, *self._socks]:
            with suppress(OSError):
                s.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(self.target)
            except OSError:
                return
            self._socks += [client, upstream]
            for src, dst, fn in ((client, upstream, self._to_server), (upstream, client, self._to_client)):
                t = threading.Thread(target=self._pump, args=(src, dst, fn), daemon=True)
                t.start()

    def _pump(self, src: socket.socket, dst: socket.socket, rewrite) -> None:  # type: ignore[no-untyped-def]
        try:
            while True:
                msg = _read_message(src)
                if msg is None:
                    break
                header, body = msg
                out = rewrite(header, body) if header[3] == OP_MSG else None
                dst.sendall(out if out is not None else _HEADER.pack(*header) + body)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def _to_server(self, header: tuple[int, int, int, int], body: bytes) -> bytes | None:
        flags, raw, end = _split_msg(body)
        if end < 0:
            return None
        doc = bson.decode(raw, codec_options=_CODEC)
        command = next(iter(doc), "").lower()
        if command == "buildinfo" and self.fixes.version_array is not None:
            with self._lock:
                self._pending.add(header[1])
        if self.fixes.strip_bypass and command in ("insert", "update") and _BYPASS in doc:
            del doc[_BYPASS]
            return _rebuild(header, flags, doc, body, end)
        if self.fixes.strip_index_ns and command == "createindexes" and any(
                "ns" in ix for ix in doc.get("indexes", [])):
            for ix in doc["indexes"]:
                ix.pop("ns", None)
            return _rebuild(header, flags, doc, body, end)
        return None

    def _to_client(self, header: tuple[int, int, int, int], body: bytes) -> bytes | None:
        with self._lock:
            if header[2] not in self._pending:
                return None
            self._pending.discard(header[2])
        flags, raw, end = _split_msg(body)
        if end < 0:
            return None
        doc = bson.decode(raw, codec_options=_CODEC)
        if len(doc.get("versionArray") or []) >= 3:
            return None
        doc["versionArray"] = self.fixes.version_array
        return _rebuild(header, flags, doc, body, end)


def relay_uri(uri: str, port: int) -> str:
    """`uri` with its host list replaced by the relay's loopback address (credentials kept)."""
    parts = urlsplit(uri)
    userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    query = parts.query
    if "directconnection" not in query.lower():
        query = (query + "&" if query else "") + "directConnection=true"
    return urlunsplit((parts.scheme, f"{userinfo}127.0.0.1:{port}", parts.path or "/", query, ""))


@contextmanager
def relayed(uri: str, client: MongoClient, fixes: Fixes) -> Iterator[str]:
    """Yield the URI mongorestore should use: `uri` itself when no fix is needed."""
    if not fixes:
        yield uri
        return
    address = client.address or (urlsplit(uri).hostname or "127.0.0.1", urlsplit(uri).port or 27017)
    relay = Relay((address[0], address[1]), fixes).start()
    try:
        yield relay_uri(uri, relay.port)
    finally:
        relay.close()
