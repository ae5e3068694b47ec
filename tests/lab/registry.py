#!/usr/bin/env python3
"""Fallback lab registry, used by lab.sh only when Debian's docker-registry is
not installed: a TLS server answering `GET /v2/` the way the distribution
registry does with token auth (401, `WWW-Authenticate: Bearer realm=...`,
`Docker-Distribution-Api-Version: registry/2.0`).

usage: registry.py ADDR PORT CERT KEY REALM SERVICE
"""

import http.server
import json
import ssl
import sys


def main() -> None:
    addr, port, cert, key, realm, service = sys.argv[1:7]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path.rstrip("/") == "/v2":
                body = json.dumps(
                    {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required", "detail": None}]}
                ).encode() + b"\n"
                self.send_response(401)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
                self.send_header("WWW-Authenticate", f'Bearer realm="{realm}",service="{service}"')
            else:
                body = b"404 page not found\n"
                self.send_response(404)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt: str, *args: object) -> None:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    server = http.server.ThreadingHTTPServer((addr, int(port)), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
