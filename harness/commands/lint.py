"""`harness lint [SYSTEM|FIXTURE.py]...`: offline checks of system descriptions (harness.lint)."""

from __future__ import annotations

import sys

import click

from harness.errors import EXIT_BREACH
from harness.options import exit_codes, json_option
from harness.output import emit_json, note


@click.command(epilog=exit_codes("a finding in a system description"))
@click.argument("targets", nargs=-1, metavar="[SYSTEM|FIXTURE.py]...")
@json_option
def lint(targets: tuple[str, ...], as_json: bool) -> None:
    """Check systems without a server: names agree, references resolve and have values at the
    smallest preset, unique keys do not collide at the largest, indexed and queried fields exist,
    `needs=` are known capabilities, generated values match the documented types and enums.
    No argument: every discovered system. Exit 1 with one line per finding."""
    from harness.lint import lint as run
    from harness.systems import system_names

    names = list(targets) or system_names()
    findings = []
    for target in names:
        findings += run(target)
    if as_json:
        emit_json({"schema_version": 1, "systems": names,
                   "findings": [vars(f) | {"line": f.line()} for f in findings]})
    else:
        for f in findings:
            click.echo(f.line())
        note(f"linted {len(names)} system(s): {len(findings)} finding(s)")
    if findings:
        sys.exit(EXIT_BREACH)
