//! Evidence rules (rules/evidence.toml, src/detect.rs) on whole machines.
//!
//! Each scenario under `fixtures/check/<name>/` with an `expect.toml` is a machine:
//! - `root/`: the file tree read with `--root` (copied to a temporary directory whose
//!   files all get one modification time, so "changed after the daemon started" is
//!   deterministic; `[mtimes]` overrides single files);
//! - `commands/`: canned outputs, turned into fake programs on an otherwise empty `PATH`:
//!   `systemctl-UNIT.txt` (`systemctl show UNIT`; a unit without a file is not-found),
//!   `docker-info.json`, `docker-version.json`, `nerdctl-version.json`,
//!   `ctr-version.txt`, `wslinfo.txt`;
//! - `probes.json` (optional): saved probe evidence, merged into the evidence of an
//!   offline run and replayed (`check --save`, then `replay`);
//! - `expect.toml`: the shell environment (`[env]`, HOME included) and the findings, in
//!   report order, each with a subset of its entities.
//!
//! Every scenario runs twice: through the binary (`pulldoctor check --offline --root`,
//! environment cleared) in both languages, and through `detect::detect` on the
//! evidence `check::collect` gathers.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use pulldoctor::check::{CheckOptions, Evidence};
use pulldoctor::evidence::LocalOptions;
use pulldoctor::rules::Catalog;
use serde::Deserialize;
use serde_json::Value;

use crate::common::TempDir;

/// Modification time of every fixture file unless `[mtimes]` says otherwise.
const DEFAULT_MTIME: &str = "2026-11-20T08:00:00Z";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    mtimes: BTreeMap<String, String>,
    #[serde(default)]
    finding: Vec<ExpectFinding>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectFinding {
    rule: String,
    #[serde(default)]
    entities: BTreeMap<String, String>,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/check")
}

/// `2026-11-20T08:00:00Z` → seconds since the epoch.
fn parse_rfc3339(s: &str) -> u64 {
    let s = s.trim_end_matches('Z');
    let (date, time) = s.split_once('T').expect("RFC 3339 date");
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let t: Vec<i64> = time.split(':').map(|x| x.parse().unwrap()).collect();
    let (y, m, dd) = (d[0], d[1], d[2]);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + dd - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]) as u64
}

fn set_mtime(p: &Path, secs: u64) {
    let f = fs::File::options().write(true).open(p).unwrap();
    f.set_modified(UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

/// Copies `from` into `to` (symlinks kept as symlinks), every file with `mtime`.
fn copy_tree(from: &Path, to: &Path, mtime: u64) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let ft = e.file_type().unwrap();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if ft.is_dir() {
            copy_tree(&src, &dst, mtime);
        } else {
            fs::copy(&src, &dst).unwrap();
            set_mtime(&dst, mtime);
        }
    }
}

/// One prepared scenario: its root copy, fake commands and environment.
struct Machine {
    name: String,
    dir: PathBuf,
    _tmp: TempDir,
    root: PathBuf,
    bin: PathBuf,
    env: BTreeMap<String, String>,
    expect: Expect,
}

fn script(bin: &Path, name: &str, body: &str) {
    let p = bin.join(name);
    fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
}

