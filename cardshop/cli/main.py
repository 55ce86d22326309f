"""cardshop: run a Cardshop shop from the command line.

Exit codes: 0 done, 1 the API refused (message printed; `order watch`: the order failed), 2 bad usage or
bad input (the API's 400 included: the message names the field), 3 not logged in or login failed, 4 the
API cannot be reached, 5 the API took the request but did not answer in time (slow, not down: asking
again later may work).

Settings, each overriding the next: the options, the environment ($CARDSHOP_API, $CARDSHOP_CA_FILE,
$CARDSHOP_PASSWORD), the config file (<config dir>/cli.yaml: api_url, ca_file, username,
password_file), the cached login.
"""

import argparse
import getpass
import os
import sys
import urllib.parse

from cardshop.cli import fleet, orders
from cardshop.cli.common import EX_AUTH, EX_REFUSED, EX_SLOW, EX_UNREACHABLE, EX_USAGE, CliError, read_yaml, show, \
    table
from cardshop.cli.credentials import Credentials, default_dir
from cardshop.client import ApiClient, ApiSlow, ApiUnreachable, Login

DEFAULT_API = "http://127.0.0.1:8080"
SETTINGS = ("api_url", "ca_file", "username", "password_file")  # what cli.yaml may hold


def load_settings(config_dir):
    """<config dir>/cli.yaml, or {} when there is none; a CliError naming a key that is not known."""
    path = os.path.join(config_dir or default_dir(), "cli.yaml")
    if not os.path.exists(path):
        return {}
    settings = read_yaml(path, "settings")
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise CliError(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(SETTINGS)})", EX_USAGE)
    for key, value in settings.items():
        if not isinstance(value, str):
            raise CliError(f"{path}: {key!r} must be a string", EX_USAGE)
    return settings


def checked_url(url):
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(f"the API URL {url!r} is not an http:// or https:// URL with a host "
                       f"(e.g. https://cardshop.example.org:8443)", EX_USAGE)
    return url


class Session:
    """An API client that refreshes the cached tokens when the access token expires."""

    def __init__(self, credentials, api_url=None, ca_file=None, settings=None):
        self.credentials = credentials
        self.state = credentials.load()
        self.settings = settings or {}
        url = checked_url(api_url or os.environ.get("CARDSHOP_API") or self.settings.get("api_url")
                          or self.state.get("api_url") or DEFAULT_API)
        ca_file = (ca_file or os.environ.get("CARDSHOP_CA_FILE") or self.settings.get("ca_file")
                   or self.state.get("ca_file"))
        try:
            self.client = ApiClient(url, self.state.get("access_token"), ca_file=ca_file)
        except OSError as exc:  # ssl reads the CA file at once
            raise CliError(f"cannot read the CA file {ca_file}: {exc.strerror or exc}", EX_USAGE) from None
        self.tokens = Login(self.client, self.state.get("username"), self.state)

    def login(self, username, password):
        reply = self.tokens.authorize(username, password)
        if not reply.ok:
            raise CliError(f"login failed: {reply.error}", EX_AUTH)
        self._store()

    def _store(self):
        pair = self.tokens.pair
        self.state = {"api_url": self.client.base_url, "username": self.tokens.username,
                      "access_token": pair["access_token"], "refresh_token": pair["refresh_token"]}
        if self.client.ca_file:  # later commands check the API with the same CA
            self.state["ca_file"] = self.client.ca_file
        self.credentials.save(self.state)

    def call(self, method, path, body=None, expect=(200, 201, 204)):
        if not self.state.get("access_token"):
            raise CliError("not logged in; run `cardshop login`", EX_AUTH)
        reply = self.client.request(method, path, body)
        if reply.status == 401 and self.state.get("refresh_token"):
            if not self.tokens.refresh().ok:
                self.credentials.clear()
                raise CliError("session ended; run `cardshop login` again", EX_AUTH)
            self._store()
            reply = self.client.request(method, path, body)
        if reply.status == 401:
            raise CliError(f"not authorised: {reply.error}; run `cardshop login`", EX_AUTH)
        if reply.status not in expect:
            raise CliError(reply.error, EX_USAGE if reply.status == 400 else EX_REFUSED)
        return reply.body

    def logout(self):
        self.tokens.revoke()
        self.credentials.clear()


def read_password(path, prompt, env=None):
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read().rstrip("\n")
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror}", EX_USAGE) from None
    if env and os.environ.get(env):
        return os.environ[env]
    if not sys.stdin.isatty():
        raise CliError(f"no terminal to ask for the password: use --password-file or {env}", EX_USAGE)
    return getpass.getpass(prompt)


# -- output -------------------------------------------------------------------

def _user_text(user):
    return "\n".join(f"{key}: {user.get(key, '')}" for key in
                     ("username", "email", "role", "active", "created_at", "updated_at"))


# -- commands -----------------------------------------------------------------

def cmd_login(session, args):
    username = args.username or session.settings.get("username") or input("username: ")
    password = read_password(args.password_file or session.settings.get("password_file"),
                             f"password for {username}: ", "CARDSHOP_PASSWORD")
    session.login(username, password)
    print(f"logged in to {session.client.base_url} as {username}")


