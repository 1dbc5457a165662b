"""`billing verify --month YYYY-MM`: an issued month computed again from what its closes were
computed from, and compared with what they issued (finance.verify, docs/finance-tools.md).

Exit 0 when every invoice, line and event is identical; 1 with every difference printed (up
to 50 per issue run) when not; 2 when the month cannot be verified (not closed, or closed
before closes recorded their inputs).
"""

from __future__ import annotations

from billing_cli.app import EXIT_FAILED, ExitCode, app, console, print_error
from billing_cli.options import Month, database_url, settings
from finance.verify import MAX_DIFFERENCES_SHOWN, RunCheck, verify


def _differences(count: int) -> str:
    return f"{count:,} difference" + ("" if count == 1 else "s")


def _print(check: RunCheck) -> None:
    run = check.run
    what = (
        f"{run.kind} {run.close_id} of {run.closed_at:%Y-%m-%d %H:%M} UTC: {check.invoices:,} "
        f"invoices, {check.lines:,} lines, {check.events:,} events"
    )
    if check.identical:
        console.print(f"{what}: identical")
        return
    console.print(f"{what}: {_differences(len(check.differences))}", style="red")
    for difference in check.differences[:MAX_DIFFERENCES_SHOWN]:
        console.print(f"  {difference}", soft_wrap=True)
    hidden = len(check.differences) - MAX_DIFFERENCES_SHOWN
    if hidden > 0:
        console.print(f"  ... and {hidden:,} more")


@app.command(name="verify")
def verify_month(month: Month) -> int:
    """Recompute an issued month from the catalogue and reference rows and the state its
    closes were built from (recorded by each close), and compare it with what was issued,
    line by line and cent by cent. Exit 1, with every difference, if anything differs."""
    current = settings()
    report = verify(current, database_url(current), month)
    for check in report.runs:
        _print(check)
    if report.identical:
        console.print(f"{month} verifies: what was issued is what its inputs give")
        return ExitCode.OK
    differences = sum(len(check.differences) for check in report.runs)
    print_error(
        f"{month} does not verify: {_differences(differences)} (above) between what was "
        "issued and what its recorded inputs give; see docs/finance-tools.md, billing verify"
    )
    return EXIT_FAILED
