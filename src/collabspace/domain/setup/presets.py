"""Built-in task specs for ``collab init --task``."""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import InvalidInput
from .spec import Spec, spec_from_dict

PRESETS = ("gsm8k", "parameter-golf", "custom")


def _gsm8k() -> dict:
    return {
        "task": {
            "id": "gsm8k",
            "title": "GSM8K",
            "goal": (
                "Collaboratively build a model or approach that maximizes accuracy on the GSM8K "
                "benchmark test split. You can follow any approach you like -- fine-tuning, prompting "
                "strategies, data augmentation, tool use, ensembles, or anything else."
            ),
            "about": [
                "**Dataset**: openai/gsm8k on Hugging Face (MIT licence)",
                "**Size**: 7,473 train examples, 1,319 test examples",
                "**Task**: Grade school math word problems requiring 2-8 steps of reasoning",
                "**Format**: Each example has a `question` and an `answer` field. The answer contains "
                "step-by-step reasoning followed by `#### {final_numeric_answer}`",
            ],
        },
        "metric": {
            "name": "accuracy",
            "direction": "higher",
            "description": "Exact match accuracy on the final numeric answer of the test split (1,319 examples)",
            "min": 0,
            "max": 1,
        },
        "constraints": {
            "rules": [
                "Report accuracy on the full test split: missing predictions count as wrong.",
                "Never train on the test split.",
            ]
        },
        "baselines": [
            {
                "name": "Last number in the question",
                "score": 0.0227,
                "notes": "30/1,319: answers with the last number that appears in the question",
            }
        ],
        "scorer": {"name": "gsm8k", "split": "test"},
        "claims": {"default_duration": "4h"},
    }


def _parameter_golf() -> dict:
    return {
        "task": {
            "id": "parameter-golf",
            "title": "Parameter Golf",
            "goal": (
                "Train the best language model that fits in a 16 MB artifact (code plus compressed "
                "weights), measured by bits per byte on the FineWeb validation set. Lower is better."
            ),
            "about": [
                "**Data**: FineWeb validation set, first 50k documents",
                "**Metric**: bits per byte (BPB), tokenizer-agnostic",
                "**Artifact**: code plus compressed weights, at most 16,000,000 bytes",
                "**Budget**: training at most 10 minutes on 8xH100 SXM; evaluation at most 10 minutes, separately",
                "**Reference scores**: baseline 1.2244 BPB (9 layers, 512 dim, 1024 vocab, tied embeddings, "
                "4 KV heads); state of the art about 1.08 BPB",
            ],
            "links": ["https://github.com/openai/parameter-golf"],
        },
        "metric": {
            "name": "val_bpb",
            "direction": "lower",
            "description": "Bits per byte on the FineWeb validation set (first 50k documents)",
            "min": 0,
        },
        "constraints": {
            "rules": [
                "The artifact (code plus compressed weights) must be at most 16,000,000 bytes.",
                "Training at most 10 minutes on 8xH100 SXM; evaluation at most 10 minutes, separately.",
                "No network access or external downloads during evaluation.",
                "A new record must improve on the prior best by at least 0.005 nats.",
                "Do not open pull requests against openai/parameter-golf; keep submissions in the official "
                "format here.",
            ],
            "limits": [
                {
                    "field": "artifact_size_bytes",
                    "max": 16_000_000,
                    "description": "code plus compressed weights",
                },
                {"field": "train_time_seconds", "max": 600, "description": "on 8xH100 SXM"},
            ],
        },
        "baselines": [
            {
                "name": "Naive baseline",
                "score": 1.2244,
                "notes": "9-layer, 512-dim, 1024-vocab, tied embeddings, 4 KV heads",
            }
        ],
        "claims": {"default_duration": "4h"},
    }


def preset_spec(
    task: str,
    *,
    title: str | None = None,
    metric: str | None = None,
    direction: str | None = None,
    goal: str | None = None,
    task_id: str | None = None,
    organizers: Sequence[str] = (),
    metric_min: float | None = None,
    metric_max: float | None = None,
) -> Spec:
    """Build the spec for a preset; ``custom`` needs title, metric, direction and goal.

    Args:
        organizers: agent ids allowed to moderate (``collab init --organizer``).
        metric_min, metric_max: the metric's range (a preset has its own; these replace it).

    Raises:
        InvalidInput: an unknown preset, or a custom task missing one of its options.
        InvalidSpec: a bad organizer id or range.
    """
    if task == "gsm8k":
        data = _gsm8k()
    elif task == "parameter-golf":
        data = _parameter_golf()
    elif task == "custom":
        missing = [
            f"--{name}"
            for name, value in (("title", title), ("metric", metric), ("direction", direction), ("goal", goal))
            if not value
        ]
        if missing:
            raise InvalidInput(
                f"--task custom needs {', '.join(missing)}",
                hint='e.g. --title "Tiny Shakespeare" --metric val_loss --direction lower --goal "..."',
            )
        from ..paths import slug

        data = {
            "task": {"id": task_id or slug(title or "") or "custom", "title": title, "goal": goal},
            "metric": {"name": metric, "direction": (direction or "").lower()},
        }
    else:
        raise InvalidInput(f"unknown task preset {task!r}", hint=f"choose one of: {', '.join(PRESETS)}")
    if task_id:
        data["task"]["id"] = task_id
    if title and task != "custom":
        data["task"]["title"] = title
    if goal and task != "custom":
        data["task"]["goal"] = goal
    if metric_min is not None:
        data["metric"]["min"] = metric_min
    if metric_max is not None:
        data["metric"]["max"] = metric_max
    if organizers:
        data["organizers"] = list(dict.fromkeys(organizers))
    return spec_from_dict(data, source=f"--task {task}")
