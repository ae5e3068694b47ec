//! The client lab (issue 5): the real pullers, `skopeo`, `ctr` (containerd 1.6) and
//! `dockerd` 20.10, fail for real against the lab's servers, and pulldoctor must name the
//! failure from their own words and find it again with `check`.
//!
//! `lab.sh up` + `lab.sh clients` (see tests/lab/lab.sh) give registry.test with good,
//! mismatched, expired and IP-less certificates, a plain-HTTP registry, registries that
//! answer 401/404/429/503 or cut a layer short (reset or EOF), one that redirects blobs
//! to a CDN-like host reachable only through a proxy, resolvers that say SERVFAIL, never
//! answer or are down, tinyproxy and squid with and without auth, a refusing port, a
//! port behind an iptables DROP, and a containerd for `ctr`. Every scenario:
//!
//! 1. runs each client in the client namespace with the scenario's proxy environment and
//!    resolv.conf (dockerd is started per scenario, `lab.sh dockerd`, with that
//!    environment, its own data root and /etc/docker), captures what it prints, feeds it
//!    to `pulldoctor explain --format json` and asserts the category and the entities
//!    (proxy, host, registry, resolver);
//! 2. where `check` can see the problem, runs `pulldoctor check --no-hub` in the same
//!    namespace with the same environment, `DOCKER_HOST` set to that dockerd (so `docker
//!    info` is the real daemon's) and `--root` on the files dockerd reads, and asserts
//!    the diagnosis. Known shortcomings of `check` are listed as `gap`s: printed, not
//!    failed; a gap whose expectation starts to pass says so, so it can be dropped.
//!
//! `PULLDOCTOR_LAB_FIXTURES=1` writes each captured output that passed to
//! `fixtures/lab/SCENARIO-CLIENT.log` with its `.expect.toml` (read by
//! tests/explain_fixtures.rs). Same skip policy and network safety as check_lab.rs:
//! nothing leaves the namespaces, no check probes Docker Hub.

use super::*;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::thread;

/// Scenarios run at once (most of the time is spent waiting for timeouts).
const WORKERS: usize = 8;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Client {
    Skopeo,
    Ctr,
    Docker,
    /// dockerd itself (its start-up errors).
    Dockerd,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Skopeo => "skopeo",
            Client::Ctr => "ctr",
            Client::Docker => "docker",
            Client::Dockerd => "dockerd",
        }
    }
}

const PULLERS: &[Client] = &[Client::Skopeo, Client::Ctr, Client::Docker];

/// Which resolv.conf the clients (and dockerd, and check) get.
#[derive(Clone, Copy)]
enum Resolver {
    /// The lab's dnsmasq (192.168.5.2).
    Lab,
    /// `files-NAME` of `lab.sh clients`: servfail, silent, down.
    Files(&'static str),
}

/// An entity expectation `key=value`, optionally only for some clients (`key=value@ctr`
/// or `@skopeo,ctr`). `@VAR@` in the value is replaced from lab.env.
type EntitySpec = &'static str;

struct CheckExpect {
    /// Any of these categories (the first one is the right one).
    categories: &'static [&'static str],
    entities: &'static [EntitySpec],
    /// A known shortcoming of `check`: printed when the expectation fails, not failed.
    gap: Option<&'static str>,
}

struct Scenario {
    name: &'static str,
    /// Image reference; `{client}` is replaced (a repository per client, so no client
    /// finds a layer another one already fetched).
    image: &'static str,
    clients: &'static [Client],
    /// Environment of the clients, dockerd and check (`@VAR@` from lab.env).
    env: &'static [(&'static str, &'static str)],
    /// Environment of dockerd only (check learns it from `docker info`).
    dockerd_env: &'static [(&'static str, &'static str)],
    resolver: Resolver,
    /// Registries (HOST:PORT) whose CA the clients trust.
    trust: &'static [&'static str],
    /// dockerd's daemon.json.
    daemon_json: Option<&'static str>,
    /// Plain HTTP allowed: skopeo --src-tls-verify=false, ctr --plain-http (daemon.json
    /// has the registry in insecure-registries).
    insecure: bool,
    /// `None`: the pull must succeed (a control).
    category: Option<&'static str>,
    entities: &'static [EntitySpec],
    check: Option<CheckExpect>,
    /// Needs squid.
    squid: bool,
}

const fn sc(name: &'static str, image: &'static str) -> Scenario {
    Scenario {
        name,
        image,
        clients: PULLERS,
        env: &[],
        dockerd_env: &[],
        resolver: Resolver::Lab,
        trust: &[],
        daemon_json: None,
        insecure: false,
        category: None,
        entities: &[],
        check: None,
        squid: false,
    }
}

const REG: &str = "registry.test:5001";
const TRUST_REG: &[&str] = &["registry.test:5001"];

