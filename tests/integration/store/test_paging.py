"""Keyset pages of a history, newest first, on the real database: every document once, in order, whatever the
gaps in time, ties in created_at and filters; and each query reads a window of time, not the history."""

import datetime

import bson
import pytest

from cardshop.store import paging
from cardshop.store.db import INDEXES

START = datetime.datetime(2021, 3, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture
def history(db):
    """A collection indexed as the orders are: the engine's plans (and its mistakes) are the orders' own."""
    collection = db[f"paging_{bson.ObjectId()}"]
    for keys, options in INDEXES["orders"]:
        collection.create_index(keys, **options)
    yield collection
    collection.drop()


def doc(created_at, **fields):
    return {"_id": str(bson.ObjectId()), "created_at": created_at, **fields}


def all_pages(collection, filters, per_page, moment=None, bounded=False):
    """Every page in turn; [[ids of a page], ...]."""
    pages, after = [], None
    while True:
        docs, more = paging.newest_first(collection, filters, per_page, after, moment=moment, bounded=bounded)
        pages.append([found["_id"] for found in docs])
        if not more:
            return pages
        after = paging.position(docs[-1])


def newest_first(docs):
    return [found["_id"] for found in sorted(docs, key=lambda found: (found["created_at"], found["_id"]), reverse=True)]


def test_pages_give_every_document_once_newest_first_across_gaps_and_ties(history):
    # Bursts, a gap of years, and orders placed in the same millisecond.
    docs = [doc(START + datetime.timedelta(seconds=index)) for index in range(23)]
    docs += [doc(START - datetime.timedelta(days=900 + index)) for index in range(5)]
    docs += [doc(START + datetime.timedelta(days=30)) for _ in range(12)]
    docs += [doc(START + datetime.timedelta(days=400, minutes=index)) for index in range(4)]
    history.insert_many(docs)
    pages = all_pages(history, {}, 5)
    assert [found for page in pages for found in page] == newest_first(docs)
    assert all(len(page) == 5 for page in pages[:-1]) and 0 < len(pages[-1]) <= 5


@pytest.mark.parametrize("bounded", [False, True], ids=["by windows", "bounded: one query"])
def test_a_filter_pages_only_what_it_matches(history, bounded):
    docs = [doc(START + datetime.timedelta(hours=index // 3), status="failed" if index % 7 == 0 else "shipped")
            for index in range(100)]
    history.insert_many(docs)
    pages = all_pages(history, {"status": {"$in": ["failed"]}}, 4, bounded=bounded)
    assert [found for page in pages for found in page] == newest_first(
        [found for found in docs if found["status"] == "failed"])
    assert all(len(page) == 4 for page in pages[:-1])


def test_the_last_page_says_nothing_follows_and_an_empty_history_is_one_empty_page(history):
    assert paging.newest_first(history, {}, 10) == ([], False)
    history.insert_many([doc(START + datetime.timedelta(minutes=index)) for index in range(10)])
    docs, more = paging.newest_first(history, {}, 10)
    assert len(docs) == 10 and not more
    docs, more = paging.newest_first(history, {}, 9)
    assert len(docs) == 9 and more


def test_documents_newer_than_the_moment_are_on_the_first_page(history):
    # A clock ahead of the reader's (another host) must not hide its orders.
    late = doc(START + datetime.timedelta(days=3))
    history.insert_many([late, doc(START)])
    docs, _ = paging.newest_first(history, {}, 10, moment=START)
    assert [found["_id"] for found in docs] == [late["_id"], docs[1]["_id"]]


def test_the_newest_page_reads_the_newest_window_only(history, monkeypatch):
    # The first query of a page is bounded below by a time window: what it sorts is the recent history.
    history.insert_many([doc(START - datetime.timedelta(days=index)) for index in range(200)])
    seen = []
    find = type(history).find

    def recording(self, query, *args, **kwargs):
        seen.append(query)
        return find(self, query, *args, **kwargs)

    monkeypatch.setattr(type(history), "find", recording)
    docs, more = paging.newest_first(history, {}, 3, moment=START)
    assert len(docs) == 3 and more
    lower = [condition["created_at"]["$gte"] for query in seen
             for condition in query.get("$and", [query]) if "$gte" in condition.get("created_at", {})]
    # The page spans 3 days (4 documents with the one that says more follow); windows grow 4 times.
    assert lower and min(lower) >= START - datetime.timedelta(days=3 * paging.GROWTH), seen
