"""The exercise machinery: check, hints and solution, with readable results.

An exercise's `check(answer)` never raises: it answers correct, incorrect
(naming the symptom), not attempted (the starter is untouched) or could
not check (the lab is down), so a notebook always runs top to bottom.
"""

from __future__ import annotations

import html
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any, ClassVar, TypeVar

from cqrs_lab.errors import LabError, LabNotRunning

T = TypeVar("T")
STARS = {1: "★", 2: "★★", 3: "★★★"}
# The starter cells raise this; its presence in a function means untouched.
STUB_ERROR = "NotImplementedError"


class Status(StrEnum):
    """What a check concluded."""

    CORRECT = "correct"
    INCORRECT = "incorrect"
    NOT_ATTEMPTED = "not attempted"
    UNCHECKED = "could not check"


COLOURS = {Status.CORRECT: "#1b7f3b", Status.INCORRECT: "#b3261e",
           Status.NOT_ATTEMPTED: "#6b6b6b", Status.UNCHECKED: "#a15c00"}
ICONS = {Status.CORRECT: "✔", Status.INCORRECT: "✘",
         Status.NOT_ATTEMPTED: "…", Status.UNCHECKED: "⚠"}


class Incorrect(Exception):
    """Raised inside a check: the answer is wrong; the message says how."""

    def __init__(self, message: str, hint: int | None = None) -> None:
        super().__init__(message)
        # The hint that addresses this mistake; None points at the first.
        self.hint = hint


class NotAttempted(Exception):
    """Raised inside a check: the starter code is still untouched."""


@dataclass(frozen=True)
class Result:
    """The outcome of one check, shown as a coloured box in a notebook."""

    exercise: str
    status: Status
    message: str

    def __bool__(self) -> bool:
        return self.status is Status.CORRECT

    def __repr__(self) -> str:
        return (f"[{self.status}] {ICONS[self.status]} {self.exercise}: "
                f"{self.message}")

    def _repr_html_(self) -> str:
        colour = COLOURS[self.status]
        text = html.escape(self.message).replace("\n", "<br>")
        return (f'<div style="border-left:4px solid {colour};padding:4px 8px">'
                f'<b style="color:{colour}">{ICONS[self.status]} '
                f"{html.escape(str(self.status))}</b> — "
                f"{html.escape(self.exercise)}<br>{text}</div>")


@dataclass(frozen=True)
class Text:
    """A hint or a solution: Markdown in a notebook, plain text elsewhere."""

    title: str
    body: str
    code: bool = False

    def __repr__(self) -> str:
        return f"{self.title}\n\n{self.body}"

    def __str__(self) -> str:
        return self.body

    def _repr_markdown_(self) -> str:
        body = f"```python\n{self.body}\n```" if self.code else self.body
        return f"**{self.title}**\n\n{body}"


def is_stub(answer: Any) -> bool:
    """Tells whether a function, or any method or handler of it, is a stub."""
    return bool(stubs_in(answer))


def stubs_in(answer: Any) -> list[str]:
    """The names of the functions in an answer that are still stubs."""
    return [f.__name__ for f in _functions(answer) if _raises_stub(f)]


def _functions(answer: Any) -> Iterable[Callable[..., Any]]:
    if isinstance(answer, type):
        own = vars(answer).values()
        return [f for f in own if callable(f) and hasattr(f, "__code__")]
    if isinstance(answer, Mapping):
        return [f for f in answer.values() if hasattr(f, "__code__")]
    return [answer] if hasattr(answer, "__code__") else []


def _raises_stub(function: Callable[..., Any]) -> bool:
    code = getattr(function, "__code__", None)
    return code is not None and STUB_ERROR in code.co_names


@cache
def shared_lab() -> Any:
    """One Lab for every check in this kernel, made on first use."""
    from cqrs_lab.lab import Lab

    return Lab()


