#!/usr/bin/env python3
"""Deterministic generator of a large, realistic container log for scripts/bench.

    gen-log.py OUT_FILE SIZE_MB FIXTURE_DIR [ERROR_LINES]

With GEN_EXAMPLES=FILE the error lines come from FILE (one per line) instead.

Writes SIZE_MB MiB of docker build (BuildKit plain progress), docker pull (TTY
progress with ANSI cursor movement and `\\r` redraws), kubelet / containerd
journal lines, pip / apt / npm chatter and CRLF lines, with ERROR_LINES
(default 300) real error lines taken from FIXTURE_DIR/*.log (the lines of the
explain fixtures that contain a rule keyword) scattered through it at
deterministic positions. Same arguments, same bytes (fixed seed).
"""

import os
import random
import sys

SEED = 20261122


def hexid(r, n):
    return "".join(r.choice("0123456789abcdef") for _ in range(n))


def build_pool(r):
    """A pool of background lines: no error, few keywords (like real logs)."""
    pool = []
    pkgs = ["ca-certificates", "curl", "git", "libssl3", "python3-pip", "tzdata",
            "build-essential", "openssl", "gnupg", "unzip", "zlib1g-dev", "libffi-dev"]
    pips = ["numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.whl",
            "requests-2.32.3-py3-none-any.whl", "urllib3-2.2.2-py3-none-any.whl",
            "torch-2.3.1-cp311-cp311-manylinux1_x86_64.whl", "pydantic-2.8.2-py3-none-any.whl"]
    images = ["nginx:1.27", "python:3.11-slim", "node:20-alpine", "golang:1.22",
              "redis:7", "postgres:16", "busybox:1.36", "ubuntu:24.04"]
    pods = ["web-7c9f6d8b5d-x2x7q", "api-5f6d7c8b9-k2j3h", "worker-6b7c8d9e0-p9q8r"]
    for step in range(1, 400):
        n = r.randint(2, 40)
        t = r.uniform(0.1, 90.0)
        layer = hexid(r, 64)
        total = r.uniform(1, 900)
        done = total * r.random()
        pool += [
            f"#{n} [{r.randint(1, 9)}/{r.randint(9, 12)}] RUN apt-get update && apt-get install -y --no-install-recommends {r.choice(pkgs)} {r.choice(pkgs)}",
            f"#{n} {t:.3f} Get:{step} http://deb.debian.org/debian bookworm/main amd64 {r.choice(pkgs)} amd64 {r.randint(1, 9)}.{r.randint(0, 20)}-{r.randint(1, 5)} [{r.randint(10, 9000)} kB]",
            f"#{n} {t:.3f} Setting up {r.choice(pkgs)} ({r.randint(1, 9)}.{r.randint(0, 30)}-{r.randint(1, 9)}) ...",
            f"#{n} {t:.3f} Unpacking {r.choice(pkgs)} ({r.randint(1, 9)}.{r.randint(0, 30)}) over ({r.randint(1, 9)}.{r.randint(0, 30)}) ...",
            f"#{n} sha256:{layer} {done:.2f}MB / {total:.2f}MB {t:.1f}s",
            f"#{n} extracting sha256:{layer} {t:.1f}s done",
            f"#{n} DONE {t:.1f}s",
            f"#{n} CACHED",
            f"#{n} {t:.3f}   Building wheel for {r.choice(pkgs)} (pyproject.toml): started",
            f"#{n} {t:.3f} Collecting {r.choice(pips).split('-')[0]}>={r.randint(1, 3)}.{r.randint(0, 9)}",
            f"#{n} {t:.3f} npm WARN deprecated inflight@1.0.6: This module is not supported, and leaks memory.",
            f"#{n} exporting layers {t:.1f}s done",
            f"#{n} writing image sha256:{layer} done",
            f"#{n} [internal] load metadata for docker.io/library/{r.choice(images)}",
            # A dockerd / containerd journal line in logfmt (escaped quotes).
            f"Nov 22 10:{r.randint(10, 59)}:{r.randint(10, 59)} node-1 dockerd[1123]: time=\"2026-11-22T10:14:{r.randint(10, 59)}.{r.randint(100000, 999999)}+08:00\" level=info msg=\"Layer sha256:{layer} cleaned up\"",
            f"Nov 22 10:{r.randint(10, 59)}:{r.randint(10, 59)} node-1 containerd[871]: time=\"2026-11-22T10:14:{r.randint(10, 59)}Z\" level=info msg=\"ImageCreate event name:\\\"docker.io/library/{r.choice(images)}\\\" labels:{{key:\\\"io.cri-containerd.image\\\" value:\\\"managed\\\"}}\"",
            f"May 10 09:{r.randint(10, 59)}:{r.randint(10, 59)} node-1 kubelet[2211]: I0510 09:40:{r.randint(10, 59)}.{r.randint(100000, 999999)}    2211 kuberuntime_manager.go:{r.randint(100, 999)}] \"Container started\" pod=\"default/{r.choice(pods)}\" containerName=\"web\"",
            f"May 10 09:{r.randint(10, 59)}:{r.randint(10, 59)} node-1 kubelet[2211]: I0510 09:40:{r.randint(10, 59)}.{r.randint(100000, 999999)}    2211 kubelet.go:{r.randint(1000, 2999)}] \"SyncLoop (PLEG): event for pod\" pod=\"default/{r.choice(pods)}\" event={{\"ID\":\"{hexid(r, 8)}\",\"Type\":\"ContainerStarted\"}}",
            f"\x1b[36mINFO\x1b[0m[{r.randint(0, 9999):04d}] layer {layer[:12]} verified in {t:.2f}s \x1b[90mcomponent=puller\x1b[0m",
            f"\x1b[1;32m✔\x1b[0m Container {r.choice(pods)}  \x1b[32mStarted\x1b[0m  {t:.1f}s",
            f"{layer[:12]}: Pull complete",
            f"{layer[:12]}: Verifying Checksum",
            f"{layer[:12]}: Download complete",
            f"Digest: sha256:{layer}",
            f"Status: Downloaded newer image for {r.choice(images)}",
            f"2026-11-22T10:14:{r.randint(10, 59)}.{r.randint(100000, 999999)}Z stdout F {{\"level\":\"info\",\"ts\":{r.randint(1700000000, 1800000000)},\"msg\":\"request served\",\"status\":200,\"bytes\":{r.randint(100, 99999)}}}",
            f"Step {r.randint(1, 9)}/{r.randint(9, 12)} : COPY . /app" + "\r",  # CRLF
            f" ---> Running in {layer[:12]}" + "\r",
            f"  Downloading {r.choice(pips)} ({total:.1f} MB)",
            f"     |{'█' * r.randint(0, 32)}{' ' * r.randint(0, 8)}| {done:.1f} MB {r.randint(1, 90)}.{r.randint(0, 9)} MB/s eta 0:00:{r.randint(10, 59)}",
        ]
        # A docker pull TTY redraw: cursor up, erase line, progress bar, many
        # times on one physical line (the terminal never saw a newline).
        frames = []
        for k in range(r.randint(3, 12)):
            width = 50 * k // 12
            frames.append(
                f"\x1b[{r.randint(1, 6)}A\x1b[2K{layer[:12]}: Downloading [{'=' * width}>{' ' * (49 - width)}]  {done * k / 12:.2f}MB/{total:.2f}MB\x1b[{r.randint(1, 6)}B"
            )
        pool.append("\r".join(frames))
        # A plain \r progress counter.
        pool.append("\r".join(f"Extracting [{p:3d}%] {layer[:12]}" for p in range(0, 101, r.choice([10, 20, 25]))))
        # A pip / curl download line: https:// is a rule keyword (PD4002), as
        # in real logs, where such lines are frequent but harmless.
        if step % 4 == 0:
            pool.append(f"#{n} {t:.3f}   Downloading https://files.pythonhosted.org/packages/{hexid(r, 2)}/{hexid(r, 2)}/{hexid(r, 60)}/{r.choice(pips)} ({total:.1f} MB)")
    return pool


