"""Pre-signed S3 URLs (AWS Signature Version 4, query-string authentication).

Production recordings live where LiveKit Egress uploaded them (an S3-compatible bucket); the
server never proxies them: a party's request is answered with a redirect to a URL that is good
for one object, one method and a few minutes. Path-style URLs (``<endpoint>/<bucket>/<key>``)
work with AWS S3 and every S3-compatible store (MinIO, R2, Ceph…).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit


@dataclass(frozen=True, slots=True)
class S3Bucket:
    endpoint: str
    """``https://s3.eu-west-1.amazonaws.com`` or a MinIO address."""
    region: str
    bucket: str
    access_key: str
    secret_key: str


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def presign(
    bucket: S3Bucket,
    key: str,
    *,
    method: str = "GET",
    at: datetime,
    expires_s: int,
    virtual_host: bool = False,
) -> str:
    """A URL allowing ``method`` on object ``key`` for ``expires_s`` seconds from ``at``."""
    parts = urlsplit(bucket.endpoint.rstrip("/"))
    if virtual_host:
        host, path = f"{bucket.bucket}.{parts.netloc}", "/" + quote(key, safe="/~")
    else:
        host, path = parts.netloc, f"/{bucket.bucket}/" + quote(key, safe="/~")
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    scope = f"{day}/{bucket.region}/s3/aws4_request"
    query = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{bucket.access_key}/{scope}",
        "X-Amz-Date": stamp,
        "X-Amz-Expires": str(expires_s),
        "X-Amz-SignedHeaders": "host",
    }
    canonical_query = "&".join(
        f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(query.items())
    )
    canonical = "\n".join(
        [method, path, canonical_query, f"host:{host}\n", "host", "UNSIGNED-PAYLOAD"]
    )
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    signing_key = b"AWS4" + bucket.secret_key.encode()
    for part in (day, bucket.region, "s3", "aws4_request"):
        signing_key = _hmac(signing_key, part)
    signature = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{parts.scheme}://{host}{path}?{canonical_query}&X-Amz-Signature={signature}"
