"""E-mail notifications: which events, who gets them, their text, and sending them (the beat's job)."""
