"""The preview domain: the current month's preview asset, its job, schedule and sensor."""
