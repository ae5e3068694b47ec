//! Trustworthy under bad input, hung systems and secrets (issue 6), through the binary.
//!
//! - **Secrets never leave**: a seeded property test plants random secrets of every shape
//!   (proxy passwords, Authorization headers, bearer tokens, JWTs, signed URL parameters,
//!   cloud keys, config.json `auths`) into the environment, a `--root` file tree, the output
//!   of fake `systemctl` / `docker` / `colima` commands and logs, runs `check --offline`,
//!   `replay`, `route` and `explain` in every format (`-v`, `--save`, stderr included) and
//!   asserts that no 8-character piece of any secret survives; with `--redact-users` no
//!   planted user name either, with `--redact-hosts` no internal host name or private
//!   address. `PULLDOCTOR_PROPTEST_CASES` (default 6) and `PULLDOCTOR_PROPTEST_SEED`
//!   choose the cases; a failure prints the seed that reproduces it.
//! - **Bad input gets a clear answer**: `explain` on a FIFO, an unreadable file, a closed
//!   or early-closed stdin, UTF-16 without a BOM, NUL bytes, OSC escapes, a long file
//!   with no newline whose error is at its end (1 GiB in an ignored test), with its peak
//!   memory measured; `check --offline --root` on a hostile machine (unparsable files,
//!   100 MB `/etc/hosts`, symlink loops, FIFOs, a `docker` that hangs, prints garbage or
//!   exits 1, no `systemctl`): a report, the right exit code, no panic, the deadline
//!   held and no child process left behind.
//! - **Read-only, proven**: `check --offline --root` over a copied fixture tree changes no
//!   file (content, mode, mtime), writes nothing but `--save`, and (under `strace`, when
//!   installed) opens no file for writing but `--save` and makes no network call.
//! - **Fuzz regressions**: every input under `fixtures/fuzz/<target>/` replayed through
//!   the same harness the cargo-fuzz targets use (`fuzz/harness.rs`).
//!
//! Every `check` here is `--offline`: nothing in this file touches the network.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Rng, TempDir};

#[path = "../fuzz/harness.rs"]
mod harness;

const BIN: &str = env!("CARGO_BIN_EXE_pulldoctor");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const REFUSED: &str = "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": proxyconnect tcp: dial tcp 10.0.0.5:3128: connect: connection refused";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The binary with a clean, deterministic environment: only `env`.
fn pd(env: &BTreeMap<String, String>) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear().envs(env);
    c
}

/// Runs `cmd` with `stdin`, killing it after `limit`. Returns the output and the time taken.
fn run(cmd: &mut Command, stdin: Option<Vec<u8>>, limit: Duration) -> (Output, Duration) {
    let start = Instant::now();
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pulldoctor");
    let writer = stdin.map(|data| {
        let mut pipe = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        })
    });
    let out = wait_limited(child, limit);
    if let Some(w) = writer {
        let _ = w.join();
    }
    (out, start.elapsed())
}

fn wait_limited(mut child: Child, limit: Duration) -> Output {
    fn drain<R: Read + Send + 'static>(r: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut v);
            }
            v
        })
    }
    let t1 = drain(child.stdout.take());
    let t2 = drain(child.stderr.take());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pulldoctor did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: t1.join().unwrap(),
        stderr: t2.join().unwrap(),
    }
}

fn assert_no_panic(out: &Output, what: &str) {
    let e = text(&out.stderr);
    assert!(
        !e.contains("panicked") && !e.contains("RUST_BACKTRACE"),
        "{what}: {e}"
    );
    assert!(
        out.status.code().is_some(),
        "{what}: killed by a signal: {:?}",
        out.status
    );
}

const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_NUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HEX: &[u8] = b"0123456789abcdef";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// Characters people put in proxy passwords, unescaped (Go takes the last `@`).
const PASSWORD: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+,;=-._~@'()";

