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
# FILES/resolv.conf over /etc/resolv.conf, then execs CMD…; run under
# `unshare --mount --propagation private` so the binds are private to CMD.
# shellcheck disable=SC2016
BIND_FILES='mount --bind "$1/hosts" /etc/hosts && mount --bind "$1/resolv.conf" /etc/resolv.conf && shift && exec "$@"'

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
        --host-record="$REGISTRY_NAME,$REGISTRY_IP" --address=/#/
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

    printf '127.0.0.1 localhost\n%s %s\n' "$REGISTRY_IP" "$REGISTRY_NAME" >"$dir/peer/hosts"
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
    if [ -d "$dir/client" ]; then
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
    up) shift; cmd_up "$@" ;;
    bare) shift; cmd_bare "$@" ;;
    exec) shift; cmd_exec "$@" ;;
    down) shift; cmd_down "$@" ;;
    run) shift; cmd_run "$@" ;;
    *)
        sed -n '2,13p' "$0" >&2
        exit 2
        ;;
esac
