"""Stale incomplete uploads (issue 11, property 6): ``doctor`` lists what killed pushes left, and aborts it.

An interrupted push aborts its own multipart uploads (tests/test_artifact_faults.py); a push killed
outright cannot. obstore 0.12 has no ListMultipartUploads, so the store makes that call and
AbortMultipartUpload itself, signed with a small stdlib SigV4 signer that is checked here against
botocore's. On a folder the same leftover is obstore's staging file ``{file}#{n}``.

Against the real S3 server of ``conftest.py`` (moto): uploads are created with boto3, as another
client (or a dead push) would leave them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone

import pytest

from collabspace.domain.setup.presets import preset_spec
from collabspace.space import Space
from collabspace.storage import open_store
from collabspace.storage import s3raw
from collabspace.storage.counting import CountingStore


def _boto(endpoint):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def _start_upload(client, bucket: str, key: str) -> str:
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"x" * 1000)
    return upload


def _server_uploads(client, bucket: str) -> list[str]:
    return sorted(u["Key"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


# -- the signer --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("virtual", [False, True])
@pytest.mark.parametrize("token", [None, "session-token/+="])
@pytest.mark.parametrize(("method", "key", "query"), [
    ("GET", None, {"uploads": "", "encoding-type": "url", "prefix": "space/artifacts/", "max-uploads": "1000"}),
    ("GET", None, {"list-type": "2", "prefix": "sp/a b+c/", "start-after": "sp/a b+c/x~y", "max-keys": "7"}),
    ("DELETE", "space/artifacts/data/big_agent-01.bin", {"uploadId": "Abc+/=xyz"}),
    ("DELETE", "space/odd name+plus/é~%.bin", {"uploadId": "id"}),
])
def test_sigv4_signature_is_botocores(monkeypatch, virtual, token, method, key, query):
    """The hand-written signer signs exactly as botocore (S3SigV4Auth) does: same Authorization header."""
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    if token:
        monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    else:
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    when = datetime(2026, 12, 1, 20, 30, 15, tzinfo=timezone.utc)
    target = s3raw.S3Target("my-bucket", "space", "http://127.0.0.1:9000", "eu-west-3", virtual)
    path = target.object_path(key.removeprefix("space/")) if key else target.path
    url, headers = s3raw.sign(target, method, path, query, now=when)

    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: when.replace(tzinfo=None))
    request = AWSRequest(method=method, url=url, headers={})
    if token:
        request.headers["X-Amz-Security-Token"] = token
    botocore.auth.S3SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token),
                              "s3", "eu-west-3").add_auth(request)
    assert headers["Authorization"] == request.headers["Authorization"]
    assert headers["x-amz-date"] == request.headers["X-Amz-Date"]


# -- S3: list, doctor, abort --------------------------------------------------------------------------------
def test_s3_store_lists_and_aborts_incomplete_uploads(s3_server, s3_bucket):
    client = _boto(s3_server)
    inside = _start_upload(client, s3_bucket, "sp/artifacts/data/big_agent-01.bin")
    _start_upload(client, s3_bucket, "sp/artifacts/odd name+plus_agent-01.bin")
    _start_upload(client, s3_bucket, "other/artifacts/data/x_agent-01.bin")  # outside the store's prefix
    store = open_store(f"s3://{s3_bucket}/sp")
    uploads = store.stale_uploads()
    assert [u.key for u in uploads] == ["artifacts/data/big_agent-01.bin", "artifacts/odd name+plus_agent-01.bin"]
    assert uploads[0].upload_id == inside and uploads[0].age > timedelta(0)
    assert [u.key for u in store.stale_uploads("artifacts/data/")] == ["artifacts/data/big_agent-01.bin"]
    # the age is by the server's clock (its Date header); moto dates every upload 2010-11-10
    assert store.stale_uploads(older_than=timedelta(days=365 * 40)) == []
    assert store.abort_upload(uploads[0].key, uploads[0].upload_id) is True
    assert store.abort_upload(uploads[0].key, uploads[0].upload_id) is False  # gone already: no error
    assert _server_uploads(client, s3_bucket) == ["other/artifacts/data/x_agent-01.bin",
                                                  "sp/artifacts/odd name+plus_agent-01.bin"]


def test_doctor_lists_a_stale_s3_upload_and_aborts_it(s3_server, s3_bucket, run_cli):
    url = f"s3://{s3_bucket}/sp"
    Space.init(url, preset_spec("gsm8k"))
    client = _boto(s3_server)
    _start_upload(client, s3_bucket, "sp/artifacts/checkpoints/run_agent-01/w0.bin")
    _start_upload(client, s3_bucket, "elsewhere/w.bin")

    problems = Space.open(url).doctor()
    [stale] = [p for p in problems if "incomplete upload" in p.reason]
    assert stale.key == "artifacts/checkpoints/run_agent-01/w0.bin"
    assert "collab doctor --abort-uploads" in stale.reason

    listed = run_cli("doctor", "--space", url)
    assert listed.code == 1 and "artifacts/checkpoints/run_agent-01/w0.bin: an incomplete upload" in listed.out
    assert _server_uploads(client, s3_bucket) == ["elsewhere/w.bin", "sp/artifacts/checkpoints/run_agent-01/w0.bin"]

    aborted = run_cli("doctor", "--space", url, "--abort-uploads")
    assert "aborted an incomplete upload of artifacts/checkpoints/run_agent-01/w0.bin" in aborted.err
    assert "incomplete upload" not in aborted.out and aborted.code == 0, aborted
    assert _server_uploads(client, s3_bucket) == ["elsewhere/w.bin"]  # another space's upload is not ours
    assert run_cli("doctor", "--space", url).code == 0


def test_a_bad_older_than_is_refused_and_aborts_nothing(s3_server, s3_bucket, run_cli):
    url = f"s3://{s3_bucket}/sp"
    Space.init(url, preset_spec("gsm8k"))
    client = _boto(s3_server)
    _start_upload(client, s3_bucket, "sp/artifacts/data/big_agent-01.bin")
    for bad in ("0s", "soon", "1e400h", "9999d"):
        out = run_cli("doctor", "--space", url, "--abort-uploads", "--older-than", bad)
        lines = out.err.strip().splitlines()
        assert out.code == 1 and len(lines) == 2, out
        assert lines[0].startswith("error: ") and lines[1].startswith("hint: "), out
    assert _server_uploads(client, s3_bucket) == ["sp/artifacts/data/big_agent-01.bin"]


def test_counting_store_forwards_uploads(s3_server, s3_bucket):
    client = _boto(s3_server)
    _start_upload(client, s3_bucket, "sp/a.bin")
    store = CountingStore(open_store(f"s3://{s3_bucket}/sp"))
    [upload] = store.stale_uploads()
    assert store.abort_upload(upload.key, upload.upload_id)
    assert store.counts == {"list": 1, "delete": 1}


def test_a_store_without_multipart_has_none(memory_url):
    store = open_store(memory_url)
    store.put("a.bin", b"x")
    assert store.stale_uploads() == []
    assert store.abort_upload("a.bin", "1") is False
    assert store.get("a.bin") == b"x"


# -- a folder: a killed push leaves obstore's staging file ------------------------------------------------------
_KILLED_PUSH = """
    import sys, time
    from pathlib import Path
    from collabspace.domain import artifacts
    from collabspace.storage import open_store

    store = open_store(sys.argv[1])
    store.part_size = 1 << 20

    class Slow:
        def start(self, total_bytes, files):
            pass

        def advance(self, nbytes):
            print("progress", flush=True)
            time.sleep(0.3)

    artifacts.push(store, "agent-01", Path(sys.argv[2]), kind="checkpoints", name="big", progress=Slow())
