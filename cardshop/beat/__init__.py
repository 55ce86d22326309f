"""The beat: periodic jobs on a schedule kept in MongoDB (exactly one runs)."""
