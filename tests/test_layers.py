"""The layers import one way: storage <- domain <- space <- frontends."""

from __future__ import annotations

import ast
from pathlib import Path

import collabspace

ROOT = Path(collabspace.__file__).parent
FRONTENDS = {"cli", "web", "mcp", "gateway"}
#: The gateway is the one frontend that holds the store: it keeps its private state (token hashes,
#: invites, idempotency records, the audit log) in the store's ``gateway/`` part and serves listings.
STORE_HOLDERS = {"gateway"}
FRONTEND_LIBS = {"click", "rich", "starlette", "uvicorn", "fastapi", "mcp", "fastmcp"}


def imports(path: Path) -> set[str]:
    """Absolute module names a file imports (relative imports resolved)."""
    package = ".".join(("collabspace",) + path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                out.add(".".join(base + ([node.module] if node.module else [])))
            else:
                out.add(node.module or "")
    return out


def layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "collabspace" or len(parts) == 1:
        return None
    return parts[1]


def test_imports_flow_one_way():
    rank = {"errors": 0, "storage": 1, "domain": 2, "scorers": 2, "local": 2, "readmodel": 3, "space": 3, "remote": 3, "hub_setup": 3, "demo": 3}
    problems = []
    for path in ROOT.rglob("*.py"):
        mine = path.relative_to(ROOT).parts[0].removesuffix(".py")
        for mod in imports(path):
            theirs = layer(mod)
            top = mod.split(".")[0]
            if mine in rank and (top in FRONTEND_LIBS or theirs in FRONTENDS):
                problems.append(f"{path.relative_to(ROOT)} imports frontend {mod}")
            if mine in rank and theirs in rank and rank[theirs] > rank[mine]:
                problems.append(f"{path.relative_to(ROOT)} ({mine}) imports upper layer {mod}")
            if mine in FRONTENDS - STORE_HOLDERS and theirs in ("storage",):
                problems.append(f"{path.relative_to(ROOT)} touches the store layer directly: {mod}")
    assert problems == []


def test_backend_libraries_stay_in_storage():
    for path in ROOT.rglob("*.py"):
        if path.relative_to(ROOT).parts[0] == "storage":
            continue
        for mod in imports(path):
            assert mod.split(".")[0] not in {"obstore", "botocore", "boto3", "huggingface_hub"}, (path, mod)


def test_only_paths_spells_the_layout():
    for path in ROOT.rglob("*.py"):
        if path.name == "paths.py":
            continue
        text = path.read_text()
        assert '"message_board/' not in text and '"artifacts/results/' not in text, path
