"""Publishing to object storage: make a bucket (under a prefix) hold exactly the built documents.

Each document becomes an object at the same relative key, with the Content-Type and Cache-Control the server sends
for it (``responses.CachePolicy``), so a CDN in front of the bucket serves what ``syndicate serve`` would.

What to upload is decided against what the bucket holds, not against local state, so that two machines can publish in
turn: the listing's ETag of an object uploaded in one part is the MD5 of its bytes, compared with the document's. A
listing does not carry an object's headers, so a small manifest object (``MANIFEST``, beside the documents) records
the Content-Type and Cache-Control each key was given; an object whose bytes match but that the manifest does not
vouch for is checked with a HEAD. The manifest is removed before a publish changes anything and written again only
after it finished, so a publish that fails half-way (or another tool writing to the bucket) leaves no manifest that
could vouch for headers it did not give, and the next publish checks them.

Order, for a bucket that serves a consistent set even when a publish fails half-way: documents new to the bucket
first (nothing in the bucket links to them yet), then changed archive pages, then the other changed documents
(subscription feeds and the OPML list, which link to both), and deletions last. A phase starts only when the one
before it completed; within a phase uploads run concurrently (``publish_concurrency``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence, Set
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from syndicate.config import Settings, s3_target
from syndicate.documents import Document
from syndicate.groups import ARCHIVE_DIR
from syndicate.polling import Schedule, feed_schedules, max_age_of
from syndicate.responses import CachePolicy

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from syndicate.builder import FeedSet

log = logging.getLogger("syndicate.publish")

MANIFEST = ".syndicate-publish.json"
_MANIFEST_CACHE_CONTROL = "no-store"
_ARCHIVE_PREFIX = f"{ARCHIVE_DIR}/"
_DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys


class PublishError(Exception):
    """A publish that could not complete; the message is one line saying why. What was deleted: nothing, unless the
    uploads had all succeeded."""


@dataclass(frozen=True)
class Target:
    """Where to publish: a bucket, a key prefix ('' or ending in '/'), and the endpoint of an S3-compatible service
    (None: AWS S3)."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None

    @classmethod
    def from_url(cls, url: str, endpoint_url: str | None = None, where: str = "--to") -> Target:
        bucket, prefix = s3_target(url, where)
        return cls(bucket, prefix, endpoint_url or None)

    @classmethod
    def from_settings(cls, settings: Settings) -> Target:
        return cls.from_url(settings.publish_to, settings.publish_endpoint, "setting 'publish_to'")

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True)
class Wanted:
    """A document as the bucket should hold it."""

    md5: str  # hex, as an ETag gives it
    content_type: str
    cache_control: str

    def as_json(self) -> list[str]:
        return [self.md5, self.content_type, self.cache_control]


@dataclass(frozen=True)
class PublishPlan:
    """What one publish does, by phase (see the module docstring); paths are relative to the prefix."""

    new: tuple[str, ...]  # not in the bucket
    archives: tuple[str, ...]  # changed archive pages
    linking: tuple[str, ...]  # every other changed document (bytes or headers)
    deleted: tuple[str, ...]
    unchanged: int

    @property
    def uploads(self) -> tuple[str, ...]:
        return self.new + self.archives + self.linking

    @property
    def changes(self) -> bool:
        return bool(self.uploads or self.deleted)


@dataclass(frozen=True)
class PublishReport:
    target: str
    uploaded: tuple[str, ...]
    deleted: tuple[str, ...]
    unchanged: int
    requests: int  # HTTP requests sent to the service, retries included
    duration: float

    def summary(self) -> str:
        if not self.uploaded and not self.deleted:
            return f"{self.target}: up to date, nothing uploaded ({self.unchanged} documents, {self.requests} requests)"
        return (
            f"{self.target}: {len(self.uploaded)} uploaded, {len(self.deleted)} deleted, {self.unchanged} unchanged "
            f"({self.requests} requests, {self.duration:.2f}s)"
        )


