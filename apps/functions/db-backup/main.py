"""The plan's backup example: dump a database and put the dump into an S3 bucket.

Called by the platform's scheduler with {db_config, s3_bucket}; the timestamp of the dump is
the run's scheduled time (context.timer, the OpenTelemetry faas.time), or the input's
"timestamp" when a caller gives one, else now.
"""
import json
import os
import urllib.request
from datetime import datetime, timezone


def handler(event, context):
    db_config = event["db_config"]
    s3_bucket = event["s3_bucket"]
    timer = getattr(context, "timer", None) or {}
    timestamp = event.get("timestamp") or timer.get("time") or now()
    key = "backups/%s.sql" % timestamp
    dump = perform_backup(db_config, timestamp)
    uploaded = upload(s3_bucket, key, dump)
    context.logger.info("backup made", bucket=s3_bucket, key=key, bytes=len(dump), uploaded=uploaded)
    return {"status": "success", "file": key, "bytes": len(dump), "uploaded": uploaded}


def now():
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def perform_backup(db_config, timestamp):
    """A stand-in for pg_dump, which the stock python image does not have: the dump's header."""
    header = {"database": db_config.get("database"), "host": db_config.get("host"), "at": timestamp}
    return ("-- backup %s\n" % json.dumps(header, sort_keys=True)).encode("utf-8")


def upload(bucket, key, body):
    """PUTs the object to an S3-compatible endpoint (path style); False when none is set."""
    endpoint = os.environ.get("S3_ENDPOINT", "").rstrip("/")
    if not endpoint:
        return False
    request = urllib.request.Request("%s/%s/%s" % (endpoint, bucket, key), data=body, method="PUT")
    with urllib.request.urlopen(request, timeout=60) as response:
        return 200 <= response.status < 300
