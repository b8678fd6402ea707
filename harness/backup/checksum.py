"""An order-independent content digest of a collection: equal sets of documents, equal digests.

mongodump emits documents in whatever order the server returns them and a restore may store
them differently, so the digest is the sum (mod 2^256) of a BLAKE2b-256 hash of each document's
raw BSON bytes, plus the count. A sum (not XOR) keeps duplicate documents from cancelling out.
Raw bytes keep field order and exact types: a changed field, a missing document or a reordered
sub-document all change the digest. MongoDB's `dbHash` is not usable here: it hashes in `_id`
order, takes a lock, and does not exist on every compatible server.
"""

from __future__ import annotations

from hashlib import blake2b

from bson import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo.collection import Collection

_MOD = 1 << 256


class Digest:
    """Accumulates documents' raw BSON; `hexdigest()` is independent of the order they came in."""

    __slots__ = ("count", "_sum")

    def __init__(self) -> None:
        self.count = 0
        self._sum = 0

    def add(self, raw: bytes | memoryview) -> None:
        self._sum = (self._sum + int.from_bytes(blake2b(raw, digest_size=32).digest(), "big")) % _MOD
        self.count += 1

    def hexdigest(self) -> str:
        return f"{self._sum:064x}"


def collection_digest(coll: Collection, batch_size: int = 1000) -> Digest:
    """Read every document of `coll` as raw BSON and digest it."""
    raw = coll.with_options(codec_options=CodecOptions(document_class=RawBSONDocument))
    digest = Digest()
    for doc in raw.find({}, batch_size=batch_size):
        digest.add(doc.raw)
    return digest
