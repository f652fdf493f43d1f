"""docs/cli.md is the commands' own help, regenerated; it must be current."""

from pathlib import Path

from collabspace.cli.docs import render_cli_docs

DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def test_cli_reference_is_current():
    assert DOCS.read_text() == render_cli_docs(), "regenerate: python -m collabspace.cli.docs > docs/cli.md"