fn scenarios() -> Vec<Scenario> {
    vec![
        // The slow ones (client timeouts of 10 to 33 s) first.
        Scenario {
            category: Some("network-timeout"),
            entities: &["host=192.168.5.2"],
            check: Some(CheckExpect {
                categories: &["network-timeout"],
                entities: &["address=192.168.5.2:8890"],
                gap: None,
            }),
            ..sc("dial-timeout", "@BLACKHOLE@/lab/hello:1")
        },
        Scenario {
            trust: TRUST_REG,
            env: &[("HTTPS_PROXY", "https://192.168.5.2:8888")],
            category: Some("proxy-scheme"),
            entities: &["detail=net/http: TLS handshake timeout"],
            check: Some(CheckExpect {
                categories: &["proxy-scheme"],
                entities: &["proxy=192.168.5.2:8888"],
                gap: None,
            }),
            ..sc(
                "proxy-https-scheme-tinyproxy",
                "registry.test:5001/lab/hello:1",
            )
        },
        Scenario {
            resolver: Resolver::Files("silent"),
            trust: TRUST_REG,
            category: Some("dns-failure"),
            entities: &["host=registry.test", "dns_server=192.168.5.5:53"],
            check: Some(CheckExpect {
                categories: &["dns-failure"],
                entities: &["host=registry.test", "dns_server=192.168.5.5:53"],
                gap: None,
            }),
            ..sc("dns-resolver-silent", "registry.test:5001/lab/hello:1")
        },
        Scenario {
            trust: &["registry.test:5007"],
            category: Some("rate-limit"),
            entities: &["registry=registry.test:5007@ctr"],
            check: Some(CheckExpect {
                categories: &["rate-limit"],
                entities: &["registry=registry.test:5007"],
                gap: None,
            }),
            ..sc("rate-limiter-429", "registry.test:5007/lab/hello:1")
        },
        Scenario {
            trust: TRUST_REG,
            category: Some("rate-limit"),
            entities: &["registry=registry.test:5001@skopeo,ctr"],
            ..sc("too-many-requests", "registry.test:5001/lab/ratelimit:1")
        },
        Scenario {
            trust: TRUST_REG,
            ..sc("healthy", "registry.test:5001/lab/hello-{client}:1")
        },
        Scenario {
            trust: TRUST_REG,
            env: &[("HTTPS_PROXY", "http://labuser:labpass@192.168.5.2:8889")],
            ..sc(
                "proxy-credentials",
                "registry.test:5001/lab/hello-{client}:1",
            )
        },
        Scenario {
            trust: TRUST_REG,
            env: &[("HTTPS_PROXY", "http://127.0.0.1:3128")],
            category: Some("proxy-refused"),
            entities: &["proxy=127.0.0.1:3128", "proxy_port=3128"],
            check: Some(CheckExpect {
                categories: &["proxy-refused"],
                entities: &["proxy=127.0.0.1:3128"],
                gap: None,
            }),
            ..sc("proxy-refused-loopback", "registry.test:5001/lab/hello:1")
        },
        Scenario {
            trust: TRUST_REG,
            env: &[("HTTPS_PROXY", "http://192.168.5.2:9999")],
            category: Some("proxy-refused"),
            entities: &["proxy=192.168.5.2:9999", "proxy_host=192.168.5.2"],
            check: Some(CheckExpect {
                categories: &["proxy-refused"],
                entities: &["proxy=192.168.5.2:9999"],
                gap: None,
            }),
            ..sc("proxy-refused-gateway", "registry.test:5001/lab/hello:1")
        },
        Scenario {
            trust: TRUST_REG,
            env: &[("HTTPS_PROXY", "http://proxy.corp.test:3128")],
            category: Some("proxy-refused"),
            entities: &["proxy_host=proxy.corp.test", "dns_server=192.168.5.2:53"],
            check: Some(CheckExpect {
                categories: &["proxy-refused"],
                entities: &["proxy_host=proxy.corp.test"],
                gap: None,
            }),
            ..sc("proxy-name-nxdomain", "registry.test:5001/lab/hello:1")
        },
        Scenario {
            trust: TRUST_REG,
            env: &[("HTTPS_PROXY", "http://192.168.5.2:8889")],
            category: Some("proxy-auth"),
            entities: &["registry=registry.test:5001"],
            check: Some(CheckExpect {
                categories: &["proxy-auth"],
                entities: &["proxy=192.168.5.2:8889"],
                gap: None,
            }),
            ..sc("proxy-auth-tinyproxy", "registry.test:5001/lab/hello:1")
        },
        Scenario {
            trust: TRUST_REG,
            env: &[("HTTPS_PROXY", "http://192.168.5.2:3128")],
            category: Some("proxy-auth"),
            entities: &["registry=registry.test:5001"],
            check: Some(CheckExpect {
                categories: &["proxy-auth"],
                entities: &["proxy=192.168.5.2:3128"],
                gap: None,
            }),
            squid: true,
            ..sc("proxy-auth-squid", "registry.test:5001/lab/hello:1")
        },
        Scenario {
            trust: TRUST_REG,
            env: &[("HTTPS_PROXY", "http://labuser:labpass@192.168.5.2:3128")],
            squid: true,
            ..sc(
                "proxy-credentials-squid",
                "registry.test:5001/lab/hello-sq-{client}:1",
            )
        },
        Scenario {
            trust: TRUST_REG,
            env: &[("HTTPS_PROXY", "https://192.168.5.2:3128")],
            category: Some("proxy-scheme"),
            entities: &["registry=registry.test:5001"],
            check: Some(CheckExpect {
                categories: &["proxy-scheme"],
                entities: &["proxy=192.168.5.2:3128"],
                gap: None,
            }),
            squid: true,
            ..sc("proxy-https-scheme-squid", "registry.test:5001/lab/hello:1")
        },
        Scenario {
            category: Some("tls-unknown-authority"),
            entities: &["registry=registry.test:5001"],
            check: Some(CheckExpect {
                categories: &["tls-unknown-authority"],
                entities: &["registry=registry.test:5001"],
                gap: None,
            }),
            ..sc("x509-unknown-authority", "registry.test:5001/lab/hello:1")
        },
        Scenario {
            trust: &["registry.test:5002"],
            category: Some("tls-hostname-mismatch"),
            entities: &["host=registry.test", "registry=registry.test:5002"],
            check: Some(CheckExpect {
                categories: &["tls-hostname-mismatch"],
                entities: &["host=registry.test"],
                gap: None,
            }),
            ..sc("x509-hostname-mismatch", "registry.test:5002/lab/hello:1")
        },
        Scenario {
            trust: &["registry.test:5003"],
            category: Some("tls-expired-or-clock"),
            entities: &["registry=registry.test:5003"],
            check: Some(CheckExpect {
                categories: &["tls-expired-or-clock"],
                entities: &[
                    "registry=registry.test:5003",
                    "not_after=2020-02-01T00:00:00Z",
                ],
                gap: None,
            }),
            ..sc("x509-expired", "registry.test:5003/lab/hello:1")
        },
        Scenario {
            trust: &["192.168.5.3:5004"],
            category: Some("tls-hostname-mismatch"),
            entities: &["host=192.168.5.3", "registry=192.168.5.3:5004"],
            check: Some(CheckExpect {
                categories: &["tls-hostname-mismatch"],
                entities: &["host=192.168.5.3"],
                gap: None,
            }),
            ..sc("x509-no-ip-sans", "192.168.5.3:5004/lab/hello:1")
        },
        Scenario {
            category: Some("insecure-registry-http"),
            entities: &["registry=registry.test:5005", "port=5005"],
            check: Some(CheckExpect {
                categories: &["insecure-registry-http"],
                entities: &["registry=registry.test:5005"],
                gap: None,
            }),
            ..sc("http-response-to-https", "registry.test:5005/lab/hello:1")
        },
        Scenario {
            category: Some("dns-failure"),
            entities: &["host=nosuch.test", "dns_server=192.168.5.2:53"],
            check: Some(CheckExpect {
                categories: &["dns-failure"],
                entities: &["host=nosuch.test", "dns_server=192.168.5.2:53"],
                gap: None,
            }),
            ..sc("dns-nxdomain", "nosuch.test:5001/lab/hello:1")
        },
        Scenario {
            resolver: Resolver::Files("servfail"),
            trust: TRUST_REG,
            category: Some("dns-failure"),
            entities: &["host=registry.test", "dns_server=192.168.5.4:53"],
            check: Some(CheckExpect {
                categories: &["dns-failure"],
                entities: &["host=registry.test", "dns_server=192.168.5.4:53"],
                gap: None,
            }),
            ..sc("dns-servfail", "registry.test:5001/lab/hello:1")
        },
        Scenario {
            resolver: Resolver::Files("down"),
            trust: TRUST_REG,
            category: Some("dns-failure"),
            entities: &["host=registry.test", "dns_server=192.168.5.6:53"],
            check: Some(CheckExpect {
                categories: &["dns-failure"],
                entities: &["host=registry.test", "dns_server=192.168.5.6:53"],
                gap: None,
            }),
            ..sc("dns-resolver-down", "registry.test:5001/lab/hello:1")
        },
        Scenario {
            trust: &["registry.test:5001", "@BLOB_HOST@"],
            env: &[
                ("HTTPS_PROXY", "http://192.168.5.2:8888"),
                ("NO_PROXY", "@BLOB_HOST@"),
            ],
            category: Some("blob-download-bypass"),
            entities: &[
                "host=@BLOB_HOST@@skopeo,ctr",
                "host=192.168.5.7@docker",
                "address=192.168.5.7:443",
            ],
            ..sc(
                "blob-host-in-no-proxy",
                "registry.test:5001/lab/redirect-{client}:1",
            )
        },
        Scenario {
            trust: &["registry.test:5001", "@BLOB_HOST@"],
            env: &[("HTTPS_PROXY", "http://192.168.5.2:8888")],
            ..sc(
                "blob-host-via-proxy",
                "registry.test:5001/lab/redirect-ok-{client}:1",
            )
        },
        Scenario {
            trust: TRUST_REG,
            category: Some("connection-reset-eof"),
            entities: &["address=192.168.5.3:5001"],
            ..sc("reset-mid-blob", "registry.test:5001/lab/reset-{client}:1")
        },
        Scenario {
            trust: TRUST_REG,
            category: Some("connection-reset-eof"),
            ..sc("eof-mid-blob", "registry.test:5001/lab/eof-{client}:1")
        },
        Scenario {
            trust: TRUST_REG,
            category: Some("manifest-not-found"),
            ..sc("manifest-unknown", "registry.test:5001/lab/hello:missing")
        },
        Scenario {
            insecure: true,
            daemon_json: Some(r#"{"insecure-registries": ["registry.test:5005"]}"#),
            category: Some("manifest-not-found"),
            ..sc(
                "manifest-unknown-distribution",
                "registry.test:5005/lab/nothing:1",
            )
        },
        Scenario {
            trust: TRUST_REG,
            category: Some("auth-denied"),
            entities: &["registry=registry.test:5001@ctr"],
            ..sc("unauthorized", "registry.test:5001/lab/private:1")
        },
        Scenario {
            trust: TRUST_REG,
            category: Some("rate-limit"),
            entities: &[
                "status=503 Service Unavailable",
                "registry=registry.test:5001@ctr",
            ],
            ..sc(
                "service-unavailable",
                "registry.test:5001/lab/unavailable:1",
            )
        },
        Scenario {
            trust: &["registry.test:5006"],
            category: Some("rate-limit"),
            entities: &["registry=registry.test:5006@skopeo,ctr"],
            check: Some(CheckExpect {
                categories: &["rate-limit"],
                entities: &["registry=registry.test:5006"],
                gap: None,
            }),
            ..sc("load-balancer-503", "registry.test:5006/lab/hello:1")
        },
        Scenario {
            clients: &[Client::Dockerd],
            daemon_json: Some("{\n  \"registry-mirrors\": [\"https://mirror.test\"],\n}\n"),
            category: Some("daemon-config-invalid"),
            check: Some(CheckExpect {
                categories: &["daemon-config-invalid"],
                entities: &[],
                gap: None,
            }),
            ..sc("daemon-json-invalid", "")
        },
        Scenario {
            clients: &[Client::Docker],
            trust: TRUST_REG,
            dockerd_env: &[
                ("HTTPS_PROXY", "http://192.168.5.2:8889"),
                ("NO_PROXY", "localhost,127.0.0.1"),
            ],
            category: Some("proxy-auth"),
            entities: &["registry=registry.test:5001"],
            check: Some(CheckExpect {
                categories: &["proxy-auth"],
                entities: &["proxy=192.168.5.2:8889"],
                gap: None,
            }),
            ..sc("docker-info-proxy", "registry.test:5001/lab/hello:1")
        },
        Scenario {
            clients: &[Client::Docker],
            trust: TRUST_REG,
            dockerd_env: &[("HTTPS_PROXY", "http://labuser:labpass@192.168.5.2:8889")],
            check: Some(CheckExpect {
                categories: &[],
                entities: &[],
                gap: Some(
                    "docker info masks the proxy password (xxxxx:xxxxx); check probes with the mask and the proxy rejects it (outcome proxy_rejected)",
                ),
            }),
            ..sc(
                "docker-info-credentials",
                "registry.test:5001/lab/hello-cred:1",
            )
        },
    ]
}

// ---------------------------------------------------------------------------
// The lab.

/// `lab.sh deps-clients`: `Err(what is missing)`.
fn client_prerequisites(tools: &Tools) -> Result<(), String> {
    let out = Command::new(&tools.timeout)
        .args(["20"])
        .arg(&tools.bash)
        .arg(lab_sh())
        .arg("deps-clients")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run lab.sh deps-clients: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "missing: {}",
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .replace('\n', ", ")
        ))
    }
}

