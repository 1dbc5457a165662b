"""Every alert has a runbook, every runbook_url resolves to a file, and the `billing`
commands the runbooks tell an operator to run exist (their --help answers)."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from billing_cli import app, load_commands
from tests.support.observability import ROOT, RUNBOOKS_DIR, alerting_rules

SECTIONS = ("**Meaning.**", "**Impact.**", "## First checks", "## Remedies", "## Escalation")


def test_every_alert_has_a_runbook_and_every_runbook_url_is_a_file() -> None:
    alerts = {rule["alert"]: rule["annotations"]["runbook_url"] for rule in alerting_rules()}
    for name, url in alerts.items():
        path = ROOT / url
        assert path.is_file(), f"{name}: runbook_url {url} is not a file"
        text = path.read_text()
        assert text.startswith(f"# {name}\n"), url
        for section in SECTIONS:
            assert section in text, f"{url} has no {section}"
    # And no runbook of an alert that does not exist (close.md is the close's own).
    runbooks = {path.stem for path in RUNBOOKS_DIR.glob("Billing*.md")}
    assert runbooks == set(alerts)


def commands_in(text: str) -> set[tuple[str, ...]]:
    """The `billing NOUN [VERB]` spellings of the code in a runbook (fenced or inline)."""
    code = re.findall(r"`(billing [^`]+)`", text)
    for block in re.findall(r"```\n(.*?)```", text, flags=re.DOTALL):
        code += [line for line in block.splitlines() if line.startswith("billing ")]
    found = set()
    for line in code:
        words = []
        for word in line.split()[1:]:
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break  # an option, a FILE, a YYYY-MM, a comment
            words.append(word)
        found.add(tuple(words))
    return found


def test_the_billing_commands_of_the_runbooks_exist() -> None:
    commands: set[tuple[str, ...]] = set()
    for path in RUNBOOKS_DIR.glob("Billing*.md"):
        commands |= commands_in(path.read_text())
    assert ("close",) in commands
    assert ("exporter",) in commands

    # The command tree of `billing` itself, asked in this process (the command line's own
    # spelling is tested through the real executable in tests/integration).
    load_commands()
    runner = CliRunner()
    for words in sorted(commands):
        done = runner.invoke(app, [*words, "--help"])
        assert done.exit_code == 0, f"`billing {' '.join(words)}` is no command: {done.output}"
