"""Stand-in for boto3, for running the plan's backup example without AWS.

Only ``boto3.client("s3").upload_file(filename, bucket, key)`` exists: it copies the file to
``$S3_STAND_IN_DIR/<bucket>/<key>`` (default ``/tmp/hks-s3-stand-in``, writable in a
function's container) and prints one JSON line saying what it stored.
"""

import json
import os
import shutil


class S3Client:
    def upload_file(self, filename, bucket, key):
        if not os.path.isfile(filename):
            raise FileNotFoundError("upload_file: given %r, which is not a file" % filename)
        root = os.environ.get("S3_STAND_IN_DIR") or "/tmp/hks-s3-stand-in"
        target = os.path.join(root, bucket, key)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(filename, target)
        record = {"standIn": "s3.upload_file", "bucket": bucket, "key": key, "bytes": os.path.getsize(target)}
        print(json.dumps(record), flush=True)


def client(service_name, **_options):
    if service_name != "s3":
        raise ValueError('boto3 stand-in: given client("%s"), expected client("s3")' % service_name)
    return S3Client()
