"""`harness capacity`: a capacity plan from measured data and the spec's growth model."""

from __future__ import annotations

import sys

import click

from harness.capacity.build import build
from harness.capacity.flags import DEFAULT_MAX_USER_DOCS
from harness.capacity.measure import SAMPLE
from harness.capacity.report import print_summary, write
from harness.capacity.units import parse_size
from harness.errors import EXIT_BREACH, HarnessError
from harness.options import db_option, exit_codes, json_option, out_option, server_from, uri_option
from harness.output import emit_json, note
from harness.reporting import out_dir
from harness.spec import load_system


def _horizons(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise HarnessError(f"bad --horizons {text!r}: months must be numbers", "e.g. --horizons 6,12,24") from None


@click.command(epilog=exit_codes("the machine is too small or a critical risk is found"))
@click.argument("system_name", metavar="SYSTEM")
@uri_option
@db_option
@click.option("--horizons", default="6,12,24", show_default=True, help="Months ahead to project, comma-separated.")
@click.option("--users", "users", type=int, multiple=True, help="Also project for N users (repeatable).")
@click.option("--ram", default=None, help="RAM of the target machine, e.g. 16GB (binary units).")
@click.option("--disk", default=None, help="Disk of the target machine, e.g. 500GB.")
@click.option("--ignore-retention", is_flag=True, help="Project as if no retention rule ever ran.")
@click.option("--sample", type=click.IntRange(10, 100_000), default=SAMPLE, show_default=True,
              help="Documents sampled per collection for BSON and array sizes.")
@click.option("--max-user-docs", type=click.IntRange(1), default=DEFAULT_MAX_USER_DOCS, show_default=True,
              help="Flag collections where a 99th-percentile user owns more documents than this.")
@out_option
@json_option
def capacity(system_name: str, uri: str | None, database: str | None, horizons: str, users: tuple[int, ...],
             ram: str | None, disk: str | None, ignore_retention: bool, sample: int, max_user_docs: int,
             out: str | None, as_json: bool) -> None:
    """Measure SYSTEM's loaded data and project data, indexes and working set over HORIZONS
    months and to --users counts; check them against --ram and --disk; flag growth risks.
    Exit 1 when the machine is too small or a critical risk is found."""
    system = load_system(system_name)
    months = _horizons(horizons)
    ram_b = parse_size(ram, "--ram") if ram is not None else None
    disk_b = parse_size(disk, "--disk") if disk is not None else None
    from harness.capacity.build import check_inputs

    check_inputs(months, list(users), ram_b, disk_b)
    server = server_from(uri, quiet=as_json)
    db = server.client()[database or system.database]
    plan = build(db, system, server.caps, horizons=months, users=list(users), ram=ram_b, disk=disk_b,
                 retention=not ignore_retention, sample=sample, max_user_docs=max_user_docs)
    js, html = write(plan, out_dir(out))
    if as_json:
        emit_json(plan.as_dict() | {"files": {"json": str(js), "html": str(html)}})
    else:
        print_summary(plan)
        note(f"report: {html} (JSON: {js})")
    if plan.breach:
        sys.exit(EXIT_BREACH)