fn require_clients(test: &str) -> Option<Tools> {
    let tools = require_lab(test)?;
    match client_prerequisites(&tools) {
        Ok(()) => Some(tools),
        Err(why) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "{test}: the client lab is mandatory under CI=true but cannot run here: {why}. \
                     It needs the packages in .ci/packages (installed by .ci/run)."
                );
            }
            eprintln!(
                "SKIP {test}: {why} (the client lab needs .ci/packages; mandatory when CI=true)"
            );
            None
        }
    }
}

/// `lab.sh up` then `lab.sh clients`.
fn clients_lab(tools: &Tools) -> Lab {
    let mut lab = Lab::up(tools, "clients");
    lab.run("clients");
    lab
}

/// `@VAR@` replaced from lab.env.
fn subst(lab: &Lab, s: &str) -> String {
    let mut out = s.to_string();
    for (k, v) in &lab.env {
        out = out.replace(&format!("@{k}@"), v);
    }
    out
}

struct Captured {
    code: i32,
    /// stdout and stderr together (stdout only when not merged).
    text: String,
    stderr: String,
    wall: Duration,
}

/// Runs ARGV in the client namespace through `lab.sh exec` (resolv.conf and hosts of
/// `files`), under `env -i` with ENV, bounded by `secs`; stdout and stderr together
/// when `merge` (as a terminal shows them).
fn exec_in_lab(
    lab: &Lab,
    files: &Path,
    env: &[(String, String)],
    argv: &[String],
    secs: u64,
    merge: bool,
) -> Captured {
    exec_in_lab_tmpfs(lab, files, "", env, argv, secs, merge)
}