class Exercise:
    """One exercise: a goal, progressive hints, a check and a solution."""

    lesson: ClassVar[str] = ""
    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    difficulty: ClassVar[int] = 1
    hints: ClassVar[tuple[str, ...]] = ()
    # What the learner passes to check(), named in "not attempted" messages.
    answer_name: ClassVar[str] = "answer"

    def __init__(self, lab: Any = None) -> None:
        self._lab = lab

    @property
    def lab(self) -> Any:
        """The Lab the check drives (a shared one unless given)."""
        return self._lab if self._lab is not None else shared_lab()

    @property
    def label(self) -> str:
        """How results name the exercise: lesson, name and difficulty."""
        return f"{self.lesson[:2]} {self.name} {STARS[self.difficulty]}"

    def __repr__(self) -> str:
        return f"<{self.label}: {self.title}>"

    def check(self, answer: Any = None) -> Result:
        """Checks an answer; never raises, so notebooks run to the end."""
        if answer is None:
            return self._result(Status.NOT_ATTEMPTED, self._untouched())
        if stubs := stubs_in(answer):
            return self._result(Status.NOT_ATTEMPTED, (
                f"{', '.join(stubs)} still "
                f"{'raises' if len(stubs) == 1 else 'raise'} "
                "NotImplementedError: "
                f"replace every stub, then check again; {self.name}.hint() "
                "helps"))
        try:
            message = self.verify(answer)
        except NotAttempted as error:
            return self._result(Status.NOT_ATTEMPTED, str(error))
        except Incorrect as error:
            return self._result(Status.INCORRECT, self._with_hint(error))
        except (LabError, TimeoutError) as error:
            return self._result(Status.UNCHECKED, f"{error}")
        except Exception:  # noqa: BLE001 - a bug in a check must not kill the run
            return self._result(
                Status.UNCHECKED, "the check itself failed; please report:\n"
                + traceback.format_exc(limit=4))
        return self._result(Status.CORRECT, message)

    def _with_hint(self, error: Incorrect) -> str:
        if not self.hints:
            return str(error)
        n = min(error.hint or 1, len(self.hints))
        return f"{error}\n→ {self.name}.hint({n}) is about this"

    def _untouched(self) -> str:
        return (f"write {self.answer_name} in the starter cell, run it, then "
                f"pass it: {self.name}.check({self.answer_name})")

    def _result(self, status: Status, message: str) -> Result:
        return Result(self.label, status, message)

    def verify(self, answer: Any) -> str:
        """Raises Incorrect or NotAttempted, or returns what was shown right."""
        raise NotImplementedError

    def call(self, function: Callable[..., T], *args: Any,
             what: str | None = None) -> T:
        """Calls the learner's code, turning its errors into Incorrect."""
        name = what or getattr(function, "__name__", "your code")
        try:
            found = function(*args)
        except NotImplementedError as error:
            raise NotAttempted(f"{name} still raises NotImplementedError "
                               f"({error}): replace the stub") from None
        except (Incorrect, NotAttempted, LabNotRunning):
            raise
        except LabError as error:
            # The learner's own call was refused (unknown order, stuck...).
            raise Incorrect(f"{name} raised {type(error).__name__}: {error}"
                            ) from error
        except Exception as error:
            raise Incorrect(f"{name} raised {type(error).__name__}: {error}"
                            ) from error
        if found is Ellipsis:
            raise NotAttempted(f"{name} still returns ...: replace the stub")
        return found

    def hint(self, n: int = 1) -> Text:
        """Hint number n; later hints say more."""
        if not self.hints:
            return Text(f"{self.label}", "no hints for this one")
        if n < 1 or n > len(self.hints):
            return Text(f"{self.label}: hints", (
                f"there are hints 1 to {len(self.hints)}; "
                f"{self.name}.solution() shows the reference answer"))
        more = (f"\n\n(hint {n} of {len(self.hints)}; "
                f"{self.name}.hint({n + 1}) says more)"
                if n < len(self.hints) else
                f"\n\n(last hint; {self.name}.solution() shows the answer)")
        return Text(f"{self.label} hint {n}", self.hints[n - 1] + more)

    def solution(self) -> Text:
        """The reference answer, read from the exercise's source."""
        from cqrs_lab.exercises.source import solution_code

        return Text(f"{self.label}: reference solution",
                    solution_code(self.lesson, self.name), code=True)
