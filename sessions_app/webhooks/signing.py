"""The two signature header sets of a delivery (docs/api.md, "Signatures").

One `whsec_` secret signs both: HelloJohn's header is an HMAC-SHA256 of the raw body keyed with the
whole secret string; Standard Webhooks' is an HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}"
keyed with the base64-decoded part after `whsec_`. While a rotated secret still signs, each header
carries one signature per secret, separated by spaces, the current secret's first.
"""

import base64
import hashlib
import hmac

from sessions_app.webhooks.secrets import SECRET_PREFIX


def hellojohn_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, *, webhook_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(*, secrets: list[str], body: bytes, event_id: str, event_type: str, delivery_id: str,
                   timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "HelloJohn-Webhooks/1",
        "HelloJohn-Signature": " ".join(hellojohn_signature(s, body) for s in secrets),
        "HelloJohn-Event": event_type,
        "HelloJohn-Delivery-ID": delivery_id,
        "HelloJohn-Timestamp": str(timestamp),
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            standard_signature(s, webhook_id=event_id, timestamp=timestamp, body=body) for s in secrets
        ),
    }
