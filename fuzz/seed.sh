#!/bin/sh
# Fills fuzz/corpus/<target>/ with seeds taken from the repository's fixtures (the
# corpus directory is git-ignored; libFuzzer adds what it finds there). Idempotent.
set -eu
cd "$(dirname "$0")"
F=../fixtures
seed() { # seed TARGET FILE...
    t=$1; shift
    mkdir -p "corpus/$t"
    for f in "$@"; do
        [ -f "$f" ] || continue
        cp "$f" "corpus/$t/$(echo "$f" | tr '/' '_' | sed 's/^\.\._//')"
    done
}
seed log $F/explain/*.log $F/collect/tools/*.txt
seed daemon_json $F/collect/daemon-json/*.json $F/check/*/root/etc/docker/daemon.json
seed docker_config $F/collect/docker-config/*.json $F/check/*/root/root/.docker/config.json \
    $F/check/*/root/home/*/.docker/config.json
seed systemctl_show $F/collect/systemctl/*.txt $F/collect/unit/*.conf $F/check/*/commands/systemctl-*.txt \
    $F/check/*/root/etc/systemd/system/*.service.d/*.conf
seed rules ../rules/*.toml
seed redact $F/explain/*.log
# proxy_url: a proxy value, a NO_PROXY value, a request URL and a host, one per line.
mkdir -p corpus/proxy_url
i=0
while IFS='|' read -r proxy no_proxy url host; do
    i=$((i + 1))
    printf '%s\n%s\n%s\n%s' "$proxy" "$no_proxy" "$url" "$host" > "corpus/proxy_url/seed-$i"
done <<'SEEDS'
http://alice:S3cret@proxy.corp:3128|localhost,127.0.0.1,.corp|https://registry-1.docker.io/v2/|registry-1.docker.io
alice:p@ss@10.0.0.5:3128|*.docker.io,10.0.0.0/8|https://registry.corp:5000/v2/|registry.corp
socks5h://[::1]:1080|[::1],.local|http://[fe80::1%25eth0]:80/|fe80::1
https://u%40x:p%3Aw@proxy:443/path?q#f|<local>,*|https://xn--bcher-kva.example/|bücher.example
127.0.0.1:7890| |https://production.cloudflare.docker.com/x?verify=1-abc|production.cloudflare.docker.com
http://proxy|docker.io:443,.docker.com|https://auth.docker.io/token?scope=x&service=y|auth.docker.io
SEEDS
echo "seeded: $(for d in corpus/*/; do printf '%s=%s ' "$(basename "$d")" "$(ls "$d" | wc -l)"; done)"
