"""Files in and out of an execution: ``input_files`` sent as text or base64, the result's
``output_files`` decoded, against a local server and through the real API."""

from __future__ import annotations

import pytest

from hks_sdk import FunctionExecutor

from conftest import json_reply

COPY = (
    "import os\n\n"
    "def handler(event):\n"
    "    text = open('input/notes/a.txt', encoding='utf-8').read()\n"
    "    raw = open(os.path.join(os.environ['HKS_INPUT_DIR'], 'b.bin'), 'rb').read()\n"
    "    open('output/a.txt', 'w', encoding='utf-8').write(text.upper())\n"
    "    open(os.path.join(os.environ['HKS_OUTPUT_DIR'], 'b.bin'), 'wb').write(raw[::-1])\n"
    "    os.symlink('/etc/passwd', 'output/passwd')\n"
    "    return len(raw)\n"
)


def test_input_files_go_as_text_and_base64_and_output_files_come_back_decoded(server):
    server.reply(
        json_reply(
            200,
            {
                "id": "ex-1",
                "status": "succeeded",
                "result": 1,
                "outputFiles": {"r.txt": {"text": "ok"}, "r.bin": {"base64": "AP8="}},
                "omittedFiles": [{"path": "l", "reason": "symlink"}],
            },
        )
    )
    executor = FunctionExecutor(server.url, "tok")
    result = executor.execute("x = 1", input_files={"a/t.txt": "hé", "b.bin": b"\x00\xff"})
    assert server.requests[0].json()["inputFiles"] == {
        "a/t.txt": {"text": "hé"},
        "b.bin": {"base64": "AP8="},
    }
    assert result.output_files == {"r.txt": "ok", "r.bin": b"\x00\xff"}
    assert result.omitted_files == [{"path": "l", "reason": "symlink"}]


def test_an_input_file_of_another_type_is_a_type_error_naming_it(server):
    with pytest.raises(TypeError, match=r"input_files\['n'\]: given int, expected str \(text\) or bytes"):
        FunctionExecutor(server.url, "tok").execute("x = 1", input_files={"n": 1})
    assert server.requests == []


def test_files_in_and_out_through_the_api(api):
    executor = FunctionExecutor(api.url, api.internal_token, api.project)
    result = executor.execute(
        COPY, input_files={"notes/a.txt": "héllo", "b.bin": bytes([0, 1, 255])}
    )
    assert result.status == "succeeded", dict(result)
    assert result.result == 3
    assert result.output_files == {"a.txt": "HÉLLO", "b.bin": bytes([255, 1, 0])}
    assert result.omitted_files == [{"path": "passwd", "reason": "symlink"}]


def test_an_unsafe_input_path_is_refused_naming_it(api):
    from hks_sdk import BadRequestError

    executor = FunctionExecutor(api.url, api.internal_token, api.project)
    with pytest.raises(BadRequestError) as raised:
        executor.execute(COPY, input_files={"../x": "no"})
    assert raised.value.errors[0].path == 'inputFiles["../x"]'
