"""The server layer: which database a command talks to, and what that server can do.

`resolve(uri)` answers for every command: an explicit `--uri`/`MONGODB_URI`, else the embedded
default server (started on first use and reused across commands). The layer is engine-shaped:
`Server.engine` names the protocol family ("mongodb" today; a PostgreSQL engine for the BMD
seed will sit beside it).
"""

from harness.servers.capabilities import Capabilities, probe
from harness.servers.server import Server, connect, resolve

__all__ = ["Capabilities", "Server", "connect", "probe", "resolve"]
