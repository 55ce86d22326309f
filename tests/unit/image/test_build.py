"""Unpacking a recipe's archive: plain files and folders only, nothing outside its folder."""

import io
import os
import tarfile

import pytest

from cardshop.image.build import BuildError, _Budget, _extract


def archive(tmp_path, *members):
    path = tmp_path / "bundle.tar"
    with tarfile.open(path, "w") as bundle:
        for member, data in members:
            bundle.addfile(member, io.BytesIO(data) if data is not None else None)
    return str(path)


def extract(path, destination):
    _extract(path, "tar", destination, _Budget(None), "bundle.tar")


def plain(name, data=b"hello"):
    member = tarfile.TarInfo(name)
    member.size = len(data)
    return member, data


def link(name, target, kind=tarfile.SYMTYPE):
    member = tarfile.TarInfo(name)
    member.type, member.linkname = kind, target
    return member, None


def test_plain_files_and_folders_are_unpacked(tmp_path):
    folder = tarfile.TarInfo("docs")
    folder.type = tarfile.DIRTYPE
    extract(archive(tmp_path, (folder, None), plain("docs/readme.txt")), str(tmp_path / "out"))
    assert (tmp_path / "out" / "docs" / "readme.txt").read_bytes() == b"hello"


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/escape.txt", "a/../../escape.txt"])
def test_a_member_outside_its_folder_is_refused_before_anything_is_written(tmp_path, name):
    path = archive(tmp_path, plain("first.txt"), plain(name))
    with pytest.raises(BuildError, match="would land outside its folder"):
        extract(path, str(tmp_path / "out"))
    assert os.listdir(tmp_path / "out") == []


@pytest.mark.parametrize("member", [link("inside", "first.txt"), link("hard", "first.txt", tarfile.LNKTYPE)])
def test_links_are_refused(tmp_path, member):
    with pytest.raises(BuildError, match="not a plain file or folder"):
        extract(archive(tmp_path, plain("first.txt"), member), str(tmp_path / "out"))
