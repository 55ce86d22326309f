"""Helpers shared by the resource routes: lookups, pages, public views."""

import pymongo

from cardshop.api.routing import ApiError
from cardshop.store import is_id

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
    page = query.get("page", 1)
    per_page = query.get("per_page", DEFAULT_PER_PAGE)
    cursor = (collection.find(filters, projection).sort(sort)
              .skip((page - 1) * per_page).limit(per_page))
    return {"items": [view(doc) for doc in cursor], "page": page, "per_page": per_page,
            "total": collection.count_documents(filters)}


NEWEST_FIRST = [("created_at", pymongo.DESCENDING), ("_id", pymongo.DESCENDING)]
