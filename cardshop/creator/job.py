"""One create task, from its message to an image in the warehouse.

    received -> preflight -> downloading -> building -> uploading -> done
                      \\-> failed (with the reason)    \\-> canceled

The build folder is removed however it ends. A dependency that is away
(content server, warehouse, scheduler) is retried with back-off for the
configured window (cardshop.faults decides what is transient); other errors
end the task `failed` at once with a reason an operator can act on. A
failure after the window is marked retryable, for the beat or an admin. The
message is acknowledged either way, since a new try is the beat's decision.
"""

import logging
import os
import shutil
import threading
import time

from cardshop import faults
from cardshop.cancellable import Canceled, CommandError
from cardshop.client import ApiUnreachable
from cardshop.creator.cache import DownloadError
from cardshop.creator.preflight import PreflightError, free_bytes, preflight
from cardshop.image import layout
from cardshop.image.build import BuildError, build_image, decompress_base, stage_files, tree_size
from cardshop.image.outputs import make_outputs
from cardshop.client import CredentialsError
from cardshop.pipeline.reports import Ticker, retry_teller
from cardshop.recipes import card_capacity
from cardshop.client.warehouse import WarehouseClient, WarehouseError

log = logging.getLogger(__name__)

KNOWN_FAILURES = (PreflightError, DownloadError, BuildError, layout.LayoutError, CommandError,
                  WarehouseError, CredentialsError, ApiUnreachable, faults.GaveUp)


class Heartbeat:
    """Progress while a tool works silently: `measure()` gives (done, total) every `interval` s."""

    def __init__(self, reporter, step, measure, interval=1.5):
        self.reporter, self.step, self.measure, self.interval = reporter, step, measure, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.started = time.monotonic()

    def _loop(self):
        while not self._stop.wait(self.interval):
            try:
                done, total = self.measure()
            except OSError:
                continue
            rate = done / max(time.monotonic() - self.started, 1e-6)
            eta = (total - done) / rate if rate > 0 and total > done else None
            self.reporter.progress(self.step, min(done, total), total, rate, eta)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _allocated(path):
    return os.stat(path).st_blocks * 512 if os.path.exists(path) else 0


