"""Correct logins under floods of wrong ones, and workers back at work after a broker restart.

Production settings (bcrypt cost 12, the default per-address rate and check queue), a pipeline of
its own. Each correct login figure is the p95 of 10 accounts logging in twice each (the first check
runs bcrypt, the second is remembered), beside the same figure with no flood; goal: p95 <= 1 s.
"""

import functools
import itertools
import tempfile
import time

from devstack.pipeline import Pipeline
from devstack.servers import FerretDB
from tests.integration.security.logins import (Worker, amqp_login, api_login, back_to_work_after_restart, flood, p95,
                                               steady, wrong_amqp_guess, wrong_api_guess)

GOAL = 1.0  # seconds, p95 of a correct login
RESTART_GOAL = 15.0  # seconds from the broker back up to every worker consuming
ACCOUNTS, WORKERS = 10, 20
_numbers = itertools.count()


def accounts(pipe, role, count):
    made = []
    for _ in range(count):
        username = f"{role[:4]}{next(_numbers)}"
        pipe.scheduler.worker_user(username, role, f"{username} password")
        made.append((username, f"{username} password"))
    return made


def _timed(login, accounts):
    """Seconds of each login (infinite when refused): every account twice, first (bcrypt) then remembered."""
    seconds = []
    for account in accounts:
        for _ in range(2):
            ok, took = login(*account)
            seconds.append(took if ok else float("inf"))
    return seconds


def api_logins(pipe, source, people):
    def login(username, password):
        status, took = api_login(pipe.scheduler.url, source, username, password)
        return status == 200, took
    return _timed(login, people)


def amqp_logins(pipe, workers):
    return _timed(lambda *account: amqp_login(pipe.rabbitmq.port, *account), workers)


def under(senders, measure, addresses=0):
    """measure()'s figure once the flood of `senders` (from `addresses` guessing addresses) is steady."""
    with flood(senders) as answers:
        steady(answers, senders, checked=addresses)
        figure = measure()
    return figure, ", ".join(f"{count} x {answer}" for answer, count in sorted(answers.items(), key=str))


def _report_login(report, name, loaded, idle, seen):
    """`loaded` and `idle`: the seconds of each login, first and remembered ones alternating."""
    report(name, f"p95 {p95(loaded) * 1000:.0f} ms vs {p95(idle) * 1000:.0f} ms idle (goal: <= {GOAL:.0f} s); "
                 f"first logins (bcrypt) p95 {p95(loaded[::2]) * 1000:.0f} ms, remembered ones "
                 f"{p95(loaded[1::2]) * 1000:.0f} ms; flood answers: {seen}",
           GOAL / p95(loaded), 1.0, "ratio = 1 s / p95")


def run(report):
    with tempfile.TemporaryDirectory(prefix="cardshop-bench-logins-", dir="/var/tmp") as base:
        database = FerretDB(base)
        database.start()
        pipe = Pipeline(base, database, db_name="bench_logins")  # production auth settings
        try:
            pipe.start()
            url, port = pipe.scheduler.url, pipe.rabbitmq.port
            # first: thousands of flood connections later, a new Erlang distribution port may be hard to find
            running = [Worker(port, *account).start() for account in accounts(pipe, "creator", WORKERS)]
            try:
                deadline = time.monotonic() + 60
                while not all(worker.consuming.is_set() for worker in running) and time.monotonic() < deadline:
                    time.sleep(0.1)
                seconds = back_to_work_after_restart(pipe.rabbitmq, running, timeout=120)
            finally:
                for worker in running:
                    worker.stop()
            report(f"RabbitMQ restarted under {WORKERS} consuming workers: back up to every one consuming",
                   f"{seconds:.1f} s (goal: <= {RESTART_GOAL:.0f} s)" if seconds is not None else "not within 120 s",
                   RESTART_GOAL / max(seconds if seconds is not None else 120, 0.01), 1.0,
                   "ratio = 15 s / time")

            idle_api = api_logins(pipe, "127.0.0.3", accounts(pipe, "manager", ACCOUNTS))
            idle_amqp = amqp_logins(pipe, accounts(pipe, "creator", ACCOUNTS))

            people, workers = accounts(pipe, "manager", ACCOUNTS), accounts(pipe, "creator", ACCOUNTS)
            (api, amqp), seen = under([functools.partial(wrong_amqp_guess, port, "admin")] * 16,
                                      lambda: (api_logins(pipe, "127.0.0.3", people), amqp_logins(pipe, workers)))
            _report_login(report, "Correct API login while 16 clients send wrong AMQP passwords for admin",
                          api, idle_api, seen)
            _report_login(report, "Correct worker AMQP login while 16 clients send wrong AMQP passwords for admin",
                          amqp, idle_amqp, seen)

            for name, guessers in (("one address (4 clients)", ["127.0.1.1"] * 4),
                                   ("40 addresses", [f"127.0.2.{index + 1}" for index in range(40)])):
                people = accounts(pipe, "manager", ACCOUNTS)
                loaded, seen = under([functools.partial(wrong_api_guess, url, address) for address in guessers],
                                     lambda: api_logins(pipe, "127.0.0.4", people), len(set(guessers)))
                _report_login(report, f"Correct API login from another address while {name} send wrong logins",
                              loaded, idle_api, seen)

        finally:
            pipe.stop()
            database.stop()