/// [`exec_in_lab`] with empty tmpfs mounts on TMPFS (space-separated directories).
fn exec_in_lab_tmpfs(
    lab: &Lab,
    files: &Path,
    tmpfs: &str,
    env: &[(String, String)],
    argv: &[String],
    secs: u64,
    merge: bool,
) -> Captured {
    let t = &lab.tools;
    let n = N_CAPTURE.fetch_add(1, Ordering::SeqCst);
    let log = lab.dir.join(format!("capture-{n}.txt"));
    let err_log = lab.dir.join(format!("capture-{n}.err"));
    let f = fs::File::create(&log).unwrap();
    let e = if merge {
        f.try_clone().unwrap()
    } else {
        fs::File::create(&err_log).unwrap()
    };
    let mut cmd = Command::new(&t.timeout);
    cmd.args(["-k", "5", &secs.to_string()])
        .arg(&t.bash)
        .arg(lab_sh())
        .arg("exec")
        .arg(&lab.dir)
        .arg("env")
        .arg("-i")
        .arg("PATH=/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LAB_FILES", files)
        .env("LAB_TMPFS", tmpfs);
    for (k, v) in env {
        cmd.arg(format!("{k}={v}"));
    }
    cmd.args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::from(f))
        .stderr(Stdio::from(e));
    let start = Instant::now();
    let st = cmd.status().expect("run a client in the lab");
    Captured {
        code: st.code().unwrap_or(-1),
        text: fs::read_to_string(&log).unwrap_or_default(),
        stderr: fs::read_to_string(&err_log).unwrap_or_default(),
        wall: start.elapsed(),
    }
}

