"""A local webhook receiver for trying HelloJohn's webhooks: verifies both signatures and prints each event.

Standard library only, so it runs with any Python 3.11+:

    python3 docs/examples/webhook_receiver.py --port 9000 --secret whsec_…

Register it first (the answer carries the secret), with `make run` serving (its demo allows
127.0.0.0/8 through HJ_WEBHOOK_ALLOWED_NETWORKS):

    curl -X POST http://127.0.0.1:8000/v1/webhooks -H "Authorization: Bearer $SK" -H "X-Tenant-ID: $T" \\
         -H "Content-Type: application/json" -d '{"url": "http://127.0.0.1:9000/hook", "events": ["*"]}'

`verify_hellojohn` and `verify_standard` are the verification recipes of docs/api.md ("Signatures").
"""

import argparse
import base64
import hashlib
import hmac
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300  # refuse replays of old deliveries


def verify_hellojohn(secret: str, body: bytes, signature_header: str, timestamp_header: str) -> bool:
    """HelloJohn-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the whole secret string>."""
    if abs(time.time() - int(timestamp_header)) > TOLERANCE_SECONDS:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # During a secret rotation the header holds one signature per secret, separated by spaces.
    return any(hmac.compare_digest(expected, candidate) for candidate in signature_header.split(" "))


def verify_standard(secret: str, body: bytes, webhook_id: str, timestamp_header: str, signature_header: str) -> bool:
    """Standard Webhooks: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}", keyed with the decoded secret>."""
    if abs(time.time() - int(timestamp_header)) > TOLERANCE_SECONDS:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp_header}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, candidate.partition(",")[2])
               for candidate in signature_header.split(" ") if candidate.startswith("v1,"))


class Receiver(BaseHTTPRequestHandler):
    secret = ""
    seen: set[str] = set()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = self.headers
        ok_hj = verify_hellojohn(self.secret, body, headers.get("HelloJohn-Signature", ""),
                                 headers.get("HelloJohn-Timestamp", "0"))
        ok_std = verify_standard(self.secret, body, headers.get("webhook-id", ""),
                                 headers.get("webhook-timestamp", "0"), headers.get("webhook-signature", ""))
        if not (ok_hj and ok_std):
            print(f"REFUSED (HelloJohn signature {'ok' if ok_hj else 'bad'}, "
                  f"Standard Webhooks signature {'ok' if ok_std else 'bad'})", flush=True)
            self.send_response(400)
            self.end_headers()
            return
        event = json.loads(body)
        duplicate = event["id"] in self.seen  # at least once: de-duplicate on webhook-id (the event id)
        self.seen.add(event["id"])
        print(f"{'duplicate ' if duplicate else ''}{event['type']} {event['id']} (both signatures verified, "
              f"delivery {headers.get('HelloJohn-Delivery-ID')})\n{json.dumps(event['data'], indent=2)}", flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", required=True, help="the signing_secret (whsec_…) of the endpoint")
    args = parser.parse_args()
    Receiver.secret = args.secret
    print(f"Listening on http://127.0.0.1:{args.port}/hook", flush=True)
    ThreadingHTTPServer(("127.0.0.1", args.port), Receiver).serve_forever()


if __name__ == "__main__":
    main()
