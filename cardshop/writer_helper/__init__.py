"""cardshop-writer-helper: sets a writer host up (card readers as slots, writer.yaml, writer@N units)."""