fn machine(dir: &Path) -> Machine {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let text = fs::read_to_string(dir.join("expect.toml")).unwrap();
    let expect: Expect =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{name}/expect.toml: {e}"));
    let tmp = TempDir::new(&name);
    let root = tmp.path().join("root");
    copy_tree(&dir.join("root"), &root, parse_rfc3339(DEFAULT_MTIME));
    for (path, when) in &expect.mtimes {
        set_mtime(
            &root.join(path.trim_start_matches('/')),
            parse_rfc3339(when),
        );
    }
    let bin = tmp.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let cmds = dir.join("commands");
    let c = |f: &str| cmds.join(f);
    let has = |f: &str| c(f).is_file();
    let any_systemctl = fs::read_dir(&cmds).is_ok_and(|rd| {
        rd.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("systemctl-"))
    });
    if any_systemctl {
        script(
            &bin,
            "systemctl",
            &format!(
                "f=\"{}/systemctl-$2.txt\"\nif [ -f \"$f\" ]; then exec /bin/cat \"$f\"; fi\nprintf 'LoadState=not-found\\nActiveState=inactive\\nFragmentPath=\\nEnvironment=\\n'",
                cmds.display()
            ),
        );
    }
    if has("docker-info.json") {
        script(
            &bin,
            "docker",
            &format!(
                "case \"$1\" in\ninfo) exec /bin/cat '{}' ;;\nversion) [ -f '{v}' ] && exec /bin/cat '{v}'; exit 1 ;;\n*) exit 1 ;;\nesac",
                c("docker-info.json").display(),
                v = c("docker-version.json").display()
            ),
        );
    }
    for (prog, file) in [
        ("nerdctl", "nerdctl-version.json"),
        ("ctr", "ctr-version.txt"),
        ("wslinfo", "wslinfo.txt"),
    ] {
        if has(file) {
            script(
                &bin,
                prog,
                &format!("exec /bin/cat '{}'", c(file).display()),
            );
        }
    }
    let mut env = expect.env.clone();
    env.insert("PATH".into(), bin.display().to_string());
    Machine {
        name,
        dir: dir.to_path_buf(),
        _tmp: tmp,
        root,
        bin,
        env,
        expect,
    }
}

fn scenarios() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(fixtures())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("expect.toml").is_file())
        .collect();
    v.sort();
    v
}

fn probes_of(m: &Machine) -> Option<Value> {
    let p = m.dir.join("probes.json");
    p.is_file().then(|| {
        serde_json::from_str(&fs::read_to_string(&p).unwrap())
            .unwrap_or_else(|e| panic!("{}/probes.json: {e}", m.name))
    })
}

fn pulldoctor(m: &Machine) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pulldoctor"));
    c.env_clear().envs(&m.env).current_dir(&m.bin);
    c
}

/// The report of `check --offline` (or, with probes, of `replay` on its saved evidence).
fn run_binary(m: &Machine, lang: &str) -> Value {
    let out_dir = m.bin.parent().unwrap();
    let saved = out_dir.join(format!("report-{lang}.json"));
    let out = pulldoctor(m)
        .args(["check", "--offline", "--root"])
        .arg(&m.root)
        .args(["--format", "json", "--lang", lang, "--save"])
        .arg(&saved)
        .output()
        .unwrap();
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "{}: check exited {code:?}: {}",
        m.name,
        String::from_utf8_lossy(&out.stderr)
    );
    let Some(probes) = probes_of(m) else {
        return serde_json::from_slice(&out.stdout).unwrap();
    };
    let mut report: Value = serde_json::from_str(&fs::read_to_string(&saved).unwrap()).unwrap();
    report["evidence"]["probes"] = probes;
    let with = out_dir.join(format!("report-probes-{lang}.json"));
    fs::write(&with, serde_json::to_string(&report).unwrap()).unwrap();
    let out = pulldoctor(m)
        .arg("replay")
        .arg(&with)
        .args(["--format", "json", "--lang", lang])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}: replay: {}",
        m.name,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The evidence `check --offline` gathers, with the scenario's probes.
