"""Debian's own nginx.conf around a rendered cardshop_front site, on a test's own paths.

The site lives in conf.d, inside the http block Debian's nginx.conf opens, with
the directives Debian sets there: a test of the site alone would miss a clash.
"""

import re
import shutil
import subprocess

DEBIAN_CONF = "/etc/nginx/nginx.conf"


def nginx_binary():
    return shutil.which("nginx") or "/usr/sbin/nginx"


def main_conf(site, folder):
    """The path of Debian's nginx.conf rewritten to include only `site`, its pid, logs and temp files in `folder`."""
    with open(DEBIAN_CONF) as handle:
        text = handle.read()
    text = re.sub(r"^\s*include /etc/nginx/conf\.d/\*\.conf;", f"\tinclude {site};", text, flags=re.M)
    text = re.sub(r"^\s*include /etc/nginx/sites-enabled/\*;", "", text, flags=re.M)
    text = re.sub(r"^\s*pid [^;]*;", f"pid {folder}/nginx-master.pid;", text, flags=re.M)
    text = re.sub(r"^(\s*)error_log [^;]*;", rf"\1error_log {folder}/error.log;", text, flags=re.M)
    text = re.sub(r"^(\s*)access_log [^;]*;", r"\1access_log off;", text, flags=re.M)
    temp = "".join(f"\t{kind}_temp_path {folder}/{kind}_temp;\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    text = re.sub(r"^http \{\n", "http {\n" + temp, text, count=1, flags=re.M)
    path = f"{folder}/nginx.conf"
    with open(path, "w") as handle:
        handle.write(text)
    return path


def check(site, folder):
    """nginx -t of `site` within Debian's nginx.conf: (exit code, stderr)."""
    done = subprocess.run([nginx_binary(), "-t", "-q", "-c", main_conf(site, folder), "-p", str(folder)],
                          capture_output=True, text=True, timeout=30)
    return done.returncode, done.stderr