static N_CAPTURE: AtomicUsize = AtomicUsize::new(0);

/// One scenario's directories and dockerd.
#[derive(Clone)]
struct Setup<'a> {
    lab: &'a Lab,
    sc: &'a Scenario,
    dir: PathBuf,
    files: PathBuf,
    env: Vec<(String, String)>,
    /// The tree dockerd's /etc/docker comes from, and check's --root.
    root: PathBuf,
    dockerd_id: String,
    docker_host: Option<String>,
    dockerd_log: String,
}

impl<'a> Setup<'a> {
    fn new(lab: &'a Lab, sc: &'a Scenario, idx: usize) -> Setup<'a> {
        let dir = lab.dir.join("s").join(sc.name);
        fs::create_dir_all(&dir).unwrap();
        let files = match sc.resolver {
            Resolver::Lab => PathBuf::from(lab.get("CLIENT_FILES")),
            Resolver::Files(n) => lab.dir.join(format!("files-{n}")),
        };
        let env = sc
            .env
            .iter()
            .map(|(k, v)| (k.to_string(), subst(lab, v)))
            .collect();
        let dockerd_id = format!("d{idx:02}");
        let root = lab.dir.join("dockerd").join(&dockerd_id).join("root");
        let ca = lab.get("CA");
        // Trust: skopeo --src-cert-dir, ctr --hosts-dir, dockerd's certs.d.
        for reg in sc.trust {
            let reg = subst(lab, reg);
            for d in [
                dir.join("hosts").join(&reg),
                root.join("etc/docker/certs.d").join(&reg),
            ] {
                fs::create_dir_all(&d).unwrap();
                fs::copy(ca, d.join("ca.crt")).unwrap();
            }
        }
        fs::create_dir_all(dir.join("certs")).unwrap();
        if !sc.trust.is_empty() {
            fs::copy(ca, dir.join("certs/ca.crt")).unwrap();
        }
        fs::create_dir_all(dir.join("hosts")).unwrap();
        fs::create_dir_all(root.join("etc/docker")).unwrap();
        fs::write(
            root.join("etc/docker/daemon.json"),
            sc.daemon_json.unwrap_or("{}\n"),
        )
        .unwrap();
        fs::copy(files.join("resolv.conf"), root.join("etc/resolv.conf")).unwrap();
        fs::write(
            dir.join("policy.json"),
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .unwrap();
        fs::write(dir.join("registries.conf"), "").unwrap();
        Setup {
            lab,
            sc,
            dir,
            files,
            env,
            root,
            dockerd_id,
            docker_host: None,
            dockerd_log: String::new(),
        }
    }

    fn image(&self, c: Client) -> String {
        subst(self.lab, &self.sc.image.replace("{client}", c.name()))
    }

    /// `lab.sh dockerd`: Ok(DOCKER_HOST) or Err(its output).
    fn start_dockerd(&mut self) -> Result<String, String> {
        let t = &self.lab.tools;
        let mut cmd = Command::new(&t.timeout);
        cmd.args(["-k", "5", "40"])
            .arg(&t.bash)
            .arg(lab_sh())
            .arg("dockerd")
            .arg(&self.lab.dir)
            .arg(&self.dockerd_id)
            .arg(&self.files);
        for (k, v) in self.env.iter().cloned().chain(
            self.sc
                .dockerd_env
                .iter()
                .map(|(k, v)| (k.to_string(), subst(self.lab, v))),
        ) {
            cmd.arg(format!("{k}={v}"));
        }
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .expect("run lab.sh dockerd");
        self.dockerd_log = self.lab.log(&format!("dockerd-{}", self.dockerd_id));
        let stdout = String::from_utf8_lossy(&out.stdout);
        match stdout.lines().find_map(|l| l.strip_prefix("DOCKER_HOST=")) {
            Some(h) if out.status.success() => {
                self.docker_host = Some(h.to_string());
                Ok(h.to_string())
            }
            _ => Err(format!(
                "{}{}",
                String::from_utf8_lossy(&out.stderr),
                self.dockerd_log
            )),
        }
    }

    /// Stops this scenario's dockerd (by the PID lab.sh recorded; `down` would too).
    fn stop_dockerd(&self) {
        let pids = fs::read_to_string(self.lab.dir.join("pids")).unwrap_or_default();
        let name = format!("dockerd-{}", self.dockerd_id);
        for l in pids.lines() {
            if let Some((n, pid)) = l.split_once(' ')
                && n == name
            {
                let _ = Command::new("kill").args(["-TERM", pid]).status();
            }
        }
    }

