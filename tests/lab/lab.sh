#!/usr/bin/env bash
# The pulldoctor fault lab: real servers inside network namespaces this script
# creates, for end-to-end tests of `pulldoctor check` (issue 3) and the lab of
# issue 5.
#
#   lab.sh deps                  list missing prerequisites (exit 3 when any)
#   lab.sh up DIR [NAME]         build the lab; state, certificates and logs in DIR
#   lab.sh bare DIR [NAME]       one namespace with nothing in it (lo down)
#   lab.sh exec DIR CMD [ARG…]   run CMD in the client namespace, with the lab's
#                                resolv.conf and hosts bound over /etc in a private
#                                mount namespace (nothing outside DIR is written)
#   lab.sh down DIR              stop every server by PID, delete the namespaces
#   lab.sh run DIR CMD [ARG…]    up, exec, down (down even on failure)
#
# The client lab of issue 5 (real skopeo, ctr and dockerd) adds, after `up`:
#
#   lab.sh clients DIR           start the misbehaving servers below, squid and a
#                                containerd for ctr; appends to DIR/lab.env
#   lab.sh dockerd DIR ID FILES [VAR=VALUE…]
#                                start a dockerd (its own data/exec roots and socket
#                                under DIR/dockerd/ID; DIR/dockerd/ID/root/etc/docker, with
#                                daemon.json and certs.d, bound over /etc/docker) in the
#                                client namespace with FILES/resolv.conf and FILES/hosts
#                                and the environment VAR=VALUE…; prints DOCKER_HOST=…
#                                (exit 1 and dockerd's log when it does not come up)
#   lab.sh deps-clients          what the client lab is missing (exit 3 when any)
#   LAB_FILES=FILES lab.sh exec DIR CMD…   exec with another resolv.conf/hosts pair
#   LAB_TMPFS="/var/lib …" lab.sh exec …    and empty tmpfs mounts (skopeo's blob cache
#                                is /var/lib/containers/cache for root)
#
# Topology (NAME defaults to pdlab-<random>):
#
#   NAME (client, "the VM")          NAME-peer ("the Colima host", a remote network)
#   lo up                            lo up
#   vc 192.168.5.1/24  <== veth ==>  vp 192.168.5.2/24, 192.168.5.3/24
#
#   192.168.5.3:5000  TLS registry `registry.test` (docker-registry, the real
#                     distribution registry; python3 fallback): GET /v2/ answers
#                     401 + `WWW-Authenticate: Bearer realm=…` and
#                     `Docker-Distribution-Api-Version: registry/2.0`; certificate
#                     from a test CA made here with openssl (DIR/certs/ca.crt)
#   192.168.5.2:53    dnsmasq: registry.test → 192.168.5.3, NXDOMAIN for the rest,
#                     nothing upstream
#   192.168.5.2:8888  tinyproxy, open CONNECT proxy
#   192.168.5.2:8889  tinyproxy with BasicAuth labuser:labpass (407 without it)
#   192.168.5.2:9999  nothing listening: refuses
#   $BLACKHOLE        swallows SYNs: 192.168.5.2:8890 behind an iptables DROP in
#                     the peer namespace, or (without iptables) 192.168.5.9:8888,
#                     an unassigned address with a static neighbour entry whose
#                     MAC nobody owns
#
# `clients` adds (all in the peer namespace unless said otherwise):
#
#   192.168.5.3:5001  labsrv.py registry (TLS, trusted cert): repositories lab/MODE
#                     fail on purpose: ratelimit 429, unavailable 503, private 401,
#                     reset / eof mid-blob, redirect (blobs → $BLOB_HOST); other tags
#                     are MANIFEST_UNKNOWN
#   192.168.5.3:5002  the same with a certificate for other.test only (name mismatch)
#   192.168.5.3:5003  the same with an expired certificate (2020)
#   192.168.5.3:5004  the same with a certificate without IP SANs (pull by IP)
#   192.168.5.3:5005  docker-registry (no auth) over plain HTTP (python3 fallback)
#   192.168.5.3:5006  everything answers 503 (a load balancer with no backend)
#   192.168.5.3:5007  everything answers 429
#   192.168.5.7:443   $BLOB_HOST, a CDN-like blob host; connections from the client
#                     are rejected with a TCP reset (iptables), those of the proxies
#                     (local to the peer) are not: reachable only through a proxy
#   192.168.5.4:53    a resolver answering SERVFAIL to everything
#   192.168.5.5:53    a resolver that never answers
#   192.168.5.6:53    no resolver (port unreachable)
#   192.168.5.2:3128  squid with basic auth (labuser:labpass), when squid is installed
#   DIR/containerd/containerd.sock  containerd for ctr (client namespace; the pulls
#                     themselves run in the ctr process)
#   DIR/files-{servfail,silent,down}/  resolv.conf/hosts pairs naming those resolvers
#
# LAB_REGISTRY_IMPL=python3 forces the fallback registry; LAB_BLACKHOLE=neighbour
# the static-neighbour blackhole.
# DIR/lab.env has the facts as KEY=VALUE lines (NS, PEER_NS, BLACKHOLE, CA, …).
# No default route and no NAT exist in the namespaces: nothing here can reach
# a real address. Every server runs under `timeout` (LAB_MAX_SECS, default 300)
# and is recorded in DIR/pids; `down` kills them by PID and deletes the
# namespaces listed in DIR/netns.
set -euo pipefail

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"
LAB_MAX_SECS="${LAB_MAX_SECS:-300}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

