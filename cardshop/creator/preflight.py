"""Before downloading anything: can this recipe be built here?"""

import os

from cardshop.creator.cache import DownloadError, probe
from cardshop.recipes import RecipeError, card_capacity, validate_recipe


class PreflightError(Exception):
    pass


def free_bytes(path):
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def preflight(recipe, card_size, cache_dir, build_dir, margin, timeout=30, opener=None):
    """Check the recipe, every URL's size, and the room it needs; returns the plan.

    `opener` fetches (cardshop.creator.fetch.opener, with the creator's allow-list).
    The plan's `staging_limit` bounds the data tree, archives unpacked included:
    what the image can hold, and half the build disk's room (the tree and the
    image built from it both live there).
    """
    try:
        output_size = validate_recipe(recipe, card_size)
    except RecipeError as exc:
        raise PreflightError(f"invalid recipe: {exc}") from None
    sizes = {}
    urls = ([recipe["base"]["source"]] if recipe.get("base") else []) + \
        [item["url"] for item in recipe.get("files", []) if "url" in item]
    for url in urls:
        try:
            sizes[url] = probe(url, timeout, opener)
        except DownloadError as exc:
            raise PreflightError(str(exc)) from exc
    for index, item in enumerate(recipe.get("files", [])):
        if "size" in item and item["size"] != sizes[item["url"]]:  # the recipe's size is what the download must be
            raise PreflightError(f"recipe.files[{index}].size: the recipe says {item['size']} bytes but "
                                 f"{item['url']} serves {sizes[item['url']]} bytes")
    downloads = sum(sizes.values())
    content = downloads + sum(len(item["content"].encode()) for item in recipe.get("files", [])
                              if "content" in item)
    if output_size is not None and content > output_size:
        raise PreflightError(f"the content needs at least {content} bytes but output.size is {output_size}")
    if content > card_capacity(card_size):
        raise PreflightError(f"the content needs at least {content} bytes; a {card_size} GB card holds "
                             f"{card_capacity(card_size)}")
    if free_bytes(cache_dir) < downloads + margin:
        raise PreflightError(f"not enough room in the download cache: {downloads} bytes to fetch, "
                             f"{free_bytes(cache_dir) - margin} free beyond the margin")
    # The image is sparse; what it really takes is about its content, plus the compressed copy.
    needed = 2 * content + margin
    if free_bytes(build_dir) < needed:
        raise PreflightError(f"not enough room to build: about {needed} bytes needed, "
                             f"{free_bytes(build_dir)} free")
    staging_limit = min(output_size or card_capacity(card_size), (free_bytes(build_dir) - margin) // 2)
    return {"sizes": sizes, "downloads": downloads, "content": content, "output_size": output_size,
            "staging_limit": staging_limit}
