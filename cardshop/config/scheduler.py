"""Schema of /etc/cardshop/scheduler.yaml (the scheduler API daemon)."""

from cardshop.config.common import BROKER, database_section, LOGGING, trusted_proxies

DEFAULT_PATH = "/etc/cardshop/scheduler.yaml"

_PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
_SECONDS = {"type": "integer", "minimum": 1}

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "api": {
            "type": "object",
            "description": "The HTTP API (Bottle served by Waitress).",
            "additionalProperties": False,
            "properties": {
                "listen": {"type": "string", "minLength": 1, "default": "127.0.0.1",
                           "description": "Address to listen on: loopback only (plain HTTP); other hosts reach "
                                          "the API through the TLS front (nginx)."},
                "port": {**_PORT, "default": 8080, "description": "TCP port to listen on."},
                "threads": {"type": "integer", "minimum": 1, "maximum": 256, "default": 8,
                            "description": "Worker threads serving requests."},
                "max_body_bytes": {"type": "integer", "minimum": 1024, "default": 1048576,
                                   "description": "Largest request body accepted (413 above)."},
                "trusted_proxies": trusted_proxies(
                    "Peers (addresses or CIDR networks) whose X-Cardshop-Client-Address header names the "
                    "client that login limits count against: the manager's address as the API sees it. A "
                    "listed proxy must set that header itself; any other peer sending it gets 400. None by "
                    "default: a TLS front on loopback would otherwise pass on what its clients wrote."),
            },
        },
        "metrics": {
            "type": "object",
            "description": "The Prometheus endpoint (/metrics): orders by status, tasks in flight, queue depths, "
                           "slots by state, cards written, beat job durations. Off without a port.",
            "additionalProperties": False,
            "properties": {
                "listen": {"type": "string", "minLength": 1, "default": "127.0.0.1",
                           "description": "Address to listen on: loopback only (plain HTTP); a Prometheus "
                                          "elsewhere scrapes it through the TLS front."},
                "port": {"type": ["integer", "null"], "minimum": 1, "maximum": 65535, "default": None,
                         "examples": [9464], "description": "TCP port; none (the default) serves no metrics."},
                "token_file": {"type": ["string", "null"], "default": None,
                               "examples": ["/etc/cardshop/secrets/metrics.token"],
                               "description": "File holding the bearer token scrapes must send; none lets "
                                              "every local process read the metrics."},
            },
        },
        "database": database_section("scheduler"),
        "broker": {**BROKER, "x-optional-section": True,
                   "description": "RabbitMQ, where the scheduler publishes tasks (as the system user); "
                                  "without it tasks wait for the beat to publish them."},
        "auth": {
            "type": "object",
            "description": "Users, tokens and login protection.",
            "additionalProperties": False,
            "properties": {
                "jwt_key_file": {"type": "string", "default": "/etc/cardshop/secrets/jwt.key",
                                 "description": "File holding the HMAC key signing access tokens (at least 32 characters)."},
                "access_ttl": {**_SECONDS, "default": 3600,
                               "description": "Lifetime of an access token, in seconds."},
                "refresh_ttl": {**_SECONDS, "default": 2592000,
                                "description": "Lifetime of a refresh token, in seconds (30 days)."},
                "user_cache_seconds": {"type": "number", "minimum": 0, "maximum": 60, "default": 1,
                                       "description": "How long a process may reuse what it read of a user "
                                                      "(active, role, revoked sessions); changes made through "
                                                      "the same process apply at once, others within this delay. "
                                                      "0 reads the user on every request."},
                "bcrypt_rounds": {"type": "integer", "minimum": 4, "maximum": 16, "default": 12,
                                  "description": "bcrypt cost factor for new password hashes."},
                "max_failures": {"type": "integer", "minimum": 1, "default": 5,
                                 "description": "Failed logins of one username from one client address "
                                                "before that pair is locked for a while."},
                "failure_window": {**_SECONDS, "default": 900,
                                   "description": "Seconds over which failed logins are counted."},
                "lockout": {**_SECONDS, "default": 60,
                            "description": "First lock, in seconds; it doubles with each further failure."},
                "max_lockout": {**_SECONDS, "default": 900,
                                "description": "Longest lock, in seconds."},
                "login_rate": {"type": "number", "exclusiveMinimum": 0, "default": 2,
                               "description": "Password checks per second allowed to one client address "
                                              "(429 beyond), after the burst."},
                "login_burst": {"type": "integer", "minimum": 1, "default": 20,
                                "description": "Password checks one client address may make at once."},
                "password_check_slots": {"type": "integer", "minimum": 1, "maximum": 64, "default": 1,
                                         "description": "Password checks (bcrypt) running at once for clients "
                                                        "without recent failures, and as many again (at the "
                                                        "lowest CPU priority) for clients that failed; other "
                                                        "checks wait in a fair queue (the check_queue_* keys)."},
                "verified_ttl": {"type": "number", "minimum": 0, "maximum": 3600, "default": 300,
                                 "description": "Seconds for which credentials that were found right are "
                                                "checked again without bcrypt (a keyed hash kept in memory; "
                                                "a password change or disable drops them at once), so that "
                                                "every worker logging in again after a broker restart costs "
                                                "no bcrypt. 0 checks every login with bcrypt."},
                "check_queue_size": {"type": "integer", "minimum": 1, "maximum": 256, "default": 6,
                                     "description": "Password checks that may wait for a free slot in all "
                                                    "(503 beyond, the broker's logins denied); each holds a "
                                                    "server thread, as does each running check, so at most "
                                                    "api.threads - 2 x password_check_slots - 1 are used. A check "
                                                    "from a client without recent failures takes the place of "
                                                    "one from a client that failed."},
                "check_queue_per_client": {"type": "integer", "minimum": 1, "maximum": 256, "default": 2,
                                           "description": "Password checks that may wait for one client address "
                                                          "(for the broker's logins, which carry no address: for "
                                                          "one account); 429 beyond. Clients take turns."},
                "check_queue_per_account": {"type": "integer", "minimum": 1, "maximum": 256, "default": 4,
                                            "description": "Password checks for one account that may wait from "
                                                           "clients that failed within failure_window (429 "
                                                           "beyond); clients without failures go first."},
                "check_queue_wait": {"type": "number", "exclusiveMinimum": 0, "maximum": 60, "default": 5,
                                     "description": "Longest wait of a password check for a slot, in seconds "
                                                    "(503 with Retry-After beyond; the broker's login denied)."},
            },
        },
        "system_user": {
            "type": "object",
            "description": "The internal user of the monitor and beat; kept in step with its password file at start.",
            "additionalProperties": False,
            "properties": {
                "username": {"type": "string", "pattern": "^[a-z][a-z0-9_-]{1,31}$",
                             "default": "cardshop-system", "description": "Its username."},
                "password_file": {"type": "string", "default": "/etc/cardshop/secrets/system.password",
                                  "description": "File holding its password; no system user when absent."},
            },
        },
        "bootstrap_admin": {
            "type": "object",
            "x-optional-section": True,
            "description": "First administrator, created at start when no admin exists yet.",
            "additionalProperties": False,
            "required": ["username", "email", "password_file"],
            "properties": {
                "username": {"type": "string", "pattern": "^[a-z][a-z0-9_-]{1,31}$",
                             "examples": ["admin"], "description": "Its username."},
                "email": {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+$",
                          "examples": ["admin@example.org"], "description": "Its email address."},
                "password_file": {"type": "string", "examples": ["/etc/cardshop/secrets/admin.password"],
                                  "description": "File holding its first password."},
            },
        },
        "rabbitmq": {
            "type": "object",
            "description": "What the RabbitMQ HTTP auth backend allows.",
            "additionalProperties": False,
            "properties": {
                "vhost": {"type": "string", "default": "cardshop",
                          "description": "The only virtual host workers may use."},
                "broker_addresses": {"type": "array", "items": {"type": "string", "minLength": 1},
                                     "default": ["127.0.0.1", "::1"],
                                     "description": "Client addresses of the RabbitMQ nodes; /auth/rabbitmq/* "
                                                    "answer 403 to any other address."},
            },
        },
        "writers": {
            "type": "object",
            "description": "Writer hosts' registered slots (PUT /writer-hosts/{user}@{host}/slots).",
            "additionalProperties": False,
            "properties": {
                "max_hosts_per_account": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 4,
                                          "description": "Hosts one writer account may have slots registered "
                                                         "on (each writer host has its own account)."},
            },
        },
        "logging": LOGGING,
    },
}
