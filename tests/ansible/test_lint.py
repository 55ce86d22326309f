"""ansible/ stays ansible-lint clean (production profile) and its playbooks pass --syntax-check."""

import os
import subprocess

from tests.ansible.test_templates import REPO


def test_make_lint_ansible_passes(ansible_bin):
    done = subprocess.run(["make", "-s", "lint-ansible"], cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": os.environ.get("HOME", "/root"), "NO_COLOR": "1"})
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "Profile 'production' was required, and it passed" in done.stdout + done.stderr
    assert "playbook: site.yml" in done.stdout and "playbook: upgrade.yml" in done.stdout
