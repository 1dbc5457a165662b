"""The event loader: charge events from NATS JetStream into raw.message_charged, exactly once.

Run it with `billing load`; `loader.service.Loader` is the process, `loader.rows` the pure
per-message logic, `loader.sink` the database side, `loader.consumer` the NATS side.
"""