def md5_hex(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


class Digests:
    """MD5s of documents' bytes, remembered by the document's own digest: a server publishing after every build hashes
    only what changed."""

    def __init__(self) -> None:
        self._known: dict[str, str] = {}

    def wanted(
        self, documents: Mapping[str, Document], policy: CachePolicy, schedules: Mapping[str, Schedule]
    ) -> dict[str, Wanted]:
        """What each document's object must be: its MD5, media type and the Cache-Control the server sends for it
        (``schedules``: each feed's, polling.feed_schedules)."""
        known, fresh = self._known, {}
        result = {}
        for path, document in documents.items():
            md5 = known.get(document.digest) or md5_hex(document.body)
            fresh[document.digest] = md5
            cache_control = policy.cache_control_for(path, max_age_of(schedules, path, policy.max_age))
            result[path] = Wanted(md5, document.media_type, cache_control.decode("ascii"))
        self._known = fresh
        return result


def plan_publish(
    wanted: Mapping[str, Wanted], held: Mapping[str, str], stale_headers: Set[str] = frozenset()
) -> PublishPlan:
    """The plan from the documents ``wanted``, the ETags the bucket ``held`` (by path) and the paths whose objects have
    the wanted bytes but not the wanted headers."""
    new: list[str] = []
    archives: list[str] = []
    linking: list[str] = []
    unchanged = 0
    for path in sorted(wanted):
        want = wanted[path]
        etag = held.get(path)
        if etag is None:
            new.append(path)
        elif etag != want.md5:
            (archives if path.startswith(_ARCHIVE_PREFIX) else linking).append(path)
        elif path in stale_headers:
            linking.append(path)  # the same bytes: nothing links to it anew, so no order matters
        else:
            unchanged += 1
    deleted = tuple(sorted(path for path in held if path not in wanted and path != MANIFEST))
    return PublishPlan(tuple(new), tuple(archives), tuple(linking), deleted, unchanged)


def connect(target: Target, concurrency: int) -> S3Client:
    """An S3 client for ``target``: credentials and region as the AWS tools find them (environment, ~/.aws files)."""
    import boto3
    from botocore.config import Config

    config = Config(
        max_pool_connections=concurrency,
        connect_timeout=5,
        read_timeout=30,
        retries={"mode": "standard", "max_attempts": 3},
        # S3-compatible services answer path-style requests without a wildcard DNS name per bucket.
        s3={"addressing_style": "path"} if target.endpoint_url else None,
    )
    session = boto3.session.Session()
    # A region is needed to sign; an S3-compatible service without one configured takes any.
    region = session.region_name or ("us-east-1" if target.endpoint_url else None)
    return session.client("s3", endpoint_url=target.endpoint_url, region_name=region, config=config)


class _Counter:
    """Counts the HTTP requests a client sends (botocore's before-send event, so retries count)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, **_: Any) -> None:
        with self._lock:
            self.count += 1


def publish(
    client: S3Client,
    target: Target,
    documents: Mapping[str, Document],
    policy: CachePolicy,
    *,
    schedules: Mapping[str, Schedule] | None = None,
    concurrency: int = 16,
    digests: Digests | None = None,
) -> PublishReport:
    """Make ``target`` hold exactly ``documents``; PublishError (one line) when it cannot."""
    started = time.perf_counter()
    counter = _Counter()
    client.meta.events.register("before-send.s3", counter)
    try:
        wanted = (digests or Digests()).wanted(documents, policy, schedules or {})
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="publish") as pool:
            bucket = _Bucket(client, target, pool)
            held = bucket.listing()
            recorded = bucket.manifest() if MANIFEST in held else {}
            unvouched = [p for p, w in wanted.items() if held.get(p) == w.md5 and recorded.get(p) != w.as_json()]
            plan = plan_publish(wanted, held, bucket.stale_headers(unvouched, wanted))
            manifest = {path: want.as_json() for path, want in sorted(wanted.items())}
            if plan.changes:
                if MANIFEST in held:
                    bucket.delete_manifest()  # see the module docstring: it must not outlive a failed publish
                for phase in (plan.new, plan.archives, plan.linking):
                    bucket.upload(phase, documents, wanted)
                bucket.delete(plan.deleted)
            if plan.changes or recorded != manifest:
                bucket.put_manifest(manifest)
    finally:
        client.meta.events.unregister("before-send.s3", counter)
    return PublishReport(
        str(target), plan.uploads, plan.deleted, plan.unchanged, counter.count, time.perf_counter() - started
    )


class _Bucket:
    """The requests one publish makes, each turning the client's errors into PublishError."""

    def __init__(self, client: S3Client, target: Target, pool: ThreadPoolExecutor) -> None:
        self.client = client
        self.target = target
        self.pool = pool

    def listing(self) -> dict[str, str]:
        """Every key under the prefix (relative to it) with its ETag, unquoted."""
        held: dict[str, str] = {}
        prefix = self.target.prefix
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.target.bucket, Prefix=prefix)
            for page in pages:
                for item in page.get("Contents", ()):
                    held[item["Key"][len(prefix) :]] = item.get("ETag", "").strip('"').lower()
        except Exception as exc:
            raise PublishError(describe(exc, self.target)) from exc
        return held

    def manifest(self) -> dict[str, list[str]]:
        """The manifest's entries ({} when it cannot be read: every matching object's headers are then checked)."""
        try:
            body = self.client.get_object(Bucket=self.target.bucket, Key=self.target.prefix + MANIFEST)["Body"].read()
            data = json.loads(body)
        except ValueError:
            return {}
        except Exception as exc:
            raise PublishError(describe(exc, self.target)) from exc
        if not isinstance(data, dict):
            return {}
        return {p: v for p, v in data.items() if isinstance(v, list) and all(isinstance(x, str) for x in v)}

    def stale_headers(self, paths: Sequence[str], wanted: Mapping[str, Wanted]) -> set[str]:
        """Those of ``paths`` whose objects' Content-Type or Cache-Control is not the wanted one (a HEAD each)."""
        stale: set[str] = set()

        def check(path: str) -> None:
            head = self.client.head_object(Bucket=self.target.bucket, Key=self.target.prefix + path)
            want = wanted[path]
            if (head.get("ContentType"), head.get("CacheControl")) != (want.content_type, want.cache_control):
                stale.add(path)

        self._run(check, paths, "header check")
        return stale

    def upload(self, paths: Sequence[str], documents: Mapping[str, Document], wanted: Mapping[str, Wanted]) -> None:
        """Upload ``paths`` concurrently; when any fails, the others still finish and PublishError names one."""

        def put(path: str) -> None:
            want = wanted[path]
            self.client.put_object(
                Bucket=self.target.bucket,
                Key=self.target.prefix + path,
                Body=documents[path].body,
                ContentType=want.content_type,
                CacheControl=want.cache_control,
                # The service checks the bytes it stored against it: a body damaged on the way is refused.
                ContentMD5=base64.b64encode(bytes.fromhex(want.md5)).decode("ascii"),
            )

        self._run(put, paths, "upload")

    def delete(self, paths: Sequence[str]) -> None:
        batches = [paths[i : i + _DELETE_BATCH] for i in range(0, len(paths), _DELETE_BATCH)]

        def remove(batch: Sequence[str]) -> None:
            answer = self.client.delete_objects(
                Bucket=self.target.bucket,
                Delete={"Objects": [{"Key": self.target.prefix + p} for p in batch], "Quiet": True},
            )
            errors = answer.get("Errors", ())
            if errors:
                first = errors[0]
                raise PublishError(f"cannot delete {first.get('Key')}: {first.get('Code')}: {first.get('Message')}")

        self._run(remove, batches, "delete")

    def delete_manifest(self) -> None:
        try:
            self.client.delete_object(Bucket=self.target.bucket, Key=self.target.prefix + MANIFEST)
        except Exception as exc:
            raise PublishError(describe(exc, self.target)) from exc

    def put_manifest(self, manifest: Mapping[str, list[str]]) -> None:
        body = json.dumps(manifest, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            self.client.put_object(
                Bucket=self.target.bucket,
                Key=self.target.prefix + MANIFEST,
                Body=body,
                ContentType="application/json",
                CacheControl=_MANIFEST_CACHE_CONTROL,
            )
        except Exception as exc:
            raise PublishError(describe(exc, self.target)) from exc

    def _run(self, action: Callable[[Any], None], items: Sequence[Any], verb: str) -> None:
        if not items:
            return
        futures = [(item, self.pool.submit(action, item)) for item in items]
        failed = [(item, exc) for item, future in futures if (exc := future.exception()) is not None]
        if failed:
            item, exc = failed[0]
            name = item if isinstance(item, str) else item[0] if len(item) == 1 else f"a batch from {item[0]}"
            raise PublishError(
                f"{len(failed)} of {len(items)} {verb}s failed (first: {name}: {describe(exc, self.target)}); "
                "the bucket still serves a consistent set: publish again to complete it"
            ) from exc


def describe(exc: BaseException, target: Target) -> str:
    """One line saying what went wrong, in the words of what the user can fix."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    if isinstance(exc, PublishError):
        return str(exc)
    where = target.endpoint_url or "AWS S3"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        message = error.get("Message", "") or str(exc)
        if code == "NoSuchBucket":
            return f"bucket {target.bucket!r} does not exist at {where}"
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"):
            return f"{where} refused the credentials ({code}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        if code in ("AccessDenied", "403"):
            return f"{where} denied access to s3://{target.bucket}/{target.prefix} ({message})"
        return f"{where} answered {code or 'an error'}: {message}"
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach {where}: {exc}"
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def publish_feedset(settings: Settings, target: Target, feedset: FeedSet) -> PublishReport:
    """One publish of a build's documents with a client of its own (the ``publish`` command)."""
    client = connect(target, settings.publish_concurrency)
    return publish(
        client,
        target,
        feedset.documents,
        CachePolicy.from_settings(settings),
        schedules=feed_schedules(settings, feedset.groups),
        concurrency=settings.publish_concurrency,
    )