    fn run(&mut self, c: Client) -> Captured {
        let home = self.dir.join(format!("home-{}", c.name()));
        fs::create_dir_all(&home).unwrap();
        let mut env = vec![("HOME".to_string(), home.display().to_string())];
        env.extend(self.env.iter().cloned());
        let img = self.image(c);
        let s = |p: &Path| p.display().to_string();
        match c {
            Client::Skopeo => {
                env.push((
                    "CONTAINERS_REGISTRIES_CONF".into(),
                    s(&self.dir.join("registries.conf")),
                ));
                let mut argv: Vec<String> =
                    ["skopeo", "--command-timeout", "33s", "copy", "--policy"]
                        .iter()
                        .map(|x| x.to_string())
                        .collect();
                argv.push(s(&self.dir.join("policy.json")));
                if self.sc.insecure {
                    argv.push("--src-tls-verify=false".into());
                } else if !self.sc.trust.is_empty() {
                    argv.push("--src-cert-dir".into());
                    argv.push(s(&self.dir.join("certs")));
                }
                argv.push(format!("docker://{img}"));
                argv.push(format!("dir:{}", s(&self.dir.join("skopeo-out"))));
                // As root, containers/image keeps a blob cache in /var/lib/containers.
                exec_in_lab_tmpfs(self.lab, &self.files, "/var/lib", &env, &argv, 60, true)
            }
            Client::Ctr => {
                let mut argv: Vec<String> = vec![
                    "ctr".into(),
                    "--address".into(),
                    self.lab.get("CONTAINERD_SOCK").into(),
                    "images".into(),
                    "pull".into(),
                    "--snapshotter".into(),
                    "native".into(),
                    "--hosts-dir".into(),
                    s(&self.dir.join("hosts")),
                ];
                if self.sc.insecure {
                    argv.push("--plain-http".into());
                }
                argv.push(img);
                exec_in_lab(self.lab, &self.files, &env, &argv, 60, true)
            }
            Client::Docker => {
                let started = Instant::now();
                let host = match self.start_dockerd() {
                    Ok(h) => h,
                    Err(e) => {
                        return Captured {
                            code: -2,
                            text: format!("dockerd did not start:\n{e}"),
                            stderr: String::new(),
                            wall: started.elapsed(),
                        };
                    }
                };
                env.push(("DOCKER_CONFIG".into(), s(&home.join(".docker"))));
                let cli = docker_cli();
                // With dockerd_env, a user pastes `docker info`'s proxy lines with the error.
                let script = if self.sc.dockerd_env.is_empty() {
                    r#"exec "$1" -H "$2" pull "$3""#
                } else {
                    r#""$1" -H "$2" info 2>&1 | grep -i -E '^ *(HTTP|HTTPS|No) Proxy:'; exec "$1" -H "$2" pull "$3""#
                };
                let argv: Vec<String> = vec![
                    "sh".into(),
                    "-c".into(),
                    script.into(),
                    "sh".into(),
                    cli,
                    host,
                    img,
                ];
                let mut cap = exec_in_lab(self.lab, &self.files, &env, &argv, 60, true);
                cap.wall = started.elapsed();
                cap
            }
            Client::Dockerd => {
                let started = Instant::now();
                let code = if self.start_dockerd().is_ok() { 0 } else { 1 };
                // What dockerd itself printed (its log is its stderr).
                Captured {
                    code,
                    text: self.dockerd_log.clone(),
                    stderr: String::new(),
                    wall: started.elapsed(),
                }
            }
        }
    }

    /// `pulldoctor check` in the client namespace, as the same user would run it.
    fn check(&self) -> Run {
        let bin = self.dir.join("bin");
        fs::create_dir_all(&bin).unwrap();
        let _ = std::os::unix::fs::symlink(docker_cli(), bin.join("docker"));
        let mut env = vec![
            ("PATH".to_string(), bin.display().to_string()),
            ("HOME".to_string(), "/root".to_string()),
        ];
        if let Some(h) = &self.docker_host {
            env.push(("DOCKER_HOST".into(), h.clone()));
        }
        env.extend(self.env.iter().cloned());
        let dns = fs::read_to_string(self.files.join("resolv.conf"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("nameserver ").map(str::to_string))
            .unwrap_or_default();
        let registry = if self.sc.image.is_empty() {
            REG.to_string()
        } else {
            self.image(Client::Docker)
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string()
        };
        let argv: Vec<String> = vec![
            BIN.into(),
            "check".into(),
            "--no-hub".into(),
            "--format".into(),
            "json".into(),
            "--timeout".into(),
            CHECK_TIMEOUT_SECS.to_string(),
            "--root".into(),
            self.root.display().to_string(),
            "--dns-server".into(),
            dns,
            "--registry".into(),
            registry,
        ];
        let cap = exec_in_lab(self.lab, &self.files, &env, &argv, 30, false);
        Run {
            code: cap.code,
            json: serde_json::from_str(&cap.text).unwrap_or(Value::Null),
            stdout: cap.text,
            stderr: cap.stderr,
            wall: cap.wall,
        }
    }
}

fn docker_cli() -> String {
    if Path::new("/usr/bin/docker").exists() {
        "/usr/bin/docker".into()
    } else {
        which("docker").map_or("docker".into(), |p| p.display().to_string())
    }
}

// ---------------------------------------------------------------------------
// Assertions.

/// The entities of SPECS that apply to client C, `@VAR@` replaced.
fn entity_specs(lab: &Lab, specs: &[EntitySpec], c: Option<Client>) -> Vec<(String, String)> {
    specs
        .iter()
        .filter_map(|spec| {
            let (kv, only) = match spec.rsplit_once("@") {
                Some((kv, who))
                    if !who.is_empty()
                        && who.chars().all(|ch| ch.is_ascii_lowercase() || ch == ',') =>
                {
                    (kv, Some(who))
                }
                _ => (*spec, None),
            };
            if let (Some(only), Some(c)) = (only, c)
                && !only.split(',').any(|w| w == c.name())
            {
                return None;
            }
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), subst(lab, v)))
        })
        .collect()
}