CLIENT_IP=192.168.5.1
HOST_IP=192.168.5.2
REGISTRY_IP=192.168.5.3
REGISTRY_NAME=registry.test
REGISTRY_PORT=5000
PROXY_PORT=8888
AUTH_PROXY_PORT=8889
AUTH_USER=labuser
AUTH_PASS=labpass
REFUSED_PORT=9999
DROP_PORT=8890
NEIGH_BLACKHOLE_IP=192.168.5.9
SERVFAIL_DNS_IP=192.168.5.4
SILENT_DNS_IP=192.168.5.5
DEAD_DNS_IP=192.168.5.6
BLOB_IP=192.168.5.7
# A CDN-like name (it ends like one of rules/context.toml's blob-cdn list), resolved to
# $BLOB_IP by the lab's dnsmasq only: nothing ever leaves the namespaces.
BLOB_HOST=pdlab-blobs.r2.cloudflarestorage.com
SQUID_PORT=3128

die() { echo "lab: $*" >&2; exit 1; }
log() { echo "lab: $*" >&2; }

# ---------------------------------------------------------------------------
# Prerequisites.

missing_deps() {
    local out=()
    [ "$(id -u)" = 0 ] || out+=("root (lab needs to create network namespaces)")
    for t in ip openssl tinyproxy dnsmasq timeout unshare mount; do
        command -v "$t" >/dev/null 2>&1 || out+=("$t")
    done
    if ! command -v docker-registry >/dev/null 2>&1 && ! command -v python3 >/dev/null 2>&1; then
        out+=("docker-registry (or python3 for the fallback registry)")
    fi
    if [ "${#out[@]}" = 0 ]; then
        # `ip netns` must really work here (a container may forbid it).
        local probe="pdlab-probe-$$-$RANDOM"
        if ip netns add "$probe" 2>/dev/null; then
            ip netns del "$probe" 2>/dev/null || true
        else
            out+=("ip netns (cannot create a network namespace here)")
        fi
    fi
    printf '%s\n' "${out[@]+"${out[@]}"}"
}

cmd_deps() {
    local m
    m="$(missing_deps)"
    if [ -n "$m" ]; then
        echo "$m"
        exit 3
    fi
    command -v docker-registry >/dev/null 2>&1 || echo "note: docker-registry missing, python3 fallback registry" >&2
    command -v iptables >/dev/null 2>&1 || echo "note: iptables missing, blackhole by static neighbour entry" >&2
}

# ---------------------------------------------------------------------------
# State.

rand_name() { printf 'pdlab-%04x%04x' "$RANDOM" "$RANDOM"; }

state_dir() {
    [ -n "${1:-}" ] || die "missing DIR"
    mkdir -p "$1"
    (cd "$1" && pwd)
}

# Runs CMD… in the background under `timeout`, logs to DIR/logs/NAME.log,
# records "NAME PID" in DIR/pids. Its stdin is /dev/null and it holds none of
# the caller's pipes, so a caller waiting for `up` to finish does not wait for it.
start_bg() {
    local dir=$1 name=$2
    shift 2
    timeout --kill-after=5 "$LAB_MAX_SECS" "$@" </dev/null >"$dir/logs/$name.log" 2>&1 &
    echo "$name $!" >>"$dir/pids"
}

# `sh -c "$BIND_FILES" sh FILES CMD…` binds FILES/hosts over /etc/hosts and
# FILES/resolv.conf over /etc/resolv.conf, mounts an empty tmpfs on each directory of
# $LAB_TMPFS (where a client would write outside DIR), then execs CMD…; run under
# `unshare --mount --propagation private` so the mounts are private to CMD.
# shellcheck disable=SC2016
BIND_FILES='mount --bind "$1/hosts" /etc/hosts && mount --bind "$1/resolv.conf" /etc/resolv.conf && for d in ${LAB_TMPFS:-}; do mount -t tmpfs -o mode=0755 pdlab "$d" || exit 1; done && shift && exec "$@"'

