"""The execute result's envelope through the real API: the plan's FunctionExecutor call as the
plan writes it (read from the plan at test time), the mapping view, streams apart, and
``hks_sdk.functions.execute`` configured from the environment."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, List

import pytest

import hks_sdk
from hks_sdk import FunctionExecutor

PRINTS = (
    "import sys\n\n"
    "def handler(event, context):\n"
    "    print('out %s' % event['n'])\n"
    "    print('err %s' % event['n'], file=sys.stderr)\n"
    "    return {'double': event['n'] * 2}\n"
)


def plan_file() -> Path:
    """The plan (``HKS_SHARED_DIR``, by default ``../shared`` next to the repository)."""
    repo = Path(__file__).resolve().parents[3]
    shared = Path(os.environ.get("HKS_SHARED_DIR") or repo.parent / "shared")
    if not shared.is_absolute():
        shared = repo / shared
    return shared / "plan" / "cronjob-and-function-plan.md"


def plan_parameters(method: str) -> List[str]:
    """The parameter names of ``FunctionExecutor.<method>`` as the plan declares them."""
    text = plan_file().read_text(encoding="utf-8")
    body = re.search(r"^class FunctionExecutor:\n(.*?)^```", text, re.M | re.S)
    assert body, "%s: no class FunctionExecutor found" % plan_file()
    found = re.search(r"def %s\(self, ([^)]*)\)" % method, body.group(1))
    assert found, "%s: FunctionExecutor.%s not found" % (plan_file(), method)
    return [part.split(":")[0].strip() for part in found.group(1).split(",")]


def test_the_plans_call_as_it_is_written(api):
    init = plan_parameters("__init__")
    call = plan_parameters("execute")
    assert init == ["api_url", "auth_token"], init
    assert call == ["code", "input", "timeout"], call
    # Keyword for keyword as the plan names them; the project comes from HKS_PROJECT.
    executor = FunctionExecutor(**dict(zip(init, [api.url, api.internal_token])))
    result = executor.execute(**dict(zip(call, [PRINTS, {"n": 21}, 30])))
    assert result["status"] == "succeeded", dict(result)
    assert result["result"] == {"double": 42}
    assert result["stdout"] == "out 21\n"
    assert result["stderr"] == "err 21\n"
    assert result["output"] == result["logs"]
    assert "out 21" in result["output"] and "err 21" in result["output"]
    assert result.stdout == result["stdout"] and result.stderr == result["stderr"]
    assert result.truncated is None and "truncated" not in result


def test_a_failure_keeps_both_streams_and_the_error(api):
    code = (
        "import sys\n\ndef handler(event, context):\n"
        "    print('before', file=sys.stderr)\n    raise KeyError('missing')\n"
    )
    result = FunctionExecutor(api.url, auth_token=api.internal_token).execute(code, input={})
    assert result["status"] == "failed", dict(result)
    assert result["error"]["type"] == "KeyError"
    assert "before" in result["stderr"]
    assert result.error is not None and result.error.type == "KeyError"


def test_functions_execute_reads_the_environment(api, monkeypatch):
    monkeypatch.setenv("HKS_API_URL", api.url)
    monkeypatch.setenv("HKS_INTERNAL_TOKEN", api.internal_token)
    monkeypatch.setenv("HKS_PROJECT", api.project)
    result = hks_sdk.functions.execute(code=PRINTS, input={"n": 2}, timeout=20)
    assert (result["status"], result["result"]) == ("succeeded", {"double": 4}), dict(result)
    assert result["stdout"] == "out 2\n"


@pytest.mark.parametrize(
    "unset",
    [["HKS_API_URL"], ["HKS_INTERNAL_TOKEN", "HKS_TOKEN"]],
    ids=["no url", "no token"],
)
def test_functions_execute_without_the_environment_is_a_value_error(api, monkeypatch, unset):
    env: Dict[str, str] = {
        "HKS_API_URL": api.url,
        "HKS_INTERNAL_TOKEN": api.internal_token,
        "HKS_PROJECT": api.project,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match=unset[-1]):
        hks_sdk.functions.execute(code=PRINTS, input={"n": 1})
