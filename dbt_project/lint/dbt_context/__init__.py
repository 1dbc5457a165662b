"""What dbt gives the project's Jinja, for sqlfluff's jinja templater (lint only).

sqlfluff renders each model with dbt's basic builtins (ref, source, config, var,
is_incremental, this, return) and the project's own macros (load_macros_from_path). This
package adds the rest of what the models and macros use, so they render as they compile for
PostgreSQL without a database or a dbt parse (seconds, not minutes):

- adapter.dispatch: the macro's postgres__ implementation (else default__), found in the
  calling template's context like dbt does;
- dbt.*: the cross-database macros the models call, as dbt-postgres renders them;
- var('period'), modules, exceptions, execute (false: no introspective query runs),
  run_started_at, target.
"""

from __future__ import annotations

import datetime as _datetime
import re as _re
from types import SimpleNamespace
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

# A month to render the period macros with.
_VARS: dict[str, Any] = {"period": "2026-10"}

execute = False
run_started_at = _datetime.datetime(2026, 11, 1, 3, 0, 0)
modules = SimpleNamespace(datetime=_datetime, re=_re)
target = SimpleNamespace(name="postgres", type="postgres", schema="billing")


def var(name: str, default: Any = None) -> Any:
    return _VARS.get(name, default)


def _raise_compiler_error(message: str) -> None:
    raise RuntimeError(message)


exceptions = SimpleNamespace(raise_compiler_error=_raise_compiler_error)


@pass_context
def _dispatch(context: Context, macro_name: str, macro_namespace: str | None = None) -> Any:
    for prefix in ("postgres__", "default__"):
        macro = context.get(prefix + macro_name)
        if macro is not None:
            return macro
    raise RuntimeError(f"no postgres__ or default__ implementation of macro {macro_name}")


adapter = SimpleNamespace(dispatch=_dispatch)


def _concat(fields: list[str]) -> str:
    return " || ".join(fields)


def _dateadd(datepart: str, interval: int, from_date_or_timestamp: str) -> str:
    return f"{from_date_or_timestamp} + ((interval '1 {datepart}') * ({interval}))"


def _listagg(
    measure: str, delimiter_text: str = "','", order_by_clause: str = "", limit_num: Any = None
) -> str:
    if limit_num is None:
        return f"string_agg({measure}, {delimiter_text} {order_by_clause})"
    return (
        f"array_to_string((array_agg({measure} {order_by_clause}))[1:{limit_num}], "
        f"{delimiter_text})"
    )


dbt = SimpleNamespace(
    concat=_concat,
    listagg=_listagg,
    dateadd=_dateadd,
    type_string=lambda: "text",
    type_numeric=lambda: "numeric(28, 6)",
    type_bigint=lambda: "bigint",
    type_int=lambda: "integer",
    type_timestamp=lambda: "timestamp without time zone",
)
