"""Views are created again only when they are not current (macro view_unless_current): a
second build keeps the views whose definition, grants and hooks are unchanged and whose
relations were not replaced, and every view still answers, with its security applied;
--full-refresh creates them all again."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg import sql

from tests.support.billing_data import Event, add_account, at, land_events
from tests.support.dbt import DbtProject

VIEWS = """
    select classes.oid, namespaces.nspname || '.' || classes.relname,
        coalesce(classes.reloptions, '{}')
    from pg_class as classes
    inner join pg_namespace as namespaces on namespaces.oid = classes.relnamespace
    where classes.relkind = 'v' and namespaces.nspname in ('staging', 'intermediate', 'billing')
        and obj_description(classes.oid, 'pg_class') like 'dbt view fingerprint %'
"""


def views(database_url: str) -> dict[str, tuple[int, list[str]]]:
    with psycopg.connect(database_url) as conn:
        return {name: (oid, options) for oid, name, options in conn.execute(VIEWS)}


def all_answer(database_url: str, names: dict[str, Any]) -> None:
    with psycopg.connect(database_url) as conn:
        for name in names:
            query = sql.SQL("select count(*) from {}").format(sql.Identifier(*name.split(".")))
            conn.execute(query).fetchone()


def test_a_second_build_keeps_current_views_and_full_refresh_recreates_them(
    database_url: str, dbt_project: DbtProject
) -> None:
    with psycopg.connect(database_url) as conn:
        tenant = add_account(conn, uuid.uuid4())
        land_events(conn, [Event(tenant, at("2026-10-05"), segments=2)])
    dbt_project.build_models("2026-10")
    first = views(database_url)
    assert len(first) >= 20, sorted(first)
    # The security post-hook ran on each view when it was created.
    assert all("security_invoker=true" in options for _, options in first.values())

    dbt_project.build_models("2026-10")
    second = views(database_url)
    assert set(second) == set(first)
    kept = {name for name in first if first[name][0] == second[name][0]}
    assert len(kept) >= len(first) * 2 // 3, sorted(set(first) - kept)
    assert all("security_invoker=true" in options for _, options in second.values())
    all_answer(database_url, second)

    dbt_project.run("run", "--full-refresh", period="2026-10")
    third = views(database_url)
    assert set(third) == set(first)
    assert all(third[name][0] != second[name][0] for name in third)
    all_answer(database_url, third)
