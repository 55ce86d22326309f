"""bcrypt password hashes."""

import bcrypt

MIN_LENGTH = 8
MAX_BYTES = 72  # bcrypt ignores anything past 72 bytes; refuse rather than truncate


class PasswordError(ValueError):
    pass


def check_strength(password):
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"password must have at least {MIN_LENGTH} characters")
    if len(password.encode()) > MAX_BYTES:
        raise PasswordError(f"password must be at most {MAX_BYTES} bytes")


class Hasher:
    """Hashes with a fixed cost; checks cost the same whether or not a user exists."""

    def __init__(self, rounds):
        self.rounds = rounds
        self._dummy = bcrypt.hashpw(b"no such user", bcrypt.gensalt(rounds))

    def hash(self, password):
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(self.rounds)).decode()

    def verify(self, password, hashed):
        encoded = password.encode()
        if hashed is None or len(encoded) > MAX_BYTES:
            bcrypt.checkpw(b"timing", self._dummy)
            return False
        return bcrypt.checkpw(encoded, hashed.encode())
