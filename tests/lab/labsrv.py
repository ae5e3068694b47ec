#!/usr/bin/env python3
"""Misbehaving servers of the pulldoctor client lab (issue 5), all in one process.

usage: labsrv.py CONFIG.json

CONFIG is a JSON object with a list "listeners"; each is one of
  {"kind": "registry", "addr": IP, "port": N, "cert": PEM|null, "key": PEM|null,
   "blob_host": "https://HOST[:PORT]"|null, "all": null|"429"|"503"}
      a tiny registry (TLS when cert is given, plain HTTP otherwise). GET /v2/ answers
      200. Images are made on demand per repository `lab/MODE` (each repository gets
      its own layer, so no client ever finds a layer it already has; `lab/MODE-ANY` is
      MODE with an image of its own); tag `1` exists,
      any other tag is MANIFEST_UNKNOWN. MODE decides what goes wrong:
        hello        nothing
        ratelimit    manifests answer 429 TOOMANYREQUESTS
        unavailable  manifests answer 503 UNAVAILABLE
        private      manifests answer 401 UNAUTHORIZED with a Basic challenge
        reset        the layer blob: headers and a quarter of the body, then a TCP RST
        eof          the layer blob: headers and a quarter of the body, then a clean close
        redirect     every blob GET is a 307 to blob_host (a CDN-like blob host)
      "all": "503"/"429" answers that status to every request, /v2/ included (a load
      balancer with no backend, a rate limiter in front of everything).
  {"kind": "blobs", "addr", "port", "cert", "key"}
      the blob host redirect targets: serves any blob of any lab image.
  {"kind": "dns", "addr": IP, "port": 53, "mode": "servfail"|"silent"}
      a UDP resolver answering SERVFAIL to everything, or reading and never answering.

Content is deterministic (same digests on every run). Every request is logged to
stderr. The process runs until killed (lab.sh runs it under `timeout`).
"""

import gzip
import hashlib
import io
import json
import platform
import socket
import ssl
import struct
import sys
import tarfile
import threading
import http.server

MT_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
LAYER_BYTES = 192 * 1024


def log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def digest(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


def arch() -> str:
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}.get(m, m)


