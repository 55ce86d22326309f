"""The monitor: turns workers' reports and Celery worker events into database state."""
