"""The local stack: real FerretDB, RabbitMQ and Cardshop daemons as background processes.

Used by `make up/down/status`, `make demo` and the integration tests. Not
shipped: production runs the same daemons under systemd.
"""
