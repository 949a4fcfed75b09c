"""Reading target specs and results: the return forms SMAC3 accepts and its script convention."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mpismac.target import (
    TargetResultError,
    TargetSpec,
    command_argv,
    function_spec,
    normalize_result,
    parse_command_output,
    parse_target,
)
from mpismac.trial import Status

from .conftest import DATA

pytestmark = pytest.mark.fast


def test_return_forms():
    assert normalize_result(1.5, ["cost"]) == ((1.5,), {})
    assert normalize_result(np.float32(2.0), ["cost"]) == ((2.0,), {})
    assert normalize_result([1, 2], ["a", "b"]) == ((1.0, 2.0), {})
    assert normalize_result({"b": 2, "a": 1, "extra": 9}, ["a", "b"]) == ((1.0, 2.0), {})
    assert normalize_result((3.0, {"note": "x"}), ["cost"]) == ((3.0,), {"note": "x"})
    assert normalize_result(math.inf, ["cost"]) == ((math.inf,), {})


@pytest.mark.parametrize("bad,objectives,why", [
    (math.nan, ["cost"], "NaN"), ("fast", ["cost"], "not a number"), (None, ["cost"], "not a number"),
    (True, ["cost"], "not a number"), ([1.0], ["a", "b"], "1 costs for 2"), (1.0, ["a", "b"], "one number for 2"),
    ({"a": 1}, ["a", "b"], "lacks objective"), ([1, "x"], ["a", "b"], "not a number"),
])
def test_unusable_results(bad, objectives, why):
    with pytest.raises(TargetResultError, match=why):
        normalize_result(bad, objectives)


def test_parse_target_forms(tmp_path):
    assert parse_target("pkg.mod:fn", tmp_path) == TargetSpec("function", function="fn", module="pkg.mod")
    spec = parse_target("targets.py:quadratic", DATA)
    assert spec.path == str(DATA / "targets.py") and spec.function == "quadratic"
    cmd = parse_target("cmd_target.py --a=1", DATA)
    assert cmd.kind == "command" and cmd.argv == (str(DATA / "cmd_target.py"), "--a=1")
    assert parse_target(["sleep", "1"], tmp_path).argv == ("sleep", "1")
    with pytest.raises(ValueError, match="not on PATH"):
        parse_target("no-such-program-xyz", tmp_path)


def test_command_line_convention():
    spec = TargetSpec("command", argv=("solver", "--fixed"))
    argv = command_argv(spec, {"x": 1.5, "algo": "a b"}, seed=3, instance="i1", features=[0.5, 2], budget=9.0)
    assert argv == ["solver", "--fixed", "--instance=i1", "--instance_features=0.5,2.0", "--seed=3",
                    "--budget=9.0", "--x=1.5", "--algo=a b"]
    assert command_argv(spec, {"x": 1}, 0, None, None, None) == ["solver", "--fixed", "--seed=0", "--x=1"]


def test_command_output_parsing():
    out = "progress 10%\ncost=0.5; runtime=0.01; status=SUCCESS; additional_info=hello world\n"
    expected = (Status.SUCCESS, (0.5,), {"runtime": 0.01, "additional_info": "hello world"})
    assert parse_command_output(out, ["cost"]) == expected
    assert parse_command_output("cost = 1, 2\n", ["a", "b"])[1] == (1.0, 2.0)
    assert parse_command_output("status=TIMEOUT\n", ["cost"])[0] == Status.TIMEOUT
    for bad in ("nothing here\n", "cost=abc\n", "status=WEIRD\n", "status=RUNNING\n"):
        with pytest.raises(TargetResultError):
            parse_command_output(bad, ["cost"])


def _local(config):
    return 0.0


def test_which_callables_run_in_a_trial_process():
    spec, _ = function_spec(normalize_result)
    assert spec == TargetSpec("function", function="normalize_result", module="mpismac.target")
    assert function_spec(lambda c: 0.0)[0] is None
    assert "closure" in function_spec(_make_closure())[1]
    # SMAC3's examples pass `model.train`: the object cannot be rebuilt in a trial process (importing
    # `Model.train` by name would call it with the configuration as `self`); a classmethod can be
    assert "bound to an object" in function_spec(_Model().train)[1]
    assert function_spec(_Model.make)[0] == TargetSpec("function", function="_Model.make", module=__name__)


class _Model:
    def train(self, config):
        return 0.0

    @classmethod
    def make(cls, config):
        return 0.0


def _make_closure():
    def inner(config):
        return 0.0
    return inner
