"""Write the helper's files whole or not at all (a reader never sees half a slots.yaml or rule)."""

import os

# The writer@N units' Group= (cardshop-writer's sysusers.d): the slots' reader nodes and the
# writer user's password file are its, and no other daemon's.
WRITER_GROUP = "cardshop-writer"

class FilesError(Exception):
    """A file the helper writes could not be written."""


def write_atomically(path, text, mode=0o644):
    """Write `text` to `path` through a temporary file in the same folder, renamed over it."""
    folder = os.path.dirname(os.path.abspath(path))
    temporary = f"{path}.tmp-{os.getpid()}"
    try:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, mode)  # the umask may have narrowed it; never widened past `mode`
        os.replace(temporary, path)
    except OSError as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise FilesError(f"cannot write {path}: {exc.strerror}") from None