def noise(seed: str, n: int) -> bytes:
    """n deterministic, incompressible bytes."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}/{i}".encode()).digest()
        i += 1
    return bytes(out[:n])


class Image:
    def __init__(self, repo: str) -> None:
        data = noise(repo, LAYER_BYTES)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
            for name, body in (("pulldoctor-lab/" + repo.replace("/", "_") + ".txt", repo.encode() + b"\n"), ("pulldoctor-lab/noise.bin", data)):
                ti = tarfile.TarInfo(name)
                ti.size, ti.mtime, ti.mode = len(body), 0, 0o644
                t.addfile(ti, io.BytesIO(body))
        tar = buf.getvalue()
        self.layer = gzip.compress(tar, mtime=0)
        self.config = json.dumps(
            {
                "architecture": arch(),
                "os": "linux",
                "created": "2026-01-01T00:00:00Z",
                "config": {"Cmd": ["/bin/true"]},
                "rootfs": {"type": "layers", "diff_ids": [digest(tar)]},
                "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "pulldoctor lab " + repo}],
            },
            sort_keys=True,
        ).encode()
        self.manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MT_MANIFEST,
                "config": {"mediaType": MT_CONFIG, "size": len(self.config), "digest": digest(self.config)},
                "layers": [{"mediaType": MT_LAYER, "size": len(self.layer), "digest": digest(self.layer)}],
            },
            indent=3,
        ).encode()
        self.blobs = {digest(self.config): self.config, digest(self.layer): self.layer}
        self.layer_digest = digest(self.layer)


IMAGES: dict = {}
BLOBS: dict = {}
LOCK = threading.Lock()


def image(repo: str) -> Image:
    with LOCK:
        if repo not in IMAGES:
            img = Image(repo)
            IMAGES[repo] = img
            BLOBS.update(img.blobs)
        return IMAGES[repo]


def errors(code: str, message: str, detail=None) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message, "detail": detail}]}).encode() + b"\n"


def make_handler(spec: dict):
    blob_host = spec.get("blob_host")
    everything = spec.get("all")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "pulldoctor-lab"
        sys_version = ""

        def log_message(self, fmt: str, *args: object) -> None:
            log("%s:%s %s %s" % (spec["addr"], spec["port"], self.address_string(), fmt % args))

        def reply(self, status: int, body: bytes, headers=(), ctype="application/json; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:  # noqa: N802
            self.do_GET()

        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?", 1)[0]
            if everything == "503":
                return self.reply(503, b"<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n", ctype="text/html")
            if everything == "429":
                return self.reply(429, errors("TOOMANYREQUESTS", "too many requests"), [("Retry-After", "1")])
            if spec["kind"] == "blobs":
                d = path.rsplit("/", 1)[-1] if "/blobs/" in path else ""
                if path.endswith("/data"):
                    d = "sha256:" + path.split("/")[-2]
                with LOCK:
                    body = BLOBS.get(d)
                if body is None:
                    return self.reply(404, b"<Error><Code>NoSuchKey</Code></Error>\n", ctype="application/xml")
                return self.reply(200, body, [("Docker-Content-Digest", d)], ctype="application/octet-stream")
            if path.rstrip("/") == "/v2":
                return self.reply(200, b"{}")
            parts = path.split("/")
            # /v2/lab/MODE/(manifests|blobs)/REF
            if len(parts) != 6 or parts[1] != "v2" or parts[4] not in ("manifests", "blobs"):
                return self.reply(404, errors("NAME_UNKNOWN", "repository name not known to registry"))
            repo, kind, ref = parts[2] + "/" + parts[3], parts[4], parts[5]
            mode = parts[3].split("-", 1)[0]  # lab/eof-ctr: mode eof, its own image
            img = image(repo)
            if kind == "manifests":
                if mode == "ratelimit":
                    return self.reply(429, errors("TOOMANYREQUESTS", "too many requests"), [("Retry-After", "1")])
                if mode == "unavailable":
                    return self.reply(503, errors("UNAVAILABLE", "service unavailable"))
                if mode == "private":
                    detail = [{"Type": "repository", "Class": "", "Name": repo, "Action": "pull"}]
                    return self.reply(
                        401,
                        errors("UNAUTHORIZED", "authentication required", detail),
                        [("WWW-Authenticate", f'Basic realm="{spec["addr"]}:{spec["port"]}"')],
                    )
                if ref not in ("1", digest(img.manifest)):
                    return self.reply(404, errors("MANIFEST_UNKNOWN", "manifest unknown", {"Tag": ref}))
                return self.reply(200, img.manifest, [("Docker-Content-Digest", digest(img.manifest))], ctype=MT_MANIFEST)
            body = img.blobs.get(ref)
            if body is None:
                return self.reply(404, errors("BLOB_UNKNOWN", "blob unknown to registry", ref))
            if mode == "redirect" and self.command == "GET" and blob_host:
                hexd = ref.split(":", 1)[1]
                loc = f"{blob_host}/registry-v2/docker/registry/v2/blobs/sha256/{hexd[:2]}/{hexd}/data?verify=1767225600-pdlab"
                return self.reply(307, b"", [("Location", loc)], ctype="text/html; charset=utf-8")
            if mode in ("reset", "eof") and self.command == "GET" and ref == img.layer_digest:
                # Ranges are honoured (clients resume), and every answer breaks off at
                # the same byte, a quarter into the blob: a resumed download makes no
                # progress, as behind a middlebox that kills every long transfer.
                start = 0
                rng = self.headers.get("Range", "")
                if rng.startswith("bytes=") and rng[6:].split("-")[0].isdigit():
                    start = min(int(rng[6:].split("-")[0]), len(body))
                part = body[start:]
                self.send_response(206 if start else 200)
                self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(part)))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Docker-Content-Digest", ref)
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                cut = len(body) // 4
                self.wfile.write(body[start:cut] if start < cut else b"")
                self.wfile.flush()
                conn = self.connection
                if mode == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    log(f"{repo}: reset at byte {max(start, cut)} of {len(body)}")
                else:
                    log(f"{repo}: closing at byte {max(start, cut)} of {len(body)}")
                    try:
                        conn.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                # The socket closes only once rfile and wfile (its makefile()s) are closed.
                self.close_connection = True
                self.wfile.close()
                self.rfile.close()
                conn.close()
                self.wfile, self.rfile = io.BytesIO(), io.BytesIO()  # for the handler's final flush
                return
            return self.reply(200, body, [("Docker-Content-Digest", ref)], ctype="application/octet-stream")

    return Handler


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:
        log(f"error serving {client_address}: {sys.exc_info()[1]!r}")


def serve_http(spec: dict) -> None:
    srv = Server((spec["addr"], int(spec["port"])), make_handler(spec))
    if spec.get("cert"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(spec["cert"], spec["key"])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    log(f"listening {spec['kind']} on {spec['addr']}:{spec['port']} tls={bool(spec.get('cert'))}")
    srv.serve_forever()


def serve_dns(spec: dict) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((spec["addr"], int(spec["port"])))
    log(f"listening dns/{spec['mode']} on {spec['addr']}:{spec['port']}")
    while True:
        msg, peer = s.recvfrom(4096)
        if len(msg) < 12:
            continue
        log(f"dns/{spec['mode']} query from {peer[0]}:{peer[1]} ({len(msg)} bytes)")
        if spec["mode"] == "silent":
            continue
        qid, flags, qd = struct.unpack("!HHH", msg[:6])
        # The question section ends at the first 0-length label, then QTYPE and QCLASS.
        i = 12
        while i < len(msg) and msg[i] != 0:
            i += msg[i] + 1
        question = msg[12 : i + 5]
        rflags = 0x8000 | (flags & 0x0100) | 0x0080 | 2  # QR, RD copied, RA, SERVFAIL
        s.sendto(struct.pack("!HHHHHH", qid, rflags, 1 if qd else 0, 0, 0, 0) + question, peer)


def main() -> None:
    cfg = json.load(open(sys.argv[1]))
    threads = []
    for spec in cfg["listeners"]:
        target = serve_dns if spec["kind"] == "dns" else serve_http
        t = threading.Thread(target=target, args=(spec,), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
