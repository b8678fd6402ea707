"""Where backups live: a local directory or an S3 bucket, behind one small interface.

Layout (both): `<root>/<system>/<backup id>/dump.archive.gz` and `.../manifest.json`.
Writers stream: the local writer writes `<name>.partial` and renames it when committed; the S3
writer uploads parts (multipart upload, bounded memory: `part_size` x (`max_inflight` + 1))
and completes the upload only on commit. An aborted writer leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import urlsplit

from harness.errors import HarnessError
from harness.redact import redact

PART_SIZE = max(5, int(os.environ.get("HARNESS_S3_PART_MB", "8"))) * 1024 * 1024  # S3's minimum part: 5 MiB
MAX_INFLIGHT = 2
DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


class Writer(Protocol):
    def write(self, data: bytes) -> None: ...
    def commit(self) -> int: ...
    def abort(self) -> None: ...


class Store(Protocol):
    url: str

    def check(self) -> None: ...
    def require_existing(self) -> None: ...
    def writer(self, key: str) -> Writer: ...
    def put_bytes(self, key: str, data: bytes) -> None: ...
    def get_bytes(self, key: str) -> bytes | None: ...
    def size(self, key: str) -> int | None: ...
    def read_chunks(self, key: str, chunk: int = 1 << 20) -> Iterator[bytes]: ...
    def list_keys(self, prefix: str) -> list[str]: ...
    def delete_prefix(self, prefix: str) -> None: ...


@dataclass
class S3Options:
    endpoint_url: str | None = None
    sse: str | None = None  # "AES256" or "aws:kms"
    kms_key_id: str | None = None
    storage_class: str | None = None  # STANDARD, STANDARD_IA, GLACIER_IR, ...
    region: str | None = None


def open_store(dest: str, s3: S3Options | None = None) -> Store:
    """`s3://bucket/prefix` or a local directory path."""
    if dest.startswith("s3://"):
        parts = urlsplit(dest)
        if not parts.netloc:
            raise HarnessError(f"bad S3 destination {dest!r}", "use s3://bucket[/prefix]")
        return S3Store(parts.netloc, parts.path.strip("/"), s3 or S3Options())
    if "://" in dest:
        raise HarnessError(f"unsupported destination {redact(dest)!r}", "use a local directory or s3://bucket/prefix")
    return LocalStore(Path(dest))


def _disk_error(exc: OSError, where: str) -> HarnessError:
    if exc.errno in DISK_FULL:
        return HarnessError(f"disk full while writing {where}", "free space or choose another --to; "
                            "the partial backup was removed")
    return HarnessError(f"cannot write {where}: {exc.strerror or exc}")


# ---------------------------------------------------------------------------------------------
# Local directory.


class _LocalWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(path.name + ".partial")
        self.size = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._f: BinaryIO | None = open(self.tmp, "wb")  # noqa: SIM115 - closed in commit/abort
        except OSError as exc:
            raise _disk_error(exc, str(path)) from exc

    def write(self, data: bytes) -> None:
        assert self._f is not None
        try:
            self._f.write(data)
        except OSError as exc:
            self.abort()
            raise _disk_error(exc, str(self.path)) from exc
        self.size += len(data)

    def commit(self) -> int:
        assert self._f is not None
        try:
            self._f.flush()
            os.fsync(self._f.fileno())
            self._f.close()
            self._f = None
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.abort()
            raise _disk_error(exc, str(self.path)) from exc
        return self.size

    def abort(self) -> None:
        if self._f is not None:
            with contextlib.suppress(OSError):
                self._f.close()
            self._f = None
        self.tmp.unlink(missing_ok=True)


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = str(root)

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _disk_error(exc, str(self.root)) from exc
        if not os.access(self.root, os.W_OK):
            raise HarnessError(f"backup directory {self.root} is not writable")

    def require_existing(self) -> None:
        """Readers (list, prune, restore) need a store that exists: a typo is not an empty store."""
        if not self.root.is_dir():
            what = "is not a directory" if self.root.exists() else "does not exist"
            raise HarnessError(f"backup store {self.root} {what}",
                               "check --to/--from (or HARNESS_BACKUP_STORE); `harness backup SYSTEM` creates it")

    def writer(self, key: str) -> Writer:
        return _LocalWriter(self.root / key)

    def put_bytes(self, key: str, data: bytes) -> None:
        w = _LocalWriter(self.root / key)
        w.write(data)
        w.commit()

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            return None

    def size(self, key: str) -> int | None:
        try:
            return (self.root / key).stat().st_size
        except FileNotFoundError:
            return None

    def read_chunks(self, key: str, chunk: int = 1 << 20) -> Iterator[bytes]:
        try:
            f = open(self.root / key, "rb")  # noqa: SIM115 - generator closes it
        except FileNotFoundError as exc:
            raise HarnessError(f"archive {self.root / key} is missing") from exc
        with f:
            while data := f.read(chunk):
                yield data

    def list_keys(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.is_dir():
            return []
        return sorted(str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file())

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self.root / prefix, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# S3.


def _s3_error(exc: Exception, bucket: str, what: str) -> HarnessError:
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
    )
    from botocore.exceptions import (
        ConnectionError as BotoConnectionError,
    )

    if isinstance(exc, EndpointConnectionError | BotoConnectionError):
        return HarnessError(f"S3 is unreachable while {what}: {redact(str(exc))}",
                            "check the endpoint (--s3-endpoint / AWS_ENDPOINT_URL) and the network")
    if isinstance(exc, NoCredentialsError):
        return HarnessError(f"no AWS credentials for S3 while {what}",
                            "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or an AWS profile")
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("NoSuchBucket", "404") or (status == 404 and what.startswith("checking")):
            return HarnessError(f"S3 bucket {bucket!r} does not exist", "create it or fix the --to URL")
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled"):
            return HarnessError(f"access denied to S3 bucket {bucket!r} while {what} ({code})",
                                "check the credentials and the bucket policy (s3:PutObject, s3:GetObject, "
                                "s3:ListBucket, s3:DeleteObject)")
        return HarnessError(f"S3 error while {what}: {code} {redact(str(exc))}")
    return HarnessError(f"S3 failure while {what}: {redact(str(exc))}")


def _s3_client(opts: S3Options) -> Any:
    import boto3
    from botocore.config import Config

    cfg = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60,
                 s3={"addressing_style": "path"} if opts.endpoint_url else None)
    region = opts.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client("s3", endpoint_url=opts.endpoint_url, region_name=region, config=cfg)


class _S3Writer:
    def __init__(self, store: S3Store, key: str) -> None:
        self.store, self.key = store, store.full(key)
        self.size = 0
        self._buf = bytearray()
        self._parts: list[Future[dict[str, Any]]] = []
        self._pool = ThreadPoolExecutor(max_workers=MAX_INFLIGHT, thread_name_prefix="s3-part")
        self._slots = threading.Semaphore(MAX_INFLIGHT)
        self._upload_id: str | None = None
        try:
            resp = store.client.create_multipart_upload(Bucket=store.bucket, Key=self.key, **store.put_args())
        except Exception as exc:
            self._pool.shutdown(wait=False)
            raise _s3_error(exc, store.bucket, "starting the upload") from exc
        self._upload_id = resp["UploadId"]

    def write(self, data: bytes) -> None:
        self._buf += data
        self.size += len(data)
        while len(self._buf) >= PART_SIZE:
            part = bytes(self._buf[:PART_SIZE])
            del self._buf[:PART_SIZE]
            self._submit(part)

    def _submit(self, part: bytes) -> None:
        self._raise_failed()
        self._slots.acquire()
        number = len(self._parts) + 1
        future = self._pool.submit(self._upload, number, part)
        future.add_done_callback(lambda _: self._slots.release())
        self._parts.append(future)

    def _upload(self, number: int, part: bytes) -> dict[str, Any]:
        resp = self.store.client.upload_part(Bucket=self.store.bucket, Key=self.key, UploadId=self._upload_id,
                                             PartNumber=number, Body=part,
                                             ContentMD5=_md5_b64(part))
        return {"PartNumber": number, "ETag": resp["ETag"]}

    def _raise_failed(self) -> None:
        for f in self._parts:
            if f.done() and f.exception() is not None:
                exc = f.exception()
                self.abort()
                raise _s3_error(exc, self.store.bucket, "uploading") from exc  # type: ignore[arg-type]

    def commit(self) -> int:
        try:
            if self._buf or not self._parts:
                self._submit(bytes(self._buf))
                self._buf = bytearray()
            parts = [f.result() for f in self._parts]
            self.store.client.complete_multipart_upload(Bucket=self.store.bucket, Key=self.key,
                                                        UploadId=self._upload_id, MultipartUpload={"Parts": parts})
        except HarnessError:
            raise
        except Exception as exc:
            self.abort()
            raise _s3_error(exc, self.store.bucket, "completing the upload") from exc
        finally:
            self._pool.shutdown(wait=False)
        self._upload_id = None
        return self.size

    def abort(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._upload_id:
            # best effort; a bucket lifecycle rule (AbortIncompleteMultipartUpload) cleans up leftovers
            with contextlib.suppress(Exception):
                self.store.client.abort_multipart_upload(Bucket=self.store.bucket, Key=self.key,
                                                         UploadId=self._upload_id)
            self._upload_id = None
        self._buf = bytearray()


def _md5_b64(data: bytes) -> str:
    import base64

    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


class S3Store:
    def __init__(self, bucket: str, prefix: str, opts: S3Options) -> None:
        self.bucket, self.prefix, self.opts = bucket, prefix, opts
        self.url = f"s3://{bucket}/{prefix}".rstrip("/")
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _s3_client(self.opts)
        return self._client

    def full(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_args(self, storage_class: str | None = None) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if self.opts.sse:
            args["ServerSideEncryption"] = self.opts.sse
            if self.opts.kms_key_id:
                args["SSEKMSKeyId"] = self.opts.kms_key_id
        if storage_class or self.opts.storage_class:
            args["StorageClass"] = storage_class or self.opts.storage_class
        return args

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise _s3_error(exc, self.bucket, "checking the bucket") from exc

    def require_existing(self) -> None:
        self.check()

    def writer(self, key: str) -> Writer:
        return _S3Writer(self, key)

    def put_bytes(self, key: str, data: bytes, storage_class: str | None = None) -> None:
        args = self.put_args(storage_class)
        if storage_class is None:
            args.pop("StorageClass", None)  # small metadata objects stay in STANDARD
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.full(key), Body=data, **args)
        except Exception as exc:
            raise _s3_error(exc, self.bucket, f"writing {key}") from exc

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.full(key))["Body"].read()
        except Exception as exc:
            if _missing(exc):
                return None
            raise _s3_error(exc, self.bucket, f"reading {key}") from exc

    def size(self, key: str) -> int | None:
        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=self.full(key))["ContentLength"])
        except Exception as exc:
            if _missing(exc):
                return None
            raise _s3_error(exc, self.bucket, f"reading {key}") from exc

    def head(self, key: str) -> dict[str, Any]:
        return self.client.head_object(Bucket=self.bucket, Key=self.full(key))

    def read_chunks(self, key: str, chunk: int = 1 << 20) -> Iterator[bytes]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.full(key))["Body"]
        except Exception as exc:
            raise _s3_error(exc, self.bucket, f"reading {key}") from exc
        try:
            yield from body.iter_chunks(chunk)
        finally:
            body.close()

    def list_keys(self, prefix: str) -> list[str]:
        out: list[str] = []
        strip = len(self.full(""))
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                               Prefix=self.full(prefix)):
                out += [o["Key"][strip:] for o in page.get("Contents", [])]
        except Exception as exc:
            raise _s3_error(exc, self.bucket, "listing backups") from exc
        return sorted(out)

    def delete_prefix(self, prefix: str) -> None:
        keys = [self.full(k) for k in self.list_keys(prefix)]
        try:
            for i in range(0, len(keys), 1000):
                self.client.delete_objects(Bucket=self.bucket,
                                           Delete={"Objects": [{"Key": k} for k in keys[i:i + 1000]]})
        except Exception as exc:
            raise _s3_error(exc, self.bucket, f"deleting {prefix}") from exc


def _missing(exc: Exception) -> bool:
    from botocore.exceptions import ClientError

    return isinstance(exc, ClientError) and str(exc.response.get("Error", {}).get("Code")) in (
        "NoSuchKey", "404", "NotFound")
