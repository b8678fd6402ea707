"""One vocabulary across commands: `--out` is every report folder, `--as-of` means only the
data's end date (load), and every command's --help states its exit codes."""

from __future__ import annotations

from collections.abc import Iterator

import click

from harness.cli import cli


def _commands() -> Iterator[tuple[str, click.Command]]:
    """Every command and group under `harness`, with its full name."""
    stack: list[tuple[str, click.Command]] = [("harness", cli)]
    while stack:
        name, cmd = stack.pop()
        yield name, cmd
        if isinstance(cmd, click.Group):
            ctx = click.Context(cmd)
            for sub in cmd.list_commands(ctx):
                child = cmd.get_command(ctx, sub)
                assert child is not None, f"{name} {sub} does not load"
                stack.append((f"{name} {sub}", child))


def _options(cmd: click.Command) -> dict[str, click.Option]:
    return {o: p for p in cmd.params if isinstance(p, click.Option) for o in p.opts}


def test_every_command_help_states_its_exit_codes() -> None:
    seen = 0
    for name, cmd in _commands():
        text = " ".join(cmd.get_help(click.Context(cmd, info_name=name)).split())
        assert "Exit codes: 0 " in text and " 2 bad input" in text, f"`{name} --help` lacks its exit codes"
        seen += 1
    assert seen >= 17  # every command registered in harness.cli, groups and subcommands included


def test_report_folders_are_out_and_as_of_is_only_the_data_end_date() -> None:
    holders = []
    for name, cmd in _commands():
        opts = _options(cmd)
        assert not {"--report-dir", "--html", "--report", "--reports"} & opts.keys(), name
        if "--out" in opts:
            holders.append(name)
            assert isinstance(opts["--out"].type, click.Path) and not opts["--out"].type.file_okay, name
        if "--as-of" in opts:
            assert name == "harness load", f"{name} uses --as-of for something other than the data's end date"
    assert {"harness bench", "harness compare", "harness capacity", "harness purge", "harness restore-verify",
            "harness backup list"} <= set(holders)
    purge = dict(_commands())["harness purge"]
    assert "--now" in _options(purge)
