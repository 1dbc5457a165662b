"""The dbt domain: the project, its translator, the partitioned build and its checks."""
