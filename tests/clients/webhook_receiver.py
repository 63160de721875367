"""A webhook receiver for the tests: verifies every delivery with the Standard Webhooks
reference library (`standardwebhooks`, pinned in requirements.txt), as a real receiver
would, and keeps what it got in a JSON-lines file that outlives its restarts.

    python webhook_receiver.py --port PORT --dir DIR

DIR/secret holds the endpoint's secret (whsec_...), read at each delivery, so the test can
write it once sessiond has answered it; DIR/status, if present, holds the HTTP status to
answer (default 204), so the test can make the receiver refuse. Each POST appends one line
to DIR/received.jsonl:

    {"id": webhook-id, "status": 204, "verified": true, "tampered_rejected": true,
     "signatures": 1, "payload": {...}}

`tampered_rejected` says whether the library refused the same delivery with its body
changed; `signatures` counts the signatures in `webhook-signature` (two while a rotated
secret overlaps the new one).
"""

import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    log = os.path.join(args.dir, "received.jsonl")

    def read(name, default=None):
        try:
            with open(os.path.join(args.dir, name)) as f:
                return f.read().strip()
        except FileNotFoundError:
            return default

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def answer(self, status, body=b""):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = dict(self.headers.items())
            status = int(read("status", "204"))
            record = {
                "id": headers.get("webhook-id"),
                "status": status,
                "signatures": len(headers.get("webhook-signature", "").split()),
            }
            secret = read("secret")
            wh = Webhook(secret) if secret else None
            try:
                if wh is None:
                    raise WebhookVerificationError("no secret yet")
                record["payload"] = wh.verify(body, headers)
                record["verified"] = True
            except WebhookVerificationError as e:
                record["verified"] = False
                record["error"] = str(e)
            if wh is not None:
                tampered = body.replace(b'"data":{', b'"data":{"x":1,', 1)
                try:
                    wh.verify(tampered, headers)
                    record["tampered_rejected"] = False
                except WebhookVerificationError:
                    record["tampered_rejected"] = True
            with open(log, "a") as f:
                f.write(json.dumps(record) + "\n")
            self.answer(status if record["verified"] else 400)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on {args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
