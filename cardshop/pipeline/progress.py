"""A progress report (the `progress` fields of pipeline/reports.py) in words, for people: the manager's
pages and the CLI's `order watch` show the same line.

Sizes are decimal (MB, GB), as cards are sold; a recipe's output.size counts in powers of 1024 ("500M" is
524.3 MB). Writing and verifying count the image's mapped data (its bmap's ranges), not the whole image
nor the whole card, so their total is that data.
"""

import shutil

NUMBER = (int, float)
CLEAR_TO_END = "\x1b[J"  # ANSI: erase from the cursor to the end of the screen


def size_text(value):
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B"


def duration_text(seconds):
    """'45 s', '3 min 5 s', '2 h 7 min'."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def bytes_text(done, total):
    """'1.2 GB of 3.0 GB'; the bytes alone when the total is unknown, or exceeded (then it was an estimate,
    such as a URL file's declared size): a figure never shows beyond its total."""
    if isinstance(total, NUMBER) and total > 0 and done <= total:
        return f"{size_text(done)} of {size_text(total)}"
    return size_text(done) if done > 0 else ""


def progress_line(progress):
    """A task's progress as a person reads it: 'downloading · 42 % · 1.2 GB of 3.0 GB · 38.0 MB/s · 31 s left'."""
    if not progress:
        return ""
    parts = [str(progress["step"])] if progress.get("step") else []
    if isinstance(progress.get("percent"), NUMBER):
        parts.append(f"{min(progress['percent'], 100):.0f} %")
    if isinstance(progress.get("bytes"), NUMBER):
        parts.append(bytes_text(progress["bytes"], progress.get("total")))
    if isinstance(progress.get("rate"), NUMBER) and progress["rate"] > 0:
        parts.append(f"{size_text(progress['rate'])}/s")
    if isinstance(progress.get("eta"), NUMBER) and progress["eta"] > 0:
        parts.append(f"{duration_text(progress['eta'])} left")
    if progress.get("message"):
        parts.append(str(progress["message"]))
    return " · ".join(part for part in parts if part)


def bar(percent, width=20):
    """'[#########           ]' for 45 %; blanks when the percent is unknown."""
    filled = int(min(max(percent, 0), 100) * width // 100) if isinstance(percent, NUMBER) else 0
    return f"[{'#' * filled}{' ' * (width - filled)}]"


class LiveBlock:
    """Lines kept up to date in place on a terminal (`order watch`, the writer host's `status --watch`): each
    draw goes back to the block's first line, erases to the end of the screen and writes the lines again.
    Lines are cut to the terminal's width: a wrapped line would make the next draw start too low."""

    def __init__(self, out):
        self.out, self.drawn = out, 0

    def draw(self, lines):
        width = shutil.get_terminal_size().columns - 1
        text = "".join(f"{line[:width]}\n" for line in lines)
        self.out.write((f"\x1b[{self.drawn}F" if self.drawn else "") + CLEAR_TO_END + text)
        self.out.flush()
        self.drawn = len(lines)
