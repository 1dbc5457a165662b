"""The raw domain: what the loader landed (observed, never materialized here)."""
