"""What an order is found by: its search terms, and the keys that find a prefix of them through one index.

An order's terms (`search`) are, lowercased: its id and its short id (the end the pages show), the
recipient's email, each word of the recipient's
name, the shipment's tracking number and who placed it. A search finds the orders with a term that starts
with each word of the text.

DocumentDB (FerretDB 2) tests a `$regex`, anchored or not, against every key of the index it uses, so
its cost grows with the collection; an equality is one probe of the index. Each order therefore also
keeps `search_keys`: the prefixes of each term of KEY_LENGTHS characters (every length up to 8, then a
few longer ones). A word is looked up by equality on its longest such prefix, and when it is longer
than that key, the orders found are checked against the whole word. The longer keys keep that check
short when many terms share their first characters (school42@…, school4242@…: docs/operations/database.md
has the figures). Orders from before these fields
get them from `orders.backfill_search`.
"""

from cardshop.store import paging
from cardshop.validation import short_id

# Prefix lengths kept as keys: every one up to 8 (an id's first 8 hex digits change every second), then
# a few, so that a long word's key is rarely shared by more than a handful of orders.
KEY_LENGTHS = (1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32)
FIELDS = ("search", "search_keys")  # stored on each order, never shown


def terms(order):
    """The order's search terms: lowercased, each once, sorted."""
    recipient = order.get("recipient") or {}
    order_id = order.get("_id")
    found = [order_id, isinstance(order_id, str) and short_id(order_id), recipient.get("email"), *(recipient.get("name") or "").split(),
             (order.get("shipment") or {}).get("tracking_number"), order.get("created_by")]
    return sorted({term.lower() for term in found if isinstance(term, str) and term.strip()})


def keys(order_terms):
    """The prefixes of KEY_LENGTHS characters of each term, each once, sorted."""
    return sorted({term[:length] for term in order_terms for length in KEY_LENGTHS if length <= len(term)})


def fields(order):
    """The fields an order is searched by, to store on it ({"search": ..., "search_keys": ...})."""
    order_terms = terms(order)
    return {"search": order_terms, "search_keys": keys(order_terms)}


def words(text):
    """The lowercased words of a search text; an order matches when each starts one of its terms."""
    return text.lower().split()


def literal(text):
    """A regular expression matching `text` literally: every character but letters and digits written as
    its code point (\\x{hh}), so no byte of the pattern is special, nor a NUL that PostgreSQL refuses."""
    return "".join(char if char.isalnum() else f"\\x{{{ord(char):x}}}" for char in text)


def condition(word):
    """The filter for orders with a term starting with `word` (lowercased)."""
    length = max(length for length in KEY_LENGTHS if length <= len(word))
    if length == len(word):
        return {"search_keys": word}
    return {"search_keys": word[:length], "search": {"$regex": "^" + literal(word)}}


def matching(text):
    """The filter for orders where each word of `text` starts one of their terms, taken literally, ignoring
    case (`search_keys` has the index; `search` is only read to check a long word)."""
    conditions = [condition(word) for word in words(text)]
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


def few_matches(collection, filters):
    """Whether at most paging.FEW documents match (a search by an email, an id or a rare name), counted
    through the search index and no further than paging.FEW + 1."""
    return collection.count_documents(filters, limit=paging.FEW + 1) <= paging.FEW
