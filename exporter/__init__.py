"""The warehouse-side metrics exporter (`billing exporter`, SPEC section 6).

A small long-running process: every refresh interval it reads each warehouse-side family from
PostgreSQL with one cheap, read-only query and keeps the values; a scrape of /metrics only
serves what the last refresh read (docs/observability.md).
"""
