"""Helpers shared by the resource routes: lookups, pages, public views."""

import base64
import binascii
import datetime
import json

from cardshop.api.routing import ApiError
from cardshop.store import is_id, paging

DEFAULT_PER_PAGE = 50


def lookup(collection, doc_id, what, projection=None):
    """The document with this id, or 404 naming what was looked for."""
    if not is_id(doc_id):
        raise ApiError(404, f"no {what} {doc_id!r}: ids are 24 hex digits")
    doc = collection.find_one({"_id": doc_id}, projection)
    if doc is None:
        raise ApiError(404, f"no {what} {doc_id!r}")
    return doc


def paginate(collection, query, filters, sort, projection=None, view=lambda doc: doc):
    """A numbered page and the total: for the small collections (users, recipes, warehouses, schedules),
    where skipping and counting cost nothing. Histories page with `newest_page`."""
    page = query.get("page", 1)
    per_page = query.get("per_page", DEFAULT_PER_PAGE)
    cursor = (collection.find(filters, projection).sort(sort)
              .skip((page - 1) * per_page).limit(per_page))
    return {"items": [view(doc) for doc in cursor], "page": page, "per_page": per_page,
            "total": collection.count_documents(filters)}


def newest_page(collection, query, filters, projection=None, view=lambda doc: doc, bounded=False):
    """A page of a history (orders, tasks), newest first, after the position the query's `after` names;
    `next` names the position after its last item (null on the last page). `bounded`: the filters
    match few documents (store/paging.py)."""
    per_page = query.get("per_page", DEFAULT_PER_PAGE)
    after = decode_position(query["after"]) if "after" in query else None
    docs, more = paging.newest_first(collection, filters, per_page, after, projection, bounded=bounded)
    return {"items": [view(doc) for doc in docs], "per_page": per_page,
            "next": encode_position(paging.position(docs[-1])) if more else None}


def encode_position(position):
    """An opaque, URL-safe name for a (created_at, _id) position."""
    created_at, doc_id = position
    text = json.dumps([created_at.astimezone(datetime.timezone.utc).isoformat(), doc_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_position(cursor):
    """The position `encode_position` named; 400 for anything else."""
    problem = "query parameter 'after': not a position this API gave (pass the 'next' of the page before)"
    try:
        created_at, doc_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        created_at = datetime.datetime.fromisoformat(created_at)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise ApiError(400, problem) from None
    if not is_id(doc_id) or created_at.tzinfo is None:
        raise ApiError(400, problem)
    return created_at, doc_id