def cmd_logout(session, args):
    session.logout()
    print("logged out")


def cmd_user_add(session, args):
    password = read_password(args.password_file, f"password for {args.username}: ", "CARDSHOP_NEW_PASSWORD")
    user = session.call("POST", "/users", {"username": args.username, "email": args.email,
                                           "role": args.role, "password": password})
    show(args, user, lambda u: f"created {u['role']} {u['username']}")


def cmd_user_list(session, args):
    query = f"?page={args.page}" + (f"&role={args.role}" if args.role else "")
    page = session.call("GET", f"/users{query}")
    show(args, page, lambda p: table(p["items"], ["username", "role", "active", "email"])
         + f"\n({p['total']} users, page {p['page']})")


def cmd_user_show(session, args):
    show(args, session.call("GET", f"/users/{args.username}"), _user_text)


def _set_active(session, args, active):
    user = session.call("PATCH", f"/users/{args.username}", {"active": active})
    show(args, user, lambda u: f"{u['username']} is {'enabled' if active else 'disabled'}")


def cmd_user_disable(session, args):
    _set_active(session, args, False)


def cmd_user_enable(session, args):
    _set_active(session, args, True)


def cmd_user_passwd(session, args):
    body = {"password": read_password(args.password_file, "new password: ", "CARDSHOP_NEW_PASSWORD")}
    if args.username == session.state.get("username"):
        body["current_password"] = read_password(args.current_password_file, "current password: ",
                                                 "CARDSHOP_PASSWORD")
    session.call("POST", f"/users/{args.username}/password", body)
    print(f"password of {args.username} changed; their sessions are ended")


def cmd_user_delete(session, args):
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError("refusing to delete without --yes", EX_USAGE)
        if input(f"delete user {args.username}? [y/N] ").strip().lower() != "y":
            raise CliError("not deleted")
    session.call("DELETE", f"/users/{args.username}")
    print(f"deleted {args.username}")


def build_parser():
    parser = argparse.ArgumentParser(prog="cardshop", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api", help=f"scheduler API URL (default: the one logged in to, $CARDSHOP_API, {DEFAULT_API})")
    parser.add_argument("--ca-file", help="CA bundle the https:// API's certificate must chain to (default: the "
                                          "one logged in with, $CARDSHOP_CA_FILE, the system's)")
    parser.add_argument("--config-dir", help="where the login is cached (default ~/.config/cardshop)")
    parser.add_argument("--json", action="store_true", help="print the API's JSON")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    login = commands.add_parser("login", help="log in and cache the tokens")
    login.add_argument("username", nargs="?")
    login.add_argument("--password-file", help="read the password from a file (or $CARDSHOP_PASSWORD)")
    login.set_defaults(func=cmd_login)
    commands.add_parser("logout", help="end the session").set_defaults(func=cmd_logout)

    user = commands.add_parser("user", help="manage users").add_subparsers(dest="action", required=True, metavar="ACTION")
    add = user.add_parser("add", help="create a user")
    add.add_argument("username")
    add.add_argument("--email", required=True)
    add.add_argument("--role", required=True, choices=["admin", "manager", "creator", "writer"])
    add.add_argument("--password-file", help="the new user's password (or $CARDSHOP_NEW_PASSWORD)")
    add.set_defaults(func=cmd_user_add)
    listing = user.add_parser("list", help="list users")
    listing.add_argument("--role")
    listing.add_argument("--page", type=int, default=1)
    listing.set_defaults(func=cmd_user_list)
    for name, func, text in (("show", cmd_user_show, "show a user"),
                             ("disable", cmd_user_disable, "disable a user; their tokens stop working"),
                             ("enable", cmd_user_enable, "enable a user")):
        sub = user.add_parser(name, help=text)
        sub.add_argument("username")
        sub.set_defaults(func=func)
    passwd = user.add_parser("passwd", help="change or reset a password")
    passwd.add_argument("username")
    passwd.add_argument("--password-file", help="the new password (or $CARDSHOP_NEW_PASSWORD)")
    passwd.add_argument("--current-password-file", help="your current password, for your own (or $CARDSHOP_PASSWORD)")
    passwd.set_defaults(func=cmd_user_passwd)
    delete = user.add_parser("delete", help="delete a user")
    delete.add_argument("username")
    delete.add_argument("--yes", action="store_true", help="do not ask")
    delete.set_defaults(func=cmd_user_delete)

    orders.add_commands(commands)
    fleet.add_commands(commands)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        session = Session(Credentials(args.config_dir), args.api, args.ca_file, load_settings(args.config_dir))
        args.func(session, args)
    except CliError as exc:
        print(f"cardshop: {exc}", file=sys.stderr)
        return exc.code
    except ApiUnreachable as exc:
        print(f"cardshop: {exc}", file=sys.stderr)
        return EX_SLOW if isinstance(exc, ApiSlow) else EX_UNREACHABLE
    except (KeyboardInterrupt, EOFError):
        print("", file=sys.stderr)
        return EX_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main())
