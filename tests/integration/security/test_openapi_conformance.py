"""Point 11: generated requests to every non-destructive route get answers that match the OpenAPI document.

Runs schemathesis (all checks: no 5xx, status codes, content types, headers
and bodies as documented) with an admin token, against a scheduler of its
own so that what it creates does not disturb the shared fixtures.
"""

import pytest
import schemathesis
from schemathesis import experimental
from hypothesis import HealthCheck, settings

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


schema = schemathesis.from_pytest_fixture("api_schema").exclude(path_regex=DESTRUCTIVE).exclude(method="DELETE") \
    .exclude(method="PATCH", path="/users/{username}")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_openapi_document(case, fuzz_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_token}"})
