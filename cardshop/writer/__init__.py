"""A writer host's slot: card checks, the image cache, writing and verifying cards, the Celery worker."""
