"""What a recipe says about its size: bytes known, files of unknown size, the smallest card that fits.

Known bytes are the inline content plus the `size` a URL file declares (the
creator checks it against what the URL serves); a URL file without one, and
the base image, are of unknown size.
"""

import re

from cardshop.recipes.recipe import SIZE_UNITS, RecipeError, card_capacity, parse_size

CARD_SIZES = (4, 8, 16, 32, 64, 128, 256, 512, 1024)  # GB as sold
_HUMAN_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?\s*$", re.IGNORECASE)


def declared_size(item):
    """The bytes a file entry declares (its content, or the `size` given with its URL), or None."""
    if isinstance(item.get("content"), str):
        return len(item["content"].encode())
    size = item.get("size")
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None


def estimate(recipe):
    """(bytes known, URL files of unknown size, output size or None for auto) from what the recipe says."""
    files = recipe.get("files") if isinstance(recipe.get("files"), list) else []  # text not yet checked
    files = [item for item in files if isinstance(item, dict)]
    sizes = [declared_size(item) for item in files]
    known = sum(size for size in sizes if size is not None)
    unknown = sum(1 for item, size in zip(files, sizes) if size is None and "url" in item)
    output = recipe.get("output")
    size = output.get("size", "auto") if isinstance(output, dict) else "auto"
    try:
        output = None if size == "auto" else parse_size(size)
    except RecipeError:
        output = None
    return known, unknown, output


def suggest_card(recipe):
    """The smallest standard card (GB) the recipe's image fits, or None when nothing says."""
    known, _, output = estimate(recipe)
    need = output if output is not None else known
    if not need:
        return None
    return next((size for size in CARD_SIZES if card_capacity(size) >= need), None)


def parse_human_size(text, field):
    """Bytes for "123", "4.2G", "512 MiB" (K/M/G/T are powers of 1024, as output.size); RecipeError otherwise."""
    match = _HUMAN_RE.match(str(text))
    if not match:
        raise RecipeError(f"{field}: expected bytes or a size such as '4.2G', got {text!r}")
    return int(float(match.group(1)) * SIZE_UNITS[match.group(2).upper()])
