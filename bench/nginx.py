"""nginx (Debian) serving one built feed file, for reference: a temp prefix, a free loopback port, our user.

The feed is exposed at the same URL path as syndicate serves it, as a symlink into the built directory
plus a ``.gz`` sibling for ``gzip_static`` — syndicate also compresses once per build, not per request.
"""

from __future__ import annotations

import contextlib
import getpass
import gzip
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from bench._process import LOOPBACK, free_port, running

_CONFIG = """\
daemon off;
master_process on;
worker_processes 1;
{user}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    types {{
        application/rss+xml rss;
        application/atom+xml atom;
        application/feed+json json;
    }}
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    gzip_static on;
    etag on;
    server {{
        listen {host}:{port};
        root {root};
    }}
}}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


@contextlib.contextmanager
def serve_file(built: Path, url_path: str) -> Iterator[str]:
    """Serve ``built`` at ``url_path`` on a free loopback port; yields the base URL."""
    with serve_files({url_path: built}) as base:
        yield base


@contextlib.contextmanager
def serve_files(files: Mapping[str, Path]) -> Iterator[str]:
    """Serve each built file at its URL path (``files``, not empty) on a free loopback port; yields the base URL."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (Debian: apt-get install nginx)")
    with tempfile.TemporaryDirectory(prefix="bench-nginx-") as tmp:
        prefix = Path(tmp)
        os.chmod(prefix, 0o755)  # workers may run as another user when we are root
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / "tmp" / sub).mkdir(parents=True)
        root = prefix / "root"
        for url_path, built in files.items():
            target = root / url_path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(built.resolve())
            Path(str(target) + ".gz").write_bytes(gzip.compress(built.read_bytes(), compresslevel=9, mtime=0))
        port = free_port()
        # As root, workers default to "nobody"; keep them as us so they can read the built directory.
        user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
        config = prefix / "nginx.conf"
        config.write_text(
            _CONFIG.format(user=user, prefix=prefix, host=LOOPBACK, port=port, root=root), encoding="utf-8"
        )
        subprocess.run(
            [binary, "-t", "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")],
            check=True,
            capture_output=True,
            timeout=30,
        )
        base = f"http://{LOOPBACK}:{port}"
        command = [binary, "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")]
        with running(command, base + next(iter(files)), log=prefix / "stdout.log", timeout=30):
            yield base


@contextlib.contextmanager
def serve_site(prefix: Path, site: str, port: int, ready_path: str) -> Iterator[str]:
    """Run nginx with ``site`` (a shipped deploy/ server block, already pointed at ``port`` on loopback) as its
    only site, one worker, logs off, under ``prefix``; yields the base URL once ``ready_path`` answers."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (Debian: apt-get install nginx)")
    prefix.mkdir(parents=True, exist_ok=True)
    os.chmod(prefix, 0o755)  # workers may run as another user when we are root
    temp = ""
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / kind).mkdir(parents=True, exist_ok=True)
        temp += f"    {kind}_temp_path {prefix / 'tmp' / kind};\n"
    (prefix / "site.conf").write_text(site, encoding="utf-8")
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
    config = prefix / "nginx.conf"
    config.write_text(
        f"daemon off;\nmaster_process on;\nworker_processes 1;\n{user}pid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/error.log warn;\nevents {{ worker_connections 1024; }}\n"
        f"http {{\n    access_log off;\n    keepalive_requests 1000000;\n{temp}"
        f"    include {prefix / 'site.conf'};\n}}\n",
        encoding="utf-8",
    )
    command = [binary, "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")]
    subprocess.run([binary, "-t", *command[1:]], check=True, capture_output=True, timeout=30)
    base = f"http://{LOOPBACK}:{port}"
    with running(command, base + ready_path, log=prefix / "stdout.log", timeout=30):
        yield base
