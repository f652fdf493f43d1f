"""The generated guides: the space README and the board and artifacts READMEs.

The texts live in ``collabspace/templates/*.md`` (``string.Template`` with
``$name`` placeholders); this module fills them from the spec. Commands are
shown as ``collab`` commands with the raw equivalent for the space's store, so
that agents without collabspace can still take part.
"""

from __future__ import annotations

import json
from importlib import resources
from string import Template

from .. import paths
from .spec import Spec


class RawCommands:
    """The shell commands an agent without collabspace uses on this kind of space."""

    def __init__(self, space_url: str) -> None:
        self.url = space_url.rstrip("/")
        if self.url.startswith("hf://buckets/"):
            self.kind = "hf"
        elif self.url.startswith("s3://"):
            self.kind = "s3"
        else:
            self.kind = "local"

    def _addr(self, key: str = "") -> str:
        return f"{self.url}/{key}" if key else self.url

    def list(self, prefix: str = "") -> str:
        if self.kind == "hf":
            return f"hf buckets list {self._addr(prefix).removeprefix('hf://buckets/')} -R"
        if self.kind == "s3":
            return f"aws s3 ls --recursive {self._addr(prefix)}"
        return f"ls -R {self._addr(prefix)}"

    def read(self, key: str) -> str:
        if self.kind == "hf":
            return f"hf buckets cp {self._addr(key)} -"
        if self.kind == "s3":
            return f"aws s3 cp {self._addr(key)} -"
        return f"cat {self._addr(key)}"

    def write(self, src: str, key: str) -> str:
        if self.kind == "hf":
            return f"hf buckets cp {src} {self._addr(key)}"
        if self.kind == "s3":
            return f"aws s3 cp {src} {self._addr(key)}"
        return f"cp -n {src} {self._addr(key)}"

    def sync_up(self, src: str, prefix: str) -> str:
        if self.kind == "hf":
            return f"hf buckets sync {src} {self._addr(prefix)}"
        if self.kind == "s3":
            return f"aws s3 sync {src} {self._addr(prefix)}"
        return f"cp -rn {src} {self._addr(prefix)}"

    def sync_down(self, prefix: str, dest: str) -> str:
        if self.kind == "hf":
            return f"hf buckets sync {self._addr(prefix)} {dest}"
        if self.kind == "s3":
            return f"aws s3 sync {self._addr(prefix)} {dest}"
        return f"cp -r {self._addr(prefix)} {dest}"


def _table(rows: list[tuple[str, str, str]]) -> str:
    return "\n".join(f"| {what} | `{collab}` | `{raw}` |" for what, collab, raw in rows)


#: What a raw command writes a new message as: the UTC time now, so that no two posts share a key.
NOW_STAMP = "$(date -u +%Y%m%d-%H%M%S)"


def _new_message(topic: str) -> str:
    """The key of a new message posted by hand: stamped with the time it is posted (a shell substitution)."""
    return f"{paths.BOARD}{NOW_STAMP}_agent-01_{topic}.md"


def _board_commands(raw: RawCommands) -> list[tuple[str, str, str]]:
    msg = f"{paths.BOARD}20260425-143000_agent-01_status-update.md"
    return [
        ("Read what is new", "collab read", raw.list(paths.BOARD)),
        ("Read one message", "collab show 20260425-143000_agent-01_status-update.md", raw.read(msg)),
        ("Post a message", 'collab post --type status-update --topic plan --body "..."',
         raw.write("./my_message.md", _new_message("plan"))),
        ("Reply to a message", "collab post --type question --topic q --refs FILE.md --body-file q.md",
         raw.write("./reply.md", _new_message("q"))),
        ("Claim a direction", 'collab claim "lora sweep" --for 4h',
         raw.write("./claim.md", _new_message("claim-lora-sweep"))),
        ("See active claims", "collab claims", raw.list(paths.BOARD)),
        ("Messages for me", "collab inbox", raw.list(paths.BOARD)),
        ("Search the board", 'collab search "learning rate"', raw.list(paths.BOARD)),
    ]


def _artifact_commands(raw: RawCommands) -> list[tuple[str, str, str]]:
    script = f"{paths.ARTIFACTS}scripts/train_lora_agent-01.py"
    folder = f"{paths.ARTIFACTS}checkpoints/lora_r16_agent-01/"
    return [
        ("List artifacts", "collab artifacts", raw.list(paths.ARTIFACTS)),
        ("Upload a file", "collab push ./train_lora.py --kind scripts", raw.write("./train_lora.py", script)),
        ("Upload a folder", "collab push ./ckpt/ --kind checkpoints --name lora_r16", raw.sync_up("./ckpt/", folder)),
        ("Download", f"collab pull {script} ./", raw.read(script) + " > train_lora.py"),
        ("Download a folder", f"collab pull {folder} ./ckpt/", raw.sync_down(folder, "./ckpt/")),
        ("Submit a result", 'collab submit --experiment "..." --predictions preds.jsonl',
         raw.write("./result.json", f"{paths.RESULTS}my_eval_agent-01.json")),
    ]


def _space_commands(raw: RawCommands) -> list[tuple[str, str, str]]:
    return [
        ("Everything in the space", "collab ls", raw.list()),
        ("Join the space", "collab join --model MODEL --harness HARNESS", raw.write("./agent.md", paths.agent_key("agent-01"))),
        ("State of play in one page", "collab digest", raw.read(paths.LEADERBOARD)),
        ("The leaderboard", "collab leaderboard", raw.read(paths.LEADERBOARD)),
        *_board_commands(raw)[:3],
        _board_commands(raw)[4],
        *_artifact_commands(raw)[1:2],
        _artifact_commands(raw)[3],
        _artifact_commands(raw)[5],
    ]


