"""writer.yaml from the operator's answers: valid for the writer, password 0600 by path, never inline."""

import os
import stat

import pytest

from cardshop.config.load import load_config
from cardshop.config.writer import SCHEMA
from cardshop.writer_helper import configure

ANSWERS = {"scheduler": "https://cardshop.example/api", "broker": "amqps://broker.example:5671/cardshop",
           "username": "writer-paris", "password": "s3cret pass"}


def test_the_answers_make_a_writer_yaml_the_writer_loads(tmp_path):
    config = configure.document({**ANSWERS, "http_proxy": "http://proxy.example:3128",
                                 "warehouse_ca_file": "/etc/ssl/ca.pem"},
                                str(tmp_path / "secrets" / "writer.password"), "/etc/cardshop/slots.yaml")
    loaded = configure.write(str(tmp_path / "writer.yaml"), config, str(tmp_path / "secrets" / "writer.password"),
                             "s3cret pass")
    assert loaded["broker"]["url"] == ANSWERS["broker"] and loaded["broker"]["username"] == "writer-paris"
    assert loaded["scheduler"]["api_url"] == ANSWERS["scheduler"]
    assert loaded["writer"]["http_proxy"] == "http://proxy.example:3128"
    assert loaded["writer"]["slots_file"] == "/etc/cardshop/slots.yaml"
    assert loaded["warehouse"]["ca_file"] == "/etc/ssl/ca.pem"
    assert load_config(SCHEMA, str(tmp_path / "writer.yaml")) == loaded


def test_the_password_is_kept_in_a_0600_file_and_not_in_writer_yaml(tmp_path):
    secret = tmp_path / "secrets" / "writer.password"
    configure.write(str(tmp_path / "writer.yaml"), configure.document(ANSWERS, str(secret), "/s.yaml"),
                    str(secret), "s3cret pass")
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    assert secret.read_text() == "s3cret pass\n"
    assert "s3cret" not in (tmp_path / "writer.yaml").read_text()


def test_reconfiguring_keeps_the_hosts_other_writer_settings(tmp_path):
    existing = {"writer": {"cache_dir": "/srv/images", "capacity_check": False, "http_proxy": "http://old:1"},
                "logging": {"level": "debug"}}
    config = configure.document(ANSWERS, "/p", "/s.yaml", existing)
    assert config["writer"] == {"cache_dir": "/srv/images", "capacity_check": False, "slots_file": "/s.yaml"}
    assert config["logging"] == {"level": "debug"}


def test_an_existing_file_that_is_not_yaml_is_ignored(tmp_path):
    path = tmp_path / "writer.yaml"
    path.write_text("broker: [unclosed")
    assert configure.read_existing(str(path)) == {}


@pytest.mark.parametrize("change, message", [
    ({"broker": "amqp://broker.example:5672/cardshop"}, "plain amqp:// is only allowed on loopback"),
    ({"broker": "amqps://user:pw@broker.example/cardshop"}, "key 'broker'"),
    ({"scheduler": "ftp://x"}, "key 'scheduler'"),
    ({"username": "Writer.Paris"}, "key 'username'"),
    ({"colour": "blue"}, "unknown key 'colour'"),
    ({"password": None}, "key 'password'"),
])
def test_bad_answers_are_refused_naming_the_key(change, message):
    answers = {**ANSWERS, **change}
    if change.get("password", "") is None:
        del answers["password"]
    with pytest.raises(configure.ConfigureError, match=message) as raised:
        configure.check_answers(answers)
    assert raised.value.kind == "answers"


def test_the_password_may_come_from_a_file(tmp_path):
    path = tmp_path / "pw"
    path.write_text("from a file\n")
    assert configure.password({"password_file": str(path)}) == "from a file"
    path.write_text("\n")
    with pytest.raises(configure.ConfigureError, match="is empty"):
        configure.password({"password_file": str(path)})

