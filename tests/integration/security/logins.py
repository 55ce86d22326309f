"""Login floods and the correct logins timed under them, for the tests and `make bench` alike.

Every client is a loopback address (127.0.0.x, 127.0.1.x); every flood is bounded in time by its
caller and stops by itself when the `with` block ends.
"""

import contextlib
import itertools
import multiprocessing
import os
import queue
import socket
import threading
import time

import amqp

from devstack.processes import wait_until
from tests.integration.security.concurrency import post_from

FORM = "application/x-www-form-urlencoded"
_guesses = itertools.count()


def api_login(url, source, username, password):
    """(HTTP status, seconds) of one POST /auth/authorize from loopback address `source`."""
    started = time.monotonic()
    status = post_from(source, url, "/auth/authorize", {"username": username, "password": password})[0]
    return status, time.monotonic() - started


def amqp_login(port, username, password, vhost="cardshop"):
    """(logged in?, seconds) of one AMQP connection to the broker on loopback `port`."""
    started = time.monotonic()
    connection = amqp.Connection(f"127.0.0.1:{port}", userid=username, password=password, virtual_host=vhost,
                                 connect_timeout=30)
    try:
        connection.connect()
        return True, time.monotonic() - started
    except (amqp.exceptions.AMQPError, OSError):  # refused, or closed by the broker
        return False, time.monotonic() - started
    finally:
        with contextlib.suppress(Exception):
            connection.collect()


def wrong_api_guess(url, source):
    """A wrong password for a new username each time, so no (username, address) lock stops the flood."""
    return post_from(source, url, "/auth/authorize", {"username": f"guess{os.getpid()}-{next(_guesses)}",
                                                      "password": "not the password"})[0]


def wrong_amqp_guess(port, username):
    """A wrong AMQP password for `username`, a new one each time (RabbitMQ caches repeated answers)."""
    return "allow" if amqp_login(port, username, f"guess {os.getpid()}-{next(_guesses)}")[0] else "deny"


@contextlib.contextmanager
def flood(senders, processes=4):
    """Each of `senders` (a picklable function returning an answer) called in a loop in a thread of its
    own, in `processes` processes apart from the caller's, from when they all run until the block ends;
    yields a dict that holds the count of each answer once the block has ended, and whose `sent()`
    says how many answers came so far, `checked()` how many of them were not "busy" (429, 503).

    An attacker is not the client being timed: flood threads in the caller's process would take the
    interpreter lock from its timed logins and lengthen them on the client's side."""
    context = multiprocessing.get_context("spawn")  # the caller has threads: no fork
    stop, messages = context.Event(), context.Queue()
    sent, checked = context.Value("q", 0), context.Value("q", 0)
    groups = [senders[index::processes] for index in range(min(processes, len(senders)))]
    workers = [context.Process(target=_flood_process, args=(group, stop, messages, sent, checked), daemon=True)
               for group in groups]
    answers, ready, ended = _Answers(), 0, 0
    answers.sent, answers.checked = (lambda: sent.value), (lambda: checked.value)
    for worker in workers:
        worker.start()
    try:
        while ready < len(workers):
            ready += messages.get(timeout=120) == "ready"
        yield answers
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            while ended < len(workers):
                message = messages.get(timeout=90)
                if isinstance(message, dict):  # a process's counts, once its threads have stopped
                    ended += 1
                    for answer, count in message.items():
                        answers[answer] = answers.get(answer, 0) + count
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.kill()


def steady(answers, senders, checked=0):
    """Wait for the flood's steady state: every sender answered twice, on average, and `checked`
    guesses answered after a password check (one per guessing address: each is known as failing,
    its first checks are behind it); AssertionError when it is not within 120 s (a broken flood)."""
    wait_until(lambda: answers.sent() >= 2 * len(senders) and answers.checked() >= checked, timeout=120)


class _Answers(dict):
    sent = checked = None


def _flood_process(senders, stop, messages, sent, checked):
    answers, lock = {}, threading.Lock()

    def loop(send):
        while not stop.is_set():
            try:
                answer = send()
            except Exception as exc:  # counted, so that a broken flood shows
                answer = type(exc).__name__
            with lock:
                answers[answer] = answers.get(answer, 0) + 1
            with sent.get_lock():
                sent.value += 1
            if answer not in (429, 503):
                with checked.get_lock():
                    checked.value += 1

    threads = [threading.Thread(target=loop, args=(send,), daemon=True) for send in senders]
    for thread in threads:
        thread.start()
    messages.put("ready")
    for thread in threads:
        thread.join()
    messages.put(answers)


def p95(seconds):
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


class Worker:
    """An AMQP consumer of `queue` as a worker account, reconnecting after its connection is lost with
    the back-off of Celery's consumer (kombu's defaults: 2 s, then 2 s more each time, at most 30 s)."""

    def __init__(self, port, username, password, queue="create"):
        self.port, self.username, self.password, self.queue = port, username, password, queue
        self.consuming = threading.Event()
        self.since = None  # when it last started consuming (monotonic)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(60)

    def _run(self):
        failures = 0
        while not self._stop.is_set():
            connection = amqp.Connection(f"127.0.0.1:{self.port}", userid=self.username, password=self.password,
                                         virtual_host="cardshop", connect_timeout=10)
            try:
                connection.connect()
                channel = connection.channel()
                channel.basic_qos(0, 1, False)
                channel.basic_consume(self.queue, callback=lambda message: None)
                self.since = time.monotonic()
                self.consuming.set()
                failures = 0
                while not self._stop.is_set():
                    with contextlib.suppress(socket.timeout):
                        connection.drain_events(timeout=0.5)
            except Exception:  # the broker went away or refused the login: try again later
                self.consuming.clear()
                failures += 1
                self._stop.wait(min(2 * failures, 30))
            finally:
                with contextlib.suppress(Exception):
                    connection.collect()


def back_to_work_after_restart(rabbitmq, workers, timeout=120):
    """Seconds from the broker answering again after a restart to every worker consuming again
    (None after `timeout`)."""
    stopped = time.monotonic()
    rabbitmq.restart()
    up = time.monotonic()
    while not all(worker.consuming.is_set() and worker.since > stopped for worker in workers):
        if time.monotonic() > up + timeout:
            return None
        time.sleep(0.05)
    return max(0.0, max(worker.since for worker in workers) - up)
