"""Read a `mongodump --archive --gzip` stream as it passes: per namespace, the documents' count
and order-independent digest, the collection metadata (options, index specs), and whether the
stream is complete.

Format (mongo-tools common/archive/spec.md): magic 0x8199e26d, a header document, one prelude
document per namespace, a 0xffffffff terminator, then interleaved segments (a namespace header,
documents, terminator); each namespace ends with an EOF header carrying a CRC-64 of its
documents. A stream that stops early, or a namespace without its EOF block, is truncated: the
inspector says so and the backup is never marked good.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

import bson
from bson import json_util

from harness.backup.checksum import Digest
from harness.errors import EXIT_BREACH, HarnessError

MAGIC = b"\x6d\xe2\x99\x81"
TERMINATOR = 0xFFFFFFFF
_INT = struct.Struct("<i")
_UINT = struct.Struct("<I")


class ArchiveError(HarnessError):
    """The archive stream is malformed or incomplete."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message, hint or "the archive is unusable; take a new backup", EXIT_BREACH)


@dataclass
class Namespace:
    db: str
    collection: str
    metadata: dict[str, Any] = field(default_factory=dict)
    type: str = ""
    digest: Digest = field(default_factory=Digest)
    bytes: int = 0
    eof: bool = False
    crc: int | None = None

    @property
    def name(self) -> str:
        return f"{self.db}.{self.collection}"

    @property
    def is_oplog(self) -> bool:
        return self.db == "" and self.collection == "oplog"

    def indexes(self) -> list[dict[str, Any]]:
        return [normalize_index(ix) for ix in self.metadata.get("indexes", [])]


def _plain(value: Any) -> Any:
    """Index specs from JSON or the server, made comparable: integral floats become ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def normalize_index(spec: dict[str, Any]) -> dict[str, Any]:
    """An index spec without version and namespace noise, keys as an ordered list of pairs."""
    out = {k: _plain(v) for k, v in dict(spec).items() if k not in ("v", "ns", "background", "key")}
    out["key"] = [[k, _plain(v)] for k, v in dict(spec["key"]).items()]
    if out.get("unique") is False:
        del out["unique"]
    return dict(sorted(out.items()))


class ArchiveInspector:
    """Feed it the gzip'd archive in chunks of any size; call `finish()` at the end."""

    def __init__(self, gzip: bool = True) -> None:
        self._z = zlib.decompressobj(wbits=31) if gzip else None
        self._buf = bytearray()
        self._pos = 0
        self._state = "magic"
        self._current: Namespace | None = None
        self.header: dict[str, Any] = {}
        self.namespaces: dict[str, Namespace] = {}
        self.raw_bytes = 0

    # -- input ---------------------------------------------------------------------------------
    def feed(self, chunk: bytes) -> None:
        if self._z is not None:
            data = self._z.decompress(chunk)
            while self._z.eof and self._z.unused_data:  # concatenated gzip members
                rest = self._z.unused_data
                self._z = zlib.decompressobj(wbits=31)
                data += self._z.decompress(rest)
        else:
            data = chunk
        if not data:
            return
        self.raw_bytes += len(data)
        self._buf += data
        self._parse()
        if self._pos > (1 << 20):
            del self._buf[: self._pos]
            self._pos = 0

    def finish(self) -> None:
        """Raise ArchiveError unless the stream ended cleanly after every namespace's EOF block."""
        if self._z is not None and not self._z.eof:
            raise ArchiveError("archive is truncated: the gzip stream ends early")
        if self._state != "segment" or self._pos != len(self._buf):
            raise ArchiveError(f"archive is truncated: it ends inside the {self._state} section")
        missing = [ns.name for ns in self.namespaces.values() if not ns.eof]
        if missing:
            raise ArchiveError(f"archive is truncated: no end-of-collection block for {', '.join(missing[:3])}")

    # -- parsing -------------------------------------------------------------------------------
    def _avail(self) -> int:
        return len(self._buf) - self._pos

    def _peek_int(self) -> int | None:
        if self._avail() < 4:
            return None
        return _INT.unpack_from(self._buf, self._pos)[0]

    def _take_doc(self) -> memoryview | None:
        size = self._peek_int()
        if size is None or self._avail() < size:
            return None
        if size < 5:
            raise ArchiveError(f"archive is corrupt: bad document size {size} at byte {self.raw_bytes}")
        view = memoryview(self._buf)[self._pos : self._pos + size]
        self._pos += size
        return view

    def _take_terminator(self) -> bool:
        if self._avail() >= 4 and _UINT.unpack_from(self._buf, self._pos)[0] == TERMINATOR:
            self._pos += 4
            return True
        return False

    def _parse(self) -> None:
        while True:
            if self._state == "magic":
                if self._avail() < 4:
                    return
                if bytes(self._buf[self._pos : self._pos + 4]) != MAGIC:
                    raise ArchiveError("not a mongodump archive (bad magic number)")
                self._pos += 4
                self._state = "header"
            elif self._state == "header":
                doc = self._take_doc()
                if doc is None:
                    return
                self.header = bson.decode(bytes(doc))
                doc.release()
                self._state = "prelude"
            elif self._state == "prelude":
                if self._avail() < 4:
                    return
                if self._take_terminator():
                    self._state = "segment"
                    continue
                doc = self._take_doc()
                if doc is None:
                    return
                meta = bson.decode(bytes(doc))
                doc.release()
                ns = Namespace(meta.get("db", ""), meta.get("collection", ""), type=meta.get("type", ""))
                if meta.get("metadata"):
                    ns.metadata = json_util.loads(meta["metadata"])
                self.namespaces[ns.name] = ns
            elif self._state == "segment":
                if self._avail() < 4:
                    return
                doc = self._take_doc()
                if doc is None:
                    return
                head = bson.decode(bytes(doc))
                doc.release()
                name = f"{head.get('db', '')}.{head.get('collection', '')}"
                ns = self.namespaces.get(name)
                if ns is None:  # the oplog has no prelude entry in some versions
                    ns = self.namespaces[name] = Namespace(head.get("db", ""), head.get("collection", ""))
                if head.get("EOF"):
                    ns.eof, ns.crc = True, int(head.get("CRC", 0))
                    self._state = "eof-terminator"
                else:
                    self._current, self._state = ns, "data"
            elif self._state == "eof-terminator":
                if self._avail() < 4:
                    return
                if not self._take_terminator():
                    raise ArchiveError("archive is corrupt: an end-of-collection block lacks its terminator")
                self._state = "segment"
            elif self._state == "data":
                if self._avail() < 4:
                    return
                if self._take_terminator():
                    self._current, self._state = None, "segment"
                    continue
                doc = self._take_doc()
                if doc is None:
                    return
                assert self._current is not None
                self._current.digest.add(doc)
                self._current.bytes += len(doc)
                doc.release()

    # -- results -------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Per collection (db.coll, oplog excluded): count, digest, bytes, index specs, options."""
        out = {}
        for ns in self.namespaces.values():
            if ns.is_oplog:
                continue
            out[ns.name] = {"count": ns.digest.count, "checksum": ns.digest.hexdigest(), "bytes": ns.bytes,
                            "indexes": ns.indexes(), "options": _plain(ns.metadata.get("options", {})),
                            "type": ns.type or "collection"}
        return out

    def oplog_entries(self) -> int | None:
        ops = [ns for ns in self.namespaces.values() if ns.is_oplog]
        return ops[0].digest.count if ops else None


def describe_header(header: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json_util.dumps(header))
