"""Validate a recipe beyond its JSON shape: sizes, paths, checksums, fit.

A recipe:

    base:     {source: URL of a raw disk image (.xz/.gz/.zst allowed), checksum: {algo, value}}
    output:   {size: bytes | "64G" (K/M/G/T are powers of 1024, as truncate) | "auto"}
    files:    [{to: /data/..., url: URL, checksum: {...}, via: direct|tar|..., size: bytes the URL serves}
               | {to: /data/..., content: "inline text"}]
"""

import posixpath
import re

# Usable share of a card: cards are sold in decimal GB and lose some to the
# controller's spare area.
CARD_USABLE_RATIO = 0.97
CHECKSUM_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
VIA = ("direct", "tar", "gztar", "xztar", "bztar", "zip")
SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE_RE = re.compile(r"^\s*([0-9]+)\s*([KMGT]?)(?:iB)?\s*$")
_HEX_RE = re.compile(r"^[0-9a-f]+$")
MAX_NAME_BYTES = 255  # ext4 and every other Linux file system
RESERVED = "/data/lost+found"  # mkfs.ext4 makes it; fsck writes there


class RecipeError(ValueError):
    """A recipe that cannot be built; the message names the field."""


def parse_size(value, field="output.size"):
    """Bytes for 123, "123", "64G" or "64GiB"; RecipeError otherwise."""
    if isinstance(value, bool):
        raise RecipeError(f"{field}: expected bytes or a size such as '64G', got {value!r}")
    if isinstance(value, int):
        if value <= 0:
            raise RecipeError(f"{field}: must be positive, got {value}")
        return value
    if isinstance(value, str):
        match = _SIZE_RE.match(value)
        if match:
            size = int(match.group(1)) * SIZE_UNITS[match.group(2)]
            if size > 0:
                return size
    raise RecipeError(f"{field}: expected bytes or a size such as '64G', got {value!r}")


def card_capacity(size_gb):
    """Largest image, in bytes, that fits a card sold as size_gb (decimal) GB."""
    return int(CARD_USABLE_RATIO * size_gb * 10**9)


def _check_checksum(checksum, field):
    algo, value = checksum["algo"], checksum["value"].lower()
    if algo not in CHECKSUM_LENGTHS:
        raise RecipeError(f"{field}.algo: unknown algorithm {algo!r} "
                          f"(known: {', '.join(sorted(CHECKSUM_LENGTHS))})")
    if len(value) != CHECKSUM_LENGTHS[algo] or not _HEX_RE.match(value):
        raise RecipeError(f"{field}.value: not a {algo} hex digest")


def _check_url(url, field):
    if not re.match(r"^https?://[^/\s]+", url):
        raise RecipeError(f"{field}: expected an http:// or https:// URL, got {url!r}")


def _check_target(to, field):
    normal = posixpath.normpath(to)
    if not to.startswith("/") or normal != to.rstrip("/") or ".." in to.split("/"):
        raise RecipeError(f"{field}: must be a normalised absolute path, got {to!r}")
    if not normal.startswith("/data/"):
        raise RecipeError(f"{field}: must be under /data, got {to!r}")
    if "\0" in to:
        raise RecipeError(f"{field}: a file name cannot contain a NUL character, got {to!r}")
    for name in normal.split("/"):
        if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
            raise RecipeError(f"{field}: the name {name[:40]!r}... is over {MAX_NAME_BYTES} bytes")
    if normal == RESERVED or normal.startswith(RESERVED + "/"):
        raise RecipeError(f"{field}: {RESERVED} belongs to the file system (fsck), got {to!r}")
    return normal


def _check_file_size(size, field):
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise RecipeError(f"{field}: expected the bytes the URL serves, a whole number >= 0, got {size!r}")


def validate_recipe(recipe, card_size_gb):
    """Raise RecipeError unless the recipe (already of the right JSON shape) can be built.

    Returns the output size in bytes, or None for "auto".
    """
    base = recipe.get("base")
    if base is not None:
        _check_url(base["source"], "recipe.base.source")
        if "checksum" in base:
            _check_checksum(base["checksum"], "recipe.base.checksum")

    size = recipe["output"]["size"]
    output_size = None if size == "auto" else parse_size(size, "recipe.output.size")
    if output_size is not None and output_size > card_capacity(card_size_gb):
        raise RecipeError(
            f"recipe.output.size: {output_size} bytes do not fit a {card_size_gb} GB card "
            f"(at most {card_capacity(card_size_gb)} bytes)")

    targets = {}
    for index, item in enumerate(recipe.get("files", [])):
        field = f"recipe.files[{index}]"
        target = _check_target(item["to"], f"{field}.to")
        for other in targets:
            if target == other or target.startswith(other + "/") or other.startswith(target + "/"):
                raise RecipeError(f"{field}.to: {target!r} clashes with {targets[other]}.to")
        targets[target] = field
        has_url, has_content = "url" in item, "content" in item
        if has_url == has_content:
            raise RecipeError(f"{field}: needs exactly one of 'url' or 'content'")
        if has_url:
            _check_url(item["url"], f"{field}.url")
            if "checksum" in item:
                _check_checksum(item["checksum"], f"{field}.checksum")
            if "size" in item:
                _check_file_size(item["size"], f"{field}.size")
        elif "via" in item or "checksum" in item or "size" in item:
            raise RecipeError(f"{field}: 'via', 'checksum' and 'size' go with 'url', not 'content'")
    _check_known_content(recipe, output_size, card_size_gb)
    return output_size


def _check_known_content(recipe, output_size, card_size_gb):
    """What the files declare (inline content, sizes given with URLs) must fit the image and the card."""
    known = sum(item.get("size", 0) if "url" in item else len(item["content"].encode())
                for item in recipe.get("files", []))
    if output_size is not None and known > output_size:
        raise RecipeError(f"recipe.files: the files declare {known} bytes; recipe.output.size is only {output_size}")
    if known > card_capacity(card_size_gb):
        raise RecipeError(f"recipe.files: the files declare {known} bytes; a {card_size_gb} GB card holds "
                          f"{card_capacity(card_size_gb)}")
