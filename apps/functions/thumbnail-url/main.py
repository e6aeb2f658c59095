"""Returns the URL of a product image's thumbnail, in the size asked for."""
import os

from sizes import clamp

BUCKET = os.environ.get("BUCKET", "thumbs")


def handler(event, context):
    event = event if isinstance(event, dict) else {}
    image = event.get("image")
    if not image:
        return {"statusCode": 400, "body": {"error": "expected {\"image\": ..., \"width\": ...}"}}
    width = clamp(int(event.get("width", 320)))
    context.logger.info("thumbnail", image=image, width=width)
    return {"url": "https://%s.example.com/%d/%s" % (BUCKET, width, image), "width": width}
