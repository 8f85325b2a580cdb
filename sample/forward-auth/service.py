"""The service behind nginx in the forward-auth sample: not Node, knows nothing of OAuth.

It trusts the identity headers that nginx copied from the decision endpoint (nginx overwrites any a client sends)
and answers with them as JSON; the phantom token (Authorization: Bearer <JWT>) would be verified with the JWKS
the decision service publishes. Standard library only.

    python3 service.py [port]   (default 8000, on 127.0.0.1)
"""

import base64
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive with nginx

    def do_GET(self):
        identity = {name.lower(): value for name, value in self.headers.items() if name.lower().startswith("x-auth-")}
        claims = None
        authorization = self.headers.get("Authorization", "")
        if authorization.startswith("Bearer ") and authorization.count(".") == 2:
            payload = authorization.split(".")[1]
            # Decoded to show it; a real service verifies it first (the JWKS at /.well-known/phantom-jwks.json).
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        body = json.dumps({"service": "python", "path": self.path, "identity": identity, "phantom_claims": claims}, indent=2).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, format, *args):  # quiet
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"python service on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()
