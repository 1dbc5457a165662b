"""Test helpers shared by the suites: data builders and a dbt runner bound to a test database."""
