"""`harness server start|stop|status` and `harness doctor`."""

from __future__ import annotations

import subprocess

import click

from harness.errors import HarnessError
from harness.options import exit_codes, json_option, uri_option
from harness.output import emit_json, note, table
from harness.servers import connect
from harness.servers import embedded as emb
from harness.tools import find_tool, tools_dir


@click.group(epilog=exit_codes())
def server() -> None:
    """Manage the embedded default server used when no --uri is given."""


@server.command(epilog=exit_codes())
@click.option("--backend", type=click.Choice(emb.BACKENDS), default=None,
              help="Default: mongod on PATH, else Docker (mongo:7), else documentdb (the reference server, when "
                   "built), else nx-27017.")
@click.option("--port", type=click.IntRange(1, 65535), default=None)
def start(backend: str | None, port: int | None) -> None:
    """Start the embedded server (reused by later commands until `stop`)."""
    state = emb.start(backend, port)
    note(f"started {state['backend']} at {state['uri']} (data in {state['data_dir']})")


@server.command(epilog=exit_codes())
def stop() -> None:
    """Stop the embedded server; its data stays for the next start."""
    state = emb.stop()
    note(f"stopped {state['backend']}" if state else "no embedded server was running")


@server.command(epilog=exit_codes())
@uri_option
@json_option
def status(uri: str | None, as_json: bool) -> None:
    """Show the server in use and its capability profile."""
    if uri:
        srv, origin = connect(uri), "uri"
    else:
        state = emb.status()
        if not state:
            raise HarnessError("no embedded server is running", "start one with `harness server start`")
        srv, origin = connect(state["uri"], f"embedded:{state['backend']}"), f"embedded:{state['backend']}"
    if as_json:
        emit_json({"uri": srv.safe_uri, "origin": origin, "capabilities": srv.caps.as_dict()})
        return
    note(srv.banner())
    table("capability profile", ["capability", "available"], srv.caps.table())
    for line in srv.caps.notes:
        note(f"note: {line}")


def _version(exe: str | None, *args: str) -> str:
    if not exe:
        return "missing"
    try:
        out = subprocess.run([exe, *args], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"broken ({exc})"
    line = (out.stdout or out.stderr).strip().splitlines()
    return line[0] if line else f"exit {out.returncode}"


TOOLS = {
    "mongod": ("--version",), "mongodump": ("--version",), "mongorestore": ("--version",),
    "bsondump": ("--version",), "ferretdb2": ("--version",), "nx-27017": ("--help",),
    "docker": ("--version",), "go": ("version",), "prometheus-pushgateway": ("--version",),
    "prometheus": ("--version",),
}


@click.command(epilog=exit_codes())
@json_option
def doctor(as_json: bool) -> None:
    """List the tools and servers present, with versions."""
    rows = []
    for name, args in TOOLS.items():
        exe = find_tool(name)
        if name in ("mongodump", "mongorestore", "bsondump", "ferretdb2") and exe:
            from harness.backup.toolchain import version as tool_version

            version = tool_version(exe)  # adds the pinned module for tools built by setup
        else:
            version = _version(exe, *args) if name != "nx-27017" else ("present" if exe else "missing")
        rows.append({"tool": name, "path": exe or "", "version": version})
    backends = emb.available_backends()
    running = emb.status()
    if as_json:
        emit_json({"tools": rows, "tools_dir": str(tools_dir()), "backends": backends,
                   "embedded": running})
        return
    table("tools", ["tool", "version", "path"], [(r["tool"], r["version"], r["path"]) for r in rows])
    note(f"embedded backends available: {', '.join(backends) or 'none'}")
    note(f"embedded server: {running['backend'] + ' at ' + running['uri'] if running else 'not running'}")
