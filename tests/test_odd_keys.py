"""Odd keys (issue 11, break 2): a key the store holds but our key rules refuse never stops a listing.

A key with ``//`` (what ``aws s3 cp dir//`` writes), a ``.`` or ``..`` segment, a backslash or a
control character is skipped by every listing and remembered: ``store.odd_keys()`` returns
``(key, reason)`` pairs for ``collab doctor`` to report.
"""

from __future__ import annotations

import os

import pytest

from collabspace.domain.setup.presets import preset_spec
from collabspace.space import Space
from collabspace.storage import open_store
from collabspace.storage.obstores import LocalStore

# Keys another tool can write to S3; every one of them broke the listing of its prefix.
S3_ODD = [
    "x//double.json",          # aws s3 cp dir//
    "x/../up.json",
    "x/./here.json",
    "back\\slash.json",
    "ctl\x01char.json",
    "tab\there.json",
    "dots/..",
]


def _boto(endpoint):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def _space_on_s3(bucket, clock):
    url = f"s3://{bucket}/sp"
    Space.init(url, preset_spec("gsm8k"), clock=clock)
    return url


@pytest.mark.parametrize("odd", S3_ODD)
def test_s3_listing_skips_and_records_an_odd_key(s3_server, s3_bucket, odd):
    store = open_store(f"s3://{s3_bucket}/sp")
    store.put("artifacts/results/good_agent-01.json", b"{}")
    store.put("artifacts/results/zz_agent-01.json", b"{}")
    _boto(s3_server).put_object(Bucket=s3_bucket, Key="sp/artifacts/results/" + odd, Body=b"odd")
    keys = [i.key for i in store.list("artifacts/results/")]
    assert keys == ["artifacts/results/good_agent-01.json", "artifacts/results/zz_agent-01.json"]
    assert [i.key for i in store.list("artifacts/")] == keys
    [(key, reason)] = store.odd_keys()
    assert key == "artifacts/results/" + odd and reason.startswith("contains ")
    # A fresh store object finds it by listing on demand.
    fresh = open_store(f"s3://{s3_bucket}/sp")
    assert fresh.odd_keys() == []
    assert [k for k, _ in fresh.odd_keys("")] == ["artifacts/results/" + odd]
    assert fresh.odd_keys("message_board/") == []


def test_s3_raw_listing_keeps_metadata_start_after_and_pages(s3_server, s3_bucket):
    store = open_store(f"s3://{s3_bucket}/sp")
    store.list_page = 7  # several pages
    names = [f"artifacts/results/r{i:04d}_agent-01.json" for i in range(30)]
    client = _boto(s3_server)
    for n in names:
        client.put_object(Bucket=s3_bucket, Key="sp/" + n, Body=b"12345")
    client.put_object(Bucket=s3_bucket, Key="sp/artifacts/results//odd.json", Body=b"x")
    client.put_object(Bucket=s3_bucket, Key="other/artifacts/results/outside.json", Body=b"x")  # outside the prefix
    infos = list(store.list("artifacts/results/"))
    assert [i.key for i in infos] == names
    head = store.head(names[0])
    assert (infos[0].size, infos[0].etag) == (5, head.etag) and infos[0].last_modified == head.last_modified
    assert [i.key for i in store.list("artifacts/results/", start_after=names[17])] == names[18:]
    assert [i.key for i in store.list("artifacts/results/r001")] == names[10:20]
    assert store.odd_keys() == [("artifacts/results//odd.json", "contains '//'")]


def test_commands_survive_an_odd_key_on_s3(s3_server, s3_bucket, clock, run_cli, tmp_path):
    """The measured break: leaderboard, submit, digest, doctor, ls and read all failed."""
    url = _space_on_s3(s3_bucket, clock)
    env = {"COLLAB_SPACE": url, "COLLAB_AGENT": "agent-01"}
    assert run_cli("submit", "--experiment", "first", "--score", "0.5", env=env).code == 0
    assert run_cli("post", "--type", "status-update", "--body", "before the odd keys", env=env).code == 0
    client = _boto(s3_server)
    client.put_object(Bucket=s3_bucket, Key="sp/artifacts/results//copied.json", Body=b"{}")
    client.put_object(Bucket=s3_bucket, Key="sp/message_board//copied.md", Body=b"---\n---\n")
    for args in (("leaderboard",), ("submit", "--experiment", "second", "--score", "0.6"), ("digest",),
                 ("ls",), ("ls", "artifacts/results/"), ("read", "--all"), ("read",)):
        res = run_cli(*args, env=env)
        assert res.code == 0, (args, res)
        assert "invalid object key" not in res.err
    res = run_cli("leaderboard", "--format", "json", env=env)
    assert res.code == 0 and "second" in res.out and "first" in res.out
    res = run_cli("doctor", env=env)
    assert "invalid object key" not in res.err and res.code == 1, res  # doctor names them, so it exits 1
    assert "artifacts/results//copied.json: a stored key our key rules refuse (contains '//')" in res.out
    assert "message_board//copied.md: a stored key our key rules refuse" in res.out
    space = Space.open(url, agent="agent-01", clock=clock)
    assert [k for k, _ in space.store.odd_keys("")] == ["artifacts/results//copied.json", "message_board//copied.md"]


