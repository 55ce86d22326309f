"""Preflight against a real HTTP server: a size the recipe gives is what the download must be."""

import os

import pytest

from cardshop.creator.fetch import opener
from cardshop.creator.preflight import PreflightError, preflight
from devstack import samples
from devstack.servers import ContentServer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    content = ContentServer(str(tmp_path_factory.mktemp("preflight-content")))
    content.start()
    yield content
    content.stop()


@pytest.fixture(scope="module")
def zim(server):
    path = samples.make_random_file(server.root, "wiki.zim", 1024 * 1024 + 7)
    return f"{server.url}/wiki.zim", os.path.getsize(path)


def check(server, tmp_path, size):
    recipe = {"output": {"size": "64M"}, "files": [
        {"to": "/data/a.txt", "content": "hello"},
        {"to": "/data/wiki.zim", "url": f"{server.url}/wiki.zim", "size": size}]}
    return preflight(recipe, 4, str(tmp_path), str(tmp_path), margin=0, opener=opener([server.allowed]))


def test_a_size_given_that_matches_the_url_passes(server, zim, tmp_path):
    url, size = zim
    plan = check(server, tmp_path, size)
    assert plan["sizes"] == {url: size} and plan["content"] == size + 5


def test_a_size_given_that_differs_from_the_url_fails_naming_both(server, zim, tmp_path):
    url, size = zim
    with pytest.raises(PreflightError) as failure:
        check(server, tmp_path, size - 7)
    assert str(failure.value) == (f"recipe.files[1].size: the recipe says {size - 7} bytes but {url} "
                                  f"serves {size} bytes")
