"""The `harness` command line. Each command lives in harness/commands/<module>.py and is
imported only when it runs, so one broken or slow feature never slows the others."""

from __future__ import annotations

import importlib
import importlib.util
import os
import signal
import sys
from typing import Any

import click

from harness.errors import EXIT_USAGE, HarnessError
from harness.redact import redact, remember_uri

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module in harness.commands, attribute)
    "load": ("load", "load"),
    "indexes": ("load", "indexes"),
    "validate": ("load", "validate"),
    "systems": ("load", "systems"),
    "server": ("server", "server"),
    "doctor": ("server", "doctor"),
    "bench": ("bench", "bench"),
    "compare": ("bench", "compare"),
    "bench-worker": ("bench", "bench_worker"),
    "backup": ("backup", "backup"),
    "restore-verify": ("backup", "restore_verify"),
    "purge": ("purge", "purge"),
    "capacity": ("capacity", "capacity"),
    "lint": ("lint", "lint"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n, (m, _) in COMMANDS.items()
                      if importlib.util.find_spec(f"harness.commands.{m}") is not None)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.list_commands(ctx):
            return None
        module, attr = COMMANDS[name]
        return getattr(importlib.import_module(f"harness.commands.{module}"), attr)


def _terminated(signum: int, frame: Any) -> None:
    """SIGTERM unwinds like an error, so every cleanup (partial backups, scratch databases,
    temporary files) runs before the process exits."""
    raise HarnessError("terminated (SIGTERM)", "partial work was cleaned up; rerun the same command")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog="Exit codes: 0 done; 1 a finding (breach, drift, mismatch); 2 bad input or broken infrastructure.")
@click.version_option(package_name="sla-harness")
@click.option("--systems-path", "systems_path", multiple=True, metavar="DIR",
              help="A directory with fixtures/<name>.py (and workloads/<name>.py); repeatable. "
                   "Searched before HARNESS_SYSTEMS_PATH and the built-in systems.")
def cli(systems_path: tuple[str, ...]) -> None:
    """SLA Harness: load, benchmark, back up and plan capacity for MongoDB-backed systems."""
    if systems_path:
        from harness.systems import extend_path

        extend_path(systems_path)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: every HarnessError becomes one line on stderr and its exit code."""
    signal.signal(signal.SIGTERM, _terminated)
    for value in [*(sys.argv[1:] if argv is None else argv), *os.environ.values()]:
        if "://" in value:
            remember_uri(value.split("=", 1)[-1] if value.startswith("--") else value)
    try:
        return cli.main(args=argv, prog_name="harness", standalone_mode=False)
    except HarnessError as exc:
        click.echo(f"error: {exc.line()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(EXIT_USAGE)
    except click.exceptions.NoArgsIsHelpError as exc:  # a bare group: show its help, as click does
        click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        click.echo(f"error: {redact(exc.format_message())} — see `harness --help`", err=True)
        sys.exit(EXIT_USAGE)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