/// `pulldoctor explain --format json` over TEXT.
fn explain(text: &str) -> (i32, Value) {
    let mut child = Command::new(BIN)
        .args(["explain", "--format", "json", "--lang", "en"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pulldoctor explain");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(text.as_bytes());
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
    )
}

fn findings(v: &Value) -> Vec<Value> {
    v["findings"].as_array().cloned().unwrap_or_default()
}

fn short(f: &Value) -> String {
    format!(
        "{}/{} {}",
        f["rule"].as_str().unwrap_or("?"),
        f["category"].as_str().unwrap_or("?"),
        f["entities"]
    )
}

/// The finding of CATEGORY with every wanted entity, or why not.
fn find_finding<'v>(
    fs_: &'v [Value],
    categories: &[&str],
    want: &[(String, String)],
) -> Result<&'v Value, String> {
    let cands: Vec<&Value> = fs_
        .iter()
        .filter(|f| categories.iter().any(|c| f["category"] == *c))
        .collect();
    if cands.is_empty() {
        return Err(format!(
            "no {} finding; got {:?}",
            categories.join("|"),
            fs_.iter().map(short).collect::<Vec<_>>()
        ));
    }
    for f in &cands {
        if want
            .iter()
            .all(|(k, v)| f["entities"][k.as_str()] == *v.as_str())
        {
            return Ok(f);
        }
    }
    Err(format!(
        "the {} finding lacks {want:?}: {:?}",
        categories.join("|"),
        cands.iter().map(|f| short(f)).collect::<Vec<_>>()
    ))
}

/// Writes fixtures/lab/NAME-CLIENT.log and .expect.toml.
fn save_fixture(sc: &Scenario, c: Client, text: &str, got: &Value, asserted: &[(String, String)]) {
    let dir = repo().join("fixtures/lab");
    fs::create_dir_all(&dir).unwrap();
    let base = format!("{}-{}", sc.name, c.name());
    fs::write(dir.join(format!("{base}.log")), text).unwrap();
    let keys: BTreeSet<&str> = asserted.iter().map(|(k, _)| k.as_str()).collect();
    let mut toml = format!(
        "# tests/lab (issue 5): the real {} output of scenario `{}` (tests/lab_clients.rs).\n",
        c.name(),
        sc.name
    );
    for f in findings(got) {
        toml += "[[finding]]\n";
        toml += &format!("rule = \"{}\"\n", f["rule"].as_str().unwrap_or("?"));
        toml += &format!("count = {}\n", f["count"].as_u64().unwrap_or(0));
        let ents: Vec<String> = f["entities"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| keys.contains(k.as_str()))
                    .filter_map(|(k, v)| v.as_str().map(|v| format!("{k} = {}", toml_str(v))))
                    .collect()
            })
            .unwrap_or_default();
        toml += &format!("entities = {{ {} }}\n", ents.join(", "));
    }
    fs::write(dir.join(format!("{base}.expect.toml")), toml).unwrap();
}

fn toml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[derive(Default)]
struct Outcome {
    lines: Vec<String>,
    failures: Vec<String>,
    gaps: Vec<String>,
}

