"""Callback signatures of asynchronous invocations: the SDK verifies what the API signs (the
signature below is the API's signCallback of the same key, body and time)."""

from hks_sdk import verify_callback
from hks_sdk.async_invocations import AsyncInvocation, sign_callback

KEY = "project-key"
BODY = b'{"word":"hi"}'
API_SIGNATURE = "t=1700000000,v1=225cac3bc13dd227d3463aa34761606157ec7e2b287fbbe1fa28ad4fbbda0651"


def test_the_api_signature_verifies_within_the_tolerance():
    assert sign_callback(KEY, BODY, 1700000000) == API_SIGNATURE
    assert verify_callback(KEY, BODY, API_SIGNATURE, now=1700000100)


def test_a_wrong_key_a_changed_body_or_an_old_signature_fails():
    assert not verify_callback("other-key", BODY, API_SIGNATURE, now=1700000100)
    assert not verify_callback(KEY, b'{"word":"ho"}', API_SIGNATURE, now=1700000100)
    assert not verify_callback(KEY, BODY, API_SIGNATURE, now=1700000000 + 301)
    assert not verify_callback(KEY, BODY, "t=soon,v1=00", now=1700000000)
    assert not verify_callback(KEY, BODY, "", now=1700000000)


def test_the_view_is_read_from_the_api_json():
    view = AsyncInvocation.from_json(
        {
            "id": "0b6f1c2e-5d4a-4e3b-9f21-7c8d9e0a1b2c",
            "function": "resize",
            "state": "dead",
            "attempts": 3,
            "maxAttempts": 3,
            "createdAt": "2026-01-01T00:00:00.000Z",
            "attemptIds": ["a", "b", "c"],
            "lastError": "The function answered 503 on the last of 3 attempts",
            "result": {"status": 503, "bytes": 2, "truncated": False, "body": "{}"},
        }
    )
    assert view.finished and view.max_attempts == 3 and view.attempt_ids == ["a", "b", "c"]
    assert view.result["status"] == 503
