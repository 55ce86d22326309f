"""HTML forms to API bodies and back: the order form, recipes as YAML or JSON, API errors placed by field."""

import json
import re

import yaml

from cardshop.validation import ID_PATTERN
from cardshop.recipes import CARD_SIZES, RecipeError, estimate, parse_human_size, suggest_card

FILE_ROWS = 5  # file rows of the compose form (pages work without JavaScript)
_FIELD_RE = re.compile(r"^(?:missing |unknown )?(?:field|query parameter) '([^']+)'|^(?:params\.)?(recipe[\w.\[\]]*):")
_ID_RE = re.compile(ID_PATTERN)
_FILE_RE = re.compile(r"^recipe\.files(?:\[|\.)(\d+)")
_PLACES = {"recipient.name": "recipient_name", "recipient.email": "recipient_email",
           "recipient.address": "recipient_address", "recipient": "recipient_name",
           "sd_card.size": "card_size", "sd_card.type": "card_type", "quantity": "quantity",
           "warehouse": "warehouse", "recipe.output.size": "output_size", "recipe.output": "output_size",
           "recipe.base.source": "base_source", "recipe.base.checksum": "base_checksum",
           "recipe.base": "base_source"}


def is_id(text):
    return bool(_ID_RE.match(text or ""))


class FormError(ValueError):
    """A form value the manager can already tell is wrong; `field` is the form field."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def field_of(message):
    """The dotted field an API error names ("field 'recipient.email': ...", "recipe.files[0].to: ..."), or None."""
    match = _FIELD_RE.search(message or "")
    return (match.group(1) or match.group(2)) if match else None


def place_error(message, default="form", names=()):
    """{form field: message} for an API error, by the field it names (`names`: form fields named as the API's)."""
    field = field_of(message)
    if field is None:
        return {default: message}
    top = re.split(r"[.\[]", field)[0]
    if top in names:
        return {top: message}
    file_match = _FILE_RE.match(field)
    if file_match:
        return {f"file_{file_match.group(1)}": message}
    for prefix in sorted(_PLACES, key=len, reverse=True):
        if field == prefix or field.startswith(prefix + ".") or field.startswith(prefix + "["):
            return {_PLACES[prefix]: message}
    return {"recipe" if field.startswith("recipe") else default: message}


def parse_mapping(text, field, shape):
    """A mapping from YAML or JSON text (JSON is YAML); FormError naming the form field otherwise."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FormError(field, f"not YAML or JSON: {str(exc).splitlines()[0]}") from None
    if not isinstance(value, dict):
        raise FormError(field, shape)
    return value


def parse_recipe_text(text):
    return parse_mapping(text, "recipe_text", "a recipe is a mapping with 'output' (and 'base', 'files')")


def recipe_from_form(form):
    """The composed recipe: output size, optional base, and the filled file rows."""
    recipe = {"output": {"size": _size_value(form.get("output_size", "").strip() or "auto")}}
    if form.get("base_source", "").strip():
        recipe["base"] = {"source": form["base_source"].strip()}
        if form.get("base_checksum", "").strip():
            recipe["base"]["checksum"] = {"algo": "sha256", "value": form["base_checksum"].strip().lower()}
    files = []
    for index in range(FILE_ROWS):
        to = form.get(f"file_to_{index}", "").strip()
        if not to:
            continue
        item = {"to": to}
        url, content = form.get(f"file_url_{index}", "").strip(), form.get(f"file_content_{index}", "")
        if url:
            item["url"] = url
            if form.get(f"file_sha256_{index}", "").strip():
                item["checksum"] = {"algo": "sha256", "value": form[f"file_sha256_{index}"].strip().lower()}
            if form.get(f"file_size_{index}", "").strip():
                item["size"] = _file_size(form, index)
        else:
            item["content"] = content
        files.append(item)
    if files:
        recipe["files"] = files
    return recipe


def recipe_to_form(recipe):
    """Form values for a recipe that the compose rows can hold, else None (edit it as text)."""
    files = recipe.get("files", [])
    if len(files) > FILE_ROWS or any(set(item) - {"to", "url", "checksum", "size", "content"} for item in files):
        return None
    values = {"output_size": str(recipe.get("output", {}).get("size", "auto"))}
    base = recipe.get("base") or {}
    values["base_source"] = base.get("source", "")
    values["base_checksum"] = (base.get("checksum") or {}).get("value", "")
    for index, item in enumerate(files):
        values[f"file_to_{index}"] = item.get("to", "")
        values[f"file_url_{index}"] = item.get("url", "")
        values[f"file_sha256_{index}"] = (item.get("checksum") or {}).get("value", "")
        values[f"file_size_{index}"] = str(item["size"]) if "size" in item else ""
        values[f"file_content_{index}"] = item.get("content", "")
    return values


def _file_size(form, index):
    try:
        return parse_human_size(form[f"file_size_{index}"], f"recipe.files[{index}].size")
    except RecipeError as exc:
        raise FormError(f"file_{index}", str(exc)) from None


def shown_size(size):
    """Bytes as a person reads them back: '4509715660 bytes (4.51 GB)'."""
    return f"{size} bytes ({size / 1e9:.2f} GB)" if size >= 10**7 else f"{size} bytes"


def _size_value(text):
    return int(text) if text.isdigit() else text


def recipe_of(form):
    """The recipe a form holds: its YAML/JSON text or its composed rows, as the form's radio says."""
    if form.get("recipe_source") == "text":
        return parse_recipe_text(form.get("recipe_text", ""))
    return recipe_from_form(form)


def recipe_values(recipe):
    """Form values showing a recipe: in the compose rows when they can hold it, else as YAML text."""
    composed = recipe_to_form(recipe)
    if composed is None:
        return {"recipe_source": "text", "recipe_text": export_recipe(recipe, "yaml")[0]}
    return {"recipe_source": "compose", **composed}


def estimate_view(values, recipe=None):
    """What the recipe fields show about size: bytes known, files of unknown size, the card to suggest."""
    if recipe is None and values.get("recipe_source") != "text":
        try:
            recipe = recipe_from_form(values)
        except FormError:
            recipe = None  # the field's error is shown; the estimate says what it can
    known, unknown, output = estimate(recipe or {})
    return {"rows": FILE_ROWS, "known": known, "unknown": unknown, "output": output,
            "suggestion": suggest_card(recipe or {}), "card_sizes": CARD_SIZES, "sizes": _row_sizes(values)}


def _row_sizes(values):
    """{row: the size it was given, read back in bytes and GB} for the compose rows whose size reads."""
    sizes = {}
    for index in range(FILE_ROWS if values.get("recipe_source") != "text" else 0):
        try:
            if values.get(f"file_size_{index}", "").strip():
                sizes[index] = shown_size(_file_size(values, index))
        except FormError:
            continue  # shown as the row's error
    return sizes


def estimate_json(values):
    """The live estimate of a posted form (what the form shows under the recipe), or the field in error."""
    try:
        recipe = recipe_of(values)
    except FormError as exc:
        return {"error": str(exc), "field": exc.field}
    view = estimate_view(values, recipe)
    return {key: view[key] for key in ("known", "unknown", "output", "suggestion", "sizes")}


def order_from_form(form):
    """The API body of POST /orders from the new-order form; FormError for what cannot be read at all."""
    body = {"recipe": recipe_of(form),
            "sd_card": {"size": _integer(form, "card_size"), "type": form.get("card_type", "physical")},
            "quantity": _integer(form, "quantity"),
            "recipient": {"name": form.get("recipient_name", "").strip(),
                          "email": form.get("recipient_email", "").strip(),
                          "address": form.get("recipient_address", "").strip()}}
    if form.get("warehouse"):
        body["warehouse"] = form["warehouse"]
    return body


def _integer(form, name):
    text = form.get(name, "").strip()
    if not text.isdigit():
        raise FormError(name, f"{name.replace('_', ' ')}: a whole number is needed, got {text!r}")
    return int(text)


def export_recipe(recipe, fmt):
    """(text, content type) of a recipe as YAML or JSON."""
    if fmt == "json":
        return json.dumps(recipe, indent=2, sort_keys=False) + "\n", "application/json"
    return yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True), "application/yaml"
