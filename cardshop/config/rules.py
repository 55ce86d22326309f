"""Rules the schemas cannot say, checked after the schema (borgmatic's order).

`serve` and `check-config` run the same checks, so a config that
`check-config` calls valid does not stop the daemon with 78 later.
"""

import ipaddress
import os
import ssl
import urllib.parse

from cardshop.config.load import ConfigError, read_secret
from cardshop.proxies import TrustedProxies, network

JWT_KEY_MIN = 32
# The plain HTTP listeners (Waitress has no TLS): the section of each daemon's config that has one.
PLAIN_LISTENERS = {"api": "the API", "http": "the manager", "metrics": "the metrics endpoint"}


def is_loopback(host):
    """Whether `host` (an address, or localhost) never leaves this machine: 127.0.0.0/8, ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address((host or "").strip("[]")).is_loopback
    except ValueError:
        return False


def plain_url_error(key, url, plain, secure):
    """The error for a `plain` scheme (amqp, http) URL off loopback, or None: passwords would cross the network."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == plain and not is_loopback(parsed.hostname):
        return f"key {key!r}: plain {plain}:// is only allowed on loopback; use {secure}://"
    return None


def database_uri(config):
    database = config["database"]
    if "uri_file" in database:
        return read_secret(database["uri_file"], "database.uri_file")
    return database["uri"]


def jwt_key(config):
    key = read_secret(config["auth"]["jwt_key_file"], "auth.jwt_key_file")
    if len(key) < JWT_KEY_MIN:
        raise ConfigError(f"key 'auth.jwt_key_file': the key must have at least {JWT_KEY_MIN} characters")
    return key


def session_key(config):
    key = read_secret(config["session"]["secret_file"], "session.secret_file")
    if len(key) < JWT_KEY_MIN:
        raise ConfigError(f"key 'session.secret_file': the key must have at least {JWT_KEY_MIN} characters")
    return key


def trusted_proxies(config, section):
    """The proxies `section.trusted_proxies` lists (section: `api` of the scheduler, `http` of the manager)."""
    networks = []
    for index, entry in enumerate(config[section]["trusted_proxies"]):
        try:
            networks.append(network(entry))
        except ValueError:
            raise ConfigError(f"key '{section}.trusted_proxies.{index}': {entry!r} is not an IP address "
                              "or network (CIDR)") from None
    return TrustedProxies(networks)


def broker_url(broker):
    """The broker URL with credentials; plain amqp:// only on loopback."""
    error = plain_url_error("broker.url", broker["url"], "amqp", "amqps")
    if error:
        raise ConfigError(error)
    parsed = urllib.parse.urlsplit(broker["url"])
    password = read_secret(broker["password_file"], "broker.password_file")
    credentials = f"{urllib.parse.quote(broker['username'], safe='')}:{urllib.parse.quote(password, safe='')}"
    return f"{parsed.scheme}://{credentials}@{parsed.netloc}{parsed.path}"


def _warehouse(config):
    ftp = config["ftp"]
    if "tls" not in config and not is_loopback(ftp["listen"]):
        raise ConfigError("key 'tls': required when ftp.listen is not a loopback address (plain FTP only on loopback)")
    if ftp["max_logging_in"] >= ftp["max_connections"]:
        raise ConfigError(f"key 'ftp.max_logging_in': must be below ftp.max_connections ({ftp['max_connections']}), "
                          "so that connections that logged in keep room")
    ports = ftp.get("passive_ports")
    if ports and ports[0] > ports[1]:
        raise ConfigError("key 'ftp.passive_ports': the first port must not be above the last")


def scheduler_client(scheduler):
    """The scheduler API's URL (https:// off loopback) and CA file (readable PEM) of a `scheduler` section."""
    error = plain_url_error("scheduler.api_url", scheduler["api_url"], "http", "https")
    if error:
        raise ConfigError(f"{error} (the TLS front's URL): passwords and tokens cross it")
    if "ca_file" in scheduler:
        try:
            ssl.create_default_context(cafile=scheduler["ca_file"])
        except OSError as exc:
            raise ConfigError(f"key 'scheduler.ca_file': cannot read {scheduler['ca_file']}: "
                              f"{exc.strerror or exc}") from None
        except ssl.SSLError as exc:
            raise ConfigError(f"key 'scheduler.ca_file': {scheduler['ca_file']} holds no PEM certificate "
                              f"({exc.reason or exc})") from None


def plain_listener(config, section):
    """Waitress serves plain HTTP: only on loopback, behind the TLS front for everyone else."""
    listen = config[section]["listen"]
    if not is_loopback(listen):
        raise ConfigError(f"key '{section}.listen': {listen} is not a loopback address, and "
                          f"{PLAIN_LISTENERS[section]} serves plain HTTP (no TLS): listen on 127.0.0.1 and put "
                          "it behind the TLS front (nginx with the fleet's certificate), which other hosts reach")


def mail_settings(config):
    """The beat's `mail` section as the keyword arguments of cardshop.notify.mail.Settings, its password
    read; None when no mail is to be sent."""
    mail = config.get("mail")
    if not mail:
        return None
    loopback = is_loopback(mail["smtp_host"])
    starttls = (not loopback) if mail["starttls"] is None else mail["starttls"]
    if "username" in mail and not starttls and not loopback:
        raise ConfigError(f"key 'mail.starttls': plain SMTP to {mail['smtp_host']} would send the password "
                          "in clear; set it true (the relay's STARTTLS), or relay through this host's MTA")
    if "username" in mail and "password_file" not in mail:
        raise ConfigError("key 'mail.password_file': required with mail.username")
    if "password_file" in mail and "username" not in mail:
        raise ConfigError("key 'mail.username': required with mail.password_file")
    if "ca_file" in mail:
        try:
            ssl.create_default_context(cafile=mail["ca_file"])
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"key 'mail.ca_file': cannot use {mail['ca_file']}: {exc}") from None
    password = read_secret(mail["password_file"], "mail.password_file") if "password_file" in mail else None
    return {"smtp_host": mail["smtp_host"], "smtp_port": mail["smtp_port"], "starttls": starttls,
            "username": mail.get("username"), "password": password, "sender": mail["from"],
            "manager_url": mail.get("manager_url"), "ca_file": mail.get("ca_file"), "timeout": mail["timeout"]}


def check(config):
    """Every rule a daemon's `serve` runs before it works, by the sections its config has."""
    if "auth" in config:
        jwt_key(config)
    if "session" in config:
        session_key(config)
    if "database" in config:
        database_uri(config)
    if "broker" in config:
        broker_url(config["broker"])
    if "ftp" in config:
        _warehouse(config)
    if "api_url" in config.get("scheduler", {}):
        scheduler_client(config["scheduler"])
    for section in PLAIN_LISTENERS:
        if "listen" in config.get(section, {}):
            plain_listener(config, section)
        if "trusted_proxies" in config.get(section, {}):
            trusted_proxies(config, section)
    system = config.get("system_user")
    if system and os.path.exists(system["password_file"]):  # optional: the scheduler runs without one
        read_secret(system["password_file"], "system_user.password_file")
    if (config.get("metrics") or {}).get("token_file"):
        read_secret(config["metrics"]["token_file"], "metrics.token_file")
    if config.get("mail"):
        mail_settings(config)
    if config.get("bootstrap_admin"):
        read_secret(config["bootstrap_admin"]["password_file"], "bootstrap_admin.password_file")
    return config
