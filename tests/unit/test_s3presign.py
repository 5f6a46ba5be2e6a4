"""Pre-signed S3 URLs against AWS's own worked example (Signature Version 4, query-string
authentication: "Authenticating Requests: Using Query Parameters", the GET of
``examplebucket/test.txt`` on 2013-05-24 for 86400 s)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from server.s3presign import S3Bucket, presign

AWS_EXAMPLE = S3Bucket(
    endpoint="https://s3.amazonaws.com",
    region="us-east-1",
    bucket="examplebucket",
    access_key="AKIAIOSFODNN7EXAMPLE",
    secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
)
AT = datetime(2013, 5, 24, tzinfo=UTC)


def test_the_aws_worked_example_signs_to_its_published_signature() -> None:
    url = presign(AWS_EXAMPLE, "test.txt", at=AT, expires_s=86400, virtual_host=True)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "examplebucket.s3.amazonaws.com",
        "/test.txt",
    )
    query = parse_qs(parts.query)
    assert query["X-Amz-Credential"] == ["AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"]
    assert query["X-Amz-Date"] == ["20130524T000000Z"]
    assert query["X-Amz-Expires"] == ["86400"]
    assert query["X-Amz-Signature"] == [
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    ]


def test_path_style_method_and_key_each_change_the_signature() -> None:
    signatures = {
        parse_qs(urlsplit(url).query)["X-Amz-Signature"][0]
        for url in (
            presign(AWS_EXAMPLE, "test.txt", at=AT, expires_s=60),
            presign(AWS_EXAMPLE, "test.txt", at=AT, expires_s=60, method="DELETE"),
            presign(AWS_EXAMPLE, "other.txt", at=AT, expires_s=60),
            presign(AWS_EXAMPLE, "test.txt", at=AT, expires_s=61),
        )
    }
    assert len(signatures) == 4
    path_style = presign(AWS_EXAMPLE, "a b/c.ogg", at=AT, expires_s=60)
    assert path_style.startswith("https://s3.amazonaws.com/examplebucket/a%20b/c.ogg?")
