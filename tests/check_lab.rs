//! End-to-end tests of `pulldoctor check` against real servers in network namespaces the
//! test creates (issue 3, "Tests"; the foundation of issue 5's lab).
//!
//! `tests/lab/lab.sh up` builds a client namespace ("the VM", 192.168.5.1) and a peer
//! namespace ("the Colima host", 192.168.5.2) joined by a veth pair, and starts real
//! servers in the peer: the distribution registry with TLS from a test CA on
//! `registry.test` = 192.168.5.3:5000, dnsmasq (NXDOMAIN for everything else), tinyproxy
//! open and with BasicAuth, a refusing port and a port whose packets are dropped. Each
//! scenario copies a fake tree (`fixtures/check/lab-base` plus `fixtures/check/lab-NAME`)
//! into a temp dir, puts fake `systemctl` / `docker` scripts first on an otherwise empty
//! `PATH`, runs `pulldoctor check --no-hub --dns-server 192.168.5.2 --root TREE` inside
//! the client namespace (with the lab's resolv.conf bound over /etc in a private mount
//! namespace, so getaddrinfo asks the lab's resolver too), and asserts the findings and
//! the evidence.
//!
//! Network safety: packets only ever go to loopback or to the namespaces created here;
//! the namespaces have no default route and no NAT, Docker Hub is never probed
//! (`--no-hub`), and every resolver asked is the lab's.
//!
//! Skip policy: without root, `ip netns` or the lab's packages (`.ci/packages`) the
//! tests print a SKIP line and pass, except under `CI=true`, where they fail.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pulldoctor");
/// `--timeout` given to every networked `check`.
const CHECK_TIMEOUT_SECS: u64 = 3;
/// The mtime given to every file of a fake tree (2025-01-01), older than the canned
/// daemon start time, so no drop-in looks newer than the running daemon.
const TREE_MTIME: u64 = 1_735_689_600;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lab_sh() -> PathBuf {
    repo().join("tests/lab/lab.sh")
}

/// Absolute paths of the programs the test runs itself (the checked process gets a
/// `PATH` with the fake commands only).
#[derive(Clone)]
struct Tools {
    bash: PathBuf,
    ip: PathBuf,
    unshare: PathBuf,
    sh: PathBuf,
    mount: PathBuf,
    timeout: PathBuf,
    cat: PathBuf,
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain([
            "/usr/local/sbin",
            "/usr/local/bin",
            "/usr/sbin",
            "/usr/bin",
            "/sbin",
            "/bin",
        ])
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// Whether the lab can run here: `Err(what is missing)` otherwise.
fn lab_prerequisites() -> Result<Tools, String> {
    let find = |n: &str| which(n).ok_or_else(|| format!("{n} not found"));
    let tools = Tools {
        bash: find("bash")?,
        ip: find("ip")?,
        unshare: find("unshare")?,
        sh: find("sh")?,
        mount: find("mount")?,
        timeout: find("timeout")?,
        cat: find("cat")?,
    };
    let out = Command::new(&tools.timeout)
        .args(["20"])
        .arg(&tools.bash)
        .arg(lab_sh())
        .arg("deps")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run lab.sh deps: {e}"))?;
    if !out.status.success() {
        let missing = String::from_utf8_lossy(&out.stdout)
            .trim()
            .replace('\n', ", ");
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(format!("missing: {missing} {err}").trim().to_string());
    }
    Ok(tools)
}

/// The tools, or `None` after printing a SKIP line; panics under `CI=true`.
fn require_lab(test: &str) -> Option<Tools> {
    match lab_prerequisites() {
        Ok(t) => Some(t),
        Err(why) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "{test}: the network lab is mandatory under CI=true but cannot run here: {why}. \
                     It needs root, `ip netns`, and the packages in .ci/packages (installed by .ci/run)."
                );
            }
            eprintln!(
                "SKIP {test}: {why} (the lab needs root, `ip netns` and .ci/packages; mandatory when CI=true)"
            );
            None
        }
    }
}

