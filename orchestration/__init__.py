"""Dagster orchestration of the monthly close: dbt assets, checks, the issue step, documents.

`orchestration.definitions` holds the `Definitions` (the UI and `billing close` load it);
`orchestration.closing` runs one month's close through Dagster and reads its outcome.
Never imports the loader (ARCHITECTURE.md, dependency rule).
"""

import warnings

from dagster import BetaWarning, PreviewWarning

# Observable source assets and partitioned asset checks are marked beta/preview in Dagster
# 1.13; we rely on them knowingly (docs/orchestration.md), so their notices are noise here.
warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)