def test_local_folder_skips_odd_file_names(tmp_path):
    store = LocalStore(tmp_path, create=True)
    store.put("message_board/ok.md", b"ok")
    board = tmp_path / "message_board"
    (board / "back\\slash.md").write_bytes(b"x")      # obstore lists it; our rules refuse it
    (board / "ctl\x01.md").write_bytes(b"x")           # obstore refuses the whole listing
    os.mkdir(board / "sub")
    (board / "sub" / "new\nline.md").write_bytes(b"x")
    with open(os.path.join(os.fsencode(board), b"latin\xe9.md"), "wb") as f:  # not UTF-8
        f.write(b"x")
    infos = list(store.list("message_board/"))
    assert [i.key for i in infos] == ["message_board/ok.md"]
    assert infos[0].etag == store.head("message_board/ok.md").etag  # the walk's etag is obstore's
    assert infos[0].last_modified == store.head("message_board/ok.md").last_modified
    odd = dict(store.odd_keys())
    assert len(odd) == 4
    assert odd["message_board/back\\slash.md"] == "contains a backslash or a control character"
    assert odd["message_board/ctl\x01.md"] == "contains a backslash or a control character"
    assert odd["message_board/sub/new\nline.md"] == "contains a backslash or a control character"
    assert [r for k, r in odd.items() if k.startswith("message_board/latin")] == ["is not valid UTF-8"]
    assert [i.key for i in store.list("message_board/o")] == ["message_board/ok.md"]


def test_local_walk_leaves_out_obstore_staging_files(tmp_path):
    store = LocalStore(tmp_path, create=True)
    store.put("a/ok.md", b"ok")
    (tmp_path / "a" / "up.md#12").write_bytes(b"partial")  # an upload in progress
    (tmp_path / "a" / "c#x.md").write_bytes(b"x")
    (tmp_path / "a" / "bad\x02").write_bytes(b"x")
    assert [i.key for i in store.list("a/")] == ["a/c#x.md", "a/ok.md"]


def test_commands_survive_odd_file_names_in_a_folder(tmp_path, clock, run_cli):
    Space.init(str(tmp_path / "sp"), preset_spec("gsm8k"), clock=clock)
    env = {"COLLAB_SPACE": str(tmp_path / "sp"), "COLLAB_AGENT": "agent-01"}
    (tmp_path / "sp" / "artifacts" / "results").mkdir(parents=True, exist_ok=True)
    (tmp_path / "sp" / "artifacts" / "results" / "x\x1b.json").write_bytes(b"{}")
    (tmp_path / "sp" / "message_board" / "y\\z.md").write_bytes(b"x")
    for args in (("submit", "--experiment", "e", "--score", "0.5"), ("leaderboard",), ("digest",), ("ls",),
                 ("read", "--all")):
        res = run_cli(*args, env=env)
        assert res.code == 0, (args, res)


def test_memory_store_skips_a_key_written_past_our_rules(memory_url):
    import obstore

    store = open_store(memory_url)
    store.put("a/ok", b"1")
    obstore.put(store._inner, "a/back\\slash", b"1")  # obstore accepts it; our rules do not
    assert [i.key for i in store.list("a/")] == ["a/ok"]
    assert store.odd_keys() == [("a/back\\slash", "contains a backslash or a control character")]


def test_counting_store_reports_the_inner_stores_odd_keys(memory_url):
    import obstore

    from collabspace.storage.counting import CountingStore

    inner = open_store(memory_url)
    obstore.put(inner._inner, "a/b\\c", b"1")
    counting = CountingStore(inner)
    assert counting.odd_keys("a/") == [("a/b\\c", "contains a backslash or a control character")]


def test_local_walk_survives_a_symlink_loop(tmp_path):
    store = LocalStore(tmp_path, create=True)
    store.put("a/ok.md", b"ok")
    (tmp_path / "a" / "bad\x03").write_bytes(b"x")
    os.symlink(tmp_path / "a", tmp_path / "a" / "loop")
    keys = [i.key for i in store.list("a/")]
    assert "a/ok.md" in keys and all("\x03" not in k for k in keys)