fn base64(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Everything planted in one case, and what must never come out.
#[derive(Default)]
struct Plant {
    /// (where, secret): no 8-byte window of a secret may appear in any output.
    secrets: Vec<(String, String)>,
    /// (where, user name): must appear with default options where marked visible, and
    /// never with `--redact-users`.
    users: Vec<(String, String, bool)>,
    /// Internal host names and labels: never with `--redact-hosts`.
    hosts: Vec<String>,
    /// Private IPv4 addresses: never with `--redact-hosts`.
    ips: Vec<String>,
}

struct Gen {
    rng: Rng,
    plant: Plant,
    domain: String,
}

impl Gen {
    fn new(seed: u64) -> Gen {
        let mut rng = Rng(seed);
        let label = format!("acme{}", rng.from(LOWER, 5));
        let tld = *rng.pick(&["corp", "internal", "lan", "intra", "local"]);
        let domain = format!("{label}.{tld}");
        let mut plant = Plant::default();
        plant.hosts.push(label);
        plant.hosts.push(domain.clone());
        Gen { rng, plant, domain }
    }

    fn secret(&mut self, what: &str, s: String) -> String {
        self.plant.secrets.push((what.to_string(), s.clone()));
        s
    }

    fn user(&mut self, what: &str, visible: bool) -> String {
        let u = format!("u{}", self.rng.from(LOWER, 7));
        self.plant
            .users
            .push((what.to_string(), u.clone(), visible));
        u
    }

    fn password(&mut self, what: &str) -> String {
        let len = self.rng.range(12, 24);
        // A random core first, so a secret is never mostly punctuation.
        let mut p = self.rng.from(ALNUM, 4);
        p.push_str(&self.rng.from(PASSWORD, len - 4));
        self.secret(what, p)
    }

    /// An internal host: a name under the case's domain, a single-label name or a
    /// private IPv4 address.
    fn host(&mut self) -> String {
        match self.rng.below(4) {
            0 => {
                let l = format!("squid{}", self.rng.from(LOWER, 5));
                self.plant.hosts.push(l.clone());
                l
            }
            1 => {
                let ip = match self.rng.below(3) {
                    0 => format!(
                        "10.{}.{}.{}",
                        self.rng.range(1, 95),
                        self.rng.range(0, 255),
                        self.rng.range(1, 254)
                    ),
                    1 => format!(
                        "172.{}.{}.{}",
                        self.rng.range(16, 31),
                        self.rng.range(0, 255),
                        self.rng.range(1, 254)
                    ),
                    _ => format!(
                        "192.168.{}.{}",
                        self.rng.range(100, 250),
                        self.rng.range(1, 254)
                    ),
                };
                self.plant.ips.push(ip.clone());
                ip
            }
            _ => {
                let prefix = self.rng.pick(&["proxy", "px", "gw", "cache"]).to_string();
                let h = format!("{prefix}{}.{}", self.rng.from(LOWER, 4), self.domain);
                self.plant.hosts.push(h.clone());
                h
            }
        }
    }

    /// `scheme://user:password@host:port`, or without the scheme (Go reads it as http).
    fn proxy_url(&mut self, what: &str, visible: bool, schemeless: bool) -> String {
        let user = self.user(what, visible);
        let pw = self.password(what);
        let host = self.host();
        let port = *self.rng.pick(&[3128, 8080, 1080, 7890]);
        if schemeless {
            format!("{user}:{pw}@{host}:{port}")
        } else {
            let scheme = *self.rng.pick(&["http", "https", "socks5", "socks5h"]);
            format!("{scheme}://{user}:{pw}@{host}:{port}")
        }
    }

    fn basic(&mut self, what: &str) -> String {
        let user = self.user(what, false);
        let pw = self.password(what);
        let b = base64(format!("{user}:{pw}").as_bytes());
        self.secret(what, b)
    }

    fn opaque_token(&mut self, what: &str) -> String {
        let n = self.rng.range(20, 40);
        let mut t = self.rng.from(ALNUM, 4);
        t.push('9');
        t.push_str(&self.rng.from(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-",
            n,
        ));
        self.secret(what, t)
    }

    fn jwt(&mut self, what: &str) -> String {
        let n = self.rng.range(16, 60);
        let payload = format!("eyJ{}", self.rng.from(B64URL, n));
        let sig = self.rng.from(B64URL, 43);
        self.secret(what, payload[3..].to_string());
        self.secret(what, sig.clone());
        format!("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.{payload}.{sig}")
    }

    fn akia(&mut self, what: &str) -> String {
        let k = self.rng.from(UPPER_NUM, 16);
        format!("AKIA{}", self.secret(what, k))
    }

    fn cloud_key(&mut self, what: &str) -> String {
        match self.rng.below(3) {
            0 => self.akia(what),
            1 => {
                let k = self.rng.from(ALNUM, 36);
                format!("ghp_{}", self.secret(what, k))
            }
            _ => {
                let k = self.rng.from(ALNUM, 20);
                format!("glpat-{}", self.secret(what, k))
            }
        }
    }

    /// A URL whose query carries a signature or token.
    fn signed_url(&mut self, what: &str) -> String {
        match self.rng.below(5) {
            0 => {
                let ts = self.rng.range(1_700_000_000, 1_800_000_000);
                let sig = self.rng.from(B64, 27);
                let sig = self.secret(what, sig);
                format!(
                    "https://production.cloudflare.docker.com/registry-v2/docker/registry/v2/blobs/sha256/19/19fa/data?verify={ts}-{}%3D",
                    sig.replace('+', "%2B").replace('/', "%2F")
                )
            }
            1 => {
                let key = self.akia(what);
                let sig = self.rng.from(HEX, 64);
                let sig = self.secret(what, sig);
                format!(
                    "https://bucket-{}.s3.amazonaws.com/blobs/x?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={key}%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=1200&X-Amz-SignedHeaders=host&X-Amz-Signature={sig}",
                    self.rng.from(LOWER, 4)
                )
            }
            2 => {
                let se = self.rng.from(ALNUM, 12);
                let se = self.secret(what, se);
                let sig = self.rng.from(ALNUM, 30);
                let sig = self.secret(what, sig);
                format!(
                    "https://acct{}.blob.core.windows.net/c/blob?sv=2021-08-06&sr=b&se={se}&sp=r&sig={sig}%3D",
                    self.rng.from(LOWER, 4)
                )
            }
            3 => {
                let t = self.opaque_token(what);
                format!(
                    "https://auth.docker.io/token?scope=repository%3Alibrary%2Fnginx%3Apull&access_token={t}"
                )
            }
            _ => {
                let t = self.opaque_token(what);
                let cdn = self.rng.from(HEX, 8);
                format!(
                    "https://cdn-{cdn}.cloudfront.net/blob?Expires=1&Signature={t}&Key-Pair-Id=K2&token={t}"
                )
            }
        }
    }

    /// A free-form secret in one of the recognised shapes.
    fn any_secret(&mut self, what: &str) -> String {
        match self.rng.below(9) {
            0 => {
                let b = self.basic(what);
                format!("Authorization: Basic {b}")
            }
            1 => {
                let b = self.basic(what);
                format!("Proxy-Authorization: Basic {b}")
            }
            2 => {
                let t = self.opaque_token(what);
                format!("Authorization: Bearer {t}")
            }
            3 => {
                let j = self.jwt(what);
                format!("Bearer {j}")
            }
            4 => self.signed_url(what),
            5 => self.cloud_key(what),
            6 => {
                let t = self.opaque_token(what);
                format!("token={t}")
            }
            7 => self.proxy_url(what, false, false),
            _ => {
                let b = self.basic(what);
                let t = self.opaque_token(what);
                format!(r#"{{"auths":{{"r.example":{{"auth":"{b}","identitytoken":"{t}"}}}}}}"#)
            }
        }
    }

    fn ip(&mut self) -> String {
        loop {
            let h = self.host();
            if h.parse::<std::net::Ipv4Addr>().is_ok() {
                return h;
            }
            self.plant.hosts.pop();
        }
    }

    /// A registry host: always a dotted name (`HOST/app` with a single label would be a
    /// Docker Hub organisation, not a host).
    fn registry(&mut self) -> String {
        let h = format!("reg{}.{}", self.rng.from(LOWER, 4), self.domain);
        self.plant.hosts.push(h.clone());
        h
    }

    fn no_proxy(&mut self) -> String {
        let mut items = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        items.push(format!(".{}", self.domain));
        let h = self.host();
        items.push(h);
        items.join(",")
    }
}

/// A machine: a `--root` tree, fake commands on `PATH`, an environment.
struct Machine {
    tmp: TempDir,
    root: PathBuf,
    env: BTreeMap<String, String>,
}

fn plant_machine(g: &mut Gen) -> Machine {
    let tmp = TempDir::new("plant");
    let root = tmp.join("root");
    let bin = tmp.join("bin");
    let canned = tmp.join("canned");
    fs::create_dir_all(&bin).unwrap();
    fs::create_dir_all(&canned).unwrap();
    let user = format!("dev{}", g.rng.from(LOWER, 4));
    let home = format!("/home/{user}");
    let w = |rel: &str, content: String| tmp.write(&format!("root/{rel}"), content);

    // The shell environment.
    let mut env = BTreeMap::new();
    env.insert("HOME".to_string(), home.clone());
    env.insert("PATH".to_string(), bin.display().to_string());
    env.insert("LANG".to_string(), "C.UTF-8".to_string());
    env.insert(
        "HTTPS_PROXY".into(),
        g.proxy_url("env HTTPS_PROXY", true, false),
    );
    env.insert(
        "http_proxy".into(),
        g.proxy_url("env http_proxy", true, true),
    );
    env.insert(
        "ALL_PROXY".into(),
        g.proxy_url("env ALL_PROXY", true, false),
    );
    env.insert("NO_PROXY".into(), g.no_proxy());
    let du = g.user("env DOCKER_HOST", true);
    let dh = g.host();
    env.insert("DOCKER_HOST".into(), format!("ssh://{du}@{dh}"));
    // Not recorded at all, but present.
    env.insert("GITHUB_TOKEN".into(), g.cloud_key("env GITHUB_TOKEN"));

    // systemd drop-ins.
    let u1 = g.proxy_url("docker drop-in", true, false);
    let np = g.no_proxy();
    let k = g.cloud_key("docker drop-in key");
    let a = g.any_secret("docker drop-in any");
    w(
        "etc/systemd/system/docker.service.d/http-proxy.conf",
        format!(
            "[Service]\nEnvironment=\"HTTPS_PROXY={u1}\" \"NO_PROXY={np}\"\nEnvironment=REGISTRY_TOKEN={k}\nEnvironment=\"EXTRA={}\"\n",
            a.replace('"', "'")
        ),
    );
    let schemeless = g.rng.one_in(3);
    let u2 = g.proxy_url("containerd drop-in", true, schemeless);
    w(
        "etc/systemd/system/containerd.service.d/proxy.conf",
        format!("[Service]\nEnvironment=HTTP_PROXY={u2}\n"),
    );

    // daemon.json: valid, or broken on the line after a proxy (the error quotes that line).
    let broken = g.rng.one_in(3);
    let dj_proxy = g.proxy_url("daemon.json proxies", !broken, false);
    let mu = g.user("daemon.json mirror", false);
    let mp = g.password("daemon.json mirror");
    let mh = g.host();
    let mirror = format!("https://{mu}:{mp}@{mh}");
    let npj = g.no_proxy();
    if broken {
        w(
            "etc/docker/daemon.json",
            format!(
                "{{\n  \"proxies\": {{\n    \"https-proxy\": \"{dj_proxy}\",\n    \"no-proxy\": \"{npj}\",\n  }},\n  \"registry-mirrors\": [\"{mirror}\"]\n}}\n"
            ),
        );
    } else {
        let v = json!({
            "proxies": {"http-proxy": dj_proxy, "https-proxy": dj_proxy, "no-proxy": npj},
            "registry-mirrors": [mirror],
            "insecure-registries": [format!("{}:5000", g.host())],
        });
        w(
            "etc/docker/daemon.json",
            serde_json::to_string_pretty(&v).unwrap(),
        );
    }

    // ~/.docker/config.json: auths, tokens, a CLI proxy.
    let auth = g.basic("config.json auth");
    let idt = g.opaque_token("config.json identitytoken");
    let rt = g.jwt("config.json registrytoken");
    let cut = g.rng.one_in(4);
    let cp = g.proxy_url("config.json proxies", !cut, false);
    let reg = g.host();
    let cfg = json!({
        "auths": {
            reg.clone(): {"auth": auth, "identitytoken": idt},
            "https://index.docker.io/v1/": {"auth": g.basic("config.json hub auth"), "registrytoken": rt},
        },
        "credHelpers": {"123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"},
        "proxies": {"default": {"httpsProxy": cp, "noProxy": g.no_proxy()}},
    });
    let mut cfg_text = serde_json::to_string_pretty(&cfg).unwrap();
    if cut {
        cfg_text.truncate(cfg_text.len() / 2); // unparsable: the error never quotes the text
    }
    w(&format!("{home}/.docker/config.json"), cfg_text);

    // colima.yaml.
    let cy = g.proxy_url("colima.yaml", true, false);
    let ck = g.cloud_key("colima.yaml key");
    w(
        &format!("{home}/.colima/default/colima.yaml"),
        format!(
            "cpu: 2\nenv:\n  HTTPS_PROXY: {cy}\n  GITHUB_TOKEN: \"{ck}\"\n  BROKEN LINE {}\ndocker:\n  registry-mirrors:\n    - https://{}\n",
            g.any_secret("colima.yaml broken line").replace('"', "'"),
            g.host()
        ),
    );

    // Env files, containerd, /etc/hosts, resolv.conf, hostname, certs.d.
    let ee = g.proxy_url("/etc/environment", true, false);
    w("etc/environment", format!("https_proxy=\"{ee}\"\n"));
    let dd = g.proxy_url("/etc/default/docker", true, false);
    w(
        "etc/default/docker",
        format!(
            "export HTTPS_PROXY=\"{dd}\"\nDOCKER_OPTS=\"--registry-mirror=https://{}\"\n",
            g.host()
        ),
    );
    let cpw = g.password("containerd auth password");
    let cauth = g.basic("containerd auth");
    let cidt = g.opaque_token("containerd identitytoken");
    let creg = g.host();
    w(
        "etc/containerd/config.toml",
        format!(
            "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/etc/containerd/certs.d\"\n[plugins.\"io.containerd.grpc.v1.cri\".registry.configs.\"{creg}\".auth]\n  username = \"bob\"\n  password = \"{cpw}\"\n  auth = \"{cauth}\"\n  identitytoken = \"{cidt}\"\n"
        ),
    );
    let hb = g.basic("hosts.toml header");
    let hreg = g.host();
    w(
        &format!("etc/containerd/certs.d/{hreg}/hosts.toml"),
        format!(
            "server = \"https://{hreg}\"\n[host.\"https://{hreg}:5000\"]\n  capabilities = [\"pull\"]\n  [host.\"https://{hreg}:5000\".header]\n    Authorization = [\"Basic {hb}\"]\n"
        ),
    );
    let reg_dir = g.host();
    w(
        &format!("etc/docker/certs.d/{reg_dir}:5000/ca.crt"),
        "not a certificate\n".to_string(),
    );
    let ns = g.host();
    w(
        "etc/resolv.conf",
        format!("nameserver {ns}\nsearch {} corp\n", g.domain),
    );
    let named = g.host();
    w(
        "etc/hosts",
        format!(
            "127.0.0.1 localhost\n{} registry-1.docker.io\n10.9.8.7 {named}\n",
            g.ip()
        ),
    );
    let machine = format!("buildbox{}", g.rng.from(LOWER, 4));
    g.plant.hosts.push(machine.clone());
    w("etc/hostname", format!("{machine}\n"));

    // Fake commands. Canned outputs are files, so nothing needs shell quoting.
    let sp = g.proxy_url("systemctl show docker", true, false);
    let sk = g.any_secret("systemctl show docker any");
    fs::write(
        canned.join("show-docker.service.txt"),
        format!(
            "LoadState=loaded\nActiveState=active\nFragmentPath=/lib/systemd/system/docker.service\nDropInPaths=/etc/systemd/system/docker.service.d/http-proxy.conf\nEnvironment=HTTPS_PROXY={sp} NO_PROXY={} REGISTRY_TOKEN={}\nExecMainStartTimestamp=Sat 2026-11-21 10:02:10 UTC\nStatusText={sk}\n",
            g.no_proxy(),
            g.cloud_key("systemctl show docker key")
        ),
    )
    .unwrap();
    let sc = g.proxy_url("systemctl show containerd", true, true);
    fs::write(
        canned.join("show-containerd.service.txt"),
        format!("LoadState=loaded\nActiveState=active\nEnvironment=\"HTTP_PROXY={sc}\"\n"),
    )
    .unwrap();
    tmp.script(
        "bin/systemctl",
        &format!(
            "f='{}/show-'\"$2\"'.txt'\nif [ -f \"$f\" ]; then exec /bin/cat \"$f\"; fi\nprintf 'LoadState=not-found\\nActiveState=inactive\\n'",
            canned.display()
        ),
    );
    // Valid JSON, garbage around a secret (kept as an excerpt), or JSON cut short.
    let info_kind = g.rng.below(3);
    let mut info: Value = serde_json::from_str(
        &fs::read_to_string(repo().join("fixtures/collect/docker-info/27-containerd.json"))
            .unwrap(),
    )
    .unwrap();
    info["HttpProxy"] = json!(g.proxy_url("docker info HttpProxy", info_kind == 0, false));
    info["HttpsProxy"] = json!(g.proxy_url("docker info HttpsProxy", info_kind == 0, false));
    info["NoProxy"] = json!(g.no_proxy());
    let m2u = g.user("docker info mirror", false);
    let m2p = g.password("docker info mirror");
    let m2h = g.host();
    info["RegistryConfig"]["Mirrors"] = json!([format!("https://{m2u}:{m2p}@{m2h}/")]);
    info["Warnings"] = json!([format!("WARNING: {}", g.any_secret("docker info warning"))]);
    info["Labels"] = json!([format!("token={}", g.opaque_token("docker info label"))]);
    info["Name"] = json!(machine);
    match info_kind {
        0 => fs::write(canned.join("info.json"), info.to_string()).unwrap(),
        1 => {
            let mut junk = b"\x00\xff\xfe garbage ".to_vec();
            junk.extend_from_slice(g.any_secret("docker info garbage").as_bytes());
            junk.extend_from_slice(b" \x1b[31m\xc3\x28 more\n");
            fs::write(canned.join("info.json"), junk).unwrap();
        }
        _ => {
            let s = info.to_string();
            fs::write(canned.join("info.json"), &s[..s.len() * 2 / 3]).unwrap();
        }
    }
    fs::write(
        canned.join("version.err"),
        format!(
            "Error response from daemon: Get \"{}\": proxyconnect tcp: dial tcp {}:3128: connect: connection refused\n{}\n",
            g.signed_url("docker version stderr"),
            g.host(),
            g.any_secret("docker version stderr any")
        ),
    )
    .unwrap();
    let cu = g.user("docker context", true);
    let ch = g.host();
    // The context below is the current one (and `docker context ls` runs only
    // when a context besides the default one can exist).
    env.insert("DOCKER_CONTEXT".to_string(), "remote".to_string());
    fs::write(
        canned.join("context.jsonl"),
        format!(
            "{}\n",
            json!({"Name": "remote", "Current": true, "DockerEndpoint": format!("ssh://{cu}@{ch}"), "Description": g.any_secret("docker context description")})
        ),
    )
    .unwrap();
    tmp.script(
        "bin/docker",
        &format!(
            "case \"$1\" in\ninfo) exec /bin/cat '{c}/info.json' ;;\nversion) /bin/cat '{c}/version.err' >&2; exit 1 ;;\ncontext) exec /bin/cat '{c}/context.jsonl' ;;\n*) exit 1 ;;\nesac",
            c = canned.display()
        ),
    );
    fs::write(
        canned.join("colima.err"),
        format!(
            "time=\"2026-01-01T00:00:00Z\" level=info msg=\"colima is running using proxy {}\"\n",
            g.proxy_url("colima status", false, false)
        ),
    )
    .unwrap();
    tmp.script(
        "bin/colima",
        &format!("/bin/cat '{}/colima.err' >&2; exit 1", canned.display()),
    );
    Machine { tmp, root, env }
}

/// A log for `explain`: error lines the rules match, with secrets in them, dressed in
/// terminal noise; sometimes UTF-16.
fn plant_log(g: &mut Gen) -> Vec<u8> {
    let mut lines: Vec<String> = Vec::new();
    for _ in 0..g.rng.range(3, 8) {
        let schemeless = g.rng.one_in(4);
        let proxy = g.proxy_url("log proxy", false, schemeless);
        let host = g.host();
        let line = match g.rng.below(7) {
            0 => format!(
                "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": proxyconnect tcp: dial tcp {host}:3128: connect: connection refused (HTTPS_PROXY={proxy}) {}",
                g.any_secret("log refused")
            ),
            1 => format!(
                "failed to copy: httpReadSeeker: failed open: failed to do request: Get \"{}\": dial tcp {host}:443: i/o timeout",
                g.signed_url("log blob")
            ),
            2 => format!(
                "Error response from daemon: Head \"https://{host}/v2/library/nginx/manifests/latest\": Proxy Authentication Required, {} via {proxy}",
                g.any_secret("log 407")
            ),
            3 => format!(
                "level=error msg=\"Handler for POST /v1.43/images/create returned error: Get \\\"{}\\\": net/http: TLS handshake timeout\" {}",
                g.signed_url("log logfmt"),
                g.any_secret("log logfmt any")
            ),
            4 => format!(
                "Error response from daemon: Get \"https://{host}/v2/\": dial tcp: lookup {host} on 10.0.0.2:53: no such host; {}",
                g.any_secret("log dns")
            ),
            5 => format!(
                "Error response from daemon: pull access denied for {}/app, repository does not exist or may require 'docker login': denied: requested access to the resource is denied {}",
                g.registry(),
                g.any_secret("log denied")
            ),
            _ => format!(
                "ERROR: failed to solve: failed to fetch oauth token: Post \"https://{host}/token\": proxyconnect tcp: dial tcp {host}:3128: connect: connection refused {}",
                g.any_secret("log buildkit")
            ),
        };
        lines.push(line);
        if g.rng.one_in(2) {
            lines.push(format!(
                "a3ed95caeb02: Downloading [==>   ] 1MB/3MB\r{}",
                g.any_secret("log progress")
            ));
        }
    }
    // Terminal noise: colours between words, OSC titles, CRLF.
    let mut s = String::new();
    for l in &lines {
        if g.rng.one_in(3) {
            s.push_str("\x1b]0;docker pull\x07");
        }
        for (i, word) in l.split(' ').enumerate() {
            if i > 0 {
                s.push(' ');
            }
            if g.rng.one_in(6) {
                s.push_str("\x1b[1;31m");
                s.push_str(word);
                s.push_str("\x1b[0m");
            } else {
                s.push_str(word);
            }
        }
        s.push_str(if g.rng.one_in(2) { "\r\n" } else { "\n" });
    }
    match g.rng.below(5) {
        0 => {
            let mut v = vec![0xFF, 0xFE];
            v.extend(s.encode_utf16().flat_map(|u| u.to_le_bytes()));
            v
        }
        1 => s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect(),
        _ => s.into_bytes(),
    }
}

/// The pieces of `secret` no output may contain: every 8-byte window (the whole secret
/// when shorter).
fn windows(secret: &str) -> Vec<&str> {
    let b = secret.as_bytes();
    if b.len() <= 8 {
        return vec![secret];
    }
    (0..=b.len() - 8)
        .filter(|&i| secret.is_char_boundary(i) && secret.is_char_boundary(i + 8))
        .map(|i| &secret[i..i + 8])
        .collect()
}

/// Whether `hay` holds the IPv4 address `ip` as a whole (not inside a longer number).
fn contains_ip(hay: &str, ip: &str) -> bool {
    hay.match_indices(ip).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let rest = &hay[i + ip.len()..];
        let digit_next = rest.chars().next().is_some_and(|c| c.is_ascii_digit());
        let dot_digit_next =
            rest.starts_with('.') && rest[1..].chars().next().is_some_and(|c| c.is_ascii_digit());
        let inside = before.is_some_and(|c| c.is_ascii_digit() || c == '.');
        !inside && !digit_next && !dot_digit_next
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Default,
    Users,
    Hosts,
}

fn check_leaks(
    seed: u64,
    what: &str,
    out: &str,
    p: &Plant,
    mode: Mode,
    problems: &mut Vec<String>,
) {
    for (where_, s) in &p.secrets {
        if let Some(w) = windows(s).into_iter().find(|w| out.contains(w)) {
            problems.push(format!(
                "seed {seed}: {what}: secret from {where_} leaks ({w:?} of {s:?})"
            ));
        }
    }
    if mode == Mode::Users {
        for (where_, u, _) in &p.users {
            if out.contains(u.as_str()) {
                problems.push(format!(
                    "seed {seed}: {what} --redact-users: user {u} from {where_} leaks"
                ));
            }
        }
    }
    if mode == Mode::Hosts {
        for h in &p.hosts {
            if out.to_ascii_lowercase().contains(&h.to_ascii_lowercase()) {
                problems.push(format!(
                    "seed {seed}: {what} --redact-hosts: host {h} leaks"
                ));
            }
        }
        for ip in &p.ips {
            if contains_ip(out, ip) {
                problems.push(format!(
                    "seed {seed}: {what} --redact-hosts: address {ip} leaks"
                ));
            }
        }
    }
}

fn proptest_cases() -> (u64, usize) {
    let seed = std::env::var("PULLDOCTOR_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x05EC_2E75_u64);
    let cases = std::env::var("PULLDOCTOR_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    (seed, cases)
}

#[test]
fn planted_secrets_never_reach_any_output() {
    let (base, cases) = proptest_cases();
    let mut problems = Vec::new();
    for case in 0..cases as u64 {
        let seed = base.wrapping_add(case);
        let mut g = Gen::new(seed);
        let m = plant_machine(&mut g);
        let log = plant_log(&mut g);
        let p = &g.plant;
        let limit = Duration::from_secs(60);
        let saved = m.tmp.join("saved.json");
        let mut outputs: Vec<(String, Mode, String)> = Vec::new();
        // check, every format, -v, --save; then the redaction options.
        for (args, mode) in [
            (vec!["--format", "human", "-v"], Mode::Default),
            (vec!["--format", "markdown"], Mode::Default),
            (
                vec!["--format", "human", "-v", "--redact-users"],
                Mode::Users,
            ),
            (vec!["--format", "json", "--redact-users"], Mode::Users),
            (
                vec!["--format", "human", "-v", "--redact-hosts"],
                Mode::Hosts,
            ),
            (
                vec!["--format", "markdown", "--redact-hosts", "--redact-users"],
                Mode::Hosts,
            ),
            (vec!["--format", "json", "--redact-hosts"], Mode::Hosts),
            // Last, so that replay below gets a report with hosts in it.
            (vec!["--format", "json"], Mode::Default),
        ] {
            let _ = fs::remove_file(&saved);
            let (out, _) = run(
                pd(&m.env)
                    .args(["check", "--offline", "--timeout", "10", "--root"])
                    .arg(&m.root)
                    .args(&args)
                    .arg("--save")
                    .arg(&saved),
                None,
                limit,
            );
            let what = format!("check {}", args.join(" "));
            assert_no_panic(&out, &what);
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "seed {seed}: {what}: exit {:?}: {}",
                out.status.code(),
                text(&out.stderr)
            );
            assert!(!out.stdout.is_empty(), "seed {seed}: {what}: no report");
            outputs.push((format!("{what} (stdout)"), mode, text(&out.stdout)));
            outputs.push((format!("{what} (stderr)"), mode, text(&out.stderr)));
            let s = fs::read_to_string(&saved).unwrap_or_default();
            assert!(s.contains("\"evidence\""), "seed {seed}: {what}: no --save");
            outputs.push((format!("{what} (--save)"), mode, s));
        }
        // replay of the last saved report (the support engineer may hide
        // hosts before passing it on), route.
        for (args, mode) in [
            (vec!["--format", "human"], Mode::Default),
            (vec!["--format", "json"], Mode::Default),
            (vec!["--format", "human", "--redact-hosts"], Mode::Hosts),
            (vec!["--format", "json", "--redact-hosts"], Mode::Hosts),
        ] {
            let (out, _) = run(
                pd(&m.env).arg("replay").arg(&saved).args(&args),
                None,
                limit,
            );
            assert_no_panic(&out, "replay");
            let what = format!("replay {}", args.join(" "));
            outputs.push((what.clone(), mode, text(&out.stdout)));
            outputs.push((format!("{what} (stderr)"), mode, text(&out.stderr)));
        }
        for fmt in ["human", "json"] {
            let (out, _) = run(
                pd(&m.env)
                    .args([
                        "route",
                        "https://registry-1.docker.io/v2/",
                        "--format",
                        fmt,
                        "--root",
                    ])
                    .arg(&m.root),
                None,
                limit,
            );
            assert_no_panic(&out, "route");
            outputs.push((format!("route {fmt}"), Mode::Default, text(&out.stdout)));
            outputs.push((
                format!("route {fmt} (stderr)"),
                Mode::Default,
                text(&out.stderr),
            ));
        }
        // explain: the log on stdin and as a file, every format.
        let log_file = m.tmp.write("pasted.log", &log);
        for (args, mode, stdin) in [
            (vec!["--format", "human"], Mode::Default, true),
            (vec!["--format", "json"], Mode::Default, false),
            (vec!["--format", "markdown"], Mode::Default, true),
            (
                vec!["--format", "json", "--redact-users"],
                Mode::Users,
                false,
            ),
            (
                vec!["--format", "human", "--redact-hosts"],
                Mode::Hosts,
                true,
            ),
            (
                vec!["--format", "json", "--redact-hosts", "--redact-users"],
                Mode::Hosts,
                false,
            ),
        ] {
            let mut cmd = pd(&m.env);
            cmd.arg("explain").args(&args);
            let (out, _) = if stdin {
                run(&mut cmd, Some(log.clone()), limit)
            } else {
                run(cmd.arg(&log_file), None, limit)
            };
            let what = format!("explain {}", args.join(" "));
            assert_no_panic(&out, &what);
            assert_eq!(
                out.status.code(),
                Some(0),
                "seed {seed}: {what}: {}",
                text(&out.stderr)
            );
            outputs.push((format!("{what} (stdout)"), mode, text(&out.stdout)));
            outputs.push((format!("{what} (stderr)"), mode, text(&out.stderr)));
        }
        for (what, mode, out) in &outputs {
            check_leaks(seed, what, out, p, *mode, &mut problems);
            if *mode == Mode::Users {
                check_leaks(seed, what, out, p, Mode::Default, &mut problems);
            }
        }
        // Not vacuous: what was planted was read (user names stay by default).
        let verbose = &outputs[0].2;
        for (where_, u, visible) in &p.users {
            if *visible && !verbose.contains(u.as_str()) {
                problems.push(format!(
                    "seed {seed}: the user of {where_} ({u}) is not in `check -v`: was it read?"
                ));
            }
        }
        assert!(verbose.contains(":***@"), "seed {seed}: nothing redacted?");
        if std::env::var_os("PULLDOCTOR_PROPTEST_KEEP").is_some() {
            eprintln!("seed {seed}: kept {}", m.tmp.path().display());
            std::mem::forget(m);
        }
        if !problems.is_empty() {
            break;
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems (PULLDOCTOR_PROPTEST_SEED=<seed> PULLDOCTOR_PROPTEST_CASES=1 reproduces one):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Our own rule texts are not user data: the final pass over a report, with every option
/// on, leaves the title, explanation, fixes and commands of every rule, in both languages,
/// unchanged when the data names no user or host (a fix may say
/// `http://USER:PASSWORD@PROXY:PORT` or `--docker-password=...`).
#[test]
fn rule_texts_survive_the_report_pass() {
    use pulldoctor::report::Report;
    use pulldoctor::rules::{Catalog, Lang};
    let cat = Catalog::builtin().unwrap();
    for lang in [Lang::En, Lang::Zh] {
        let mut report = Report::new("explain");
        report.findings = cat
            .rules
            .iter()
            .map(|r| pulldoctor::engine::finding(r, &BTreeMap::new(), lang))
            .collect();
        let before = serde_json::to_value(&report).unwrap();
        pulldoctor::redact::report(
            &mut report,
            pulldoctor::redact::Options {
                users: true,
                hosts: true,
            },
        );
        let after = serde_json::to_value(&report).unwrap();
        if before != after {
            let (b, a) = (
                before["findings"].as_array().unwrap(),
                after["findings"].as_array().unwrap(),
            );
            let diff: Vec<String> = b
                .iter()
                .zip(a)
                .filter(|(x, y)| x != y)
                .map(|(x, y)| format!("{x}\n  -> {y}"))
                .collect();
            panic!("{}", diff.join("\n"));
        }
    }
}

/// With `--redact-users`, a user name seen in the data is hidden in the rule texts it was
/// interpolated into as well, and nowhere else in them.
#[test]
fn redact_users_reaches_rule_texts() {
    let log = "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": Proxy Authentication Required (proxy http://zed-builder:pw0rd1234@10.0.0.5:3128)\n";
    let (out, _) = run(
        pd(&BTreeMap::new()).args(["explain", "--format", "json", "--redact-users"]),
        Some(log.as_bytes().to_vec()),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(
        !s.contains("zed-builder") && !s.contains("pw0rd1234"),
        "{s}"
    );
    let (plain, _) = run(
        pd(&BTreeMap::new()).args(["explain", "--format", "json"]),
        Some(log.as_bytes().to_vec()),
        Duration::from_secs(30),
    );
    let p = text(&plain.stdout);
    assert!(p.contains("zed-builder") && !p.contains("pw0rd1234"), "{p}");
}

/// `--redact-hosts` on a report of a log with internal names: every one aliased the same
/// way in matched lines, entities, titles and fixes; public registries, loopback and the
/// rule texts' own documentation names untouched.
#[test]
fn redact_hosts_is_consistent_across_the_report() {
    let log = "Error response from daemon: Get \"https://registry.acme.corp:5000/v2/\": proxyconnect tcp: dial tcp 10.20.30.40:3128: connect: connection refused\n\
               Error response from daemon: Get \"https://registry-1.docker.io/v2/\": proxyconnect tcp: dial tcp 10.20.30.40:3128: connect: connection refused\n\
               Error response from daemon: Get \"https://registry.acme.corp:5000/v2/\": dial tcp: lookup registry.acme.corp on 192.168.77.1:53: no such host\n";
    let (out, _) = run(
        pd(&BTreeMap::new()).args(["explain", "--format", "json", "--redact-hosts"]),
        Some(log.as_bytes().to_vec()),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    for gone in ["10.20.30.40", "acme", "192.168.77.1"] {
        assert!(!s.contains(gone), "{gone} survives:\n{s}");
    }
    assert!(s.contains("registry-1.docker.io"), "{s}");
    let v: Value = serde_json::from_str(&s).unwrap();
    let f = &v["findings"][0];
    let proxy = f["entities"]["proxy"].as_str().unwrap();
    assert_eq!(proxy, "private-ip-1:3128", "{s}");
    // The alias is the same in the title, the fix commands and the matched lines.
    assert!(f["title"].as_str().unwrap().contains("private-ip-1"), "{s}");
    assert!(s.matches("host-1.domain-1.redacted").count() >= 2, "{s}");
    // Without the flag nothing is aliased.
    let (plain, _) = run(
        pd(&BTreeMap::new()).args(["explain", "--format", "json"]),
        Some(log.as_bytes().to_vec()),
        Duration::from_secs(30),
    );
    assert!(text(&plain.stdout).contains("10.20.30.40"));
}

/// A secret cut in half by the 400-byte excerpt of a long line (the excerpt is taken
/// before redaction) is still hidden: the cut token is masked.
#[test]
fn excerpt_edges_never_show_half_a_secret() {
    let head = format!("{REFUSED} ");
    let pad = "x".repeat(400 - head.len() - 20);
    let tail_cut = format!("{head}{pad} http://alice:TopSecretPassw0rd@proxy.corp:3128 end\n");
    let head_cut = format!(
        "{} X-Amz-Signature=abcdef0123456789abcdef0123 {REFUSED} {}\n",
        "y".repeat(300),
        "z".repeat(400)
    );
    for (log, secret) in [(tail_cut, "TopSec"), (head_cut, "abcdef0123")] {
        let (out, _) = run(
            pd(&BTreeMap::new()).args(["explain", "--format", "json"]),
            Some(log.into_bytes()),
            Duration::from_secs(30),
        );
        assert_eq!(out.status.code(), Some(0));
        let s = text(&out.stdout);
        assert!(!s.contains(secret), "{secret} survives:\n{s}");
        assert!(s.contains("***…") || s.contains("…***"), "{s}");
    }
}

// ---------------------------------------------------------------------------------------
// explain: bad input gets a clear answer

fn explain_file(path: &Path) -> Output {
    run(
        pd(&BTreeMap::new())
            .args(["explain", "--format", "json"])
            .arg(path),
        None,
        Duration::from_secs(60),
    )
    .0
}

fn first_category(out: &Output) -> String {
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out.stderr)));
    v["findings"][0]["category"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn explain_reads_a_fifo() {
    let t = TempDir::new("fifo");
    let fifo = t.join("pipe.log");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let path = fifo.clone();
    // The writer blocks in open() until pulldoctor opens the FIFO for reading.
    let writer = std::thread::spawn(move || {
        let mut f = fs::OpenOptions::new().write(true).open(&path).unwrap();
        for _ in 0..1000 {
            writeln!(f, "a3ed95caeb02: Downloading [====>   ] 2MB/3MB").unwrap();
        }
        writeln!(f, "{REFUSED}").unwrap();
    });
    let out = explain_file(&fifo);
    writer.join().unwrap();
    assert_no_panic(&out, "explain FIFO");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(first_category(&out), "proxy-refused");
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    })
}

/// Files that cannot be read: exit 2, a message naming the file, nothing on stdout.
/// Root reads files whatever their mode, so "permission denied" is only tested as a
/// normal user; a read error (EIO: `/proc/self/mem` at offset 0 is unmapped), a path
/// through a regular file (ENOTDIR) and a dangling symlink are tested for everyone.
#[test]
fn explain_unreadable_files_get_a_clear_message() {
    let t = TempDir::new("unreadable");
    let file = t.write("a.log", REFUSED);
    let dangling = t.join("dangling.log");
    std::os::unix::fs::symlink(t.join("nowhere"), &dangling).unwrap();
    let mut cases: Vec<(PathBuf, &str)> = vec![
        (PathBuf::from("/proc/self/mem"), "/proc/self/mem"),
        (file.join("x.log"), "x.log"),
        (dangling.clone(), "no such file"),
    ];
    if !is_root() {
        let locked = t.write("locked.log", REFUSED);
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
        cases.push((locked, "permission denied"));
    }
    for (path, says) in cases {
        let out = explain_file(&path);
        assert_no_panic(&out, &path.display().to_string());
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}: {}",
            path.display(),
            text(&out.stderr)
        );
        let e = text(&out.stderr);
        assert!(e.starts_with("pulldoctor: "), "{e}");
        assert!(e.contains(says), "{}: {e}", path.display());
        assert!(out.stdout.is_empty());
    }
}

/// The writer goes away mid-line: what arrived is classified. A closed stdin (`<&-`)
/// reads as empty (the Rust runtime reopens fd 0 on /dev/null): exit 2, a clear message.
#[test]
fn explain_stdin_closed_early() {
    let mut input = format!("{REFUSED}\n").into_bytes();
    input.extend_from_slice(&REFUSED.as_bytes()[..40]);
    let (out, _) = run(
        pd(&BTreeMap::new()).args(["explain", "--format", "json"]),
        Some(input),
        Duration::from_secs(30),
    );
    assert_no_panic(&out, "stdin closed mid-line");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(first_category(&out), "proxy-refused");

    let (out, _) = run(
        Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("exec '{BIN}' explain <&-"))
            .env_clear(),
        None,
        Duration::from_secs(30),
    );
    assert_no_panic(&out, "stdin closed");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("pulldoctor: the input is empty"),
        "{}",
        text(&out.stderr)
    );
}

/// Encodings without a BOM, NUL padding (a log truncated under `copytruncate` starts with
/// a hole of NULs), OSC window titles and hyperlinks, a mostly-binary file with one line
/// of text: the error is found in each.
#[test]
fn explain_encodings_nul_and_osc() {
    let t = TempDir::new("encodings");
    let line = format!("{REFUSED}\r\n");
    let utf16 = |be: bool| -> Vec<u8> {
        line.encode_utf16()
            .flat_map(|u| if be { u.to_be_bytes() } else { u.to_le_bytes() })
            .collect()
    };
    let mut bebom = vec![0xFE, 0xFF];
    bebom.extend(utf16(true));
    let mut utf8bom = vec![0xEF, 0xBB, 0xBF];
    utf8bom.extend_from_slice(line.as_bytes());
    let mut nul_hole = vec![0u8; 64 * 1024];
    nul_hole.extend_from_slice(line.as_bytes());
    let mut nul_between = b"pulling nginx\n".to_vec();
    nul_between.extend(vec![0u8; 4096]);
    nul_between.extend_from_slice(format!("\n{line}").as_bytes());
    let osc = format!(
        "\x1b]0;docker pull nginx\x07\x1b]8;;https://docs.docker.com\x1b\\{REFUSED}\x1b]8;;\x1b\\\n"
    );
    let mut binary: Vec<u8> = (0..=255u8).cycle().take(256 * 400).collect();
    binary.extend_from_slice(format!("\n{line}").as_bytes());
    let mut invalid = b"\xc3\x28 broken \xfd\xfe utf-8 \xff\n".to_vec();
    invalid.extend_from_slice(line.as_bytes());
    for (name, bytes, encoding) in [
        ("utf16le-nobom", utf16(false), "utf-16le"),
        ("utf16be-nobom", utf16(true), "utf-16be"),
        ("utf16be-bom", bebom, "utf-16be"),
        ("utf8-bom", utf8bom, "utf-8"),
        ("nul-hole", nul_hole, "utf-8"),
        ("nul-between-lines", nul_between, "utf-8"),
        ("osc", osc.into_bytes(), "utf-8"),
        ("binary-with-a-line", binary, "utf-8"),
        ("invalid-utf8", invalid, "utf-8"),
    ] {
        let p = t.write(&format!("{name}.log"), &bytes);
        let out = explain_file(&p);
        assert_no_panic(&out, name);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["findings"][0]["category"], "proxy-refused", "{name}");
        assert_eq!(v["input"]["encoding"], encoding, "{name}");
        assert_eq!(
            v["findings"][0]["entities"]["proxy"], "10.0.0.5:3128",
            "{name}"
        );
    }
}

/// Writes `len` bytes of `x` and then `tail`, with no newline anywhere, in chunks.
fn long_line_file(path: &Path, len: u64, tail: &str) {
    let mut f = std::io::BufWriter::new(fs::File::create(path).unwrap());
    let chunk = vec![b'x'; 8 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    f.write_all(tail.as_bytes()).unwrap();
    f.flush().unwrap();
}

/// Runs `cmd` to completion and returns its output and its peak resident set (VmHWM, KiB),
/// sampled from /proc every few milliseconds (the high-water mark only grows, so the last
/// sample is the peak up to the last few milliseconds of the run).
fn peak_rss(cmd: &mut Command) -> (Output, u64) {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s2 = stop.clone();
    let sampler = std::thread::spawn(move || {
        let mut peak = 0u64;
        while !s2.load(Ordering::SeqCst) {
            if let Ok(st) = fs::read_to_string(format!("/proc/{pid}/status"))
                && let Some(kb) = st
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kb);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        peak
    });
    let out = wait_limited(child, Duration::from_secs(600));
    stop.store(true, Ordering::SeqCst);
    (out, sampler.join().unwrap())
}

fn explain_long_line(dir: &TempDir, len: u64) -> (Duration, u64) {
    let p = dir.join(&format!("line-{len}.log"));
    long_line_file(&p, len, &format!(" {REFUSED}"));
    let start = Instant::now();
    let (out, peak) = peak_rss(
        pd(&BTreeMap::new())
            .args(["explain", "--format", "json"])
            .arg(&p),
    );
    let took = start.elapsed();
    let _ = fs::remove_file(&p);
    assert_no_panic(&out, "long line");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"][0]["category"], "proxy-refused");
    assert_eq!(v["findings"][0]["count"], 1);
    assert_eq!(v["input"]["bytes"], len + 1 + REFUSED.len() as u64);
    (took, peak)
}

/// A file with no newline and its error at the very end: found, and explain's peak memory
/// does not grow with the input (1 MiB and 24 MiB lines: same high-water mark within
/// 8 MiB). Memory is measured; time is not asserted.
#[test]
fn explain_long_line_memory_does_not_grow() {
    let t = TempDir::new("longline");
    let (_, small) = explain_long_line(&t, 1 << 20);
    let (_, large) = explain_long_line(&t, 24 << 20);
    assert!(
        large < small + 8 * 1024,
        "peak RSS {small} KiB for 1 MiB, {large} KiB for 24 MiB"
    );
}

/// The issue's 1 GB case: a 1 GiB line with no newline, the error at its end, under a
/// 256 MiB address-space limit. `cargo test -- --ignored explain_one_gib` (about a minute
/// with the debug binary, mostly writing the file); prints the peak memory.
#[test]
#[ignore = "writes a 1 GiB file; run with --ignored"]
fn explain_one_gib_line_without_newline() {
    let t = TempDir::new("gib");
    let (t16, p16) = explain_long_line(&t, 16 << 20);
    let (tg, pg) = explain_long_line(&t, 1 << 30);
    eprintln!(
        "explain, one line without newline: 16 MiB: peak {p16} KiB in {t16:?}; 1 GiB: peak {pg} KiB in {tg:?}"
    );
    assert!(
        pg < p16 + 16 * 1024,
        "peak {p16} KiB for 16 MiB, {pg} KiB for 1 GiB"
    );
    // And with the address space capped far below the input size.
    let p = t.join("capped.log");
    long_line_file(&p, 1 << 30, &format!(" {REFUSED}"));
    let (out, _) = run(
        Command::new("/bin/sh")
            .arg("-c")
            .arg(format!(
                "ulimit -v 262144; exec '{BIN}' explain --format json '{}'",
                p.display()
            ))
            .env_clear(),
        None,
        Duration::from_secs(900),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(first_category(&out), "proxy-refused");
}

// ---------------------------------------------------------------------------------------
// check: hostile machines

/// PIDs of live processes whose command line contains `marker` (zombies excluded).
fn processes_with(marker: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let me = std::process::id();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let cmd = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).contains(marker) && !stat.contains(") Z ") {
            out.push(pid);
        }
    }
    out
}

/// Waits up to a second for processes with `marker` to go away; returns those left.
fn leftovers(marker: &str) -> Vec<u32> {
    for _ in 0..50 {
        let left = processes_with(marker);
        if left.is_empty() {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    processes_with(marker)
}

fn kill_all(pids: &[u32]) {
    for p in pids {
        let _ = Command::new("kill").arg("-9").arg(p.to_string()).status();
    }
}

fn check_report(out: &Output, what: &str) -> Value {
    assert_no_panic(out, what);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{what}: exit {:?}: {}",
        out.status.code(),
        text(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: not a JSON report ({e}): {}", text(&out.stdout)));
    assert_eq!(v["schema"], "pulldoctor/report/v1", "{what}");
    v
}

/// A machine where everything is broken at once: unparsable daemon.json, config.json,
/// units and colima.yaml, a 100 MB `/etc/hosts`, symlink loops (file and directory),
/// a symlink escaping the root, FIFOs and directories where files should be, a `docker`
/// that prints binary garbage and exits 1 for `version`, no `systemctl` at all. `check
/// --offline --root` still gives a report with the broken pieces named, exit 0 or 1, no
/// panic, within its deadline.
#[test]
fn check_on_a_hostile_machine() {
    let t = TempDir::new("hostile");
    let r = |rel: &str| t.join(&format!("root/{rel}"));
    let w = |rel: &str, c: &[u8]| t.write(&format!("root/{rel}"), c);
    w(
        "etc/docker/daemon.json",
        b"{\n  \"proxies\": {\n    \"https-proxy\": \"http://10.0.0.5:3128\",\n  }\n",
    );
    w(
        "root/.docker/config.json",
        b"{\"auths\": {\"ghcr.io\": {\"auth\": \"c2VjcmV0OnNlY3JldA==\"",
    );
    w(
        "etc/systemd/system/docker.service.d/garbage.conf",
        b"\x00\xff[Service\nEnvironment=\"HTTPS_PROXY=http://10.0.0.5:3128\nEnvironment=\xc3\x28=1\n\x1b[31m",
    );
    w(
        "root/.colima/default/colima.yaml",
        b"env: [unclosed\n  - {{{\n\t\x00",
    );
    w("proc/net/tcp", b"garbage\n  0: zz:zz yy\n");
    // 100 MB of real /etc/hosts lines (an ad-blocking list), the registry near the end.
    {
        let p = r("etc/hosts");
        let mut f = std::io::BufWriter::new(fs::File::create(&p).unwrap());
        let line = b"0.0.0.0 ads.tracker-0000000000.example.com\n";
        for _ in 0..(100_000_000 / line.len()) {
            f.write_all(line).unwrap();
        }
        f.write_all(b"10.0.0.9 registry-1.docker.io\n").unwrap();
        f.flush().unwrap();
    }
    let ln = |target: &str, link: &str| {
        let l = r(link);
        fs::create_dir_all(l.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, l).unwrap();
    };
    ln("loop-b.toml", "etc/containerd/config.toml");
    ln("config.toml", "etc/containerd/loop-b.toml");
    ln(".", "etc/systemd/system/containerd.service.d");
    ln(
        "containerd.service.d/../containerd.service.d/x",
        "etc/systemd/system/containerd.service.d2",
    );
    ln("/../../../../etc/shadow", "etc/environment");
    ln("/nonexistent/resolv.conf", "etc/resolv.conf");
    for fifo in ["etc/default/docker", "etc/crictl.yaml"] {
        fs::create_dir_all(r(fifo).parent().unwrap()).unwrap();
        assert!(
            Command::new("mkfifo")
                .arg(r(fifo))
                .status()
                .unwrap()
                .success()
        );
    }
    fs::create_dir_all(r("etc/wsl.conf")).unwrap();
    // docker: garbage for `info`, an error for `version`; no systemctl.
    t.write(
        "garbage.bin",
        (0..=255u8).cycle().take(70_000).collect::<Vec<u8>>(),
    );
    t.script(
        "bin/docker",
        &format!(
            "case \"$1\" in\ninfo) exec /bin/cat '{}' ;;\n*) echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2; exit 1 ;;\nesac",
            t.join("garbage.bin").display()
        ),
    );
    let env: BTreeMap<String, String> = [
        ("PATH", t.join("bin").display().to_string()),
        ("HOME", "/root".into()),
        ("LANG", "C.UTF-8".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let (out, took) = run(
        pd(&env)
            .args([
                "check",
                "--offline",
                "--timeout",
                "5",
                "--format",
                "json",
                "--root",
            ])
            .arg(t.join("root")),
        None,
        Duration::from_secs(60),
    );
    let v = check_report(&out, "hostile check");
    assert!(took < Duration::from_secs(5 + 3), "deadline: took {took:?}");
    let ev = &v["evidence"];
    let notes = ev["host"]["notes"].to_string();
    for (path, kind) in [
        ("/etc/containerd/config.toml", "symlink_loop"),
        ("/etc/default/docker", "not_a_file"),
        ("/etc/hosts", "truncated"),
    ] {
        assert!(
            ev["host"]["notes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["path"] == path && n["kind"] == kind),
            "{path} {kind}: {notes}"
        );
    }
    assert_eq!(
        ev["host"]["files"]["daemon_json"]["status"], "invalid",
        "{}",
        ev["host"]["files"]["daemon_json"]
    );
    assert!(ev["host"]["files"]["docker_config"]["error"].is_object());
    assert!(
        !v.to_string().contains("c2VjcmV0"),
        "a config.json auth value came out"
    );
    // The escaping symlink stayed inside the root.
    assert!(
        !v.to_string().contains("root:"),
        "read the real /etc/shadow?"
    );
    assert_eq!(
        ev["commands"]["systemd"]["docker.service"]["status"],
        "not_found"
    );
    assert!(ev["commands"]["docker_info"]["parsed"].is_null());
    assert!(ev["commands"]["docker_info"]["parse_error"].is_string());
    // The unparsable daemon.json is a finding of its own.
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["category"] == "daemon-config-invalid"),
        "{}",
        v["findings"]
    );
    // Every other format renders the same machine.
    for fmt in ["human", "markdown"] {
        let (out, _) = run(
            pd(&env)
                .args(["check", "--offline", "-v", "--format", fmt, "--root"])
                .arg(t.join("root")),
            None,
            Duration::from_secs(60),
        );
        assert_no_panic(&out, fmt);
        assert!(matches!(out.status.code(), Some(0 | 1)));
        assert!(!out.stdout.is_empty());
    }
}

/// A `docker` and a `systemctl` that hang: each is killed at the deadline and reaped, the
/// report says so, the run ends within `--timeout` (plus a margin), and no process is
/// left behind.
#[test]
fn check_with_hung_commands_holds_the_deadline() {
    let t = TempDir::new("hung");
    let marker = format!("29.{}{}", std::process::id(), 7);
    t.script(
        "bin/docker",
        &format!("echo partial\nexec /bin/sleep {marker}"),
    );
    t.script("bin/systemctl", &format!("exec /bin/sleep {marker}"));
    t.script("bin/colima", &format!("exec /bin/sleep {marker}"));
    fs::create_dir_all(t.join("root")).unwrap();
    let env: BTreeMap<String, String> = [
        ("PATH".to_string(), t.join("bin").display().to_string()),
        ("HOME".to_string(), "/root".to_string()),
    ]
    .into();
    let timeout = 2.0;
    let (out, took) = run(
        pd(&env)
            .args([
                "check",
                "--offline",
                "--format",
                "json",
                "--timeout",
                &timeout.to_string(),
                "--root",
            ])
            .arg(t.join("root")),
        None,
        Duration::from_secs(30),
    );
    let v = check_report(&out, "hung check");
    let left = leftovers(&marker);
    kill_all(&left);
    assert!(left.is_empty(), "processes left behind: {left:?}");
    assert!(
        took < Duration::from_secs_f64(timeout + 2.0),
        "deadline {timeout}s: took {took:?}"
    );
    let cmds = &v["evidence"]["commands"];
    assert_eq!(
        cmds["docker_info"]["status"], "timed_out",
        "{}",
        cmds["docker_info"]
    );
    assert_eq!(cmds["systemd"]["docker.service"]["status"], "timed_out");
    assert!(
        v["findings"].to_string().contains("deadline")
            || v["areas"].to_string().contains("not reachable"),
        "{}",
        v["findings"]
    );
}

/// `docker` exits 1 saying the daemon is down: a diagnosis, not an error of pulldoctor.
#[test]
fn check_with_docker_exiting_1() {
    let t = TempDir::new("exit1");
    t.script(
        "bin/docker",
        "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2\nexit 1",
    );
    fs::create_dir_all(t.join("root")).unwrap();
    let env: BTreeMap<String, String> = [
        ("PATH".to_string(), t.join("bin").display().to_string()),
        ("HOME".to_string(), "/root".to_string()),
    ]
    .into();
    let (out, _) = run(
        pd(&env)
            .args(["check", "--offline", "--format", "json", "--root"])
            .arg(t.join("root")),
        None,
        Duration::from_secs(30),
    );
    let v = check_report(&out, "docker exits 1");
    assert_eq!(out.status.code(), Some(1), "{}", v["findings"]);
    assert_eq!(
        v["evidence"]["commands"]["docker_info"]["source"]["exit_code"],
        1
    );
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["category"] == "daemon-not-running"),
        "{}",
        v["findings"]
    );
}

/// A command that leaves a child of its own running (a wrapper script, `colima` starting
/// `limactl`): when the command is killed at the deadline, its whole process group
/// goes too (each command runs in a process group of its own, killed whole). Cleans up
/// after itself either way.
#[test]
fn check_kills_the_grandchildren_of_a_hung_command() {
    let t = TempDir::new("grandchild");
    let marker = format!("28.{}{}", std::process::id(), 3);
    t.script("bin/systemctl", &format!("/bin/sleep {marker}\necho never"));
    fs::create_dir_all(t.join("root")).unwrap();
    let env: BTreeMap<String, String> = [
        ("PATH".to_string(), t.join("bin").display().to_string()),
        ("HOME".to_string(), "/root".to_string()),
    ]
    .into();
    let (out, _) = run(
        pd(&env)
            .args([
                "check",
                "--offline",
                "--format",
                "json",
                "--timeout",
                "1",
                "--root",
            ])
            .arg(t.join("root")),
        None,
        Duration::from_secs(30),
    );
    check_report(&out, "grandchild");
    let left = leftovers(&marker);
    kill_all(&left);
    assert!(left.is_empty(), "grandchildren left behind: {left:?}");
}

// ---------------------------------------------------------------------------------------
// Read-only, proven

/// Copies `from` into `to`: directories, files (with their mode) and symlinks as symlinks.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let ft = e.file_type().unwrap();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if ft.is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Everything about every entry under `dir` that a write would change: type, mode,
/// owner, size, content hash, symlink target, mtime and ctime (nanoseconds). Not atime:
/// reading may move it.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    use std::hash::{Hash, Hasher};
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let m = fs::symlink_metadata(&d).unwrap();
        let rel = d.strip_prefix(dir).unwrap().to_path_buf();
        let mut desc = format!(
            "mode {:o} uid {} gid {} size {} mtime {}.{} ctime {}.{} ino {}",
            m.mode(),
            m.uid(),
            m.gid(),
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
            m.ino()
        );
        let ft = m.file_type();
        if ft.is_symlink() {
            desc += &format!(" -> {}", fs::read_link(&d).unwrap().display());
        } else if ft.is_dir() {
            for e in fs::read_dir(&d).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else if ft.is_file() {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            fs::read(&d).unwrap().hash(&mut h);
            desc += &format!(" content {:016x}", h.finish());
        }
        out.insert(rel, desc);
    }
    out
}

fn assert_same(before: &BTreeMap<PathBuf, String>, after: &BTreeMap<PathBuf, String>, what: &str) {
    let mut diff = Vec::new();
    for (p, d) in before {
        match after.get(p) {
            None => diff.push(format!("removed {}", p.display())),
            Some(a) if a != d => diff.push(format!("changed {}: {d} -> {a}", p.display())),
            _ => {}
        }
    }
    for p in after.keys().filter(|p| !before.contains_key(*p)) {
        diff.push(format!("created {}", p.display()));
    }
    assert!(diff.is_empty(), "{what}:\n{}", diff.join("\n"));
}

/// `check --offline --root` over every fixture machine under `fixtures/check/*/root`
/// (copied to a temporary directory) changes nothing in the tree (content, mode, owner,
/// mtime, ctime, inode, entries), and writes nothing in its working directory but the
/// `--save` file.
#[test]
fn check_changes_no_file_and_writes_only_save() {
    let mut roots: Vec<PathBuf> = fs::read_dir(repo().join("fixtures/check"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("root"))
        .filter(|p| p.is_dir())
        .collect();
    roots.sort();
    assert!(roots.len() >= 10, "{roots:?}");
    for src in roots {
        let name = src
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let t = TempDir::new("readonly");
        let root = t.join("root");
        copy_tree(&src, &root);
        let cwd = t.join("cwd");
        fs::create_dir_all(&cwd).unwrap();
        fs::create_dir_all(t.join("bin")).unwrap();
        let env: BTreeMap<String, String> = [
            ("PATH".to_string(), t.join("bin").display().to_string()),
            ("HOME".to_string(), "/root".to_string()),
        ]
        .into();
        let before = snapshot(&root);
        let cwd_before = snapshot(&cwd);
        let saved = cwd.join("report.json");
        for fmt in ["human", "json"] {
            let _ = fs::remove_file(&saved);
            let (out, _) = run(
                pd(&env)
                    .current_dir(&cwd)
                    .args(["check", "--offline", "-v", "--format", fmt, "--root"])
                    .arg(&root)
                    .arg("--save")
                    .arg(&saved),
                None,
                Duration::from_secs(60),
            );
            assert_no_panic(&out, &name);
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{name}: {}",
                text(&out.stderr)
            );
            assert!(saved.is_file(), "{name}: --save wrote nothing");
        }
        assert_same(
            &before,
            &snapshot(&root),
            &format!("{name}: the --root tree"),
        );
        let mut cwd_after = snapshot(&cwd);
        cwd_after.remove(Path::new("report.json"));
        cwd_after.remove(Path::new(""));
        let mut cb = cwd_before;
        cb.remove(Path::new(""));
        assert_same(&cb, &cwd_after, &format!("{name}: the working directory"));
    }
}

/// Under `strace -f` (when installed): `check --offline --root` opens no file for
/// writing but `--save`, creates, renames, removes, links or re-times nothing, and makes
/// no network call at all (no socket but the async runtime's own AF_UNIX socketpair,
/// no connect, no send).
#[test]
fn check_offline_syscalls_are_read_only_and_offline() {
    let Some(strace) = ["/usr/bin/strace", "/bin/strace"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
    else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "strace (.ci/packages) is mandatory under CI=true"
        );
        eprintln!("SKIP check_offline_syscalls_are_read_only_and_offline: strace is not installed");
        return;
    };
    let t = TempDir::new("strace");
    let root = t.join("root");
    copy_tree(&repo().join("fixtures/check/systemd-proxy/root"), &root);
    fs::create_dir_all(t.join("bin")).unwrap();
    let trace = t.join("trace");
    let saved = t.join("saved.json");
    let (out, _) = run(
        Command::new(strace)
            .args(["-f", "-qq", "-o"])
            .arg(&trace)
            .arg("-e")
            .arg("trace=open,openat,openat2,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,rmdir,link,linkat,symlink,symlinkat,truncate,ftruncate,chmod,fchmod,fchmodat,chown,fchown,fchownat,lchown,utimensat,utimes,socket,socketpair,connect,sendto,sendmsg,sendmmsg,bind")
            .arg(BIN)
            .args(["check", "--offline", "-v", "--root"])
            .arg(&root)
            .arg("--save")
            .arg(&saved)
            .env_clear()
            .env("PATH", t.join("bin"))
            .env("HOME", "/root"),
        None,
        Duration::from_secs(120),
    );
    if out.status.code() != Some(0) && out.status.code() != Some(1) {
        // ptrace may be forbidden in a container: not a failure of pulldoctor.
        eprintln!(
            "SKIP check_offline_syscalls_are_read_only_and_offline: strace: {}",
            text(&out.stderr)
        );
        return;
    }
    let log = fs::read_to_string(&trace).unwrap();
    let save = saved.display().to_string();
    let mut bad = Vec::new();
    for l in log.lines() {
        let call = l.split_whitespace().nth(1).unwrap_or("");
        if call.starts_with("<...") || call.starts_with("---") || call.starts_with("+++") {
            continue; // a resumed call (its start was checked) or a signal
        }
        let name = call.split('(').next().unwrap_or("");
        let writes = ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"]
            .iter()
            .any(|f| l.contains(f));
        let ok = match name {
            "open" | "openat" | "openat2" => !writes || l.contains(&format!("\"{save}\"")),
            "socketpair" => l.contains("AF_UNIX"),
            _ => false,
        };
        if !ok {
            bad.push(l.to_string());
        }
    }
    assert!(
        bad.is_empty(),
        "not read-only or not offline:\n{}",
        bad.join("\n")
    );
    assert!(log.contains(&save), "the trace did not see --save: {log}");
}

// ---------------------------------------------------------------------------------------
// Fuzz regressions

/// Every input kept under `fixtures/fuzz/<target>/` (crashes found by `cargo fuzz`, and
/// seeds worth keeping) goes through the same function as the fuzz target of that name.
#[test]
fn fuzz_regressions_replay() {
    let dir = repo().join("fixtures/fuzz");
    let mut n = 0;
    for (name, f) in harness::TARGETS {
        let Ok(rd) = fs::read_dir(dir.join(name)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for p in files {
            let data = fs::read(&p).unwrap();
            let r = std::panic::catch_unwind(|| f(&data));
            assert!(r.is_ok(), "{name}: {} panics", p.display());
            n += 1;
        }
    }
    // Unknown directories are a typo, not a regression suite.
    for e in fs::read_dir(&dir).unwrap().flatten() {
        let d = e.file_name().to_string_lossy().into_owned();
        assert!(
            !e.path().is_dir() || harness::TARGETS.iter().any(|(t, _)| *t == d),
            "fixtures/fuzz/{d}: no fuzz target of that name"
        );
    }
    assert!(n > 0, "no regression inputs under fixtures/fuzz");
}

/// Output to a pipe nobody reads any more (`| head`, a closed terminal): `explain` and
/// `check -v` exit quietly, without a panic or a "Broken pipe" message.
#[test]
fn closed_stdout_exits_quietly() {
    let t = TempDir::new("epipe");
    let log = t.write("a.log", format!("{REFUSED}\n").repeat(50));
    fs::create_dir_all(t.join("root")).unwrap();
    let env: BTreeMap<String, String> =
        [("PATH".to_string(), t.join("root").display().to_string())].into();
    for args in [
        vec!["explain".to_string(), log.display().to_string()],
        vec![
            "check".into(),
            "--offline".into(),
            "-v".into(),
            "--root".into(),
            repo()
                .join("fixtures/check/systemd-proxy/root")
                .display()
                .to_string(),
        ],
    ] {
        let mut child = pd(&env)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before the first write
        let out = wait_limited(child, Duration::from_secs(60));
        let e = text(&out.stderr);
        assert_no_panic(&out, &args[0]);
        assert!(
            !e.contains("Broken pipe") && !e.contains("os error 32"),
            "{}: {e}",
            args[0]
        );
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}: {:?} {e}",
            args[0],
            out.status
        );
    }
}
