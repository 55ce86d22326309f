"""The `cardshop` admin CLI, working over the scheduler API."""
