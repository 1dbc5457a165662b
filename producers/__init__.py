"""The producer side of charge events: publishing them to JetStream, and the sample domain.

`producers.publish` publishes billing.message.charged.v1 payloads with bounded acks in flight;
`producers.sample` generates the sample accounts and events of the demo, tests and benchmarks.
"""
