"""Render a documented sample YAML file from a config schema."""

import textwrap

import yaml


def _comment(text, indent):
    lines = textwrap.wrap(text, 76 - indent, break_on_hyphens=False)
    return [" " * indent + "# " + line for line in lines]


def _scalar(value):
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...").strip()


def render_sample(schema, title):
    """The sample config: every key, its description and its default."""
    lines = [f"# {title}", "#", "# Generated from the schema in cardshop/config; every key is optional"]
    lines += ["# unless marked required. Values shown are the defaults.", ""]
    lines += _render_object(schema, 0)
    return "\n".join(lines) + "\n"


def _render_object(schema, indent):
    lines = []
    required = set(schema.get("required", []))
    for name, sub in schema.get("properties", {}).items():
        description = sub.get("description", "")
        if name in required:
            description += " (required)"
        lines += _comment(description.strip(), indent)
        pad = " " * indent
        if sub.get("type") == "object" and "properties" in sub:
            prefix = "# " if sub.get("x-optional-section") else ""
            lines.append(f"{pad}{prefix}{name}:")
            inner = _render_object(sub, indent + 2)[:-1]
            if prefix:  # an optional section: every key of it commented out
                inner = [line if not line.strip() or line.lstrip().startswith("#")
                         else " " * (indent + 2) + "# " + line.lstrip() for line in inner]
            lines += inner
        else:
            example = sub.get("default", sub.get("examples", [None])[0])
            commented = "default" not in sub
            value = _scalar(example) if example is not None else ""
            lines.append(f"{pad}{'# ' if commented else ''}{name}: {value}".rstrip())
        lines.append("")
    return lines