# The argv that runs CMD… in namespace NS with FILES bound over /etc.
in_ns_with_files() {
    local ns=$1 files=$2
    shift 2
    ip netns exec "$ns" unshare --mount --propagation private sh -c "$BIND_FILES" sh "$files" "$@"
}

wait_tcp() {
    local ns=$1 ip=$2 port=$3 what=$4
    for _ in $(seq 1 100); do
        if ip netns exec "$ns" timeout 1 bash -c "exec 3<>/dev/tcp/$ip/$port" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    die "$what did not listen on $ip:$port within 10 s (see its log)"
}

# ---------------------------------------------------------------------------
# Certificates: a test CA and a registry certificate (EC P-256, two days).

make_certs() {
    local d=$1/certs
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/ca.key" -out "$d/ca.crt" -days 2 -subj "/O=pulldoctor lab/CN=pulldoctor lab CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        >/dev/null 2>&1 || die "openssl: cannot make the CA"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/registry.key" -out "$d/registry.csr" -subj "/CN=$REGISTRY_NAME" \
        >/dev/null 2>&1 || die "openssl: cannot make the registry key"
    printf '%s\n' \
        "subjectAltName=DNS:$REGISTRY_NAME,IP:$REGISTRY_IP" \
        "basicConstraints=CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth" >"$d/registry.ext"
    openssl x509 -req -in "$d/registry.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -out "$d/registry.crt" -days 2 -extfile "$d/registry.ext" >/dev/null 2>&1 \
        || die "openssl: cannot sign the registry certificate"
}

# The client lab's certificates, all from the lab CA with one key (certs/extra.key):
# other.crt (other.test only), expired.crt (registry.test, valid in January 2020),
# noipsan.crt (registry.test, no IP SAN), blobs.crt ($BLOB_HOST).
sign_extra() {
    local d=$1 name=$2 san=$3 dates=$4
    openssl req -new -key "$d/extra.key" -out "$d/$name.csr" -subj "/CN=${san#DNS:}" >/dev/null 2>&1 \
        || die "openssl: cannot make the $name request"
    local ca_dir=$d/ca-db
    mkdir -p "$ca_dir/new"
    [ -f "$ca_dir/index.txt" ] || : >"$ca_dir/index.txt"
    [ -f "$ca_dir/serial" ] || echo 1000 >"$ca_dir/serial"
    {
        echo "[ca]"
        echo "default_ca = lab"
        echo "[lab]"
        echo "database = $ca_dir/index.txt"
        echo "new_certs_dir = $ca_dir/new"
        echo "serial = $ca_dir/serial"
        echo "default_md = sha256"
        echo "policy = any"
        echo "unique_subject = no"
        echo "[any]"
        echo "commonName = supplied"
        echo "[ext]"
        echo "subjectAltName = $san"
        echo "basicConstraints = CA:FALSE"
        echo "keyUsage = critical,digitalSignature,keyEncipherment"
        echo "extendedKeyUsage = serverAuth"
    } >"$ca_dir/ca.cnf"
    # shellcheck disable=SC2086
    openssl ca -batch -notext -config "$ca_dir/ca.cnf" -cert "$d/ca.crt" -keyfile "$d/ca.key" \
        -extensions ext $dates -in "$d/$name.csr" -out "$d/$name.crt" >"$ca_dir/$name.log" 2>&1 \
        || die "openssl: cannot sign $name.crt: $(cat "$ca_dir/$name.log")"
}

make_extra_certs() {
    local d=$1/certs
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$d/extra.key" >/dev/null 2>&1 \
        || die "openssl: cannot make the extra key"
    sign_extra "$d" other "DNS:other.test" "-days 2"
    sign_extra "$d" expired "DNS:$REGISTRY_NAME,IP:$REGISTRY_IP" "-startdate 200101000000Z -enddate 200201000000Z"
    sign_extra "$d" noipsan "DNS:$REGISTRY_NAME" "-days 2"
    sign_extra "$d" blobs "DNS:$BLOB_HOST" "-days 2"
}

# ---------------------------------------------------------------------------
# Servers (all in the peer namespace).

