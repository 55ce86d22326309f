"""The bmaptool adapter refuses a bmaptool that lacks a private name the writer sets or reads."""

from cardshop.writer import bmap


def test_the_installed_bmaptool_has_every_name_the_writer_uses():
    assert bmap.missing_names() == []
    assert bmap.version()[0].isdigit()


def test_a_bmaptool_that_renamed_an_attribute_or_a_method_is_named_as_lacking_them():
    class Renamed:
        def __init__(self):
            self._batch_size_blocks = 1  # was _batch_blocks
            self._batch_queue_len = self._dest_fsync_watermark = 1
            self._batch_queue = None

        def _report_progress(self, blocks):  # was _update_progress
            return blocks

    assert bmap.missing_names(Renamed) == ["_batch_blocks", "_update_progress"]


def test_names_used_only_inside_a_nested_function_count():
    class Nested:
        def copy(self):
            def reader():
                return self._batch_queue, self._batch_blocks, self._batch_queue_len, self._dest_fsync_watermark
            return reader

        def _update_progress(self, blocks):
            return blocks

    assert bmap.missing_names(Nested) == []