class CreateJob:
    def __init__(self, settings, reporter, tokens, cache, cancel, username, ca_file=None):
        self.settings = settings
        self.reporter = reporter
        self.tokens = tokens
        self.cache = cache
        self.cancel = cancel
        self.username = username
        self.ca_file = ca_file
        self.retry = faults.Retry(settings.get("retry_window", 600), say=retry_teller(reporter), stop=cancel)

    def run(self, payload):
        task_id = payload["task"]
        build = os.path.join(self.settings["build_dir"], task_id)
        shutil.rmtree(build, ignore_errors=True)  # a redelivered task starts clean
        os.makedirs(build)
        try:  # the accepted claim made the task `received`
            self.cancel.check()
            result = self._create(payload, build)
        except Canceled as exc:
            self.reporter.status("canceled", note=str(exc))
            return "canceled"
        except Exception as exc:  # report it rather than leave the task hanging
            retryable = isinstance(exc, faults.GaveUp) or faults.is_transient(exc)
            if isinstance(exc, KNOWN_FAILURES) or retryable:
                log.warning("task %s failed: %s", task_id, exc)
                note = str(exc) if isinstance(exc, KNOWN_FAILURES) else f"{exc}: {faults.cause(exc)}"
            else:
                log.exception("task %s failed unexpectedly", task_id)
                note = f"internal error: {type(exc).__name__}: {exc}"
            # A retryable failure is one the beat (or an admin) may try again as a new task.
            self.reporter.status("failed", note=note, result={"retryable": True} if retryable else None)
            return "failed"
        finally:
            shutil.rmtree(build, ignore_errors=True)
        self.reporter.status("done", result=result)
        return "done"

    def _create(self, payload, build):
        recipe, card_size = payload["recipe"], payload["card_size"]
        plan = self.retry(lambda: preflight(recipe, card_size, self.settings["cache_dir"],
                                            self.settings["build_dir"], self.settings["disk_margin_bytes"],
                                            opener=self.cache.opener),
                          "content server")
        self.reporter.log(f"preflight: {plan['downloads']} bytes to fetch, {plan['content']} bytes of content")

        self.reporter.status("downloading")
        staging = os.path.join(build, "data")
        os.makedirs(staging)
        base_path = self._download_and_stage(recipe, plan, staging, build)

        self.reporter.status("building")
        self.cancel.check()
        size = plan["output_size"]
        base_raw = None
        if base_path:
            raw_path = os.path.join(build, "base.raw")
            limit, holder = (size, "output.size") if size else (card_capacity(card_size), f"a {card_size} GB card")
            room = free_bytes(build) - self.settings["disk_margin_bytes"]
            with Heartbeat(self.reporter, "decompressing",
                           lambda: (_allocated(raw_path), max(_allocated(raw_path), 1))):
                base_raw = decompress_base(base_path, raw_path, limit, holder, room, self.cancel)
        base_name = recipe["base"]["source"] if base_raw else None
        base_end = layout.used_end(layout.base_table(base_raw, base_name)) if base_raw else 0
        chosen_card = card_size
        if size is None:
            data_bytes, count = tree_size(staging)
            chosen_card, size = layout.auto_size(base_end, data_bytes, count)
            if size > card_capacity(card_size):
                raise BuildError(f"the content needs a {chosen_card} GB card; the order is for {card_size} GB")
        image = os.path.join(build, "image.img")
        content = max(tree_size(staging)[0] + base_end, 1)
        with Heartbeat(self.reporter, "building", lambda: (_allocated(image), content)):
            built = build_image(image, size, staging, base_raw, self.cancel, base_name=base_name)
        if base_raw and base_raw != base_path:
            os.unlink(base_raw)
        shutil.rmtree(staging)
        outputs_dir = os.path.join(build, "out")
        os.makedirs(outputs_dir)
        outputs = make_outputs(image, outputs_dir, payload["image_name"], self.settings["zstd_threads"],
                               progress=Ticker(self.reporter, "compressing", self.cancel), cancel=self.cancel)
        os.unlink(image)

        self.reporter.status("uploading")
        files = self._upload(payload, outputs_dir, outputs["files"])
        return {"warehouse": payload["warehouse"]["name"], "folder": payload["task"], "files": files,
                "sha256": outputs["sha256"], "image_size": outputs["image_size"],
                "compressed_size": outputs["compressed_size"], "mapped_size": outputs["mapped_size"],
                "card_size": chosen_card, "data_offset": built["data_offset"]}

    def _download_and_stage(self, recipe, plan, staging, build):
        total = max(plan["downloads"], 1)
        done = 0
        base_path = None
        entries = []
        try:
            if recipe.get("base"):
                base = recipe["base"]
                entry = self._fetch(base["source"], base.get("checksum"), done, total, plan["sizes"][base["source"]])
                entries.append(entry)
                # Keep the base's extension: it says how to decompress it.
                base_path = os.path.join(build, "base" + _suffix(base["source"]))
                try:
                    os.link(entry.path, base_path)
                except OSError:  # the cache is on another file system
                    shutil.copyfile(entry.path, base_path)
                done += plan["sizes"][base["source"]]
            staged = []
            for item in recipe.get("files", []):
                if "url" in item:
                    entry = self._fetch(item["url"], item.get("checksum"), done, total, plan["sizes"][item["url"]])
                    entries.append(entry)
                    done += plan["sizes"][item["url"]]
                    staged.append({**item, "local": entry.path})
                else:
                    staged.append(item)
            try:
                stage_files(staged, staging, plan["staging_limit"])
            except BuildError as exc:
                for entry in entries:
                    if entry.path == exc.archive:
                        entry.discard()  # a bomb is not worth keeping
                raise
        finally:
            for entry in entries:
                entry.close()
        return base_path

    def _fetch(self, url, checksum, done, total, size):
        """The cache entry for `url` (at most `size` bytes), retrying and resuming while its server is away."""
        ticker = Ticker(self.reporter, "downloading", self.cancel, offset=done, total=total)
        return self.retry(lambda: self.cache.get(url, checksum, ticker, self.cancel, size=size), "content server")

    def _upload(self, payload, directory, names):
        url = payload["warehouse"]["upload_url"]
        if not url:
            raise WarehouseError("the order's warehouse has no upload URL", transient=False)
        total = sum(os.path.getsize(os.path.join(directory, name)) for name in names.values())
        sent = [0]
        paths = {}

        def upload_the_rest():  # each try resumes: finished files are skipped, a .part continues
            token = self.retry(self.tokens.access_token, "scheduler", f"scheduler {self.tokens.client.base_url}")
            with WarehouseClient(url, self.username, token, self.ca_file) as client:
                for key, name in names.items():
                    if key in paths:
                        continue
                    ticker = Ticker(self.reporter, "uploading", self.cancel, offset=sent[0], total=total)
                    paths[key] = client.upload(os.path.join(directory, name), payload["task"], progress=ticker)
                    sent[0] += os.path.getsize(os.path.join(directory, name))
            return paths

        return self.retry(upload_the_rest, "warehouse", f"warehouse {url}")


def _suffix(url):
    name = url.rsplit("/", 1)[-1].split("?")[0]
    for suffix in (".xz", ".gz", ".zst"):
        if name.endswith(suffix):
            return ".img" + suffix
    return ".img"
