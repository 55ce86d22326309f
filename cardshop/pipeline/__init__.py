"""The message pipeline: Celery on RabbitMQ for tasks, durable reports back to the monitor."""