fn collect(m: &Machine) -> Evidence {
    let opts = CheckOptions {
        local: LocalOptions::new(&m.root, m.env.clone()),
        offline: true,
        registries: vec![],
        dns_servers: vec![],
        vm_gateway: None,
        timeout: Duration::from_secs(5),
        no_hub: false,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut ev = rt.block_on(pulldoctor::check::collect(&opts));
    if let Some(p) = probes_of(m) {
        ev.probes = Some(serde_json::from_value(p).unwrap());
    }
    ev
}

fn unfilled(text: &str) -> Option<String> {
    let re = regex::Regex::new(r"\{[a-z_][a-z0-9_]*\}").unwrap();
    re.find(text).map(|m| m.as_str().to_string())
}

fn check_report(m: &Machine, report: &Value, lang: &str, problems: &mut Vec<String>) {
    let name = &m.name;
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    let got: Vec<&str> = findings
        .iter()
        .map(|f| f["rule"].as_str().unwrap_or("?"))
        .collect();
    let want: Vec<&str> = m.expect.finding.iter().map(|f| f.rule.as_str()).collect();
    if got != want {
        let titles: Vec<String> = findings
            .iter()
            .map(|f| format!("{} {}", f["rule"], f["title"]))
            .collect();
        problems.push(format!(
            "{name} ({lang}): findings {got:?}, expected {want:?}\n      {}",
            titles.join("\n      ")
        ));
        return;
    }
    for (f, w) in findings.iter().zip(&m.expect.finding) {
        for (k, v) in &w.entities {
            let g = f["entities"][k].as_str();
            if g != Some(v.as_str()) {
                problems.push(format!(
                    "{name} ({lang}): {} entity {k} = {g:?}, expected {v:?}",
                    w.rule
                ));
            }
        }
        let mut texts = vec![
            f["title"].as_str().unwrap_or("").to_string(),
            f["explanation"].as_str().unwrap_or("").to_string(),
        ];
        for s in f["remediation"].as_array().into_iter().flatten() {
            texts.push(s["text"].as_str().unwrap_or("").to_string());
            for c in s["commands"].as_array().into_iter().flatten() {
                texts.push(c.as_str().unwrap_or("").to_string());
            }
        }
        for t in &texts {
            if let Some(p) = unfilled(t) {
                problems.push(format!("{name} ({lang}): {} leaves {p} in {t:?}", w.rule));
            }
        }
        if w.rule.starts_with("PD7") {
            let matched = f["matched"].as_array().cloned().unwrap_or_default();
            if matched.is_empty()
                || matched
                    .iter()
                    .any(|x| x["file"] != "evidence" || x["line"] != 0)
            {
                problems.push(format!(
                    "{name} ({lang}): {} must carry its evidence: {matched:?}",
                    w.rule
                ));
            }
        }
    }
}

#[test]
fn check_fixtures_give_expected_findings() {
    let mut problems = Vec::new();
    let all = scenarios();
    assert!(all.len() >= 20, "scenarios: {all:?}");
    for dir in &all {
        let m = machine(dir);
        for lang in ["en", "zh"] {
            let report = run_binary(&m, lang);
            check_report(&m, &report, lang, &mut problems);
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn detectors_agree_with_the_fixtures() {
    let cat = Catalog::builtin().unwrap();
    let mut problems = Vec::new();
    for dir in scenarios() {
        let m = machine(&dir);
        let ev = collect(&m);
        let dets = pulldoctor::detect::detect(&ev);
        let mut got: Vec<String> = dets
            .iter()
            .map(|d| cat.rule(d.rule).map_or("?".into(), |r| r.id.clone()))
            .collect();
        let mut want: Vec<String> = m
            .expect
            .finding
            .iter()
            .filter(|f| f.rule.starts_with("PD7"))
            .map(|f| f.rule.clone())
            .collect();
        got.sort();
        want.sort();
        if got != want {
            problems.push(format!("{}: detections {got:?}, expected {want:?}", m.name));
            continue;
        }
        for d in &dets {
            let rule = cat.rule(d.rule).unwrap();
            if d.evidence.is_empty() {
                problems.push(format!("{}: {} has no evidence", m.name, d.rule));
            }
            for ph in rule.placeholders() {
                if !d.entities.contains_key(&ph) && !rule.defaults.contains_key(&ph) {
                    problems.push(format!("{}: {} does not fill {{{ph}}}", m.name, d.rule));
                }
            }
            let w = m.expect.finding.iter().find(|f| f.rule == rule.id).unwrap();
            for (k, v) in &w.entities {
                // Entities are compared before redaction here.
                if d.entities.get(k) != Some(v) && !v.contains("***") {
                    problems.push(format!(
                        "{}: {} entity {k} = {:?}, expected {v:?}",
                        m.name,
                        d.rule,
                        d.entities.get(k)
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn every_evidence_rule_has_a_scenario() {
    let cat = Catalog::builtin().unwrap();
    let mut covered = std::collections::BTreeSet::new();
    for dir in scenarios() {
        let text = fs::read_to_string(dir.join("expect.toml")).unwrap();
        let e: Expect = toml::from_str(&text).unwrap();
        covered.extend(e.finding.into_iter().map(|f| f.rule));
    }
    let missing: Vec<&str> = cat
        .rules
        .iter()
        .filter(|r| r.family() == 7 && !covered.contains(&r.id))
        .map(|r| r.id.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "evidence rules without a scenario: {missing:?}"
    );
}

#[test]
fn evidence_rules_need_no_example_and_no_pattern() {
    let cat = Catalog::builtin().unwrap();
    for r in cat.rules.iter().filter(|r| r.family() == 7) {
        assert!(r.patterns.is_empty(), "{}", r.id);
        assert!(r.examples.is_empty(), "{}", r.id);
        assert_eq!(r.file, "evidence.toml");
    }
}

// ---------------------------------------------------------------------------------------
// `pulldoctor route`.

fn route(m: &Machine, url: &str, extra: &[&str]) -> Value {
    let out = pulldoctor(m)
        .args(["route", url, "--root"])
        .arg(&m.root)
        .args(extra)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn scenario(name: &str) -> Machine {
    machine(&fixtures().join(name))
}

#[test]
fn route_json_shape_and_no_proxy_entry() {
    let m = scenario("seed002-dropin");
    let a = route(&m, "https://registry-1.docker.io/v2/", &["--as", "dockerd"]);
    let keys: Vec<&str> = a.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["as", "error", "proxy", "reason", "source", "url"],
        "{a}"
    );
    assert_eq!(a["url"], "https://registry-1.docker.io/v2/");
    assert_eq!(a["as"], "dockerd");
    assert_eq!(
        a["proxy"],
        Value::Null,
        "NO_PROXY .docker.io sends it direct"
    );
    assert_eq!(a["error"], Value::Null);
    assert_eq!(a["source"]["var"], "NO_PROXY");
    assert_eq!(a["source"]["from"], "systemctl show docker.service");
    assert!(
        a["reason"].as_str().unwrap().contains("`.docker.io`"),
        "{a}"
    );

    // A host NO_PROXY does not match goes through HTTPS_PROXY, as Go writes the URL.
    let b = route(&m, "https://ghcr.io/v2/", &["--as", "dockerd"]);
    assert_eq!(b["proxy"], "http://127.0.0.1:7890");
    assert_eq!(b["source"]["var"], "HTTPS_PROXY");
    assert_eq!(b["source"]["from"], "systemctl show docker.service");

    // The blob CDN matches `.docker.com`.
    let c = route(
        &m,
        "https://production.cloudflare.docker.com/registry-v2/docker/registry/v2/blobs/sha256/aa/x/data",
        &["--as", "dockerd"],
    );
    assert_eq!(c["proxy"], Value::Null);
    assert!(
        c["reason"].as_str().unwrap().contains("`.docker.com`"),
        "{c}"
    );
}

#[test]
fn route_without_as_is_an_array_of_every_component() {
    let m = scenario("seed002-dropin");
    let all = route(&m, "https://registry-1.docker.io/v2/", &[]);
    let arr = all.as_array().expect("an array without --as");
    let comps: Vec<&str> = arr.iter().map(|a| a["as"].as_str().unwrap()).collect();
    assert_eq!(
        comps,
        [
            "dockerd",
            "containerd",
            "build-run",
            "go",
            "curl",
            "buildkitd",
            "nerdctl",
            "ctr"
        ]
    );
    for a in arr {
        assert_eq!(a["url"], "https://registry-1.docker.io/v2/");
        assert!(a.get("reason").is_some() && a.get("source").is_some());
    }
    // build-run: ~/.docker/config.json proxies, injected as build args.
    let build = &arr[2];
    assert_eq!(build["proxy"], "http://127.0.0.1:7890");
    assert_eq!(build["source"]["var"], "HTTPS_PROXY");
    assert_eq!(
        build["source"]["from"],
        "/home/alice/.docker/config.json proxies"
    );
    // containerd.service is not installed here: nothing known, direct.
    assert_eq!(arr[1]["proxy"], Value::Null);
    assert!(
        arr[1]["reason"]
            .as_str()
            .unwrap()
            .contains("nothing is known about containerd"),
        "{}",
        arr[1]
    );
}

#[test]
fn route_go_and_curl_read_the_shell_differently() {
    // shell-all-proxy: only ALL_PROXY in the shell. curl honours it, Go does not.
    let m = scenario("shell-all-proxy");
    let go = route(&m, "https://quay.io/v2/", &["--as", "go"]);
    assert_eq!(go["proxy"], Value::Null);
    assert_eq!(go["source"], Value::Null);
    assert!(
        go["reason"].as_str().unwrap().contains("HTTPS_PROXY"),
        "{go}"
    );
    let curl = route(&m, "https://quay.io/v2/", &["--as", "curl"]);
    assert_eq!(curl["proxy"], "socks5://127.0.0.1:7891", "{curl}");
    assert_eq!(curl["source"]["var"], "ALL_PROXY");
    assert_eq!(curl["source"]["from"], "shell");

    // Upper and lower case disagree: Go takes HTTPS_PROXY, curl https_proxy.
    let m = scenario("shell-case-mismatch");
    let go = route(&m, "https://quay.io/v2/", &["--as", "go"]);
    assert_eq!(go["proxy"], "http://10.0.0.9:8080");
    assert_eq!(go["source"]["var"], "HTTPS_PROXY");
    let curl = route(&m, "https://quay.io/v2/", &["--as", "curl"]);
    assert_eq!(curl["proxy"], "http://127.0.0.1:7890");
    assert_eq!(curl["source"]["var"], "https_proxy");
}

#[test]
fn route_daemon_json_overrides_the_unit_per_field() {
    let m = scenario("daemon-json-bypass");
    let a = route(&m, "https://registry-1.docker.io/v2/", &["--as", "dockerd"]);
    assert_eq!(a["proxy"], Value::Null);
    assert_eq!(a["source"]["var"], "NO_PROXY");
    assert_eq!(a["source"]["from"], "/etc/docker/daemon.json proxies");
    let b = route(&m, "https://quay.io/v2/", &["--as", "dockerd"]);
    assert_eq!(b["proxy"], "http://proxy.corp.example:3128");
    assert_eq!(b["source"]["from"], "/etc/docker/daemon.json proxies");
    // Loopback targets are never proxied.
    let c = route(&m, "http://localhost:5000/v2/", &["--as", "dockerd"]);
    assert_eq!(c["proxy"], Value::Null);
    assert!(c["reason"].as_str().unwrap().contains("loopback"), "{c}");
}

#[test]
fn route_human_output_is_one_line_per_component() {
    let m = scenario("seed002-dropin");
    let out = pulldoctor(&m)
        .args(["route", "https://registry-1.docker.io/v2/", "--root"])
        .arg(&m.root)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 8, "{text}");
    assert!(
        text.lines().next().unwrap().starts_with("dockerd "),
        "{text}"
    );
}

#[test]
fn route_nerdctl_follows_its_version() {
    // nerdctl 2.3 on containerd 2.1: the transfer service pulls inside
    // containerd, whose unit has no proxy: direct, although the shell has one.
    let m = scenario("nerdctl-transfer-service");
    let a = route(&m, "https://registry-1.docker.io/v2/", &["--as", "nerdctl"]);
    assert_eq!(a["as"], "nerdctl");
    assert_eq!(a["proxy"], Value::Null, "{a}");
    let reason = a["reason"].as_str().unwrap();
    assert!(reason.contains("transfer service"), "{reason}");
    // An older nerdctl pulls client-side: the shell's proxy applies.
    let m = scenario("nerdctl-client-side");
    let a = route(&m, "https://registry-1.docker.io/v2/", &["--as", "nerdctl"]);
    assert_eq!(a["source"]["from"], "shell", "{a}");
    assert!(
        a["reason"].as_str().unwrap().contains("nerdctl process"),
        "{a}"
    );
    assert!(a["proxy"].is_string(), "{a}");
}