start_registry() {
    local dir=$1 peer=$2
    mkdir -p "$dir/data"
    if [ "${LAB_REGISTRY_IMPL:-}" != python3 ] && command -v docker-registry >/dev/null 2>&1; then
        cat >"$dir/conf/registry.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: $REGISTRY_IP:$REGISTRY_PORT
  secret: pulldoctor-lab
  tls:
    certificate: $dir/certs/registry.crt
    key: $dir/certs/registry.key
auth:
  token:
    realm: https://$REGISTRY_NAME:$REGISTRY_PORT/token
    service: $REGISTRY_NAME
    issuer: pulldoctor-lab
    rootcertbundle: $dir/certs/ca.crt
EOF
        start_bg "$dir" registry ip netns exec "$peer" docker-registry serve "$dir/conf/registry.yml"
        echo "REGISTRY_IMPL=docker-registry" >>"$dir/lab.env"
    else
        start_bg "$dir" registry ip netns exec "$peer" python3 "$HERE/registry.py" \
            "$REGISTRY_IP" "$REGISTRY_PORT" "$dir/certs/registry.crt" "$dir/certs/registry.key" \
            "https://$REGISTRY_NAME:$REGISTRY_PORT/token" "$REGISTRY_NAME"
        echo "REGISTRY_IMPL=python3" >>"$dir/lab.env"
    fi
}

start_dns() {
    local dir=$1 peer=$2
    start_bg "$dir" dnsmasq ip netns exec "$peer" dnsmasq \
        --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --no-poll \
        --bind-interfaces --listen-address="$HOST_IP" --port=53 \
        --user=root --group=root --pid-file= --log-facility=- --log-queries \
        --host-record="$REGISTRY_NAME,$REGISTRY_IP" --host-record="$BLOB_HOST,$BLOB_IP" --address=/#/
}

start_proxies() {
    local dir=$1 peer=$2
    cat >"$dir/conf/tinyproxy-open.conf" <<EOF
Port $PROXY_PORT
Listen $HOST_IP
Timeout 30
MaxClients 20
LogLevel Connect
DisableViaHeader Yes
EOF
    cat >"$dir/conf/tinyproxy-auth.conf" <<EOF
Port $AUTH_PROXY_PORT
Listen $HOST_IP
Timeout 30
MaxClients 20
LogLevel Connect
DisableViaHeader Yes
BasicAuth $AUTH_USER $AUTH_PASS
EOF
    # tinyproxy resolves the CONNECT target itself: give it the lab's hosts file.
    local t
    for t in open auth; do
        start_bg "$dir" "tinyproxy-$t" ip netns exec "$peer" unshare --mount --propagation private \
            sh -c "$BIND_FILES" sh "$dir/peer" tinyproxy -d -c "$dir/conf/tinyproxy-$t.conf"
    done
}

# ---------------------------------------------------------------------------
# The client lab (issue 5): misbehaving servers, squid, containerd, dockerds.

missing_client_deps() {
    local out=()
    for t in python3 iptables skopeo ctr containerd dockerd docker nsenter; do
        command -v "$t" >/dev/null 2>&1 || out+=("$t")
    done
    printf '%s\n' "${out[@]+"${out[@]}"}"
}

cmd_deps_clients() {
    local m
    m="$( (missing_deps; missing_client_deps) | sed '/^$/d')"
    if [ -n "$m" ]; then
        echo "$m"
        exit 3
    fi
    command -v squid >/dev/null 2>&1 || echo "note: squid missing, no squid 407 scenario" >&2
}

lab_get() { sed -n "s/^$2=//p" "$1/lab.env" | tail -1; }

# A resolv.conf/hosts pair in DIR/files-NAME naming resolver IP (answers in 1 s or never).
make_files() {
    local dir=$1 name=$2 ip=$3
    mkdir -p "$dir/files-$name"
    printf '127.0.0.1 localhost\n' >"$dir/files-$name/hosts"
    printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$ip" >"$dir/files-$name/resolv.conf"
}

start_squid() {
    local dir=$1 peer=$2
    mkdir -p "$dir/squid"
    if command -v htpasswd >/dev/null 2>&1; then
        htpasswd -bc "$dir/squid/htpasswd" "$AUTH_USER" "$AUTH_PASS" >/dev/null 2>&1
    else
        printf '%s:%s\n' "$AUTH_USER" "$(openssl passwd -apr1 "$AUTH_PASS")" >"$dir/squid/htpasswd"
    fi
    local helper="" h
    for h in /usr/lib/squid/basic_ncsa_auth /usr/lib/squid3/basic_ncsa_auth; do
        if [ -x "$h" ]; then helper=$h; break; fi
    done
    [ -n "$helper" ] || { log "squid: no basic_ncsa_auth helper; skipping squid"; return 0; }
    # squid drops to its effective user (proxy): it must read the config and write its logs.
    chmod 755 "$dir" "$dir/squid"
    chmod 644 "$dir/squid/htpasswd" "$dir/peer/hosts"
    cat >"$dir/squid/squid.conf" <<EOF
http_port $HOST_IP:$SQUID_PORT
pid_filename $dir/squid/squid.pid
cache_log stdio:$dir/logs/squid-cache.log
access_log stdio:$dir/logs/squid-access.log
cache deny all
coredump_dir none
shutdown_lifetime 0 seconds
pinger_enable off
hosts_file $dir/peer/hosts
dns_nameservers $HOST_IP
dns_timeout 2 seconds
auth_param basic program $helper $dir/squid/htpasswd
auth_param basic realm pulldoctor lab squid
auth_param basic children 1 startup=1 idle=1
acl authed proxy_auth REQUIRED
http_access allow authed
http_access deny all
EOF
    touch "$dir/logs/squid-cache.log" "$dir/logs/squid-access.log"
    chmod 666 "$dir/logs/squid-cache.log" "$dir/logs/squid-access.log"
    start_bg "$dir" squid ip netns exec "$peer" squid -N -f "$dir/squid/squid.conf"
    echo "SQUID=http://$HOST_IP:$SQUID_PORT" >>"$dir/lab.env"
}

