"""Failures a user can act on. Each is caught once, at the CLI or the process loop."""


class BillingError(Exception):
    """Base class: the message says what went wrong and what to do next."""


class ConfigurationError(BillingError):
    """A setting is missing or invalid."""


class ServicesNotRunningError(BillingError):
    """No database or NATS URL is configured and the embedded services are not running."""


class ImportRefusedError(BillingError):
    """A reference-data CSV was refused; nothing was imported."""


class PermissionRefusedError(BillingError):
    """The database refused the caller's role the operation."""


class PublishError(BillingError):
    """Events could not be published (no server, no stream, refused messages)."""
