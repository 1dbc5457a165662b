"""Failures a user can act on. Each is caught once, at the CLI or the process loop.

Two kinds, with their own exit code in the CLI (docs/architecture.md, exit codes):
a `RefusedError` means nothing was done because of what was asked (a bad value, a bad file,
a right the login lacks, a state that forbids it): fix the request. Any other `BillingError`
means doing it failed (a server unreachable, a database not migrated): fix the cause, retry.
"""


class BillingError(Exception):
    """Base class: the message says what went wrong and what to do next."""


class RefusedError(BillingError):
    """The request was refused as asked; nothing was changed."""


class ConfigurationError(RefusedError):
    """A setting or an option is missing or invalid."""


class ServicesNotRunningError(BillingError):
    """No database or NATS URL is configured and the embedded services are not running."""


class DatabaseUnavailableError(BillingError):
    """PostgreSQL could not be reached, or refused the login."""


class SchemaNotMigratedError(BillingError):
    """The database lacks the service's schemas or tables: it was never (fully) migrated."""


class NatsUnavailableError(BillingError):
    """NATS could not be reached."""


class PermissionRefusedError(RefusedError):
    """The database refused the caller's role the operation."""
