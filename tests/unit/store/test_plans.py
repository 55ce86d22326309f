"""Reading DocumentDB's plans: which nodes read a whole collection."""

import pytest

from cardshop.store.plans import PlanError, describe, plan_nodes, whole_collection

IN = "(document OPERATOR(documentdb_api_catalog.@*=) 'BSONHEX00'::documentdb_core.bson)"
NIN = "(document OPERATOR(documentdb_api_catalog.@!*=) 'BSONHEX00'::documentdb_core.bson)"
EQUALS = "(document OPERATOR(documentdb_api_catalog.@=) 'BSONHEX00'::documentdb_core.bson)"


def index_scan(condition, name="status_1"):
    return {"Node Type": "Bitmap Index Scan", "Index Name": name, "Index Cond": condition}


def test_a_seq_scan_reads_the_whole_collection():
    assert whole_collection({"Node Type": "Seq Scan", "Relation Name": "documents_2"})


def test_an_index_scan_on_a_condition_does_not():
    assert not whole_collection(index_scan(IN))
    assert not whole_collection(index_scan(f"({NIN} AND {EQUALS})", "worker_1_status_1"))


def test_an_index_scan_on_a_nin_alone_walks_every_entry():
    assert whole_collection(index_scan(NIN))


def test_the_id_index_walked_for_the_shard_key_alone_reads_every_document():
    assert whole_collection(index_scan("(shard_key_value = '2'::bigint)", "_id_"))


def test_the_nodes_come_top_first_and_are_described_with_their_index():
    explained = {"queryPlanner": {"Plan": {"Node Type": "Limit", "Plans": [
        {"Node Type": "Bitmap Heap Scan", "Plans": [index_scan(NIN)]}]}}}
    nodes = plan_nodes(explained)
    assert describe(nodes) == "Limit > Bitmap Heap Scan > Bitmap Index Scan on status_1 (every document)"


def test_an_explain_without_a_postgresql_plan_is_refused():
    with pytest.raises(PlanError, match="no PostgreSQL plan"):
        plan_nodes({"queryPlanner": {"winningPlan": {}}})