start_labsrv() {
    local dir=$1 peer=$2 c=$1/certs
    cat >"$dir/conf/labsrv.json" <<EOF
{"listeners": [
  {"kind": "registry", "addr": "$REGISTRY_IP", "port": 5001, "cert": "$c/registry.crt", "key": "$c/registry.key", "blob_host": "https://$BLOB_HOST"},
  {"kind": "registry", "addr": "$REGISTRY_IP", "port": 5002, "cert": "$c/other.crt", "key": "$c/extra.key"},
  {"kind": "registry", "addr": "$REGISTRY_IP", "port": 5003, "cert": "$c/expired.crt", "key": "$c/extra.key"},
  {"kind": "registry", "addr": "$REGISTRY_IP", "port": 5004, "cert": "$c/noipsan.crt", "key": "$c/extra.key"},
  {"kind": "registry", "addr": "$REGISTRY_IP", "port": 5006, "cert": "$c/registry.crt", "key": "$c/registry.key", "all": "503"},
  {"kind": "registry", "addr": "$REGISTRY_IP", "port": 5007, "cert": "$c/registry.crt", "key": "$c/registry.key", "all": "429"},
  {"kind": "blobs", "addr": "$BLOB_IP", "port": 443, "cert": "$c/blobs.crt", "key": "$c/extra.key"},
  {"kind": "dns", "addr": "$SERVFAIL_DNS_IP", "port": 53, "mode": "servfail"},
  {"kind": "dns", "addr": "$SILENT_DNS_IP", "port": 53, "mode": "silent"}
]}
EOF
    start_bg "$dir" labsrv ip netns exec "$peer" python3 "$HERE/labsrv.py" "$dir/conf/labsrv.json"
}

# The plain-HTTP registry: the real one without auth, or labsrv.py.
start_plain_registry() {
    local dir=$1 peer=$2
    if [ "${LAB_REGISTRY_IMPL:-}" != python3 ] && command -v docker-registry >/dev/null 2>&1; then
        mkdir -p "$dir/data-plain"
        cat >"$dir/conf/registry-plain.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $dir/data-plain
http:
  addr: $REGISTRY_IP:5005
  secret: pulldoctor-lab
EOF
        start_bg "$dir" registry-plain ip netns exec "$peer" docker-registry serve "$dir/conf/registry-plain.yml"
        echo "PLAIN_REGISTRY_IMPL=docker-registry" >>"$dir/lab.env"
    else
        printf '{"listeners": [{"kind": "registry", "addr": "%s", "port": 5005}]}\n' "$REGISTRY_IP" >"$dir/conf/labsrv-plain.json"
        start_bg "$dir" registry-plain ip netns exec "$peer" python3 "$HERE/labsrv.py" "$dir/conf/labsrv-plain.json"
        echo "PLAIN_REGISTRY_IMPL=python3" >>"$dir/lab.env"
    fi
}

start_containerd() {
    local dir=$1 ns=$2 d=$1/containerd
    mkdir -p "$d/root" "$d/state"
    cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]
# Its "opt" plugin would create /opt/containerd.
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$d/opt"
[grpc]
  address = "$d/containerd.sock"
[ttrpc]
  address = "$d/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
    start_bg "$dir" containerd ip netns exec "$ns" containerd --config "$d/config.toml"
}

wait_socket() {
    for _ in $(seq 1 100); do
        [ -S "$1" ] && return 0
        sleep 0.1
    done
    die "$2 did not create $1 within 10 s (see its log)"
}

