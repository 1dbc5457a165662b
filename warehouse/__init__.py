"""Running the dbt project (dbt_project/): the profile's environment, dbt as a subprocess or
in process. Below the components, above the kernel: orchestration, tests and benchmarks use it.
"""
