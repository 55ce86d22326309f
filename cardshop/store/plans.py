"""Reading the plans of FerretDB 2 over PostgreSQL with DocumentDB: which index a query uses, or whether it
reads the whole collection.

FerretDB passes PostgreSQL's EXPLAIN on in `queryPlanner.Plan` (a tree of nodes: "Node Type", "Plans",
"Index Name", "Index Cond", ...). A node reads the whole collection when it is a Seq Scan, when it walks
the `_id_` index with no condition on the document (what DocumentDB does for an unfiltered read), or when
its only condition on the document is a negation (`$nin`, `$ne`: DocumentDB answers them from the index,
walking every entry but the excluded ones). See docs/operations/database.md, "Query plans".
"""

# DocumentDB's operators for $nin and $ne in an index condition: the index is read for every other value.
NEGATIONS = ("OPERATOR(documentdb_api_catalog.@!*=)", "OPERATOR(documentdb_api_catalog.@!=)")


class PlanError(Exception):
    """The engine answered an explain without a PostgreSQL plan (not FerretDB 2 with DocumentDB?)."""


def explain(db, command):
    """The engine's plan for `command` (a find, count, aggregate, delete ... command document), not run."""
    return db.command({"explain": command, "verbosity": "queryPlanner"})


def plan_nodes(explained):
    """The nodes of an explain's PostgreSQL plan, top first."""
    nodes, pending = [], [explained.get("queryPlanner", {}).get("Plan")]
    while pending:
        node = pending.pop(0)
        if isinstance(node, dict):
            nodes.append(node)
            pending[:0] = node.get("Plans", [])
    if not nodes:
        raise PlanError(f"no PostgreSQL plan in this explain: {str(explained)[:300]}")
    return nodes


def whole_collection(node):
    """True for a node that reads every document (see the module's docstring)."""
    if node["Node Type"] == "Seq Scan":
        return True
    if "Index Name" not in node:
        return False
    condition = node.get("Index Cond") or ""
    if "shard_key_value" in condition and "document" not in condition:
        return True
    terms = [term for term in condition.split(" AND ") if "document OPERATOR" in term]
    return bool(terms) and all(any(negation in term for negation in NEGATIONS) for term in terms)


def describe(nodes):
    """'Limit > Sort > Bitmap Heap Scan > Bitmap Index Scan on status_1_created_at_-1' (whole-collection reads marked)."""
    words = []
    for node in nodes:
        word = node["Node Type"] + (f" on {node['Index Name']}" if "Index Name" in node else "")
        if whole_collection(node) and node["Node Type"] != "Seq Scan":
            word += " (every document)"
        words.append(word)
    return " > ".join(words)
