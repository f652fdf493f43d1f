"""The built-in GSM8K scorer: exact match on the final numeric answer.

Predictions are JSON Lines, one object per answered item::

    {"index": 0, "prediction": "Janet sells 16 - 3 - 4 = 9 eggs ... #### 18"}
    {"question": "A robe takes 2 bolts of ...", "prediction": "The answer is 3."}

``index`` is the 0-based line of the test split; ``question`` is matched on its
text (whitespace-insensitive). Items without a prediction count as wrong: the
denominator is always the whole split (1,319 items).

The final answer is read from free text the way a grader would, in this order:
the last ``#### N``; the last ``\\boxed{N}``; the number after the last "answer
is / answer:"; otherwise the last number in the text. Numbers may carry ``$``,
thousands commas, a sign, decimals and units (``$1,234.50``, ``-3``, ``18
dollars``), and compare as exact rationals, so ``0.50`` equals ``0.5``.

Degenerate output is wrong, never a crash: a final answer of more than
:data:`MAX_DIGITS` digits, and a prediction given as a JSON number that is NaN,
infinite or too long, are scored as wrong and counted in the report's
``unusable``. Only the first :data:`MAX_BOXED` characters of a ``\\boxed{}``
are read, so every step is linear in the prediction's length.

math-verify was evaluated for this and not used: it reads the gold answers'
own ``#### N`` format wrongly on 4 of the 1,319 test items (it prefers an
earlier number), evaluates agent-supplied expressions with sympy (``9^9^9^9``
runs into its 5 s timeout per item), and its timeout uses ``signal.alarm``, so
it refuses to run outside the main thread (the dashboard scores in a thread).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from importlib.resources import files
from typing import Any

from ..domain.safejson import BadNumber
from ..errors import InvalidInput
from . import ItemResult, Scorer, ScoreReport, read_jsonl, sha256

#: A final answer with more digits than this is no answer (GSM8K's are at most 9).
MAX_DIGITS = 100
MAX_BOXED = 1000

# A number as models write it: optional sign or currency, thousands commas, decimals.
_NUMBER = re.compile(
    r"(?P<neg>(?<![\w)\].])[-\u2212]\s?)?\$?\s?"
    r"(?P<num>(?<![\d.,])(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+))"
)
_HASHES = re.compile(r"####")
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_FRAC = re.compile(r"\\[dt]?frac\s*\{\s*([^{}]+?)\s*\}\s*\{\s*([^{}]+?)\s*\}")
_ANSWER = re.compile(
    r"answer(?:\s*\*\*)?\s*(?:is|was|would be|should be|will be|:|=)(?:\s*:)?(?:\s*\*\*)?", re.IGNORECASE
)
_LATEX_NOISE = re.compile(r"\\[,;!]|\{,\}|\\text\{[^{}]*\}|\\mathrm\{[^{}]*\}|\\%|\\\$")


class _Unusable(Exception):
    """The answer is a number too long to read: degenerate output, scored as wrong."""


def parse_number(text: str) -> Fraction | None:
    """The exact value of a number token such as ``$1,234.50`` or ``-3``; ``None`` if it is not one."""
    m = _NUMBER.search(text)
    if not m:
        return None
    try:
        return _value(m)
    except _Unusable:
        return None


def _value(m: re.Match[str]) -> Fraction | None:
    digits = m.group("num").replace(",", "")
    if len(digits) - ("." in digits) > MAX_DIGITS:
        raise _Unusable
    try:
        value = Fraction(Decimal(digits))
    except (InvalidOperation, ValueError):
        return None
    return -value if m.group("neg") else value


def _first_number(text: str) -> Fraction | None:
    m = _NUMBER.search(text)
    return _value(m) if m else None


def _last_number(text: str) -> Fraction | None:
    matches = list(_NUMBER.finditer(text))
    return _value(matches[-1]) if matches else None


def _boxed_content(text: str) -> str | None:
    """The content of the last ``\\boxed{...}``, braces balanced."""
    starts = [m.end() for m in _BOXED.finditer(text)]
    if not starts:
        return None
    start = starts[-1]
    end = min(len(text), start + MAX_BOXED)
    depth = 1
    for pos in range(start, end):
        if text[pos] == "{":
            depth += 1
        elif text[pos] == "}":
            depth -= 1
            if depth == 0:
                return text[start:pos]
    return text[start:end]


def _from_boxed(content: str) -> Fraction | None:
    content = _LATEX_NOISE.sub("", content)
    frac = _FRAC.search(content)
    if frac:
        num, den = _first_number(frac.group(1)), _first_number(frac.group(2))
        if num is not None and den:
            return num / den
    return _first_number(content)


def _after_answer_phrase(tail: str) -> Fraction | None:
    tail = tail[:300]
    line = tail.lstrip().split("\n", 1)[0]
    sentence = re.split(r"\.(?:\s|$)", line, maxsplit=1)[0]
    if "=" in sentence:
        value = _first_number(sentence.rsplit("=", 1)[1])
        if value is not None:
            return value
    return _first_number(tail)


def extract_answer(text: str) -> Fraction | None:
    """The final numeric answer in a model's free-text output, or ``None`` if it has none.

    >>> extract_answer("16 - 3 - 4 = 9 eggs, 9 * 2 = 18.\\n#### 18")
    Fraction(18, 1)
    >>> extract_answer("The total is $1,234.50.")
    Fraction(2469, 2)
    """
    try:
        return _extract(text)
    except _Unusable:
        return None


def _extract(text: str) -> Fraction | None:
    """:func:`extract_answer`, raising :class:`_Unusable` for an answer of too many digits."""
    text = unicodedata.normalize("NFKC", text)
    hashes = list(_HASHES.finditer(text))
    if hashes:
        value = _first_number(text[hashes[-1].end() :].split("\n", 1)[0])
        if value is not None:
            return value
    boxed = _boxed_content(text)
    if boxed is not None:
        value = _from_boxed(boxed)
        if value is not None:
            return value
    phrases = list(_ANSWER.finditer(text))
    if phrases:
        value = _after_answer_phrase(text[phrases[-1].end() :])
        if value is not None:
            return value
    return _last_number(text)


def show(value: Fraction | None) -> str | None:
    """A plain decimal form of an extracted value (``18``, ``0.5``, ``2/3``)."""
    if value is None:
        return None
    if value.denominator == 1:
        return str(value.numerator)
    d = value.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1:
        return format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return f"{value.numerator}/{value.denominator}"


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _norm_question(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


class GSM8KScorer(Scorer):
    """Exact-match accuracy on GSM8K's final numeric answers."""

    name = "gsm8k"
    version = "1.0"

    def reference(self, split: str = "test", data: bytes | None = None) -> tuple[list[dict[str, Any]], bytes]:
        """The split's items (``question``, ``answer``) and the raw bytes they came from.

        Raises:
            InvalidInput: a split the package does not ship, or malformed reference data.
        """
        if data is None:
            if split != "test":
                raise InvalidInput(
                    f"the built-in gsm8k scorer ships the test split only, not {split!r}",
                    hint="set [scorer] split = \"test\", or point [scorer] data at a GSM8K-format JSONL in the space",
                )
            data = files(__package__).joinpath("data/gsm8k_test.jsonl").read_bytes()
        items = [obj for _, obj in read_jsonl(data, what="gsm8k reference data")]
        for number, obj in enumerate(items, start=1):
            if not isinstance(obj.get("answer"), str) or "####" not in obj["answer"]:
                raise InvalidInput(
                    f"gsm8k reference data, item {number}: no 'answer' ending in '#### N'",
                    hint="reference data must be GSM8K JSONL: question, answer ('... #### 18')",
                )
        return items, data

    def score(self, predictions: bytes, *, split: str = "test", data: bytes | None = None) -> ScoreReport:
        items, raw = self.reference(split, data)
        by_question = {_norm_question(str(obj.get("question", ""))): i for i, obj in enumerate(items)}
        given: dict[int, str | None] = {}
        seen_on: dict[int, int] = {}
        for line, obj in read_jsonl(predictions, what="predictions", keep_bad_numbers=True):
            index = self._index(line, obj, items, by_question)
            if index in seen_on:
                raise InvalidInput(
                    f"predictions, line {line}: item {index} was already predicted on line {seen_on[index]}",
                    hint="give one prediction per item",
                )
            seen_on[index] = line
            given[index] = self._prediction(line, obj)
        results = []
        unusable = 0
        for index, obj in enumerate(items):
            gold_text = obj["answer"].rsplit("####", 1)[1].strip()
            gold = parse_number(gold_text)
            prediction = given.get(index)
            extracted = None
            try:
                if isinstance(prediction, BadNumber):  # NaN, 1e400, 5,000 digits: no answer at all
                    raise _Unusable
                extracted = _extract(prediction) if prediction is not None else None
            except _Unusable:
                unusable += 1
            correct = extracted is not None and gold is not None and extracted == gold
            results.append(ItemResult(index, correct, gold_text, show(extracted), prediction))
        correct = sum(r.correct for r in results)
        return ScoreReport(
            scorer=self.name,
            version=self.version,
            split=split,
            score=correct / len(results) if results else 0.0,
            correct=correct,
            total=len(results),
            data_sha256=sha256(raw),
            items=results,
            unusable=unusable,
        )

    @staticmethod
    def _index(line: int, obj: dict[str, Any], items: list[dict[str, Any]], by_question: dict[str, int]) -> int:
        index = obj.get("index")
        question = obj.get("question")
        if index is None and question is None:
            raise InvalidInput(
                f"predictions, line {line}: needs 'index' (0-based line of the split) or 'question'",
                hint='e.g. {"index": 0, "prediction": "... #### 18"}',
            )
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(items):
                raise InvalidInput(
                    f"predictions, line {line}: index {_short(index)} is not a line of the split (0 to {len(items) - 1})",
                    hint="'index' is the 0-based line number in the test split",
                )
            if isinstance(question, str) and _norm_question(question) != _norm_question(items[index]["question"]):
                raise InvalidInput(
                    f"predictions, line {line}: index {index} holds another question than the one given",
                    hint="indexes are 0-based; check for an off-by-one, or give only 'question'",
                )
            return index
        if not isinstance(question, str) or _norm_question(question) not in by_question:
            shown = question[:60] + "..." if isinstance(question, str) and len(question) > 60 else question
            raise InvalidInput(
                f"predictions, line {line}: question {shown!r} is not in the split",
                hint="copy the question text exactly from the test split, or give 'index'",
            )
        return by_question[_norm_question(question)]

    @staticmethod
    def _prediction(line: int, obj: dict[str, Any]) -> str | None:
        if "prediction" not in obj:
            raise InvalidInput(
                f"predictions, line {line}: no 'prediction' field",
                hint='each line needs the model\'s output as "prediction"',
            )
        value = obj["prediction"]
        if value is None or isinstance(value, BadNumber):
            return value
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InvalidInput(
                f"predictions, line {line}: 'prediction' must be text, got {type(value).__name__}",
                hint="put the model's output as a string",
            )
        return str(value)
