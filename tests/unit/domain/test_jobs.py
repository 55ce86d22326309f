"""The job catalogue matches the beat's implementations."""

import inspect

import jsonschema

from cardshop.beat.jobs import JOBS
from cardshop.domain.jobs import CATALOGUE, parameters


def test_the_catalogue_names_every_job_the_beat_runs():
    assert set(CATALOGUE) == set(JOBS)


def test_each_job_takes_exactly_the_parameters_the_catalogue_declares():
    for name, job in JOBS.items():
        assert parameters(name) == list(inspect.signature(job).parameters)[1:], name


def test_each_parameter_schema_is_a_valid_json_schema():
    for schema in CATALOGUE.values():
        jsonschema.Draft202012Validator.check_schema(schema)
