"""The few S3 requests obstore cannot make, signed here with AWS Signature V4 (stdlib only).

obstore 0.12 neither lists a listing whose keys it cannot parse (``a//b``) nor lists or aborts
incomplete multipart uploads. Those three calls are made here, on the bucket obstore uses:

* ``ListObjectsV2`` (``GET /bucket?list-type=2``), for listings with odd keys;
* ``ListMultipartUploads`` (``GET /bucket?uploads``), for ``collab doctor``;
* ``AbortMultipartUpload`` (``DELETE /bucket/key?uploadId=...``).

Credentials come from the standard AWS variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``), like the rest of the S3 store. Every request
has an empty body, so the payload hash is the empty string's. No S3 library is a runtime
dependency for this: botocore signs the same requests in the tests, which compare the two.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from ..errors import StoreError

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_UNRESERVED = "-_.~"
_HINT = "check that the store is reachable and configured (collab ls to test)"


class S3Target:
    """Where an S3 store's bucket is: scheme, host, the bucket's path, the store's key prefix, the region."""

    def __init__(self, bucket: str, prefix: str, endpoint: str | None, region: str, virtual_hosted: bool) -> None:
        self.bucket, self.prefix, self.region = bucket, prefix, region
        base = endpoint or f"https://s3.{region}.amazonaws.com"
        parts = urllib.parse.urlsplit(base)
        self.scheme = parts.scheme or "https"
        if virtual_hosted:
            self.host, self.path = f"{bucket}.{parts.netloc}", parts.path.rstrip("/") + "/"
        else:
            self.host, self.path = parts.netloc, parts.path.rstrip("/") + f"/{bucket}"

    @property
    def root(self) -> str:
        """The store's prefix as a key prefix (``"space/"``, or ``""``)."""
        return self.prefix + "/" if self.prefix else ""

    def object_path(self, key: str) -> str:
        """The request path of the store's ``key`` (prefix added), unencoded."""
        return self.path.rstrip("/") + "/" + self.root + key


@dataclass(frozen=True)
class Response:
    status: int
    date: datetime | None  # the server's clock, from its Date header
    body: bytes


def _quote(text: str, safe: str = _UNRESERVED) -> str:
    return urllib.parse.quote(text, safe=safe)


def sign(target: S3Target, method: str, path: str, query: dict[str, str], *,
         now: datetime | None = None) -> tuple[str, dict[str, str]]:
    """The URL and the AWS Signature V4 headers of a body-less request on ``path`` (unencoded) with ``query``.

    A query value of ``""`` is sent as ``name=`` (``?uploads=``), which S3 reads as ``?uploads``.
    Without credentials in the environment the request goes unsigned (a public bucket).
    """
    now = now or datetime.now(timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    q = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(query.items()))
    canonical_path = _quote(path, safe="/" + _UNRESERVED)
    headers = {"host": target.host, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": amz_date}
    token = os.environ.get("AWS_SESSION_TOKEN")
    if token:
        headers["x-amz-security-token"] = token
    key_id, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key_id and secret:
        signed = ";".join(sorted(headers))
        canonical = "\n".join([method, canonical_path, q, "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)),
                               signed, EMPTY_SHA256])
        scope = f"{day}/{target.region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        k = ("AWS4" + secret).encode()
        for part in (day, target.region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={signed}, "
                                    f"Signature={signature}")
    del headers["host"]  # urllib sends it
    return f"{target.scheme}://{target.host}{canonical_path}" + (f"?{q}" if q else ""), headers


def request(target: S3Target, method: str, path: str, query: dict[str, str], *, what: str,
            ok: tuple[int, ...] = (200, 204), attempts: int = 4) -> Response:
    """Make a signed, idempotent, body-less request, again on a network error, a 5xx or a 429.

    Returns the response when its status is in ``ok`` or is a 404 (the caller decides what a
    missing thing means). Raises :class:`StoreError`: access denied, another refusal, or no answer.
    """
    failure: str = "no answer"
    for attempt in range(attempts):
        url, headers = sign(target, method, path, query)
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers, method=method),
                                        timeout=30) as resp:
                return Response(resp.status, _date(resp.headers.get("Date")), resp.read())
        except urllib.error.HTTPError as exc:
            body = _read(exc)
            if exc.code == 404:
                return Response(404, _date(exc.headers.get("Date")), body)
            code = _error_code(body)
            if exc.code in (401, 403):
                raise StoreError(f"access denied {what} in s3://{target.bucket} ({exc.code} {code or ''})".rstrip(),
                                 hint="check your credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) and "
                                      "permissions") from None
            failure = f"{exc.code} {code or exc.reason}"
            if exc.code < 500 and exc.code != 429:
                break
        except (OSError, ValueError, http.client.HTTPException) as exc:  # refused, reset, timeout, cut off
            failure = str(exc) or type(exc).__name__
        if attempt < attempts - 1:
            time.sleep(0.2 * 2**attempt)
    raise StoreError(f"store error {what} in s3://{target.bucket}: {failure}", hint=_HINT)


def parse(body: bytes, what: str, target: S3Target) -> ET.Element:
    """An S3 XML answer; a body that is not XML is a store error."""
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise StoreError(f"store error {what} in s3://{target.bucket}: the answer is not XML ({exc})",
                         hint=_HINT) from None


def _read(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read()
    except (OSError, ValueError, http.client.HTTPException):
        return b""


def _error_code(body: bytes) -> str | None:
    try:
        return ET.fromstring(body).findtext("Code")
    except ET.ParseError:
        return None


def error_code(response: Response) -> str | None:
    """The ``<Code>`` of an S3 error answer (``NoSuchUpload``, ``NoSuchBucket``), if it has one."""
    return _error_code(response.body)


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
