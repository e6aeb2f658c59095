"""The examples of the SDK's README and of the project's README run as written, against the real API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SDK = Path(__file__).resolve().parent.parent
READMES = (SDK / "README.md", SDK.parent.parent / "README.md")
EXAMPLES = [
    example
    for readme in READMES
    for example in re.findall(r"```python\n(.*?)```", readme.read_text("utf-8"), re.S)
]


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_readme_example_runs(api, index):
    env = dict(
        os.environ,
        HKS_API_URL=api.url,
        HKS_TOKEN=api.token,
        HKS_INTERNAL_TOKEN=api.internal_token,
        HKS_PROJECT=api.project,
        PYTHONPATH=str(SDK),
        PYTHONDONTWRITEBYTECODE="1",
    )
    run = subprocess.run(
        [sys.executable, "-c", EXAMPLES[index]],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, "example %d failed:\n%s\n%s" % (index, run.stdout, run.stderr)
