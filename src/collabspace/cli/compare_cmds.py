"""``collab compare``: verified results item by item (:meth:`Space.compare`)."""

from __future__ import annotations

import click

from ..space import Space
from .app import cli, echo, echo_json, format_option, note, space_options

#: Item numbers listed per difference in human output (``--format json`` lists them all).
SHOWN = 20


def _items(indexes: list[int]) -> str:
    if not indexes:
        return "none"
    shown = ", ".join(str(i) for i in indexes[:SHOWN])
    return shown + (f", … ({len(indexes) - SHOWN} more)" if len(indexes) > SHOWN else "")


@cli.command()
@space_options(agent=False)
@click.argument("results", nargs=-1, required=True, metavar="RESULT_A [RESULT_B ...]")
@click.option("--items", "with_items", is_flag=True, help="With --format json: every item's answers and verdicts too.")
@format_option("human", "json")
def compare(space: Space, results: tuple[str, ...], with_items: bool, fmt: str) -> None:
    """Compare verified results item by item: what B gets right that A misses and the reverse, the oracle
    ensemble ("at least one is right") and a majority vote over their answers, scored by the space's scorer.

    RESULT is a result's file name (x_agent-01.json or x_agent-01) or key; one RESULT shows its per-item
    correctness. Item numbers are 0-based lines of the scorer's split.
    """
    c = space.compare(list(results))
    if fmt == "json":
        echo_json(c.to_dict(items=with_items))
        return
    letters = [chr(ord("A") + i) for i in range(len(c.results))]
    for letter, r in zip(letters, c.results):
        echo(f"{letter}  {r.row.file.rsplit('/', 1)[-1]}  {r.row.score_text}  {r.report.correct}/{r.report.total}"
             f"  {r.row.agent_id}: {r.row.experiment}")
    if len(c.results) == 1:
        wrong = [i.index for i in c.results[0].report.items if not i.correct]
        echo(f"wrong: {len(wrong)} items: {_items(wrong)}")
        return
    name = {r.row.file: letter for letter, r in zip(letters, c.results)}
    for p in c.pairs:
        a, b = name[p.a], name[p.b]
        echo(f"{b} right, {a} wrong: {len(p.b_not_a)} items: {_items(p.b_not_a)}")
        echo(f"{a} right, {b} wrong: {len(p.a_not_b)} items: {_items(p.a_not_b)}")
        echo(f"{a} and {b}: both right {p.both}, both wrong {p.neither}")
    if c.oracle and c.majority:
        echo(f"oracle (at least one right): {c.oracle.correct}/{c.oracle.total} = {c.oracle.to_dict()['score_text']}")
        echo(f"majority vote, scored by {c.majority.scorer} {c.majority.version}: {c.majority.correct}/"
             f"{c.majority.total} = {c.majority.to_dict()['score_text']}")
        if c.majority.ties:
            note(f"{c.majority.ties} item(s) had tied answers; each went to the answer of the better-scoring result")
