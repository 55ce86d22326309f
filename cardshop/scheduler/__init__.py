"""The scheduler daemon: the API plus what it does at start."""
