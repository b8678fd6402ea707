"""Connecting to a server and resolving which one a command uses."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pymongo import MongoClient
from pymongo.errors import ConfigurationError, InvalidURI, OperationFailure, PyMongoError

from harness.errors import HarnessError
from harness.redact import redact
from harness.servers.capabilities import Capabilities, probe

CONNECT_TIMEOUT_MS = int(os.environ.get("HARNESS_CONNECT_TIMEOUT_MS", "5000"))


@dataclass
class Server:
    """A resolved server: its URI, what runs there, and its capability profile."""

    uri: str
    kind: str  # "mongodb", "nx-27017", "ferretdb", ... as detected on the wire
    origin: str  # "uri", "embedded:mongod", "embedded:docker", "embedded:nx-27017", ...
    caps: Capabilities
    engine: str = "mongodb"
    _client: MongoClient | None = field(default=None, repr=False)

    @property
    def represents_mongodb(self) -> bool:
        return self.kind == "mongodb"

    @property
    def safe_uri(self) -> str:
        return redact(self.uri)

    def client(self, **kwargs: Any) -> MongoClient:
        """A shared client (or a new one when options are given)."""
        if kwargs:
            return _client(self.uri, **kwargs)
        if self._client is None:
            self._client = _client(self.uri)
        return self._client

    def banner(self) -> str:
        """One line saying what server is used, with the warning non-MongoDB servers need."""
        line = f"server: {self.caps.server} at {self.safe_uri} ({self.origin})"
        if not self.represents_mongodb:
            engine = {"nx-27017": " (MongoDB wire protocol on SQLite)", "ferretdb": " (MongoDB wire protocol on "
                      "PostgreSQL + DocumentDB)"}.get(self.kind, "")
            line += f"\nnote: {self.kind}{engine} is not MongoDB: its latencies do not represent MongoDB's"
        return line

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _client(uri: str, **kwargs: Any) -> MongoClient:
    kwargs.setdefault("serverSelectionTimeoutMS", CONNECT_TIMEOUT_MS)
    kwargs.setdefault("connectTimeoutMS", CONNECT_TIMEOUT_MS)
    kwargs.setdefault("tz_aware", False)
    try:
        return MongoClient(uri, **kwargs)
    except (InvalidURI, ConfigurationError, ValueError) as exc:
        raise HarnessError(f"bad MongoDB URI {redact(uri)!r}: {exc}",
                           "use mongodb://[user:pass@]host:port[/db][?options]") from exc


def _host(uri: str) -> str:
    try:
        return urlsplit(uri).netloc.rsplit("@", 1)[-1] or uri
    except ValueError:
        return "?"


def connect(uri: str, origin: str = "uri") -> Server:
    """Connect, turn connection and auth failures into one clear line, probe capabilities."""
    client = _client(uri)
    try:
        client.admin.command("ping")
    except OperationFailure as exc:
        client.close()
        if exc.code in (18, 13) or "auth" in str(exc).lower():
            raise HarnessError(f"authentication failed at {_host(uri)}: {redact(str(exc.details or exc))}",
                               "check the user, password and authSource in the URI") from exc
        raise HarnessError(f"server at {_host(uri)} refused ping: {redact(str(exc))}") from exc
    except (KeyError, TypeError, ValueError) as exc:  # e.g. nx-27017 answers SCRAM without a payload
        client.close()
        raise HarnessError(f"authentication failed at {_host(uri)}: the server's reply to the login handshake is not "
                           f"understood ({type(exc).__name__}: {redact(str(exc))}); it may not support users",
                           "check the user and password in the URI; a server without users needs none") from exc
    except PyMongoError as exc:
        client.close()
        raise HarnessError(f"cannot reach MongoDB at {_host(uri)} ({type(exc).__name__})",
                           "start the server, fix --uri/MONGODB_URI, or omit both to use the "
                           "embedded default") from exc
    try:
        caps = probe(client)
    except OperationFailure as exc:
        client.close()
        if exc.code in (13, 18):
            raise HarnessError(f"not authorised at {_host(uri)}: {redact(str(exc))}",
                               "the user needs readWrite and dbAdmin on the target databases") from exc
        raise
    server = Server(uri=uri, kind=caps.kind, origin=origin, caps=caps)
    server._client = client
    return server


def resolve(uri: str | None = None) -> Server:
    """`uri`, else MONGODB_URI, else the embedded default server (started if needed)."""
    uri = uri or os.environ.get("MONGODB_URI")
    if uri:
        return connect(uri, "uri")
    from harness.servers import embedded

    state = embedded.ensure_running()
    return connect(state["uri"], f"embedded:{state['backend']}")
