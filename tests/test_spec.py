"""collab.toml: valid specs round-trip, invalid ones get one line naming the field."""

from __future__ import annotations

import pytest

from collabspace.domain.setup.presets import PRESETS, preset_spec
from collabspace.domain.setup.spec import parse_spec
from collabspace.domain.timefmt import format_duration, parse_duration
from collabspace.errors import InvalidInput, InvalidSpec

MINIMAL = '[task]\nid = "t"\ntitle = "T"\ngoal = "g"\n[metric]\nname = "m"\ndirection = "higher"\n'


@pytest.mark.parametrize("task", ["gsm8k", "parameter-golf"])
def test_presets_round_trip(task):
    spec = preset_spec(task)
    assert parse_spec(spec.to_toml()) == spec


def test_presets_facts():
    g = preset_spec("gsm8k")
    assert (g.metric.name, g.metric.direction, g.scorer.name) == ("accuracy", "higher", "gsm8k")
    pg = preset_spec("parameter-golf")
    assert (pg.metric.name, pg.metric.direction) == ("val_bpb", "lower")
    assert pg.baselines[0].score == 1.2244
    limit = pg.constraints.limits[0]
    assert limit.field == "artifact_size_bytes" and limit.max == 16_000_000
    assert limit.violation(16_000_000) is None and "exceeds" in limit.violation(16_000_001)
    assert pg.metric.better(1.1, 1.2) and not g.metric.better(0.1, 0.2)
    assert "custom" in PRESETS


@pytest.mark.parametrize("text,field", [
    ('[task]\nid = "t"\ngoal = "g"\n[metric]\nname = "m"\ndirection = "higher"\n', "task.title: Field required"),
    (MINIMAL.replace('"higher"', '"up"'), "metric.direction: Input should be 'higher' or 'lower' (got 'up')"),
    (MINIMAL.replace('id = "t"', 'id = "My Task"'), "task.id: must be lower-case"),
    (MINIMAL + "colour = 1\n", "metric.colour: unknown field"),
    (MINIMAL + '[claims]\ndefault_duration = "soon"\n', "claims.default_duration: invalid duration 'soon'"),
    (MINIMAL + '[[baselines]]\nname = "b"\nscore = nan\n', "baselines[0].score: must be a finite number"),
    (MINIMAL + '[[baselines]]\nname = "b"\nscore = 1\ntrack = "x"\n', "unknown track 'x'"),
    (MINIMAL + '[[constraints.limits]]\nfield = "size"\n', "constraints.limits[0]: a limit needs min or max"),
    ('organizers = ["Bad_Id"]\n' + MINIMAL, "organizers: 'Bad_Id' is not a valid agent id"),
    ("layout = 2\n" + MINIMAL, "layout: this collabspace reads layout 1"),
    (MINIMAL + '[board]\nextra_types = ["Hot Take"]\n', "board.extra_types: type 'Hot Take'"),
    ("task = [", "not valid TOML"),
])
def test_invalid_specs_name_the_field(text, field):
    with pytest.raises(InvalidSpec) as err:
        parse_spec(text)
    assert field in err.value.message
    assert "\n" not in err.value.message and err.value.hint


def test_extra_types_extend_message_types():
    spec = parse_spec(MINIMAL + '[board]\nextra_types = ["review"]\n')
    assert spec.message_types[-1] == "review" and len(spec.message_types) == 7


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("30m", 1800), ("4h", 14400), ("1d", 86400), ("1h30m", 5400)])
def test_durations(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("bad", ["", "soon", "4", "-1h", "0m", "4h soon"])
def test_bad_durations(bad):
    with pytest.raises(InvalidInput):
        parse_duration(bad)


def test_format_duration():
    assert format_duration(parse_duration("3h12m")) == "3h12m"
    assert format_duration(parse_duration("2d")) == "2d"
