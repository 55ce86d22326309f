"""The creator: a Celery worker on the `create` queue that builds images into the warehouse."""
