"""The layers contract bites: the real contract of pyproject.toml, run by `lint-imports` on a
small tree of packages with the same names, passes on legal imports and fails on an illegal one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = str(Path(sys.prefix) / "bin" / "lint-imports")

# Legal imports, one per layer boundary: each package imports only layers below it.
LEGAL = {
    "billing_cli/commands.py": "import orchestration.jobs\nimport finance.invoices\n",
    "orchestration/jobs.py": "import invoice_renderer.render\nimport warehouse.transform\n",
    "finance/invoices.py": "import billing.issued\n",
    "invoice_renderer/render.py": "import billing.issued\n",
    "loader/service.py": "import billing.db\n",
    "exporter/service.py": "import billing.health\n",
    "producers/publish.py": "import billing.streams\n",
    "expectations/suites.py": "import billing.raw\n",
    "warehouse/transform.py": "import billing.db\n",
    "billing/issued.py": "import billing.db\n",
    "billing/db.py": "",
    "billing/streams.py": "",
    "billing/raw.py": "",
}


def contract() -> dict[str, object]:
    """[tool.importlinter] of the project's pyproject.toml, as it is."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        config: dict[str, object] = tomllib.load(file)["tool"]["importlinter"]
    return config


def write_tree(root: Path, extra: dict[str, str]) -> Path:
    """The fixture packages, and a config holding the real contract; returns the config."""
    config = contract()
    for package in config["root_packages"]:  # type: ignore[attr-defined]
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").write_text("")
    for path, source in {**LEGAL, **extra}.items():
        (root / path).write_text(source)
    layers = config["contracts"][0]  # type: ignore[index]
    layer_lines = "".join(f'    "{layer}",\n' for layer in layers["layers"])
    roots = ", ".join(f'"{package}"' for package in config["root_packages"])  # type: ignore[attr-defined]
    path = root / "importlinter.toml"
    path.write_text(
        "[tool.importlinter]\n"
        f"root_packages = [{roots}]\n"
        "[[tool.importlinter.contracts]]\n"
        f'name = "{layers["name"]}"\n'
        f'type = "{layers["type"]}"\n'
        f"layers = [\n{layer_lines}]\n"
    )
    return path


def lint_imports(root: Path, config: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports CONFIG --no-cache` with the fixture tree first on the path."""
    return subprocess.run(
        [LINT_IMPORTS, str(config), "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_project_has_one_layers_contract_without_exceptions() -> None:
    config = contract()
    [layers] = config["contracts"]  # type: ignore[misc]
    assert layers["type"] == "layers"
    assert "ignore_imports" not in layers
    assert layers["layers"] == [
        "billing_cli",
        "orchestration",
        "loader | exporter | invoice_renderer | finance | producers | expectations",
        "warehouse",
        "billing",
    ]


def test_legal_imports_keep_the_contract(tmp_path: Path) -> None:
    done = lint_imports(tmp_path, write_tree(tmp_path, {}))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("path", "source", "illegal"),
    [
        ("billing/issued.py", "import finance.invoices\n", "billing.issued -> finance.invoices"),
        (
            "loader/service.py",
            "import invoice_renderer.render\n",
            "loader.service -> invoice_renderer",
        ),
        ("exporter/service.py", "import loader.service\n", "exporter.service -> loader.service"),
        (
            "warehouse/transform.py",
            "import orchestration.jobs\n",
            "warehouse.transform -> orchestration",
        ),
        (
            "orchestration/jobs.py",
            "import billing_cli.commands\n",
            "orchestration.jobs -> billing_cli",
        ),
    ],
)
def test_an_illegal_import_breaks_it(tmp_path: Path, path: str, source: str, illegal: str) -> None:
    done = lint_imports(tmp_path, write_tree(tmp_path, {path: source}))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "0 kept, 1 broken" in done.stdout
    assert illegal in done.stdout
