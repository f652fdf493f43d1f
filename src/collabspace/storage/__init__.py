"""Storage layer: one small protocol (:class:`Store`) and its backends.

Open a store from the address a user types with :func:`open_store`:

==============================  ==========================================
``./some/folder`` or ``/abs``   a local directory (the embedded default)
``file:///abs/path``            the same, as a URL
``s3://bucket[/prefix]``        an S3-compatible bucket (AWS variables)
``hf://buckets/ns/name[/p]``    a Hugging Face bucket (HF_TOKEN or ``hf auth login``)
``memory://name``               an in-process store, for tests
==============================  ==========================================
"""

from __future__ import annotations

from ..errors import InvalidInput
from .base import ObjectInfo, Store, Upload, check_key, key_problem
from .obstores import LocalStore, memory_store, s3_store

__all__ = ["ObjectInfo", "Store", "Upload", "check_key", "key_problem", "open_store", "space_kind"]


def space_kind(url: str) -> str:
    """Which backend an address names: ``local``, ``s3``, ``hf`` or ``memory``."""
    for scheme in ("s3", "hf", "memory"):
        if url.startswith(f"{scheme}://"):
            return scheme
    if "://" in url and not url.startswith("file://"):
        scheme = url.split("://", 1)[0]
        raise InvalidInput(
            f"unsupported space address {url!r} (scheme {scheme}://)",
            hint="use a folder path, s3://bucket/prefix or hf://buckets/NAMESPACE/NAME",
        )
    return "local"


def open_store(url: str, *, create: bool = False) -> Store:
    """Open the store behind a space address.

    Args:
        url: a folder path, ``file://``, ``s3://bucket/prefix`` or ``memory://name``.
        create: for a local folder, create it if missing (``collab init``).

    Raises:
        InvalidInput: the address is malformed or its scheme unknown.
        NotFound: a local folder that does not exist, unless ``create``.
    """
    if not url:
        raise InvalidInput("no space given", hint="pass --space PATH or set COLLAB_SPACE")
    kind = space_kind(url)
    if kind == "memory":
        return memory_store(url[len("memory://") :])
    if kind == "s3":
        rest = url[len("s3://") :].strip("/")
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise InvalidInput(f"no bucket in {url!r}", hint="write it as s3://BUCKET/optional/prefix")
        if prefix:
            check_key(prefix)
        return s3_store(bucket, prefix, url=f"s3://{rest}")
    if kind == "hf":
        from .hf import HFBucketStore, parse_hf_url

        bucket_id, prefix = parse_hf_url(url)
        return HFBucketStore(bucket_id, prefix)
    path = url[len("file://") :] if url.startswith("file://") else url
    return LocalStore(path, create=create)
