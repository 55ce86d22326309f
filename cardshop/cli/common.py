"""What every `cardshop` command shares: exit codes, the error it raises, tables and JSON output."""

import json

import yaml

EX_REFUSED, EX_USAGE, EX_AUTH, EX_UNREACHABLE, EX_SLOW = 1, 2, 3, 4, 5


class CliError(Exception):
    def __init__(self, message, code=EX_REFUSED):
        super().__init__(message)
        self.code = code


def table(rows, columns):
    widths = {column: max([len(column)] + [len(str(row.get(column, ""))) for row in rows])
              for column in columns}
    lines = ["  ".join(column.upper().ljust(widths[column]) for column in columns)]
    lines += ["  ".join(str(row.get(column, "")).ljust(widths[column]) for column in columns) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def show(args, value, render):
    print(json.dumps(value, indent=2) if args.json else render(value))


def read_yaml(path, what):
    """The mapping in a YAML (or JSON) file; a CliError (usage) naming the file, and the line, when it is not."""
    try:
        with open(path, encoding="utf-8") as handle:
            value = yaml.safe_load(handle)
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}", EX_USAGE) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise CliError(f"{path} is not valid YAML{where}: {getattr(exc, 'problem', None) or exc}",
                       EX_USAGE) from None
    if not isinstance(value, dict):
        raise CliError(f"{path} must hold {what} (a mapping), not {type(value).__name__}", EX_USAGE)
    return value


def dump_yaml(value):
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True)
