"""The manager: the operators' web UI, working the scheduler API with each user's own tokens."""