fn run_scenario(lab: &Lab, sc: &Scenario, idx: usize, save: bool) -> Outcome {
    let mut o = Outcome::default();
    if sc.squid && !lab.env.contains_key("SQUID") {
        o.lines.push(format!("{}: skipped (no squid)", sc.name));
        return o;
    }
    let mut setup = Setup::new(lab, sc, idx);
    // skopeo and ctr in threads while dockerd starts and docker pulls here.
    let caps: Vec<(Client, Captured)> = thread::scope(|s| {
        let handles: Vec<_> = sc
            .clients
            .iter()
            .filter(|c| matches!(c, Client::Skopeo | Client::Ctr))
            .map(|&c| {
                let mut own = setup.clone();
                s.spawn(move || (c, own.run(c)))
            })
            .collect();
        let mut caps: Vec<(Client, Captured)> = sc
            .clients
            .iter()
            .filter(|c| matches!(c, Client::Docker | Client::Dockerd))
            .map(|&c| (c, setup.run(c)))
            .collect();
        for h in handles {
            caps.push(h.join().unwrap());
        }
        caps
    });
    for (c, cap) in &caps {
        let tag = format!("{} × {}", sc.name, c.name());
        let want = entity_specs(lab, sc.entities, Some(*c));
        match sc.category {
            None => {
                if cap.code == 0 {
                    o.lines
                        .push(format!("{tag}: pulled ({:.1}s)", cap.wall.as_secs_f64()));
                } else {
                    o.failures.push(format!(
                        "{tag}: the control pull failed ({}):\n{}",
                        cap.code,
                        tail(&cap.text)
                    ));
                }
            }
            Some(cat) => {
                if cap.code == 0 {
                    o.failures.push(format!(
                        "{tag}: expected a failure, the pull worked:\n{}",
                        tail(&cap.text)
                    ));
                    continue;
                }
                let (_, got) = explain(&cap.text);
                match find_finding(&findings(&got), &[cat], &want) {
                    Ok(f) => {
                        o.lines.push(format!(
                            "{tag}: {} ({:.1}s)",
                            short(f),
                            cap.wall.as_secs_f64()
                        ));
                        if save {
                            save_fixture(sc, *c, &cap.text, &got, &want);
                        }
                    }
                    Err(e) => o.failures.push(format!(
                        "{tag}: explain: {e}\n--- output:\n{}",
                        tail(&cap.text)
                    )),
                }
            }
        }
    }
    if let Some(ce) = &sc.check {
        let tag = format!("{} × check", sc.name);
        let run = setup.check();
        let want = entity_specs(lab, ce.entities, None);
        let verdict = if run.json.is_null() {
            Err(format!("no report: {}", tail(&run.stdout)))
        } else if ce.categories.is_empty() {
            // Nothing wrong: exit 0, no error finding, no password in the report.
            let errs: Vec<String> = findings(&run.json)
                .iter()
                .filter(|f| f["severity"] == "error")
                .map(short)
                .collect();
            let leaked = run.stdout.contains(lab.get("AUTH_PROXY_PASS"));
            if run.code == 0 && errs.is_empty() && !leaked {
                let probe = run.json["evidence"]["probes"]["targets"][0]["outcome"].clone();
                if probe == "ok" {
                    Ok("no error".to_string())
                } else {
                    Err(format!("no error finding, but the probe says {probe}"))
                }
            } else {
                Err(format!(
                    "exit {}, errors {errs:?}, password leaked: {leaked}",
                    run.code
                ))
            }
        } else {
            find_finding(&findings(&run.json), ce.categories, &want).map(short)
        };
        match (verdict, ce.gap) {
            (Ok(s), None) => o
                .lines
                .push(format!("{tag}: {s} ({:.1}s)", run.wall.as_secs_f64())),
            (Ok(s), Some(g)) => o.lines.push(format!(
                "{tag}: {s}: the known gap \"{g}\" is gone; drop the `gap` of this scenario"
            )),
            (Err(e), Some(g)) => o.gaps.push(format!("{tag}: GAP: {g} ({e})")),
            (Err(e), None) => o.failures.push(format!("{tag}: {e}")),
        }
        // dockerd's proxy as `docker info` tells it.
        if !sc.dockerd_env.is_empty() {
            let v = &run.json["evidence"]["components"]["dockerd"]["vars"]["HTTPS_PROXY"];
            let from = v["from"].as_str().unwrap_or("");
            if !from.contains("docker info") {
                o.failures.push(format!(
                    "{tag}: dockerd's HTTPS_PROXY must come from the real `docker info`: {v}"
                ));
            }
        }
    }
    setup.stop_dockerd();
    o
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

/// Keeps the two labs (check_lab, lab_clients) from running at once: each builds its
/// own namespaces, but both load the 2 cores and check_lab asserts timings.
pub(super) static LAB_LOCK: Mutex<()> = Mutex::new(());

#[test]
fn lab_clients() {
    let Some(tools) = require_clients("lab_clients") else {
        return;
    };
    let _serial = LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let save = std::env::var("PULLDOCTOR_LAB_FIXTURES").is_ok_and(|v| v == "1");
    let started = Instant::now();
    let lab = clients_lab(&tools);
    let up = started.elapsed();
    let all = scenarios();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Outcome)>> = Mutex::new(vec![]);
    thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(sc) = all.get(i) else { break };
                    let t = Instant::now();
                    let mut o = run_scenario(&lab, sc, i, save);
                    o.lines.push(format!(
                        "{}: done in {:.1}s",
                        sc.name,
                        t.elapsed().as_secs_f64()
                    ));
                    results.lock().unwrap().push((i, o));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    let (mut failures, mut gaps, mut covered) = (vec![], vec![], 0);
    for (_, o) in &results {
        for l in &o.lines {
            eprintln!("lab_clients {l}");
        }
        covered += o.lines.len();
        failures.extend(o.failures.iter().cloned());
        gaps.extend(o.gaps.iter().cloned());
    }
    for g in &gaps {
        eprintln!("lab_clients {g}");
    }
    eprintln!(
        "lab_clients: {} scenarios, {} results, {} known check gaps, {} failures in {:.1}s (lab up in {:.1}s; squid: {})",
        all.len(),
        covered,
        gaps.len(),
        failures.len(),
        started.elapsed().as_secs_f64(),
        up.as_secs_f64(),
        lab.env.contains_key("SQUID")
    );
    assert!(
        failures.is_empty(),
        "{} lab client failures:\n\n{}\n\nserver logs:\n{}",
        failures.len(),
        failures.join("\n\n"),
        lab.logs()
    );
}
