"""Each notification's subject, plain text and HTML, from the templates in this folder's templates/.

A `<kind>.txt` template's first line is the subject, the rest the plain text; `<kind>.html` is the HTML
body, wrapped here. `$name` placeholders (string.Template) take the event's values: in the HTML each is
escaped (recipient names and addresses are customer input), in the subject line breaks are dropped (they
would start new headers). A value missing from an event renders as "-".
"""

import html
import importlib.resources
import string

HTML_PAGE = ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>$title</title></head>\n'
             '<body style="font-family: sans-serif">\n$body\n<p style="color: #666">Cardshop</p>\n</body></html>\n')


class RenderError(Exception):
    """No template for that kind (a bug: every kind in kinds.KINDS has both)."""


class _Values(dict):
    def __missing__(self, name):
        return "-"


def _template(kind, suffix):
    try:
        return (importlib.resources.files(__package__) / "templates" / f"{kind}.{suffix}").read_text("utf-8")
    except FileNotFoundError:
        raise RenderError(f"no {suffix} template for notification kind {kind!r}") from None


def one_line(value, most=200):
    """`value` as one line of at most `most` characters (a subject, a header)."""
    text = " ".join(str(value).split())
    return text if len(text) <= most else text[:most - 1] + "…"


def render(kind, values, safe_html=None):
    """(subject, text, html) of a notification of `kind` with `values` ({name: text}).

    `safe_html`: HTML fragments built by the caller from escaped values (a link), by name."""
    plain = {name: "-" if value is None else str(value) for name, value in values.items()}
    subject_line, _, text = _template(kind, "txt").partition("\n")
    subject = one_line(string.Template(subject_line).substitute(
        _Values({name: one_line(value) for name, value in plain.items()})))
    text = string.Template(text).substitute(_Values(plain)).strip() + "\n"
    escaped = _Values({name: html.escape(value) for name, value in plain.items()})
    escaped.update(safe_html or {})
    body = string.Template(_template(kind, "html")).substitute(escaped).strip()
    page = string.Template(HTML_PAGE).substitute(title=html.escape(subject), body=body)
    return subject, text, page


def link(url, words):
    """An HTML link to `url` (http(s) only: anything else is shown as text, never made a link)."""
    if not str(url).startswith(("https://", "http://")):
        return html.escape(str(words))
    return f'<a href="{html.escape(str(url), quote=True)}">{html.escape(str(words))}</a>'
