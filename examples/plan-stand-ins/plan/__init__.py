"""Stand-ins for the helpers the plan's examples call but leave undefined.

The examples' code goes beside this file unchanged (``plan/backup.py``, ``plan/alert.py``,
handler ``plan.backup.handler``). Python imports this package first, and it puts the helpers
among the builtins, where the examples' names resolve: ``perform_backup``,
``scale_deployment`` and ``send_slack_message``. Each prints one JSON line saying what it
was asked, so that a test can read it from the invocation's logs.
"""

import builtins
import json
import os
import tempfile


def _record(name, **fields):
    print(json.dumps(dict({"standIn": name}, **fields)), flush=True)


def perform_backup(db_config):
    """Writes a small SQL file naming the database and returns its path."""
    handle, path = tempfile.mkstemp(prefix="backup-", suffix=".sql")
    with os.fdopen(handle, "w") as dump:
        dump.write("-- stand-in dump of %s\n" % json.dumps(db_config, sort_keys=True))
    _record("perform_backup", db_config=db_config, file=path)
    return path


def scale_deployment(deployment, replicas):
    _record("scale_deployment", deployment=deployment, replicas=replicas)


def send_slack_message(message):
    _record("send_slack_message", message=message)


for _helper in (perform_backup, scale_deployment, send_slack_message):
    setattr(builtins, _helper.__name__, _helper)
