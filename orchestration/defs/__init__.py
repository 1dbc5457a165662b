"""The pieces of the Dagster Definitions, one module per concern (orchestration/definitions.py
assembles them)."""