"""


@pytest.mark.slow
def test_a_push_killed_outright_on_a_folder_is_listed_and_aborted(tmp_path, run_cli):
    """kill -9 cannot be caught: the multipart upload's staging file (``{file}#1``, invisible to every listing)
    stays on disk. doctor lists it once it is older than --older-than, and --abort-uploads removes it."""
    url = str(tmp_path / "space")
    Space.init(url, preset_spec("gsm8k"))
    big = tmp_path / "w.bin"
    big.write_bytes(os.urandom(8 << 20))
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_KILLED_PUSH), url, str(big)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(2):
        assert proc.stdout.readline().strip() == "progress", proc.stderr.read()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    staged = list((tmp_path / "space" / "artifacts" / "checkpoints").glob("*#*"))
    assert [p.name for p in staged] == ["big_agent-01.bin#1"]

    space = Space.open(url, agent="agent-01")
    space.store.part_size = 1 << 20  # as the killed push had it
    assert [p for p in space.doctor() if "incomplete upload" in p.reason] == []  # younger than 1h: a live push
    time.sleep(1.1)
    [stale] = [p for p in space.doctor(uploads_older_than="1s") if "incomplete upload" in p.reason]
    assert stale.key == "artifacts/checkpoints/big_agent-01.bin"
    out = run_cli("doctor", "--space", url, "--abort-uploads", "--older-than", "1s")
    assert "aborted an incomplete upload of artifacts/checkpoints/big_agent-01.bin" in out.err
    assert not staged[0].exists()
    # the push's claim (its manifest) is still there; the same content completes it
    assert space.push(str(big), kind="checkpoints", name="big").uploaded == ["artifacts/checkpoints/big_agent-01.bin"]


def test_folder_store_ages_and_aborts_staging_files(tmp_path):
    url = str(tmp_path / "space")
    store = open_store(url, create=True)
    store.put("artifacts/data/keep_agent-01.bin", b"done")
    folder = tmp_path / "space" / "artifacts" / "data"
    old, young = folder / "big_agent-01.bin#1", folder / "small_agent-01.bin#2"
    old.write_bytes(b"part")
    young.write_bytes(b"part")
    (folder / "not#staging").write_bytes(b"a user's file")  # '#' followed by a non-number: a file like any other
    hour_ago = time.time() - 3700
    os.utime(old, (hour_ago, hour_ago))
    [stale] = store.stale_uploads(older_than=timedelta(hours=1))
    assert (stale.key, stale.upload_id) == ("artifacts/data/big_agent-01.bin", "1")
    assert stale.age >= timedelta(hours=1)
    assert [u.key for u in store.stale_uploads()] == ["artifacts/data/big_agent-01.bin",
                                                      "artifacts/data/small_agent-01.bin"]
    assert store.stale_uploads("message_board/") == []
    assert store.abort_upload(stale.key, stale.upload_id) is True
    assert not old.exists() and young.exists() and (folder / "not#staging").exists()
    assert store.abort_upload(stale.key, stale.upload_id) is False
    from collabspace.errors import InvalidInput

    with pytest.raises(InvalidInput):
        store.abort_upload("artifacts/data/keep_agent-01.bin", "../../x")
    assert store.get("artifacts/data/keep_agent-01.bin") == b"done"


def test_doctor_goes_on_when_the_store_will_not_list_uploads(s3_server, s3_bucket, monkeypatch, caplog):
    """A store that refuses or drops ListMultipartUploads (a missing permission, a server without it): doctor says
    so in one warning and reports the rest; --abort-uploads, asked for, reports the error."""
    from chaos_proxy import ChaosProxy
    from collabspace.errors import StoreError

    url = f"s3://{s3_bucket}/sp"
    Space.init(url, preset_spec("gsm8k"))
    open_store(url).put("message_board/notes.md", b"not a message name")  # something for doctor to report
    host, port = s3_server.removeprefix("http://").split(":")
    with ChaosProxy((host, int(port)), truncate=0.0, reset=0.0) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        space = Space.open(url)
        for _ in range(4):  # every attempt of the listing loses its answer
            proxy.lose_answer_to(b"&uploads=")
        problems = space.doctor()
        assert [p.key for p in problems] == ["message_board/notes.md"]
        assert "could not list the incomplete uploads" in caplog.text
        for _ in range(4):
            proxy.lose_answer_to(b"&uploads=")
        with pytest.raises(StoreError, match="incomplete uploads"):
            space.abort_uploads()