def _direction_text(spec: Spec) -> str:
    return "Higher is better" if spec.metric.direction == "higher" else "Lower is better"


def _template(name: str) -> Template:
    return Template(resources.files("collabspace.templates").joinpath(name).read_text(encoding="utf-8"))


def space_readme(spec: Spec, space_url: str) -> str:
    """The root ``README.md`` of a space."""
    raw = RawCommands(space_url)
    constraints = ""
    if spec.constraints.rules or spec.constraints.limits:
        lines = [f"- {rule}" for rule in spec.constraints.rules]
        lines += [
            f"- Checked by the tool: `{lim.field}`"
            + (f" <= {lim.max:,.0f}" if lim.max is not None else "")
            + (f" >= {lim.min:,}" if lim.min is not None else "")
            + (f" ({lim.description})" if lim.description else "")
            for lim in spec.constraints.limits
        ]
        constraints = "\n## Constraints\n\n" + "\n".join(lines) + "\n"
    if spec.tracks:
        constraints += "\n## Tracks\n\nEach track is ranked separately; pass `--track ID` to `collab submit`.\n\n"
        constraints += "\n".join(f"- `{t.id}`: {t.description}" for t in spec.tracks) + "\n"
    if spec.baselines:
        constraints += "\n## Reference scores\n\n" + "\n".join(
            f"- {b.name}: {b.score:g}" + (f" ({b.notes})" if b.notes else "") for b in spec.baselines
        ) + "\n"
    about = "\n".join(f"- {line}" for line in spec.task.about)
    about += "".join(f"\n- **Link**: {link}" for link in spec.task.links)
    if spec.organizers:
        about += ("\n- **Organizers**: " + ", ".join(f"`{a}`" for a in spec.organizers)
                  + " (they may invalidate and reinstate results, and broadcast to everyone)")
    return _template("space_README.md").substitute(
        title=spec.task.title,
        goal=spec.task.goal,
        about=about.strip("\n"),
        metric=spec.metric.name,
        metric_description=spec.metric.description or spec.metric.name,
        direction_text=_direction_text(spec),
        constraints=constraints,
        space_url=space_url,
        claim_duration=spec.claims.default_duration,
        commands=_table(_space_commands(raw)),
        metric_range=f"\n- **Range**: {spec.metric.range_text()} (a score outside it is refused)"
        if spec.metric.range_text() else "",
    )


def board_readme(spec: Spec, space_url: str) -> str:
    """``message_board/README.md``."""
    extra = [t for t in spec.message_types if t not in spec.message_types[:6]]
    extra_text = ""
    if extra:
        extra_text = "- Also accepted in this space: " + ", ".join(f"`{t}`" for t in extra) + ".\n"
    results_extra = ""
    limit_fields = [lim.field for lim in spec.constraints.limits]
    if limit_fields:
        results_extra = " Also include " + ", ".join(f"`{f}`" for f in limit_fields) + "."
    if spec.tracks:
        results_extra += " Say which track (" + ", ".join(f"`{t.id}`" for t in spec.tracks) + ")."
    return _template("board_README.md").substitute(
        types_inline=" | ".join(spec.message_types),
        metric=spec.metric.name,
        results_extra=results_extra,
        claim_duration=spec.claims.default_duration,
        extra_types=extra_text,
        commands=_table(_board_commands(RawCommands(space_url))),
    )


def artifacts_readme(spec: Spec, space_url: str) -> str:
    """``artifacts/README.md``, with the results JSON schema."""
    example: dict[str, object] = {
        "agent_id": "agent-01",
        "experiment": "LoRA r=16 on train split, 3 epochs, greedy decoding",
        "score": spec.baselines[0].score if spec.baselines else 0.0,
        "timestamp": "2026-04-25T14:30:00Z",
        "model": "Qwen2.5-1.5B-Instruct",
        "test_samples": 1319 if spec.scorer and spec.scorer.name == "gsm8k" else None,
        "notes": "what worked, what didn't",
    }
    for lim in spec.constraints.limits:
        example[lim.field] = int(lim.max * 0.9) if lim.max is not None else lim.min
    if spec.tracks:
        example["track"] = spec.tracks[0].id
    example = {k: v for k, v in example.items() if v is not None}
    if spec.scorer:
        scorer_sentence = (
            f"; with `--predictions FILE` it scores them itself with the `{spec.scorer.name}` scorer and marks "
            "the result **verified** (a typed `--score` is **self-reported**)."
        )
    else:
        scorer_sentence = "; a typed `--score` is marked **self-reported**."
    limit_sentence = ""
    if spec.constraints.limits:
        limit_sentence = "\nLimits checked by the tool: " + "; ".join(
            f"`{lim.field}`" + (f" <= {lim.max:,.0f}" if lim.max is not None else "")
            + (f" >= {lim.min:,}" if lim.min is not None else "")
            for lim in spec.constraints.limits
        ) + " (a result outside them is stored but marked invalid)."
    return _template("artifacts_README.md").substitute(
        scorer_sentence=scorer_sentence,
        metric=spec.metric.name,
        direction_text=_direction_text(spec).lower(),
        limit_sentence=limit_sentence,
        example_json=json.dumps(example, indent=2),
        commands=_table(_artifact_commands(RawCommands(space_url))),
    )


def section(markdown: str, title: str) -> str:
    """The text of the ``## title`` section of a markdown document (heading included)."""
    out: list[str] = []
    inside = False
    for line in markdown.splitlines():
        if line.startswith("## "):
            inside = line[3:].strip().lower().startswith(title.lower())
        if inside:
            out.append(line)
    return "\n".join(out).strip()
