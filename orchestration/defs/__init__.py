"""The pieces of the Dagster Definitions, one package per domain, each with its assets, checks
and resources together (orchestration/definitions.py merges them):

- raw/: the landed events as an observed source (the loader precondition) and the raw suite;
- dbt/: the dbt project, its translator, the partitioned build, the drafts suite, blockers;
- close/: the issue step and its suite, the close lock, the monthly_close job and schedule;
- documents/: the PDFs of the issued invoices and their events.

Shared by all of them: partitions.py (one partition per month), resources.py (where the data
lives), gx.py (a Great Expectations suite as a check result).
"""