cmd_clients() {
    local dir ns peer
    dir="$(state_dir "${1:-}")"
    [ -f "$dir/lab.env" ] || die "no lab in $dir (run up first)"
    local missing
    missing="$(missing_client_deps)"
    if [ -n "$missing" ]; then die "missing: $(echo "$missing" | paste -sd, -)"; fi
    ns="$(lab_get "$dir" NS)"
    peer="$(lab_get "$dir" PEER_NS)"
    LAB_UP_DIR=$dir
    LAB_UP_OK=0
    trap '[ "$LAB_UP_OK" = 1 ] || { log "clients failed; tearing down"; cmd_down "$LAB_UP_DIR" || true; }' EXIT
    trap 'exit 143' TERM INT HUP

    local ip
    for ip in "$SERVFAIL_DNS_IP" "$SILENT_DNS_IP" "$DEAD_DNS_IP" "$BLOB_IP"; do
        ip -n "$peer" addr add "$ip/24" dev vp
    done
    # The blob host refuses the client (a firewall that only lets the proxy out); the
    # proxies are local to the peer namespace and get through.
    ip netns exec "$peer" iptables -w 5 -A INPUT -p tcp -s "$CLIENT_IP" -d "$BLOB_IP" --dport 443 \
        -j REJECT --reject-with tcp-reset 2>>"$dir/logs/iptables.log" || die "iptables: cannot reject the blob host"

    make_extra_certs "$dir"
    make_files "$dir" servfail "$SERVFAIL_DNS_IP"
    make_files "$dir" silent "$SILENT_DNS_IP"
    make_files "$dir" down "$DEAD_DNS_IP"
    start_labsrv "$dir" "$peer"
    start_plain_registry "$dir" "$peer"
    if command -v squid >/dev/null 2>&1; then start_squid "$dir" "$peer"; fi
    start_containerd "$dir" "$ns"
    local port
    for port in 5001 5002 5003 5004 5005 5006 5007; do
        wait_tcp "$ns" "$REGISTRY_IP" "$port" "registry :$port"
    done
    wait_tcp "$peer" "$BLOB_IP" 443 "blob host"
    if [ -n "$(lab_get "$dir" SQUID)" ]; then wait_tcp "$ns" "$HOST_IP" "$SQUID_PORT" squid; fi
    wait_socket "$dir/containerd/containerd.sock" containerd

    cat >>"$dir/lab.env" <<EOF
TLS_REGISTRY=$REGISTRY_NAME:5001
MISMATCH_REGISTRY=$REGISTRY_NAME:5002
EXPIRED_REGISTRY=$REGISTRY_NAME:5003
NOIPSAN_REGISTRY=$REGISTRY_IP:5004
PLAIN_REGISTRY=$REGISTRY_NAME:5005
UNAVAILABLE_REGISTRY=$REGISTRY_NAME:5006
RATELIMITED_REGISTRY=$REGISTRY_NAME:5007
BLOB_HOST=$BLOB_HOST
BLOB_IP=$BLOB_IP
SERVFAIL_DNS=$SERVFAIL_DNS_IP
SILENT_DNS=$SILENT_DNS_IP
DEAD_DNS=$DEAD_DNS_IP
CONTAINERD_SOCK=$dir/containerd/containerd.sock
EOF
    LAB_UP_OK=1
    trap - EXIT TERM INT HUP
    cat "$dir/lab.env"
}

# The docker CLI of Debian's docker.io (a /usr/local/bin one may shadow it).
docker_cli() {
    if [ -x /usr/bin/docker ]; then echo /usr/bin/docker; else command -v docker; fi
}

# dockerd writes /etc/docker/key.json (bound to DIR) and creates /run/docker/plugins (an
# empty tmpfs on /run takes it).
# shellcheck disable=SC2016
DOCKERD_BINDS='mount --bind "$1/hosts" /etc/hosts && mount --bind "$1/resolv.conf" /etc/resolv.conf && mount --bind "$2" /etc/docker && mount -t tmpfs -o mode=0755 pdlab /run && shift 2 && exec "$@"'