fn unique_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let p = std::env::temp_dir().join(format!(
        "pulldoctor-lab-{tag}-{}-{}-{nanos:08x}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = fs::remove_dir_all(&p);
    fs::create_dir_all(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    p
}

/// A lab built by `lab.sh`; torn down (servers killed by PID, namespaces deleted, temp
/// dir removed) on drop, panics included.
struct Lab {
    tools: Tools,
    dir: PathBuf,
    env: BTreeMap<String, String>,
}

impl Lab {
    fn start(tools: &Tools, tag: &str, sub: &str) -> Lab {
        let mut lab = Lab {
            tools: tools.clone(),
            dir: unique_dir(tag),
            env: BTreeMap::new(),
        };
        lab.run(sub);
        lab
    }

    /// `lab.sh SUB DIR`; its `KEY=value` lines become [`Lab::env`]. Panics
    /// with the lab's logs when it fails.
    fn run(&mut self, sub: &str) {
        let out = Command::new(&self.tools.timeout)
            .args(["-k", "5", "60"])
            .arg(&self.tools.bash)
            .arg(lab_sh())
            .arg(sub)
            .arg(&self.dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run lab.sh {sub}: {e}"));
        if !out.status.success() {
            let logs = self.logs();
            panic!(
                "lab.sh {sub} failed ({}):\n{}\n{}\n{logs}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        self.env = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }

    /// The full lab: both namespaces and every server.
    fn up(tools: &Tools, tag: &str) -> Lab {
        Lab::start(tools, tag, "up")
    }

    /// One namespace with nothing in it, `lo` down.
    fn bare(tools: &Tools, tag: &str) -> Lab {
        Lab::start(tools, tag, "bare")
    }

    fn get(&self, k: &str) -> &str {
        self.env
            .get(k)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("lab.env has no {k}: {:?}", self.env))
    }

    fn ns(&self) -> &str {
        self.get("NS")
    }

    fn log(&self, server: &str) -> String {
        fs::read_to_string(self.dir.join("logs").join(format!("{server}.log"))).unwrap_or_default()
    }

    /// The tail of every server log, for failure messages.
    fn logs(&self) -> String {
        let mut s = String::new();
        if let Ok(rd) = fs::read_dir(self.dir.join("logs")) {
            let mut names: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            names.sort();
            for p in names {
                let text = fs::read_to_string(&p).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(15)..].join("\n");
                s += &format!("--- {} (last 15 lines)\n{tail}\n", p.display());
            }
        }
        s
    }

    /// `rx` and `tx` packet counters of `dev` in the lab's (client) namespace.
    fn packets(&self, dev: &str) -> (u64, u64) {
        let out = Command::new(&self.tools.ip)
            .args(["-n", self.ns(), "-s", "-j", "link", "show", "dev", dev])
            .output()
            .expect("ip -s -j link show");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let s = &v[0]["stats64"];
        (
            s["rx"]["packets"].as_u64().unwrap_or(u64::MAX),
            s["tx"]["packets"].as_u64().unwrap_or(u64::MAX),
        )
    }

    fn set_link_up(&self, dev: &str) {
        let st = Command::new(&self.tools.ip)
            .args(["-n", self.ns(), "link", "set", dev, "up"])
            .status()
            .expect("ip link set");
        assert!(st.success(), "ip -n {} link set {dev} up failed", self.ns());
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new(&self.tools.timeout)
            .args(["-k", "5", "30"])
            .arg(&self.tools.bash)
            .arg(lab_sh())
            .arg("down")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// Fake trees and fake commands.

/// A `--root` tree and the fake commands of one scenario.
struct Tree {
    root: PathBuf,
    bin: PathBuf,
}

fn copy_dir(from: &Path, to: &Path) {
    let Ok(rd) = fs::read_dir(from) else { return };
    fs::create_dir_all(to).unwrap();
    for e in rd {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().unwrap().is_dir() {
            copy_dir(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap_or_else(|err| panic!("{}: {err}", src.display()));
        }
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// `user:password@` in a proxy URL as `docker info` shows it (`xxxxx:xxxxx@`).
fn docker_info_redact(v: &str) -> String {
    match (v.find("://"), v.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}xxxxx:xxxxx{}", &v[..s + 3], &v[at..]),
        _ => v.to_string(),
    }
}

fn write_script(path: &Path, body: &str) {
    fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Builds the tree of scenario `name`: `fixtures/check/lab-base` plus each overlay
/// `fixtures/check/lab-OVERLAY` (their `root/` and `canned/`), `@BLACKHOLE@` replaced,
/// the lab CA installed as `etc/docker/certs.d/CA_FOR/ca.crt` when asked, every file
/// dated [`TREE_MTIME`], and fake `systemctl` / `docker` in `bin/`:
/// - `systemctl show UNIT …` prints `canned/systemctl-UNIT.txt`; other units are
///   `not-found`; without `canned/systemctl-docker.service.txt` there is no systemd
///   (it fails like `systemctl` in a container).
/// - `docker info` prints `canned/docker-info.json` with the proxies of
///   `canned/dockerd.env` (what the running daemon reports), `docker version`
///   `canned/docker-version.json`.
fn build_tree(lab: &Lab, name: &str, overlays: &[&str], ca_for: Option<&str>) -> Tree {
    let dir = lab.dir.join("scenarios").join(name);
    let _ = fs::remove_dir_all(&dir);
    let fixtures = repo().join("fixtures/check");
    for o in std::iter::once("base").chain(overlays.iter().copied()) {
        let src = fixtures.join(format!("lab-{o}"));
        assert!(src.is_dir(), "missing fixture {}", src.display());
        copy_dir(&src.join("root"), &dir.join("root"));
        copy_dir(&src.join("canned"), &dir.join("canned"));
    }
    let root = dir.join("root");
    let canned = dir.join("canned");
    if let Some(host) = ca_for {
        let d = root.join("etc/docker/certs.d").join(host);
        fs::create_dir_all(&d).unwrap();
        fs::copy(lab.get("CA"), d.join("ca.crt")).unwrap();
    }
    let blackhole = lab.env.get("BLACKHOLE").cloned();
    let mut files = vec![];
    files_under(&root, &mut files);
    for f in &files {
        if let (Some(b), Ok(text)) = (&blackhole, fs::read_to_string(f))
            && text.contains("@BLACKHOLE@")
        {
            fs::write(f, text.replace("@BLACKHOLE@", b)).unwrap();
        }
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(TREE_MTIME);
        fs::File::options()
            .write(true)
            .open(f)
            .and_then(|h| h.set_modified(t))
            .unwrap();
    }
    // What the running daemon reports in `docker info`.
    let dockerd_env = fs::read_to_string(canned.join("dockerd.env")).unwrap_or_default();
    let dockerd_env = blackhole.as_ref().map_or(dockerd_env.clone(), |b| {
        dockerd_env.replace("@BLACKHOLE@", b)
    });
    let var = |k: &str| {
        dockerd_env
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .map(docker_info_redact)
            .unwrap_or_default()
    };
    let info = fs::read_to_string(canned.join("docker-info.json")).unwrap();
    let info = info
        .replace("@HTTP_PROXY@", &var("HTTP_PROXY"))
        .replace("@HTTPS_PROXY@", &var("HTTPS_PROXY"))
        .replace("@NO_PROXY@", &var("NO_PROXY"));
    fs::write(canned.join("docker-info.json"), info).unwrap();

    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let (cat, canned_s) = (
        lab.tools.cat.display().to_string(),
        canned.display().to_string(),
    );
    write_script(
        &bin.join("systemctl"),
        &format!(
            r#"# fake systemctl of the pulldoctor lab
canned='{canned_s}'
if [ ! -f "$canned/systemctl-docker.service.txt" ]; then
    echo "System has not been booted with systemd as init system (PID 1). Can't operate." >&2
    echo "Failed to connect to bus: Host is down" >&2
    exit 1
fi
if [ "$1" = show ] && [ -f "$canned/systemctl-$2.txt" ]; then
    exec {cat} "$canned/systemctl-$2.txt"
fi
printf '%s\n' ExecMainStartTimestamp= Environment= FragmentPath= DropInPaths= LoadState=not-found ActiveState=inactive ActiveEnterTimestamp="#
        ),
    );
    write_script(
        &bin.join("docker"),
        &format!(
            r#"# fake docker CLI of the pulldoctor lab
canned='{canned_s}'
case "$1" in
    info) exec {cat} "$canned/docker-info.json" ;;
    version) exec {cat} "$canned/docker-version.json" ;;
    context) printf '%s\n' '{{"Current":true,"Description":"Current DOCKER_HOST based configuration","DockerEndpoint":"unix:///var/run/docker.sock","Error":"","Name":"default"}}' ;;
    *) echo "docker: '$1' is not a docker command." >&2; exit 1 ;;
esac"#
        ),
    );
    Tree { root, bin }
}

// ---------------------------------------------------------------------------
// Running `check` in the lab.

struct Run {
    code: i32,
    json: Value,
    stdout: String,
    stderr: String,
    wall: Duration,
}

impl Run {
    fn findings(&self) -> Vec<&Value> {
        self.json["findings"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    }

    fn finding(&self, category: &str) -> Result<&Value, String> {
        self.findings()
            .into_iter()
            .find(|f| f["category"] == category)
            .ok_or_else(|| format!("no `{category}` finding; {}", self.summary()))
    }

    fn errors(&self) -> Vec<&Value> {
        self.findings()
            .into_iter()
            .filter(|f| f["severity"] == "error")
            .collect()
    }

    /// The probe of the first target named `host`.
    fn target(&self, host: &str) -> Result<&Value, String> {
        self.json["evidence"]["probes"]["targets"]
            .as_array()
            .and_then(|a| a.iter().find(|t| t["target"]["host"] == host))
            .ok_or_else(|| format!("no probe of {host}; {}", self.summary()))
    }

    /// One line that says what happened, for failure messages.
    fn summary(&self) -> String {
        let f: Vec<String> = self
            .findings()
            .iter()
            .map(|f| {
                format!(
                    "{}/{} {}",
                    f["category"].as_str().unwrap_or("?"),
                    f["slug"].as_str().unwrap_or("?"),
                    f["entities"]
                )
            })
            .collect();
        let t: Vec<String> = self.json["evidence"]["probes"]["targets"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|t| {
                        format!(
                            "{}:{} via {} → {} {}",
                            t["target"]["host"],
                            t["target"]["port"],
                            t["target"]["proxy"],
                            t["outcome"],
                            t["error"]["go"]
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut s = format!(
            "exit {} in {:.2}s; findings {f:?}; probes {t:?}",
            self.code,
            self.wall.as_secs_f64()
        );
        if self.json.is_null() {
            s += &format!("\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        } else if !self.stderr.trim().is_empty() {
            s += &format!("\nstderr: {}", self.stderr.trim());
        }
        s
    }
}

macro_rules! ensure {
    ($cond:expr, $run:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!("{} [{}]; {}", format!($($fmt)+), stringify!($cond), $run.summary()));
        }
    };
}

/// Runs `pulldoctor ARGS…` in the lab's client namespace, with the lab's resolv.conf and
/// hosts bound over /etc (full lab) and a cleared environment: `PATH` = the fake
/// commands only, `HOME=/root`. Bounded by `timeout`.
fn run_in_lab(lab: &Lab, tree: &Tree, args: &[&str]) -> Run {
    let t = &lab.tools;
    let mut cmd = Command::new(&t.timeout);
    cmd.env_clear()
        .env("PATH", &tree.bin)
        .env("HOME", "/root")
        .args(["-k", "5", "30"])
        .arg(&t.ip)
        .args(["netns", "exec", lab.ns()]);
    if let Some(files) = lab.env.get("CLIENT_FILES") {
        cmd.arg(&t.unshare).args(["--mount", "--propagation", "private"]).arg(&t.sh).arg("-c").arg(
            r#"m=$1; f=$2; shift 2; "$m" --bind "$f/hosts" /etc/hosts && "$m" --bind "$f/resolv.conf" /etc/resolv.conf && exec "$@""#,
        );
        cmd.arg("sh").arg(&t.mount).arg(files);
    }
    cmd.arg(BIN).args(args).stdin(Stdio::null());
    let start = Instant::now();
    let out = cmd.output().expect("run pulldoctor in the lab");
    let wall = start.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Run {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        wall,
    }
}

/// `check --no-hub --format json --timeout 3 --dns-server 192.168.5.2 --root TREE EXTRA…`.
fn check(lab: &Lab, tree: &Tree, extra: &[&str]) -> Run {
    let timeout = CHECK_TIMEOUT_SECS.to_string();
    let root = tree.root.display().to_string();
    let mut args = vec![
        "check",
        "--no-hub",
        "--format",
        "json",
        "--timeout",
        &timeout,
        "--root",
        &root,
    ];
    if !extra.contains(&"--dns-server") {
        args.extend([
            "--dns-server",
            lab.env.get("HOST_IP").map_or("127.0.0.1", String::as_str),
        ]);
    }
    args.extend(extra);
    run_in_lab(lab, tree, &args)
}

/// The report is well formed and exit code and findings agree.
fn sane(run: &Run) -> Result<(), String> {
    ensure!(
        run.json["schema"] == "pulldoctor/report/v1",
        run,
        "not a report"
    );
    ensure!(run.json["command"] == "check", run, "command");
    let want = if run.errors().is_empty() { 0 } else { 1 };
    ensure!(
        run.code == want,
        run,
        "exit code {} but {} error findings",
        run.code,
        run.errors().len()
    );
    Ok(())
}

fn dockerd_var<'a>(run: &'a Run, k: &str) -> &'a Value {
    &run.json["evidence"]["components"]["dockerd"]["vars"][k]
}

// ---------------------------------------------------------------------------
// Scenarios of the full lab.

type Scenario = fn(&Lab) -> Result<String, String>;

/// (a) The registry's CA in certs.d: nothing wrong.
fn healthy(lab: &Lab) -> Result<String, String> {
    let reg = lab.get("REGISTRY");
    let tree = build_tree(lab, "healthy", &[], Some(reg));
    let run = check(lab, &tree, &["--registry", reg]);
    sane(&run)?;
    ensure!(
        run.code == 0 && run.errors().is_empty(),
        run,
        "expected a clean bill of health"
    );
    let t = run.target("registry.test")?;
    ensure!(t["outcome"] == "ok", run, "outcome");
    ensure!(t["target"]["proxy"].is_null(), run, "direct route expected");
    let resp = &t["http"]["response"];
    ensure!(resp["status"] == 401, run, "GET /v2/ status");
    ensure!(
        resp["api_version"] == "registry/2.0",
        run,
        "Docker-Distribution-Api-Version"
    );
    ensure!(
        resp["www_authenticate"]["scheme"] == "Bearer",
        run,
        "WWW-Authenticate scheme"
    );
    ensure!(
        resp["www_authenticate"]["realm"] == "https://registry.test:5000/token",
        run,
        "realm"
    );
    ensure!(
        t["dns"]["servers"][0]["addrs"] == serde_json::json!(["192.168.5.3"]),
        run,
        "hickory answer"
    );
    ensure!(
        t["dns"]["system"]["addrs"] == serde_json::json!(["192.168.5.3"]),
        run,
        "getaddrinfo answer"
    );
    let tls = &t["http"]["tls"];
    ensure!(
        tls["chain"][0]["issuer"]
            .as_str()
            .is_some_and(|i| i.contains("pulldoctor lab CA")),
        run,
        "issuer"
    );
    let verdict = |store: &str| {
        tls["verdicts"]
            .as_array()
            .and_then(|v| v.iter().find(|x| x["store"] == store))
            .map(|x| x["ok"] == true)
    };
    ensure!(
        verdict("docker") == Some(true),
        run,
        "dockerd's store (system + certs.d) must trust it"
    );
    ensure!(
        verdict("mozilla") == Some(false),
        run,
        "Mozilla's roots must not trust the lab CA"
    );
    let extra = &run.json["evidence"]["probes"]["stores"]["extra"][0];
    ensure!(
        extra["source"] == "/etc/docker/certs.d/registry.test:5000/ca.crt" && extra["certs"] == 1,
        run,
        "certs.d CA evidence"
    );
    let areas = run.json["areas"].as_array().cloned().unwrap_or_default();
    ensure!(
        !areas.is_empty() && areas.iter().all(|a| a["mark"] == "✓"),
        run,
        "every area ✓: {areas:?}"
    );
    Ok(format!(
        "GET /v2/ → 401 Bearer, trusted via certs.d, {:.2}s",
        run.wall.as_secs_f64()
    ))
}

/// (b) No CA installed: `tls-unknown-authority`; `--save` then `replay` agree.
fn unknown_authority(lab: &Lab) -> Result<String, String> {
    let reg = lab.get("REGISTRY");
    let tree = build_tree(lab, "unknown-authority", &[], None);
    let saved = lab.dir.join("scenarios/unknown-authority/saved.json");
    let saved_s = saved.display().to_string();
    let run = check(lab, &tree, &["--registry", reg, "--save", &saved_s]);
    sane(&run)?;
    let f = run.finding("tls-unknown-authority")?;
    ensure!(f["severity"] == "error", run, "severity");
    ensure!(
        f["entities"]["server_name"] == "registry.test",
        run,
        "server_name entity"
    );
    ensure!(f["entities"]["registry"] == reg, run, "registry entity");
    let t = run.target("registry.test")?;
    ensure!(t["outcome"] == "tls_untrusted", run, "outcome");
    ensure!(
        t["error"]["go"]
            .as_str()
            .is_some_and(|g| g.contains("x509: certificate signed by unknown authority")),
        run,
        "Go's words"
    );
    ensure!(
        t["http"]["tls"]["chain"][0]["issuer"]
            .as_str()
            .is_some_and(|i| i.contains("pulldoctor lab CA")),
        run,
        "the chain names the issuer"
    );
    // The support engineer's workflow: replay the saved report with no access to the lab.
    let replay = Command::new(BIN)
        .env_clear()
        .env("PATH", "/nonexistent")
        .args(["replay", &saved_s, "--format", "json"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("replay: {e}"))?;
    let rj: Value = serde_json::from_slice(&replay.stdout).map_err(|e| {
        format!(
            "replay output: {e}: {}",
            String::from_utf8_lossy(&replay.stderr)
        )
    })?;
    let key = |v: &Value| -> Vec<String> {
        v["findings"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|f| {
                        format!(
                            "{} {} {} {}",
                            f["rule"], f["category"], f["severity"], f["entities"]
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    ensure!(rj["command"] == "replay", run, "replay report");
    ensure!(
        key(&rj) == key(&run.json),
        run,
        "replay findings {:?} differ from check's {:?}",
        key(&rj),
        key(&run.json)
    );
    ensure!(
        replay.status.code() == Some(run.code),
        run,
        "replay exit code {:?}",
        replay.status.code()
    );
    let file: Value = serde_json::from_str(&fs::read_to_string(&saved).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    ensure!(key(&file) == key(&run.json), run, "saved findings differ");
    Ok(format!(
        "x509 unknown authority; replay agrees ({} findings)",
        key(&rj).len()
    ))
}

/// (c) dockerd's proxy from `systemctl show docker.service`, tinyproxy up: the probe goes
/// through the proxy and succeeds.
fn proxy_ok(lab: &Lab) -> Result<String, String> {
    let reg = lab.get("REGISTRY");
    let tree = build_tree(lab, "proxy-ok", &["systemctl-proxy"], Some(reg));
    let before = lab
        .log("tinyproxy-open")
        .matches("CONNECT registry.test:5000")
        .count();
    let run = check(lab, &tree, &["--registry", reg]);
    sane(&run)?;
    ensure!(
        run.code == 0 && run.errors().is_empty(),
        run,
        "expected no error"
    );
    let v = dockerd_var(&run, "HTTPS_PROXY");
    ensure!(
        v["value"] == lab.get("PROXY") && v["from"] == "systemctl show docker.service",
        run,
        "dockerd's HTTPS_PROXY {v}"
    );
    let t = run.target("registry.test")?;
    ensure!(
        t["outcome"] == "ok" && t["target"]["proxy"] == lab.get("PROXY"),
        run,
        "route through the proxy"
    );
    let c = &t["http"]["connect"];
    ensure!(
        c["status"] == 200 && c["authority"] == reg,
        run,
        "CONNECT {c}"
    );
    ensure!(
        t["http"]["response"]["status"] == 401,
        run,
        "GET /v2/ through the tunnel"
    );
    let after = lab
        .log("tinyproxy-open")
        .matches("CONNECT registry.test:5000")
        .count();
    ensure!(
        after > before,
        run,
        "tinyproxy's log has no new CONNECT registry.test:5000"
    );
    Ok(format!(
        "CONNECT 200 via tinyproxy, then 401 from the registry, {:.2}s",
        run.wall.as_secs_f64()
    ))
}

/// (d) daemon.json `proxies` overrides the drop-in and points at the BasicAuth proxy;
/// the URL has no credentials: `proxy-auth`.
fn proxy_auth(lab: &Lab) -> Result<String, String> {
    let reg = lab.get("REGISTRY");
    let tree = build_tree(lab, "proxy-auth", &["daemon-json-proxy"], Some(reg));
    let run = check(lab, &tree, &["--registry", reg]);
    sane(&run)?;
    let f = run.finding("proxy-auth")?;
    ensure!(f["severity"] == "error", run, "severity");
    let v = dockerd_var(&run, "HTTPS_PROXY");
    ensure!(
        v["value"] == lab.get("AUTH_PROXY")
            && v["from"]
                .as_str()
                .is_some_and(|s| s.contains("/etc/docker/daemon.json")),
        run,
        "daemon.json proxies must override the drop-in: {v}"
    );
    let t = run.target("registry.test")?;
    ensure!(
        t["outcome"] == "proxy_auth_required" && t["target"]["proxy"] == lab.get("AUTH_PROXY"),
        run,
        "route"
    );
    let c = &t["http"]["connect"];
    ensure!(
        c["status"] == 407 && c["auth_sent"] == false,
        run,
        "CONNECT {c}"
    );
    ensure!(
        c["proxy_authenticate"][0]
            .as_str()
            .is_some_and(|s| s.starts_with("Basic")),
        run,
        "Proxy-Authenticate {c}"
    );
    Ok("407 from tinyproxy BasicAuth".into())
}

/// (d2) The same proxy with credentials in the URL: the tunnel opens, and the password
/// appears nowhere in the report.
fn proxy_credentials(lab: &Lab) -> Result<String, String> {
    let reg = lab.get("REGISTRY");
    let tree = build_tree(lab, "proxy-credentials", &["proxy-credentials"], Some(reg));
    let run = check(lab, &tree, &["--registry", reg]);
    sane(&run)?;
    ensure!(
        run.code == 0 && run.errors().is_empty(),
        run,
        "expected no error"
    );
    let t = run.target("registry.test")?;
    ensure!(
        t["outcome"] == "ok"
            && t["http"]["connect"]["status"] == 200
            && t["http"]["connect"]["auth_sent"] == true,
        run,
        "authenticated CONNECT"
    );
    ensure!(
        t["target"]["proxy"] == "http://labuser:***@192.168.5.2:8889",
        run,
        "redacted proxy in evidence"
    );
    let pass = lab.get("AUTH_PROXY_PASS");
    ensure!(
        !run.stdout.contains(pass) && !run.stderr.contains(pass),
        run,
        "the proxy password leaked into the report"
    );
    Ok("CONNECT with Basic credentials 200; password redacted".into())
}

/// (e) The proxy's port refuses: `proxy-refused`, naming the proxy.
fn proxy_refused(lab: &Lab) -> Result<String, String> {
    let reg = lab.get("REGISTRY");
    let tree = build_tree(lab, "proxy-refused", &["proxy-refused"], Some(reg));
    let run = check(lab, &tree, &["--registry", reg]);
    sane(&run)?;
    let f = run.finding("proxy-refused")?;
    ensure!(
        f["entities"]["proxy"] == lab.get("REFUSED"),
        run,
        "proxy entity"
    );
    let t = run.target("registry.test")?;
    ensure!(
        t["outcome"] == "proxy_unreachable" && t["error"]["class"] == "connection_refused",
        run,
        "outcome"
    );
    ensure!(
        run.wall < Duration::from_secs(2),
        run,
        "a refusal must not wait for the deadline"
    );
    Ok(format!(
        "{} ({})",
        f["slug"].as_str().unwrap_or("?"),
        f["entities"]["proxy"]
    ))
}

/// (f) The proxy's address swallows SYNs: a timeout finding, within `--timeout` + 1 s.
fn proxy_blackhole(lab: &Lab) -> Result<String, String> {
    let reg = lab.get("REGISTRY");
    let tree = build_tree(lab, "proxy-blackhole", &["proxy-blackhole"], Some(reg));
    let run = check(lab, &tree, &["--registry", reg]);
    sane(&run)?;
    let bound = Duration::from_secs(CHECK_TIMEOUT_SECS + 1);
    ensure!(
        run.wall < bound,
        run,
        "check hung: {:.2}s > {bound:?}",
        run.wall.as_secs_f64()
    );
    let f = run.finding("network-timeout")?;
    ensure!(
        f["entities"]["proxy"] == lab.get("BLACKHOLE"),
        run,
        "proxy entity"
    );
    let t = run.target("registry.test")?;
    ensure!(
        t["outcome"] == "proxy_unreachable" && t["error"]["class"] == "timeout",
        run,
        "outcome"
    );
    ensure!(
        run.json["evidence"]["elapsed_ms"]
            .as_u64()
            .is_some_and(|ms| ms <= CHECK_TIMEOUT_SECS * 1000 + 500),
        run,
        "evidence elapsed_ms"
    );
    Ok(format!(
        "{} after {:.2}s ({})",
        f["slug"].as_str().unwrap_or("?"),
        run.wall.as_secs_f64(),
        lab.get("BLACKHOLE_KIND")
    ))
}

/// (f2) The same blackholed proxy, but the registry is in NO_PROXY: the probe goes
/// direct, succeeds, and does not wait for the deadline.
fn no_proxy_bypass(lab: &Lab) -> Result<String, String> {
    let reg = lab.get("REGISTRY");
    let tree = build_tree(lab, "no-proxy-bypass", &["no-proxy-bypass"], Some(reg));
    let run = check(lab, &tree, &["--registry", reg]);
    sane(&run)?;
    ensure!(
        run.code == 0 && run.errors().is_empty(),
        run,
        "expected no error"
    );
    let t = run.target("registry.test")?;
    ensure!(
        t["outcome"] == "ok" && t["target"]["proxy"].is_null(),
        run,
        "NO_PROXY must route registry.test direct"
    );
    ensure!(
        run.wall < Duration::from_secs(2),
        run,
        "waited for something"
    );
    Ok("direct by NO_PROXY".into())
}

/// (g) The resolver answers NXDOMAIN for the registry's name: `dns-failure`.
fn dns_nxdomain(lab: &Lab) -> Result<String, String> {
    let tree = build_tree(lab, "dns-nxdomain", &[], None);
    let run = check(lab, &tree, &["--registry", "nosuch.test:5000"]);
    sane(&run)?;
    let f = run.finding("dns-failure")?;
    ensure!(f["entities"]["host"] == "nosuch.test", run, "host entity");
    ensure!(
        f["entities"]["dns_server"] == lab.get("DNS_SERVER"),
        run,
        "dns_server entity"
    );
    let t = run.target("nosuch.test")?;
    ensure!(t["outcome"] == "dns_failed", run, "outcome");
    ensure!(
        t["dns"]["servers"][0]["error"]["class"] == "nx_domain",
        run,
        "hickory: NXDOMAIN"
    );
    ensure!(
        t["dns"]["system"]["error"]["class"] == "nx_domain",
        run,
        "getaddrinfo: NXDOMAIN"
    );
    ensure!(
        lab.log("dnsmasq").contains("nosuch.test"),
        run,
        "dnsmasq never saw the query"
    );
    Ok(format!(
        "{} ({})",
        f["slug"].as_str().unwrap_or("?"),
        f["entities"]["dns_server"]
    ))
}

/// A mirror in daemon.json is probed (and trusted through certs.d).
fn mirror(lab: &Lab) -> Result<String, String> {
    let reg = lab.get("REGISTRY");
    let tree = build_tree(lab, "mirror", &["mirror"], Some(reg));
    let run = check(lab, &tree, &[]);
    sane(&run)?;
    ensure!(run.code == 0, run, "expected no error");
    let t = run.target("registry.test")?;
    ensure!(
        t["target"]["role"] == "mirror" && t["outcome"] == "ok",
        run,
        "mirror probe"
    );
    Ok("mirror answered".into())
}

/// A Colima guest (lima markers in the tree) whose dockerd proxy is 127.0.0.1:8888 while
/// the proxy listens on the host, 192.168.5.2:8888: the loopback proxy refuses, the
/// gateway (the guest's default, no `--vm-gateway`) answers: `proxy-loopback-in-vm`.
fn colima_loopback_proxy(lab: &Lab) -> Result<String, String> {
    let reg = lab.get("REGISTRY");
    let tree = build_tree(lab, "colima", &["colima"], Some(reg));
    let run = check(lab, &tree, &["--registry", reg]);
    sane(&run)?;
    ensure!(
        run.json["evidence"]["host"]["platform"]["colima_guest"]["detected"] == true,
        run,
        "not detected as a Colima guest"
    );
    let reach = run.json["evidence"]["probes"]["reachability"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ok_at = |addr: &str| {
        reach
            .iter()
            .find(|r| r["addr"] == addr)
            .map(|r| r["ok"] == true)
    };
    ensure!(
        ok_at("127.0.0.1:8888") == Some(false),
        run,
        "127.0.0.1:8888 must refuse: {reach:?}"
    );
    ensure!(
        ok_at("192.168.5.2:8888") == Some(true),
        run,
        "the gateway's proxy must answer: {reach:?}"
    );
    let f = run.finding("proxy-loopback-in-vm")?;
    ensure!(
        f["entities"]["proxy"] == "127.0.0.1:8888",
        run,
        "proxy entity"
    );
    Ok(format!(
        "{}/{}",
        f["category"].as_str().unwrap_or("?"),
        f["slug"].as_str().unwrap_or("?")
    ))
}

#[test]
fn check_lab() {
    let Some(tools) = require_lab("check_lab") else {
        return;
    };
    let _serial = clients::LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let lab = Lab::up(&tools, "check");
    let up = started.elapsed();
    let scenarios: &[(&str, Scenario)] = &[
        ("a healthy", healthy),
        ("b unknown-authority", unknown_authority),
        ("c proxy-ok", proxy_ok),
        ("d proxy-auth", proxy_auth),
        ("d2 proxy-credentials", proxy_credentials),
        ("e proxy-refused", proxy_refused),
        ("f proxy-blackhole", proxy_blackhole),
        ("f2 no-proxy-bypass", no_proxy_bypass),
        ("g dns-nxdomain", dns_nxdomain),
        ("mirror", mirror),
        ("colima-loopback-proxy", colima_loopback_proxy),
    ];
    let mut failures = vec![];
    for (name, f) in scenarios {
        let t = Instant::now();
        match f(&lab) {
            Ok(note) => eprintln!(
                "check_lab {name}: ok in {:.2}s: {note}",
                t.elapsed().as_secs_f64()
            ),
            Err(e) => {
                eprintln!(
                    "check_lab {name}: FAILED in {:.2}s: {e}",
                    t.elapsed().as_secs_f64()
                );
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    eprintln!(
        "check_lab: {} scenarios in {:.1}s (lab up in {:.1}s, registry: {}, blackhole: {})",
        scenarios.len(),
        started.elapsed().as_secs_f64(),
        up.as_secs_f64(),
        lab.get("REGISTRY_IMPL"),
        lab.get("BLACKHOLE_KIND")
    );
    assert!(
        failures.is_empty(),
        "{} of {} lab scenarios failed:\n{}\n\nserver logs:\n{}",
        failures.len(),
        scenarios.len(),
        failures.join("\n\n"),
        lab.logs()
    );
}

/// (h) `--offline` sends nothing: it reports in a namespace whose only interface, `lo`,
/// is down; then, with `lo` up and every configured endpoint on loopback, `lo`'s packet
/// counters stay at zero, while a run without `--offline` moves them (the control).
#[test]
fn check_lab_offline() {
    let Some(tools) = require_lab("check_lab_offline") else {
        return;
    };
    let lab = Lab::bare(&tools, "offline");
    let tree = build_tree(&lab, "offline", &["offline"], None);
    let args = ["--dns-server", "127.0.0.1", "--registry", "127.0.0.1:5000"];
    let offline: Vec<&str> = ["--offline"].iter().chain(args.iter()).copied().collect();

    let run = check(&lab, &tree, &offline);
    sane(&run).unwrap();
    assert!(
        run.json["evidence"]["probes"].is_null(),
        "--offline must not probe: {}",
        run.summary()
    );
    assert!(
        run.json["evidence"]["components"]["dockerd"]["vars"]["HTTPS_PROXY"]["value"]
            == "http://127.0.0.1:8888",
        "{}",
        run.summary()
    );
    let dns_area = run.json["areas"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == "DNS"))
        .cloned()
        .unwrap_or_default();
    assert!(
        dns_area["detail"]
            .as_str()
            .is_some_and(|d| d.contains("--offline")),
        "DNS area: {dns_area}"
    );
    assert!(
        run.wall < Duration::from_secs(CHECK_TIMEOUT_SECS),
        "{}",
        run.summary()
    );

    lab.set_link_up("lo");
    let before = lab.packets("lo");
    let run = check(&lab, &tree, &offline);
    sane(&run).unwrap();
    assert_eq!(
        lab.packets("lo"),
        before,
        "--offline sent packets on lo: {}",
        run.summary()
    );

    // Control: the same run without --offline does send (all of it to loopback inside
    // this namespace: the proxy, the resolver and the registry are 127.0.0.1).
    let run = check(&lab, &tree, &args);
    assert!(
        !run.json["evidence"]["probes"].is_null(),
        "{}",
        run.summary()
    );
    let after = lab.packets("lo");
    assert!(
        after.1 > before.1,
        "the control run sent nothing on lo ({after:?}): {}",
        run.summary()
    );
    eprintln!(
        "check_lab_offline: ok; control run moved lo from {before:?} to {after:?}; findings: {}",
        run.summary()
    );
}

/// Issue 5: the real clients (skopeo, ctr, dockerd) in the same lab.
#[path = "lab_clients.rs"]
mod clients;
