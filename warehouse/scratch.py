"""A scratch build of the dbt project: the close's own models, run with other seeds, in a schema
that exists for one run (Finance's what-if, docs/finance-tools.md).

- The project is copied to a temporary folder and the seeds given replace its CSVs; models,
  macros and tests are the project's own (no second implementation of any rule).
- Every seed, model and stored test failure goes to one schema scratch_<name>_<random>
  (var scratch_schema, macro generate_schema_name), created by billing.create_scratch_schema
  and dropped afterwards by billing.drop_scratch_schema (migration 0025), also when the build
  fails or is interrupted.
- What the sources read is the caller's: `prepare` creates relations in the schema before
  the build (empty copies of the issued tables for a what-if, the state a close was built
  from for verify) and `variables` points the sources at them (vars raw_schema, ref_schema,
  issued_schema, finance_schema). The production relations are read, never written.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import psycopg
from psycopg import sql

from billing import db
from warehouse.transform import DBT_PROJECT_DIR, DbtResult, run_dbt

# The issued tables the models read as source 'issued' (dbt_project/models/staging/_sources.yml).
ISSUED_TABLES: Final = (
    "issued_invoices",
    "issued_invoice_lines",
    "issued_invoice_events",
    "invoice_voids",
    "period_closes",
    "void_resolutions",
)
_COPY_IGNORED: Final = shutil.ignore_patterns("target", "logs", "dbt_packages", "*.pyc")


@dataclass(frozen=True)
class ScratchBuild:
    """One scratch schema and the project copy that builds into it."""

    schema: str
    project_dir: Path
    database_url: str
    role: str | None
    period: str
    source_variables: Mapping[str, Any]

    @property
    def variables(self) -> dict[str, Any]:
        return {"scratch_schema": self.schema, **self.source_variables}

    def dbt(self, arguments: Sequence[str], *, check: bool = True) -> DbtResult:
        """One dbt command in the copy, into the scratch schema."""
        return run_dbt(
            list(arguments),
            self.database_url,
            period=self.period,
            variables=self.variables,
            project_dir=self.project_dir,
            target_path=self.project_dir / "target",
            check=check,
        )

    def relation(self, name: str) -> sql.Composed:
        """A relation of the scratch schema, as an SQL identifier."""
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(name))


def _schema_name(purpose: str) -> str:
    return f"scratch_{purpose}_{secrets.token_hex(4)}"


def _copy_project(folder: Path, seeds: Mapping[str, bytes]) -> Path:
    project = folder / "project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=_COPY_IGNORED)
    for name, content in seeds.items():
        (project / "seeds" / f"{name}.csv").write_bytes(content)
    return project


def empty_issued_tables(conn: psycopg.Connection[Any], schema: str) -> None:
    """Empty copies of the issued tables in `schema`: the month as if never closed."""
    for table in ISSUED_TABLES:
        conn.execute(
            sql.SQL("create table {}.{} (like billing.{})").format(
                sql.Identifier(schema), sql.Identifier(table), sql.Identifier(table)
            )
        )


Prepare = Callable[[psycopg.Connection[Any], str], None]


@contextmanager
def scratch_build(
    database_url: str,
    role: str | None,
    *,
    purpose: str,
    period: str,
    seeds: Mapping[str, bytes],
    prepare: Prepare,
    variables: Mapping[str, Any],
) -> Iterator[ScratchBuild]:
    """A scratch schema and a project copy with `seeds` (name -> CSV bytes), removed on exit
    whatever happened. `database_url`/`role`: how to connect as the transformer; `prepare`
    creates the relations the sources read (named in `variables`, with the schema as
    "{schema}")."""
    schema = _schema_name(purpose)
    resolved = {
        name: value.format(schema=schema) if isinstance(value, str) else value
        for name, value in variables.items()
    }
    with tempfile.TemporaryDirectory(prefix="billing-scratch-") as folder:
        project = _copy_project(Path(folder), seeds)
        with db.connect(database_url, role=role, autocommit=True) as conn:
            try:
                conn.execute("select billing.create_scratch_schema(%s)", (schema,))
                prepare(conn, schema)
                yield ScratchBuild(schema, project, database_url, role, period, resolved)
            finally:
                conn.execute("select billing.drop_scratch_schema(%s)", (schema,))