cmd_dockerd() {
    local dir=${1:-} id=${2:-} files=${3:-}
    [ -f "$dir/lab.env" ] || die "no lab in $dir"
    [ -n "$id" ] && [ -d "$files" ] || die "usage: dockerd DIR ID FILES [VAR=VALUE…]"
    shift 3
    local ns sock d
    ns="$(lab_get "$dir" NS)"
    sock="$(lab_get "$dir" CONTAINERD_SOCK)"
    [ -n "$sock" ] || die "no containerd (run clients first)"
    d=$dir/dockerd/$id
    local etc=$d/root/etc/docker
    mkdir -p "$d/data" "$d/exec" "$etc"
    [ -f "$etc/daemon.json" ] || echo '{}' >"$etc/daemon.json"
    [ -d /etc/docker ] || die "/etc/docker does not exist (docker.io installs it)"
    start_bg "$dir" "dockerd-$id" nsenter --net="/run/netns/$ns" unshare --mount --propagation private \
        sh -c "$DOCKERD_BINDS" sh "$files" "$etc" \
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$d" "$@" \
        dockerd --config-file "$etc/daemon.json" --iptables=false --ip-masq=false --bridge=none \
        --storage-driver=vfs --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/docker.pid" \
        -H "unix://$d/docker.sock" --containerd "$sock" --containerd-namespace "pdlab-$id" \
        --containerd-plugins-namespace "pdlab-$id-plugins" --max-download-attempts 1
    local pid cli
    pid="$(tail -1 "$dir/pids" | cut -d' ' -f2)"
    cli="$(docker_cli)"
    for _ in $(seq 1 150); do
        if [ -S "$d/docker.sock" ] && DOCKER_CONFIG="$d/cli" timeout 2 "$cli" -H "unix://$d/docker.sock" version >/dev/null 2>&1; then
            echo "DOCKER_HOST=unix://$d/docker.sock"
            return 0
        fi
        if ! pid_alive "$pid"; then
            cat "$dir/logs/dockerd-$id.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    tail -20 "$dir/logs/dockerd-$id.log" >&2
    die "dockerd $id did not answer within 15 s"
}

# ---------------------------------------------------------------------------
# Subcommands.

add_netns() {
    local dir=$1 ns=$2
    ip netns add "$ns" || die "cannot create network namespace $ns"
    echo "$ns" >>"$dir/netns"
}

cmd_up() {
    local dir name peer
    dir="$(state_dir "${1:-}")"
    name="${2:-$(rand_name)}"
    peer="$name-peer"
    [ ! -e "$dir/lab.env" ] || die "$dir already holds a lab; run down first"
    local missing
    missing="$(missing_deps)"
    if [ -n "$missing" ]; then die "missing: $(echo "$missing" | paste -sd, -)"; fi
    LAB_UP_DIR=$dir
    LAB_UP_OK=0
    trap '[ "$LAB_UP_OK" = 1 ] || { log "up failed; tearing down"; cmd_down "$LAB_UP_DIR" || true; }' EXIT
    trap 'exit 143' TERM INT HUP
    mkdir -p "$dir/logs" "$dir/conf" "$dir/peer" "$dir/client"
    : >"$dir/pids"
    : >"$dir/netns"
    {
        echo "NS=$name"
        echo "PEER_NS=$peer"
    } >"$dir/lab.env"

    add_netns "$dir" "$name"
    add_netns "$dir" "$peer"
    ip -n "$name" link set lo up
    ip -n "$peer" link set lo up
    ip link add vc netns "$name" type veth peer name vp netns "$peer"
    ip -n "$name" addr add "$CLIENT_IP/24" dev vc
    ip -n "$peer" addr add "$HOST_IP/24" dev vp
    ip -n "$peer" addr add "$REGISTRY_IP/24" dev vp
    ip -n "$name" link set vc up
    ip -n "$peer" link set vp up
    # No ICMP rate limit in the peer: a resolver that is down must always answer "port
    # unreachable", however many clients ask at once.
    ip netns exec "$peer" sysctl -q -w net.ipv4.icmp_ratelimit=0 >/dev/null 2>&1 || true

    local blackhole
    if [ "${LAB_BLACKHOLE:-}" != neighbour ] && command -v iptables >/dev/null 2>&1 \
        && ip netns exec "$peer" iptables -w 5 -A INPUT -p tcp -d "$HOST_IP" --dport "$DROP_PORT" -j DROP 2>"$dir/logs/iptables.log"; then
        blackhole="$HOST_IP:$DROP_PORT"
        echo "BLACKHOLE_KIND=iptables-drop" >>"$dir/lab.env"
    else
        ip -n "$name" neigh replace "$NEIGH_BLACKHOLE_IP" lladdr 02:00:00:00:00:09 dev vc nud permanent
        blackhole="$NEIGH_BLACKHOLE_IP:$PROXY_PORT"
        echo "BLACKHOLE_KIND=static-neighbour" >>"$dir/lab.env"
    fi

    printf '127.0.0.1 localhost\n%s %s\n%s %s\n' "$REGISTRY_IP" "$REGISTRY_NAME" "$BLOB_IP" "$BLOB_HOST" >"$dir/peer/hosts"
    printf 'nameserver %s\n' "$HOST_IP" >"$dir/peer/resolv.conf"
    printf '127.0.0.1 localhost\n' >"$dir/client/hosts"
    printf 'nameserver %s\n' "$HOST_IP" >"$dir/client/resolv.conf"

    make_certs "$dir"
    start_dns "$dir" "$peer"
    start_registry "$dir" "$peer"
    start_proxies "$dir" "$peer"
    wait_tcp "$name" "$HOST_IP" 53 dnsmasq
    wait_tcp "$name" "$REGISTRY_IP" "$REGISTRY_PORT" registry
    wait_tcp "$name" "$HOST_IP" "$PROXY_PORT" tinyproxy-open
    wait_tcp "$name" "$HOST_IP" "$AUTH_PROXY_PORT" tinyproxy-auth

    cat >>"$dir/lab.env" <<EOF
CLIENT_IP=$CLIENT_IP
HOST_IP=$HOST_IP
REGISTRY_IP=$REGISTRY_IP
REGISTRY=$REGISTRY_NAME:$REGISTRY_PORT
DNS_SERVER=$HOST_IP:53
PROXY=http://$HOST_IP:$PROXY_PORT
AUTH_PROXY=http://$HOST_IP:$AUTH_PROXY_PORT
AUTH_PROXY_USER=$AUTH_USER
AUTH_PROXY_PASS=$AUTH_PASS
REFUSED=$HOST_IP:$REFUSED_PORT
BLACKHOLE=$blackhole
CA=$dir/certs/ca.crt
CLIENT_FILES=$dir/client
EOF
    LAB_UP_OK=1
    trap - EXIT TERM INT HUP
    cat "$dir/lab.env"
}

