"""`make bench`: speed figures, each against a reference measured in the same run."""
