# syntax=docker/dockerfile:1
# The billing service image: one image for the loader (`billing events load`), the exporter
# (`billing exporter`), the monthly close (`billing close`) and the Dagster user code
# (orchestration.definitions). Built and run elsewhere (docs/deployment.md): this repository's
# machines have no container engine, so `make test` lints this file with hadolint instead.
#
# Read-only root filesystem: everything the processes write goes to volumes the chart mounts:
# /var/lib/billing (BILLING_STATE_DIR, DAGSTER_HOME), /tmp, /app/dbt_project/target and
# /app/dbt_project/logs (dbt). The entrypoint seeds the dbt target from the manifest prepared here.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY pyproject.toml README.md ./
COPY billing/ billing/
COPY billing_cli/ billing_cli/
COPY finance/ finance/
COPY producers/ producers/
COPY warehouse/ warehouse/
COPY loader/ loader/
COPY orchestration/ orchestration/
COPY invoice_renderer/ invoice_renderer/
COPY expectations/ expectations/
# Editable: billing.settings.PROJECT_ROOT stays /app, where dbt_project/ and the templates are.
RUN pip install --no-cache-dir --editable /app
COPY dbt_project/ dbt_project/
# The dbt manifest Dagster reads, parsed once here (no database needed), kept aside for the
# entrypoint to copy into the writable target folder at start.
RUN python -m orchestration.defs.dbt.project \
    && mkdir -p /opt/billing \
    && cp -R dbt_project/target /opt/billing/dbt-target \
    && rm -rf dbt_project/logs

FROM ${PYTHON_IMAGE} AS runtime
# WeasyPrint's system libraries (Pango, HarfBuzz); psycopg[binary] brings its own libpq.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
    && rm -rf /var/lib/apt/lists/*
# DL3008 (pin apt versions): the packages come from the pinned base image's Debian release,
# whose security updates we want; exact versions would make every rebuild fail once the
# archive moves on. The base image itself is pinned (PYTHON_IMAGE).
RUN groupadd --system --gid 10001 billing \
    && useradd --system --uid 10001 --gid billing --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin billing \
    && mkdir -p /var/lib/billing /app/dbt_project/target /app/dbt_project/logs \
    && chown billing:billing /var/lib/billing /app/dbt_project/target /app/dbt_project/logs
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/billing /opt/billing
COPY --from=build /app /app
COPY deploy/docker/entrypoint.sh /usr/local/bin/billing-entrypoint
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    BILLING_STATE_DIR=/var/lib/billing \
    DAGSTER_HOME=/var/lib/billing/dagster \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false
WORKDIR /app
USER 10001:10001
# 9464: the loader's /metrics and /health/*; 9465: the exporter's.
EXPOSE 9464 9465
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["billing-entrypoint", "healthcheck"]
ENTRYPOINT ["billing-entrypoint"]
CMD ["billing", "events", "load", "--metrics-host", "0.0.0.0", "--metrics-port", "9464"]
