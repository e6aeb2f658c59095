"""Client side of `npm run bench:execute`: execute-once calls through the Python SDK.

Runs ``--warmup`` executions (not counted) and then ``--runs`` executions of the handler
in ``--code-file`` (``main.handler``, or ``index.handler`` with ``--runtime nodejs20``) with ``FunctionExecutor.execute``, one after another,
and prints one JSON line per execution on stdout: the client's wall time (``totalMs``,
request to parsed result), the API's ``durationMs`` and ``timings``, whether it was a
warm-up, whether a warm pool instance ran it (``pool``) and, for an execution that did not succeed, its ``error``. Standard library and
hks_sdk only (PYTHONPATH=sdk/python).

Settings: ``HKS_API_URL``, ``HKS_INTERNAL_TOKEN``, ``HKS_PROJECT`` (read by the SDK).
Exit codes: 0 done (failed executions are reported in their line), 2 bad usage.
"""

import argparse
import json
import sys
import time

from hks_sdk import FunctionExecutor


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code-file", required=True, help="source of the handler (main.handler)")
    parser.add_argument("--runs", type=int, default=50, help="counted executions (default 50)")
    parser.add_argument("--warmup", type=int, default=3, help="executions not counted (default 3)")
    parser.add_argument("--runtime", default="python3.12", help="python3.12 or nodejs20 (default python3.12)")
    parser.add_argument(
        "--pause-ms", type=int, default=0, help="pause between executions, for a warm pool to refill (default 0)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs: expected >= 1; --warmup: expected >= 0")

    with open(args.code_file, encoding="utf-8") as source:
        code = source.read()
    executor = FunctionExecutor()
    for index in range(args.warmup + args.runs):
        warmup = index < args.warmup
        event = {"run": index}
        started = time.perf_counter()
        result = executor.execute(code, input=event, timeout=10, runtime=args.runtime)
        total_ms = (time.perf_counter() - started) * 1000
        line = {
            "run": index - args.warmup,
            "warmup": warmup,
            "id": result.id,
            "status": result.status,
            "totalMs": round(total_ms, 1),
            "durationMs": result.duration_ms,
            "timings": result.timings,
            "pool": bool(result.get("pool", False)),
        }
        if not result.succeeded:
            line["error"] = result.error.message if result.error else result.status
        print(json.dumps(line), flush=True)
        if args.pause_ms > 0:
            time.sleep(args.pause_ms / 1000)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
