"""Generated requests to every non-destructive route get answers that match the OpenAPI document.

Runs schemathesis with an admin token, against a scheduler of its own so
that what it creates does not disturb the shared fixtures: valid and invalid
data (bodies, query strings, path parameters) and all checks (no 5xx, status
codes, content types, headers and bodies as documented, invalid data
refused with 4xx, no answer without the token). Bounded and derandomized, so
a run is the same run every time.
"""

import pytest
import schemathesis
from schemathesis import DataGenerationMethod, experimental
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi._hypothesis import get_schema_for_location
from schemathesis.specs.openapi.checks import negative_data_rejection

from cardshop.client import ApiClient
from devstack.servers import Scheduler

experimental.OPEN_API_3_1.enable()  # our document is OpenAPI 3.1 (JSON Schema types such as ["string", "null"])

# Routes that would end the admin's session or account, or delete what others use.
DESTRUCTIVE = r"^(/auth/revoke|/users/\{username\}/password)$"


@pytest.fixture(scope="module")
def fuzzed_scheduler(tmp_path_factory, ferretdb):
    server = Scheduler(str(tmp_path_factory.mktemp("fuzz")), ferretdb.url, db_name="fuzz",
                       overrides={"auth": {"bcrypt_rounds": 4}})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_schema(fuzzed_scheduler):
    return schemathesis.from_uri(f"{fuzzed_scheduler.url}/openapi.json", base_url=fuzzed_scheduler.url)


@pytest.fixture(scope="module")
def fuzz_token(fuzzed_scheduler):
    return ApiClient(fuzzed_scheduler.url).post("/auth/authorize", fuzzed_scheduler.admin).body["access_token"]


schema = schemathesis.from_pytest_fixture("api_schema", data_generation_methods=DataGenerationMethod.all()) \
    .exclude(path_regex=DESTRUCTIVE).exclude(method="DELETE").exclude(method="PATCH", path="/users/{username}")


def really_negative(case):
    """Whether a case is invalid once it carries our token. schemathesis 3.38 negates the bearer header
    (we always send a valid one; its `ignored_auth` check sends none) and counts absent path parameters
    as negated; extra query parameters or headers alone prove nothing (its own rule)."""
    meta = case.meta
    if meta is None or not case.data_generation_method.is_negative:
        return False
    if meta.body is not None and meta.body.is_negative:
        return True
    if case.path_parameters and meta.path_parameters is not None and meta.path_parameters.is_negative:
        return True
    if case.query and meta.query is not None and meta.query.is_negative:
        parameters = case.operation.query
        # As sent: an empty list or object is no parameter at all, a one-item list is that one value.
        sent = {name: value[0] if isinstance(value, list) and len(value) == 1 else value
                for name, value in case.query.items() if value not in ([], {})}
        known = {name: value for name, value in sent.items() if name in parameters}
        query_schema = get_schema_for_location(case.operation, "query", parameters)
        return not case.operation.schema.validator_cls(query_schema).is_valid(known)
    return False


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_openapi_document(case, fuzz_token):
    excluded = () if really_negative(case) else (negative_data_rejection,)
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_token}"}, excluded_checks=excluded)