def error_lines(fixture_dir, keywords):
    """The fixture lines that contain a rule keyword (the real error lines)."""
    out = []
    for name in sorted(os.listdir(fixture_dir)):
        if not name.endswith(".log"):
            continue
        with open(os.path.join(fixture_dir, name), encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.rstrip("\r\n")
                low = line.lower()
                if line.strip() and (not keywords or any(k in low for k in keywords)):
                    out.append(line)
    return out


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    out_path, size_mb, fixture_dir = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    n_errors = int(sys.argv[4]) if len(sys.argv) > 4 else 300
    keywords = []
    kw_file = os.environ.get("GEN_KEYWORDS")
    if kw_file:
        with open(kw_file, encoding="utf-8") as f:
            keywords = [l.rstrip("\n").lower() for l in f if l.strip()]
    r = random.Random(SEED)
    pool = [l.encode("utf-8") for l in build_pool(r)]
    examples = os.environ.get("GEN_EXAMPLES")
    if examples:
        # Error lines from this file instead (one per line): every rule's examples.
        with open(examples, encoding="utf-8") as f:
            errors = [l.rstrip("\n").encode("utf-8") for l in f if l.strip()]
    else:
        errors = [l.encode("utf-8") for l in error_lines(fixture_dir, keywords)]
    target = int(size_mb * 1024 * 1024)
    # Error positions: n_errors byte offsets, spread uniformly.
    marks = sorted(r.randrange(target) for _ in range(n_errors))
    written = 0
    mi = 0
    batch = 4096
    with open(out_path, "wb") as f:
        while written < target:
            lines = r.choices(pool, k=batch)
            chunk = b"\n".join(lines) + b"\n"
            end = written + len(chunk)
            if end > target:
                cut = chunk.rfind(b"\n", 0, target - written)
                lines = chunk[: cut + 1].split(b"\n")[:-1] if cut >= 0 else []
                end = target
            inserts = []
            while mi < len(marks) and marks[mi] < end:
                inserts.append(r.randrange(len(lines) + 1))
                mi += 1
            if inserts or end == target:
                parts = list(lines)
                for pos in sorted(inserts, reverse=True):
                    parts.insert(pos, errors[r.randrange(len(errors))])
                chunk = b"\n".join(parts) + b"\n" if parts else b""
            f.write(chunk)
            written += len(chunk)
            if end == target:
                break
    sys.stderr.write(f"gen-log: {out_path}: {written} bytes, {n_errors} error lines from {len(errors)} distinct\n")


if __name__ == "__main__":
    main()
