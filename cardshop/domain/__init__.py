"""Domain services: what the adapters (API, monitor, beat, workers) do to orders, tasks and jobs.

They speak in states, store documents and plain errors, never HTTP or AMQP.
"""
