"""A progress report (the `progress` fields of pipeline/reports.py) in words, for people: the manager's
pages and the CLI's `order watch` show the same line."""


def size_text(value):
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B"


def progress_line(progress):
    """A task's progress as a person reads it: 'downloading · 42 % · 1.2 GB of 3.0 GB · 38.0 MB/s · 31 s left'."""
    if not progress:
        return ""
    parts = [str(progress["step"])] if progress.get("step") else []
    number = (int, float)
    if isinstance(progress.get("percent"), number):
        parts.append(f"{progress['percent']:.0f} %")
    if isinstance(progress.get("bytes"), number):
        total = progress.get("total")
        parts.append(size_text(progress["bytes"]) + (f" of {size_text(total)}" if isinstance(total, number) else ""))
    if isinstance(progress.get("rate"), number) and progress["rate"] > 0:
        parts.append(f"{size_text(progress['rate'])}/s")
    if isinstance(progress.get("eta"), number) and progress["eta"] > 0:
        parts.append(f"{progress['eta']:.0f} s left")
    if progress.get("message"):
        parts.append(str(progress["message"]))
    return " · ".join(parts)
