"""The exercise checker: answers hidden in the package, trivial answers rejected, hints always given."""

from __future__ import annotations

import pytest
import torch

from gaugelab import exercises as ex


@pytest.fixture
def toy_exercise():
    name = "99.double_it"

    @ex.exercise(name, hint="multiply every entry by two")
    def _(x):
        return 2 * x

    yield name
    ex.REGISTRY.pop(name)


def test_right_answer_is_accepted(toy_exercise):
    x = torch.tensor([1.0, -2.0, 3.5])
    v = ex.verify(toy_exercise, 2 * x, x=x)
    assert v.ok and v.status == "correct"


def test_wrong_answer_gets_the_hint_and_not_the_expected_value(toy_exercise):
    x = torch.tensor([1.0, -2.0, 3.5])
    v = ex.verify(toy_exercise, 3 * x, x=x)
    assert not v.ok and v.status == "wrong"
    assert "multiply every entry by two" in v.message
    assert "7" not in v.message  # 2 · 3.5: the expected answer is not shown


@pytest.mark.parametrize("trivial", [torch.zeros(3), torch.full((3,), 4.0)])
def test_answers_that_compute_nothing_are_rejected(toy_exercise, trivial):
    x = torch.tensor([1.0, -2.0, 3.5])
    v = ex.verify(toy_exercise, trivial, x=x)
    assert v.status == "trivial" and "Hint" in v.message


def test_unattempted_and_unreadable_answers_do_not_raise(toy_exercise, capsys):
    x = torch.tensor([1.0])
    assert ex.verify(toy_exercise, ..., x=x).status == "not attempted"
    assert ex.verify(toy_exercise, "two", x=x).status == "unreadable"
    assert ex.check(toy_exercise, None, x=x) is None  # prints, returns nothing (no stray Out[n])
    assert "not attempted" in capsys.readouterr().out


def test_registration_requires_a_hint_and_a_notebook_number():
    with pytest.raises(ValueError, match="hint"):
        ex.exercise("99.no_hint", hint=" ")
    with pytest.raises(ValueError, match="name"):
        ex.exercise("no_number", hint="h")


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(ValueError, match="name: no exercise called"):
        ex.verify("98.nothing_here", 1.0)


def test_every_registered_exercise_has_a_hint():
    for name, e in ex.load_all().items():
        assert e.hint.strip(), name


def test_a_wrong_scalar_answer_does_not_leak_the_expected_value(toy_exercise):
    x = torch.tensor([3.5])
    v = ex.verify(toy_exercise, 5.0, x=x)  # expected 7: the message must not let one solve for it
    assert not v.ok and "7" not in v.message and "2" not in v.message.split("Hint")[0]


def test_sign_and_scale_mistakes_get_their_own_hint(toy_exercise):
    x = torch.tensor([1.0, -2.0, 3.5])
    assert "wrong sign" in ex.verify(toy_exercise, -2 * x, x=x).message
    assert "proportional" in ex.verify(toy_exercise, 4 * x, x=x).message


@pytest.fixture
def function_exercise():
    name = "99.cube"

    @ex.exercise(name, hint="x³", cases=[(1.0,), (2.0,), (-1.5,)], rtol=1e-12)
    def _(x, offset=0.0):
        return x**3 + offset

    yield name
    ex.REGISTRY.pop(name)


def test_function_exercises_call_the_answer_on_every_case(function_exercise):
    assert ex.verify(function_exercise, lambda x: x**3).ok
    assert ex.verify(function_exercise, lambda x: x**3 + 1, offset=1.0).ok  # context reaches the key
    assert not ex.verify(function_exercise, lambda x: x**3, offset=1.0).ok


@pytest.mark.parametrize(
    "answer, status",
    [
        (lambda x: x**2, "wrong"),  # right on the first case only
        (lambda x: 0.0, "trivial"),
        (lambda x: 8.0, "trivial"),  # one constant everywhere
        (lambda x: ..., "not attempted"),
        (lambda x: 1 / 0, "unreadable"),  # a function that raises is reported, not raised
        (27.0, "unreadable"),  # a number where a function is asked for
        (lambda x: [x, x], "wrong"),  # the wrong number of values
    ],
)
def test_function_exercises_reject_what_computes_nothing(function_exercise, answer, status):
    v = ex.verify(function_exercise, answer)
    assert v.status == status, v.message
    if status != "not attempted":
        assert "Hint" in v.message


def test_a_function_exercise_needs_several_cases():
    with pytest.raises(ValueError, match="cases"):
        ex.exercise("99.one_case", hint="h", cases=[(1,)])


def test_a_scaffold_inside_a_list_is_not_attempted(toy_exercise):
    assert ex.verify(toy_exercise, [..., ...], x=torch.ones(2)).status == "not attempted"
