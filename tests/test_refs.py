"""Refs in one spelling (the full key), read from every spelling agents use."""

from __future__ import annotations

import pytest

from collabspace.domain.refs import canonical, parse

M = "20260425-143000_agent-01_plan.md"
N = "20260425-150000_agent-02.md"
BM, BN = "message_board/" + M, "message_board/" + N
R = "artifacts/results/lora_agent-01.json"


@pytest.mark.parametrize(("value", "expected"), [
    (None, ()),
    ("", ()),
    (M, (BM,)),                                   # the template's own form: a bare filename
    (M.removesuffix(".md"), (BM,)),               # without the extension
    (BM, (BM,)),                                  # the full key (what collabspace writes)
    (f"{M}, {N}", (BM, BN)),                      # a comma list
    (f"{M} {N.removesuffix('.md')}", (BM, BN)),   # a space list
    ([BM, M, None], (BM,)),                       # a YAML list, deduplicated
    (f"[{M}, {N}]", (BM, BN)),                    # a flow list written as a string
    ("lora_agent-01.json", (R,)),                 # a result's file name
    ("lora_agent-01", (R,)),                      # a result's name
    ("artifacts/results/lora_agent-01.items.jsonl", (R,)),  # its per-item file stands for it
    (f"hf://buckets/ns/space/message_board/{M}", (BM,)),     # a bucket URL
    ("`./artifacts/scripts/train_agent-01.py`", ("artifacts/scripts/train_agent-01.py",)),
    ([{"nested": 1}, ["x"]], ()),                 # not refs at all
])
def test_every_spelling_reads_as_the_full_key(value, expected):
    assert parse(value) == expected


def test_canonical_is_idempotent():
    for ref in (BM, R, "artifacts/data/x_agent-01/", "something else"):
        assert canonical(canonical(ref)) == canonical(ref)