cmd_bare() {
    local dir name
    dir="$(state_dir "${1:-}")"
    name="${2:-$(rand_name)}"
    [ ! -e "$dir/lab.env" ] || die "$dir already holds a lab; run down first"
    [ "$(id -u)" = 0 ] || die "needs root"
    touch "$dir/pids" "$dir/netns"
    add_netns "$dir" "$name"
    echo "NS=$name" >"$dir/lab.env"
    cat "$dir/lab.env"
}

cmd_exec() {
    local dir=${1:-}
    shift || true
    [ -f "$dir/lab.env" ] || die "no lab in $dir"
    [ "$#" -gt 0 ] || die "exec: missing command"
    local ns
    ns="$(sed -n 's/^NS=//p' "$dir/lab.env")"
    if [ -n "${LAB_FILES:-}" ]; then
        in_ns_with_files "$ns" "$LAB_FILES" "$@"
    elif [ -d "$dir/client" ]; then
        in_ns_with_files "$ns" "$dir/client" "$@"
    else
        ip netns exec "$ns" "$@"
    fi
}

# Alive and not a zombie (servers outlive `up`, so their zombies wait for PID 1 to reap them).
pid_alive() {
    local state
    state="$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)"
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

cmd_down() {
    local dir=${1:-}
    [ -d "$dir" ] || return 0
    if [ -f "$dir/pids" ]; then
        local name pid
        while read -r name pid; do
            if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; fi
        done <"$dir/pids"
        for _ in $(seq 1 30); do
            local alive=0
            while read -r name pid; do
                if [ -n "$pid" ] && pid_alive "$pid"; then alive=1; fi
            done <"$dir/pids"
            [ "$alive" = 0 ] && break
            sleep 0.1
        done
        while read -r name pid; do
            if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
        done <"$dir/pids"
    fi
    if [ -f "$dir/netns" ]; then
        local ns p
        while read -r ns; do
            [ -n "$ns" ] || continue
            [ -e "/run/netns/$ns" ] || continue
            # Whatever still runs inside a namespace this lab created was started by it.
            for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
            ip netns del "$ns" 2>/dev/null || log "could not delete namespace $ns"
        done <"$dir/netns"
    fi
    rm -f "$dir/lab.env"
}

cmd_run() {
    local dir=${1:-}
    shift || true
    dir="$(state_dir "$dir")"
    cmd_up "$dir" >/dev/null
    LAB_RUN_DIR=$dir
    trap 'cmd_down "$LAB_RUN_DIR"' EXIT
    cmd_exec "$dir" "$@"
}

case "${1:-}" in
    deps) cmd_deps ;;
    deps-clients) cmd_deps_clients ;;
    clients) shift; cmd_clients "$@" ;;
    dockerd) shift; cmd_dockerd "$@" ;;
    up) shift; cmd_up "$@" ;;
    bare) shift; cmd_bare "$@" ;;
    exec) shift; cmd_exec "$@" ;;
    down) shift; cmd_down "$@" ;;
    run) shift; cmd_run "$@" ;;
    *)
        sed -n '2,28p' "$0" >&2
        exit 2
        ;;
esac
