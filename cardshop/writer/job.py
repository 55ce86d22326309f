"""One write task on one slot's card, from its message to `written` or back to the queue.

    received -> downloading -> writing -> verifying -> written
         \\-> requeued (the card failed: too small, removed, write error, mismatch)
         \\-> failed   (the image cannot be obtained)     \\-> canceled

A card failure never fails the task: the slot says why until the card is
removed, and the message goes back to RabbitMQ for another card (`Requeue`).
Only an image that cannot be obtained fails the task, retryable when its
cause was transient (the warehouse or the scheduler away past the window).
"""

import logging
import socket

from cardshop import faults
from cardshop.cancellable import Canceled
from cardshop.client import ApiUnreachable, CredentialsError
from cardshop.client.warehouse import WarehouseClient, WarehouseError
from cardshop.pipeline.reports import Ticker, retry_teller
from cardshop.writer import burn
from cardshop.writer.images import ImageError

log = logging.getLogger(__name__)

IMAGE_FAILURES = (ImageError, WarehouseError, CredentialsError, ApiUnreachable, faults.GaveUp)


class CardFailed(Exception):
    """This card cannot take the task; the message says why (for the operator and the task's history)."""


class CardTooSmall(CardFailed):
    """The card is smaller than the image: the slot refuses it until another card is inserted."""


class Requeue(Exception):
    """Hand the message back to RabbitMQ: another card takes the task."""


class Guard:
    """Checked at every progress tick: a cancel broadcast, or the card gone from the reader."""

    def __init__(self, cancel, slot):
        self.cancel, self.slot = cancel, slot

    # cancellable.run polls these while a command runs (zstd unpacking the image into the host's cache,
    # shared with other slots: a removed card is seen at the next check, not by killing the unpacking).
    @property
    def canceled(self):
        return self.cancel.canceled

    @property
    def reason(self):
        return self.cancel.reason

    def check(self):
        self.cancel.check()
        if not self.slot.card_still_there():
            raise CardFailed("card removed mid-write")

    def wait(self, seconds):
        """A faults.Backoff stop: a cancel ends the wait at once; after it, a removed card fails the task."""
        self.cancel.wait(seconds)
        self.check()


class SlotReporter:
    """The task's Reporter, whose progress also shows on the slot (heartbeat, systemd STATUS)."""

    def __init__(self, reporter, slot):
        self.reporter, self.slot = reporter, slot

    def progress(self, step, done, total, rate, eta=None):
        self.slot.progress(step, 100.0 * done / total if total else 0.0, rate, done=done, total=total, eta=eta)
        return self.reporter.progress(step, done, total, rate, eta)


class WriteJob:
    def __init__(self, slot, settings, reporter, tokens, cache, cancel, username, ca_file=None):
        self.slot = slot
        self.settings = settings
        self.reporter = reporter
        self.progress = SlotReporter(reporter, slot)
        self.tokens = tokens
        self.cache = cache
        self.guard = Guard(cancel, slot)
        self.username = username
        self.ca_file = ca_file
        # The slot shows a retry too, as its step.
        self.retry = faults.Retry(settings.get("retry_window", 600), say=retry_teller(reporter, self.progress.progress),
                                  stop=self.guard)

    def run(self, payload):
        """The slot is busy with its checked card; returns the outcome, or raises Requeue."""
        task_id, order = payload["task"], payload.get("order")
        self.slot.progress("received", task=task_id, order=order)  # the accepted claim made the task `received`
        try:
            self.guard.check()
            result = self._write(payload)
        except Canceled as exc:
            self.slot.move("failed", f"task {task_id} canceled mid-write: {exc}")
            self.reporter.status("canceled", note=str(exc))
            return "canceled"
        except CardFailed as exc:
            self._hand_back(str(exc), refused=isinstance(exc, CardTooSmall))
        except Exception as exc:
            retryable = isinstance(exc, faults.GaveUp) or faults.is_transient(exc)
            if isinstance(exc, IMAGE_FAILURES) or retryable:
                note = str(exc) if isinstance(exc, IMAGE_FAILURES) else f"{exc}: {faults.cause(exc)}"
                log.warning("task %s failed: %s", task_id, note)
                self.slot.untouched()  # the card waits for the next task
                self.reporter.status("failed", note=note, result={"retryable": True} if retryable else None)
                return "failed"
            log.exception("task %s: unexpected error on slot %s", task_id, self.slot.number)
            self._hand_back(f"internal error: {type(exc).__name__}: {exc}")
        self.slot.move("done", f"order {order} written and verified; remove the card")
        self.reporter.status("written", result=result)
        return "written"

    def _hand_back(self, reason, refused=False):
        message = f"slot {self.slot.number}: {reason}; the task goes back to the queue"
        log.warning("%s", message)
        if refused:
            self.slot.refuse(reason)
        else:
            self.slot.move("failed", reason)
        self.reporter.log(message, level="warning")
        self.reporter.status("requeued", note=message)
        raise Requeue(reason)

    def _write(self, payload):
        image, card = payload.get("image") or {}, self.slot.card
        needs = int(image.get("image_size") or 0)
        if needs > card.size:
            raise CardTooSmall(f"card too small for order {payload.get('order')}: needs ≥ {_gigabytes(needs)} "
                             f"(card of {card.gigabytes:.1f} GB)")
        self.reporter.status("downloading")
        cached = self.cache.get(image, self._fetcher(payload), self.guard,
                                Ticker(self.progress, "downloading", self.guard))
        with cached:
            self.reporter.status("writing")
            try:
                mapped = burn.write(cached.path, cached.bmap, card.device,
                                    Ticker(self.progress, "writing", self.guard))
                self.guard.check()
                self.reporter.status("verifying")
                verified = burn.verify(cached.path, cached.bmap, card.device,
                                       Ticker(self.progress, "verifying", self.guard))
            except burn.BurnError as exc:
                raise CardFailed(str(exc)) from None
            except OSError as exc:  # the card went away under an open descriptor
                raise CardFailed(f"card error: {exc.strerror or exc}") from None
            return {"host": socket.gethostname(), "slot": self.slot.number, "image": cached.name,
                    "sha256": cached.sha256, "image_size": cached.size, "mapped_bytes": mapped,
                    "verified_bytes": verified, "card": {"size": card.size, "serial": card.serial}}

    def _fetcher(self, payload):
        url = (payload.get("warehouse") or {}).get("download_url")

        def fetch(remote, local, progress):
            if not url:
                raise ImageError("the order's warehouse has no download URL", transient=False)

            def once():
                token = self.retry(self.tokens.access_token, "scheduler", f"scheduler {self.tokens.client.base_url}")
                with WarehouseClient(url, self.username, token, self.ca_file) as client:
                    return client.download(remote, local, progress=progress)

            return self.retry(once, "warehouse", f"warehouse {url}")

        return fetch


def _gigabytes(size):
    return f"{-(-size // 10**8) / 10:g} GB"
