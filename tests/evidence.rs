//! Local evidence layer: parsers on captured real-world output, `collect_local` on fake
//! trees under `fixtures/check/*/root`, and external commands replaced by shell scripts.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pulldoctor::evidence::colima::{parse_colima_yaml, parse_ini};
use pulldoctor::evidence::commands::{CommandStatus, find_on_path, run_command};
use pulldoctor::evidence::containerd::{
    parse_buildkitd_toml, parse_containerd_config, parse_crictl_yaml, parse_hosts_toml,
};
use pulldoctor::evidence::daemon_json::{JsonHintKind, JsonStatus, decode_bom, parse_daemon_json};
use pulldoctor::evidence::dns::{matches_any, parse_resolv_conf, scan_hosts};
use pulldoctor::evidence::docker_cli::*;
use pulldoctor::evidence::docker_config::parse_docker_config;
use pulldoctor::evidence::envfile::{Keep, parse_env_file};
use pulldoctor::evidence::procnet::{BindScope, parse_proc_net_route, parse_proc_net_tcp};
use pulldoctor::evidence::systemd::{
    parse_systemctl_show, parse_systemd_timestamp, parse_unit_file, split_systemctl_strv,
};
use pulldoctor::evidence::*;

use crate::common::TempDir;

fn fixture(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/collect")
        .join(rel);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn fixture_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

fn opts(root: &Path, home: &str, env: &[(&str, &str)]) -> LocalOptions {
    LocalOptions {
        root: root.to_path_buf(),
        home: PathBuf::from(home),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------------------
// systemctl show and unit files

#[test]
fn systemctl_show_dropin_unquoted() {
    let s = parse_systemctl_show(&fixture("systemctl/docker-dropin.txt"));
    assert_eq!(s.load_state.as_deref(), Some("loaded"));
    assert_eq!(s.active_state.as_deref(), Some("active"));
    assert!(s.installed());
    assert_eq!(
        s.fragment_path.as_deref(),
        Some("/lib/systemd/system/docker.service")
    );
    assert_eq!(
        s.drop_in_paths,
        vec!["/etc/systemd/system/docker.service.d/http-proxy.conf"]
    );
    assert_eq!(s.environment["HTTPS_PROXY"], "http://127.0.0.1:7890");
    assert_eq!(
        s.environment["NO_PROXY"],
        "localhost,127.0.0.1,.example.com"
    );
    assert_eq!(s.environment.len(), 3);
    // Sat 2026-11-21 10:02:11 UTC
    assert_eq!(s.active_enter_unix, Some(1_795_255_331));
    assert_eq!(s.exec_main_start_unix, Some(1_795_255_330));
    assert_eq!(s.started_unix(), Some(1_795_255_330));
}

#[test]
fn systemctl_show_quoted_and_escaped() {
    let s = parse_systemctl_show(&fixture("systemctl/docker-quoted.txt"));
    assert_eq!(
        s.environment["HTTPS_PROXY"],
        "http://bob:pa$$w0rd!@proxy.corp.example:3128"
    );
    assert_eq!(s.environment["NO_PROXY"], "localhost, 127.0.0.1");
    assert_eq!(s.environment["GREETING"], "tab\there");
    assert_eq!(s.environment["PLAIN"], "yes");
    assert_eq!(s.environment_files.len(), 2);
    assert_eq!(s.environment_files[0].path, "/etc/default/docker");
    assert!(s.environment_files[0].ignore_errors);
    assert_eq!(s.environment_files[1].path, "/etc/sysconfig/docker-proxy");
    assert!(!s.environment_files[1].ignore_errors);
    assert_eq!(
        s.drop_in_paths,
        vec![
            "/etc/systemd/system/docker.service.d/10-proxy.conf",
            "/etc/systemd/system/docker.service.d/my override.conf"
        ]
    );
}

#[test]
fn systemctl_show_not_found_and_na() {
    let s = parse_systemctl_show(&fixture("systemctl/buildkit-not-found.txt"));
    assert!(!s.installed());
    assert!(s.environment.is_empty());
    assert!(s.drop_in_paths.is_empty());
    assert_eq!(s.fragment_path, None);
    assert_eq!(s.active_enter_unix, None);

    let c = parse_systemctl_show(&fixture("systemctl/containerd-old-na.txt"));
    assert_eq!(c.active_state.as_deref(), Some("failed"));
    assert_eq!(c.active_enter_timestamp, None, "n/a is no timestamp");
    assert_eq!(
        c.exec_main_start_timestamp.as_deref(),
        Some("Thu 2026-11-19 21:15:42 CST")
    );
    assert_eq!(
        c.exec_main_start_unix, None,
        "a zone other than UTC is not converted"
    );
}

#[test]
fn systemctl_strv_escapes() {
    // shell_maybe_quote(s, 0): quoted items, backslash escapes, C escapes incl. octal.
    let v = split_systemctl_strv(
        r#"A=1 "B=two words" "C=\"q\" \\ \$HOME \`x\`" "D=bell\007end" "E=\x41""#,
    );
    assert_eq!(
        v,
        vec![
            "A=1",
            "B=two words",
            "C=\"q\" \\ $HOME `x`",
            "D=bell\u{7}end",
            "E=A"
        ]
    );
    assert!(split_systemctl_strv("").is_empty());
}

#[test]
fn systemd_timestamps() {
    assert_eq!(
        parse_systemd_timestamp("Thu 1970-01-01 00:00:00 UTC"),
        Some(0)
    );
    assert_eq!(
        parse_systemd_timestamp("Wed 2000-03-01 00:00:00 UTC"),
        Some(951_868_800)
    );
    assert_eq!(parse_systemd_timestamp("@1763719331"), Some(1_763_719_331));
    assert_eq!(parse_systemd_timestamp("n/a"), None);
    assert_eq!(parse_systemd_timestamp(""), None);
    assert_eq!(parse_systemd_timestamp("Fri 2026-11-20 10:00:00 CET"), None);
}

#[test]
fn unit_file_docs_dropin() {
    let u = parse_unit_file(&fixture("unit/http-proxy.conf"));
    assert_eq!(u.environment.len(), 3);
    assert_eq!(u.environment[0].line, 2);
    assert_eq!(
        u.environment[1].vars["HTTPS_PROXY"],
        "http://proxy.example.com:8080/"
    );
    assert!(u.outside_service.is_empty());
}

#[test]
fn unit_file_tricky_dropin() {
    let u = parse_unit_file(&fixture("unit/tricky.conf"));
    assert_eq!(
        u.outside_service,
        vec![3],
        "[Unit] Environment= is ignored by systemd"
    );
    let e = &u.environment;
    // Quotes in the middle of a word are removed, several assignments per line.
    assert_eq!(e[0].vars["HTTP_PROXY"], "http://127.0.0.1:7890");
    assert_eq!(e[0].vars["NO_PROXY"], "localhost,127.0.0.1,.corp");
    // %% is a literal %.
    assert_eq!(
        e[1].vars["HTTPS_PROXY"],
        "http://alice:p%40ss@proxy.corp:3128"
    );
    assert!(e[1].ignored_by_systemd.is_none());
    // %4 is an unknown specifier: systemd drops the line.
    assert_eq!(e[2].specifiers, vec!["%4"]);
    assert!(e[2].ignored_by_systemd.as_deref().unwrap().contains("%4"));
    // Empty Environment= resets.
    assert!(e[3].reset);
    // Continuation line.
    assert_eq!(e[4].vars["FTP_PROXY"], "http://127.0.0.1:7890");
    assert_eq!(e[4].vars["HTTPS_PROXY"], "http://127.0.0.1:7890");
    assert_eq!(e[5].invalid, vec!["JUSTAWORD"]);
    assert_eq!(u.environment_files.len(), 2);
    assert!(u.environment_files[0].ignore_errors);
    assert_eq!(u.environment_files[0].path, "/etc/default/docker");

    let files = systemd::UnitFiles {
        drop_ins: vec![u],
        ..Default::default()
    };
    let env = files.configured_env();
    // Reset dropped HTTP_PROXY/NO_PROXY from the first lines; the ignored ALL_PROXY never counted.
    assert_eq!(
        env.keys().collect::<Vec<_>>(),
        vec!["FTP_PROXY", "HTTPS_PROXY"]
    );
}

#[test]
fn unit_file_without_section() {
    let u = parse_unit_file(&fixture("unit/no-section.conf"));
    assert!(u.environment.is_empty());
    assert_eq!(u.outside_service, vec![1]);
}

// ---------------------------------------------------------------------------------------
// docker info / version / context, other tools

#[test]
fn docker_info_20_10() {
    let i = parse_docker_info(&fixture("docker-info/20.10.json")).unwrap();
    assert!(i.server_reachable);
    assert_eq!(i.server_version.as_deref(), Some("20.10.21"));
    assert_eq!(i.driver.as_deref(), Some("overlay2"));
    assert!(!i.containerd_snapshotter);
    assert_eq!(
        i.http_proxy.as_deref(),
        Some("http://proxy.example.com:8080/")
    );
    assert_eq!(
        i.no_proxy.as_deref(),
        Some("localhost,127.0.0.1,.example.com")
    );
    assert_eq!(
        i.registry_mirrors,
        vec![
            "https://registry.docker-cn.com/",
            "https://docker.mirrors.ustc.edu.cn/"
        ]
    );
    assert_eq!(i.insecure_registry_cidrs, vec!["127.0.0.0/8"]);
    assert!(!i.index_configs["xxx:8080"].secure);
    assert!(i.index_configs["docker.io"].official);
    assert_eq!(i.live_restore, Some(true));
    assert_eq!(i.client_context.as_deref(), Some("default"));
    assert_eq!(
        i.client_version, None,
        "20.10's CLI does not put its version in ClientInfo"
    );
    assert!(!is_docker_desktop(&i));
    assert!(!i.rootless);
}

#[test]
fn docker_info_24_masked_proxy() {
    let i = parse_docker_info(&fixture("docker-info/24.0.json")).unwrap();
    assert_eq!(i.server_version.as_deref(), Some("24.0.7"));
    assert_eq!(
        i.https_proxy.as_deref(),
        Some("http://xxxxx:xxxxx@proxy.corp.example:3128")
    );
    assert_eq!(i.registry_mirrors, vec!["https://mirror.gcr.io/"]);
    assert_eq!(i.client_version.as_deref(), Some("24.0.7"));
    assert_eq!(
        i.operating_system.as_deref(),
        Some("Debian GNU/Linux 12 (bookworm)")
    );
}

#[test]
fn docker_info_27_containerd_store() {
    let i = parse_docker_info(&fixture("docker-info/27-containerd.json")).unwrap();
    assert!(i.containerd_snapshotter);
    assert_eq!(i.driver.as_deref(), Some("overlayfs"));
    assert_eq!(i.http_proxy, None, "empty strings are absent");
    assert!(i.registry_mirrors.is_empty());
    assert_eq!(i.insecure_registry_cidrs, vec!["::1/128", "127.0.0.0/8"]);
    assert_eq!(
        i.containerd_address.as_deref(),
        Some("/run/containerd/containerd.sock")
    );
}

#[test]
fn docker_info_28_rootless() {
    let i = parse_docker_info(&fixture("docker-info/28-rootless.json")).unwrap();
    assert!(i.rootless);
    assert_eq!(i.client_context.as_deref(), Some("rootless"));
    assert_eq!(i.warnings.len(), 2);
}

#[test]
fn docker_info_desktop() {
    let i = parse_docker_info(&fixture("docker-info/desktop-4.37.json")).unwrap();
    assert!(is_docker_desktop(&i));
    assert_eq!(i.http_proxy.as_deref(), Some("http.docker.internal:3128"));
    assert_eq!(i.no_proxy.as_deref(), Some("hubproxy.docker.internal"));
    assert!(!i.index_configs["hubproxy.docker.internal:5555"].secure);
    assert!(
        i.index_configs["docker.io"].mirrors.is_empty(),
        "null mirrors"
    );
}

#[test]
fn docker_info_daemon_down() {
    let i = parse_docker_info(&fixture("docker-info/daemon-down.json")).unwrap();
    assert!(!i.server_reachable);
    assert_eq!(i.server_errors.len(), 1);
    assert!(i.server_errors[0].contains("Is the docker daemon running?"));
    assert_eq!(i.server_version, None);
    assert_eq!(i.client_version.as_deref(), Some("27.3.1"));
}

#[test]
fn docker_info_garbage() {
    assert!(
        parse_docker_info("Client:\n Version: 27.3.1\n")
            .unwrap_err()
            .starts_with("not JSON")
    );
    assert!(parse_docker_info("[1,2]").is_err());
}

#[test]
fn docker_version_and_context() {
    let v = parse_docker_version(&fixture("docker-cli/version-27.json")).unwrap();
    assert!(v.server_present);
    assert_eq!(v.server_version.as_deref(), Some("27.3.1"));
    assert_eq!(v.components["containerd"], "1.7.22");
    assert_eq!(
        v.server_platform.as_deref(),
        Some("Docker Engine - Community")
    );
    let d = parse_docker_version(&fixture("docker-cli/version-down.json")).unwrap();
    assert!(!d.server_present);
    assert_eq!(d.client_version.as_deref(), Some("27.3.1"));

    let c = parse_docker_context_ls(&fixture("docker-cli/context-ls-27.jsonl")).unwrap();
    assert_eq!(c.len(), 2);
    assert!(c[0].current);
    assert_eq!(
        c[1].docker_endpoint.as_deref(),
        Some("unix:///home/alice/.colima/default/docker.sock")
    );
    assert_eq!(c[0].error, None);
    let old = parse_docker_context_ls(&fixture("docker-cli/context-ls-20.10.jsonl")).unwrap();
    assert_eq!(old[0].name, "default");
    let arr = parse_docker_context_ls(r#"[{"Name":"x","Current":true}]"#).unwrap();
    assert_eq!(arr[0].name, "x");
    assert!(parse_docker_context_ls("NAME DESCRIPTION\n").is_err());
}

#[test]
fn other_tools() {
    let n = parse_nerdctl_version(&fixture("tools/nerdctl-version.json")).unwrap();
    assert_eq!(n.client_version.as_deref(), Some("v2.0.3"));
    assert_eq!(n.containerd_version.as_deref(), Some("v2.0.2"));
    assert_eq!(n.components["buildctl"], "v0.18.2");
    let t = parse_nerdctl_version(&fixture("tools/nerdctl-version.txt")).unwrap();
    assert_eq!(t.client_version.as_deref(), Some("v1.7.6"));
    assert_eq!(t.containerd_version.as_deref(), Some("v1.7.20"));
    assert_eq!(t.components["buildctl"], "v0.12.5");
    assert_eq!(t.components["runc"], "1.1.13");

    let c = parse_version_text(&fixture("tools/ctr-version.txt")).unwrap();
    assert_eq!(c.client_version.as_deref(), Some("v1.7.22"));
    assert_eq!(c.containerd_version.as_deref(), Some("v1.7.22"));
    let denied = parse_version_text(&fixture("tools/ctr-version-denied.txt")).unwrap();
    assert_eq!(denied.containerd_version, None);

    let cr = parse_crictl_info(&fixture("tools/crictl-info.json")).unwrap();
    assert_eq!(cr.config_path.as_deref(), Some("/etc/containerd/certs.d"));
    assert_eq!(
        cr.mirrors["docker.io"],
        vec!["https://registry.docker-cn.com"]
    );
    assert_eq!(
        cr.conditions["NetworkReady"],
        (false, "NetworkPluginNotReady".to_string())
    );
    let json = serde_json::to_string(&cr).unwrap();
    assert!(!json.contains("SECRET"), "crictl auth never kept: {json}");

    let up = parse_colima_status(&fixture("tools/colima-status-running.txt"));
    assert_eq!(up.running, Some(true));
    assert_eq!(up.facts["runtime"], "docker");
    assert_eq!(
        up.facts["socket"],
        "unix:///Users/alice/.colima/default/docker.sock"
    );
    let down = parse_colima_status(&fixture("tools/colima-status-stopped.txt"));
    assert_eq!(down.running, Some(false));

    assert_eq!(parse_wslinfo("mirrored\n").unwrap(), "mirrored");
    assert!(parse_wslinfo("wslinfo: command not supported here").is_err());
}

// ---------------------------------------------------------------------------------------
// daemon.json, config.json, env files

#[test]
fn daemon_json_valid() {
    let d = parse_daemon_json(&fixture("daemon-json/valid.json"));
    assert_eq!(d.status, JsonStatus::Valid);
    assert_eq!(d.registry_mirrors, vec!["https://mirror.gcr.io"]);
    assert_eq!(
        d.insecure_registries,
        vec!["registry.lan:5000", "10.0.0.0/8"]
    );
    assert_eq!(d.dns, vec!["223.5.5.5", "8.8.8.8"]);
    assert_eq!(d.live_restore, Some(true));
    assert_eq!(d.containerd_snapshotter(), Some(true));
    assert_eq!(d.max_concurrent_downloads, Some(3));
    let p = d.proxies.unwrap();
    assert_eq!(
        p.https_proxy.as_deref(),
        Some("http://proxy.corp.example:3128")
    );
    assert_eq!(
        p.no_proxy.as_deref(),
        Some("localhost,127.0.0.1,.corp.example")
    );
    assert!(d.keys.contains(&"exec-opts".to_string()));
    assert!(d.type_errors.is_empty());
    assert!(d.hints.is_empty());
}

#[test]
fn daemon_json_seed_comments() {
    let d = parse_daemon_json(&fixture("daemon-json/commented.json"));
    assert_eq!(d.status, JsonStatus::Invalid);
    let e = d.error.unwrap();
    assert_eq!(e.line, 2);
    assert_eq!(e.line_text, "// 默认https 配置这个绕开");
    let kinds: Vec<_> = d.hints.iter().map(|h| (h.kind, h.line)).collect();
    assert_eq!(
        kinds,
        vec![
            (JsonHintKind::LineComment, 2),
            (JsonHintKind::LineComment, 5)
        ]
    );
    assert!(d.registry_mirrors.is_empty());
}

#[test]
fn daemon_json_trailing_comma() {
    let d = parse_daemon_json(&fixture("daemon-json/trailing-comma.json"));
    assert_eq!(d.status, JsonStatus::Invalid);
    let e = d.error.unwrap();
    assert_eq!(e.line, 5, "{e:?}");
    assert_eq!(e.line_text, "],");
    let hints: Vec<_> = d.hints.iter().map(|h| (h.kind, h.line)).collect();
    assert_eq!(
        hints,
        vec![
            (JsonHintKind::TrailingComma, 4),
            (JsonHintKind::TrailingComma, 6)
        ]
    );
}

#[test]
fn daemon_json_empty_whitespace_bom() {
    assert_eq!(
        parse_daemon_json(&fixture("daemon-json/empty.json")).status,
        JsonStatus::Empty
    );
    assert_eq!(
        parse_daemon_json(&fixture("daemon-json/whitespace.json")).status,
        JsonStatus::Empty
    );

    let raw = fs::read(fixture_path("collect/daemon-json/bom.json")).unwrap();
    let (text, bom) = decode_bom(&raw).unwrap();
    assert_eq!(bom, Some("utf-8"));
    let d = parse_daemon_json(&text);
    assert_eq!(d.status, JsonStatus::Valid);
    assert_eq!(d.registry_mirrors, vec!["https://mirror.gcr.io"]);
    // A U+FEFF left in the text is reported too.
    assert_eq!(
        parse_daemon_json(&String::from_utf8(raw).unwrap())
            .bom
            .as_deref(),
        Some("utf-8")
    );

    // Windows PowerShell writes UTF-16 LE with a BOM; dockerd decodes it.
    let mut utf16 = vec![0xFF, 0xFE];
    for u in r#"{"live-restore": true}"#.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let (text, bom) = decode_bom(&utf16).unwrap();
    assert_eq!(bom, Some("utf-16le"));
    assert_eq!(parse_daemon_json(&text).live_restore, Some(true));
    assert!(decode_bom(b"{\"a\": \"\xff\"}").is_err());
}

#[test]
fn daemon_json_fullwidth_and_types() {
    let d = parse_daemon_json(&fixture("daemon-json/fullwidth.json"));
    assert_eq!(d.status, JsonStatus::Invalid);
    assert!(
        d.hints
            .iter()
            .all(|h| h.kind == JsonHintKind::FullwidthPunctuation)
    );
    assert_eq!(d.hints.len(), 2);

    let t = parse_daemon_json(&fixture("daemon-json/wrong-types.json"));
    assert_eq!(t.status, JsonStatus::Valid);
    assert_eq!(
        t.hosts,
        vec!["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]
    );
    assert_eq!(
        t.type_errors,
        vec![
            "\"registry-mirrors\": expected array of strings, found string",
            "\"proxies.http-proxy\": expected string, found number",
            "\"live-restore\": expected boolean, found string",
        ]
    );
    let arr = parse_daemon_json("[1]");
    assert_eq!(arr.status, JsonStatus::Invalid);
    assert!(arr.error.unwrap().message.contains("not an object"));
}

const SECRETS: &[&str] = &[
    "YWxpY2U6c3VwZXJzZWNyZXRwYXNzd29yZA==",
    "YWxpY2U6Z2hwX3Rva2VuMTIzNDU2Nzg5MA==",
    "SECRET-IDENTITY-TOKEN",
    "SECRET-REGISTRY-TOKEN-42",
    "hunter2-SECRET",
    "alice@example.com",
    "c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw==",
    "SECRET-HARBOR-PASSWORD",
    "SECRET-HEADER-VALUE",
    "ecr-login",
    "identitytoken",
    "registrytoken",
];

fn assert_no_secrets(json: &str) {
    for s in SECRETS {
        assert!(!json.contains(s), "secret {s:?} leaked into {json}");
    }
}

#[test]
fn docker_config_never_keeps_auth_values() {
    let c = parse_docker_config(&fixture("docker-config/with-auths.json"));
    assert_eq!(c.auths_count, 4);
    assert_eq!(
        c.auths_registries,
        vec![
            "ghcr.io",
            "https://index.docker.io/v1/",
            "quay.io",
            "registry.corp.example:5000"
        ]
    );
    assert_eq!(c.creds_store.as_deref(), Some("desktop"));
    assert_eq!(
        c.cred_helpers,
        vec!["123456789012.dkr.ecr.us-east-1.amazonaws.com", "gcr.io"]
    );
    assert_eq!(c.current_context.as_deref(), Some("colima"));
    assert_eq!(
        c.proxies["default"].https_proxy.as_deref(),
        Some("http://127.0.0.1:7890")
    );
    assert_eq!(
        c.proxies["tcp://docker-daemon1.example.com"]
            .https_proxy
            .as_deref(),
        Some("http://proxy.example.com:3128")
    );
    assert_no_secrets(&serde_json::to_string(&c).unwrap());

    let b = parse_docker_config(&fixture("docker-config/broken.json"));
    let e = b.error.clone().unwrap();
    assert_eq!(e.line, 4);
    assert!(
        e.line_text.is_empty(),
        "no line text for a file that holds secrets"
    );
    assert_no_secrets(&serde_json::to_string(&b).unwrap());
}

#[test]
fn env_files() {
    let d = parse_env_file(&fixture("envfile/default-docker"), Keep::ProxyAndDocker);
    assert!(d.not_for_systemd_banner);
    let names: Vec<_> = d
        .vars
        .iter()
        .map(|a| (a.name.as_str(), a.commented, a.exported))
        .collect();
    assert_eq!(
        names,
        vec![
            ("DOCKERD", true, false),
            ("DOCKER_OPTS", true, false),
            ("http_proxy", true, true),
            ("https_proxy", false, true),
            ("DOCKER_TMPDIR", true, true),
        ]
    );
    assert_eq!(d.get("https_proxy"), Some("http://127.0.0.1:7890/"));
    assert_eq!(d.get("http_proxy"), None, "commented out");

    let e = parse_env_file(&fixture("envfile/etc-environment-lima"), Keep::Proxy);
    assert!(e.lima_block);
    assert_eq!(e.vars.len(), 6, "PATH is not kept");
    assert_eq!(e.get("https_proxy"), Some("http://192.168.5.2:7890"));
}

// ---------------------------------------------------------------------------------------
// containerd, hosts.toml, buildkit, DNS, colima, /proc/net

#[test]
fn containerd_configs() {
    let v2 = parse_containerd_config(&fixture("containerd/config-v2.toml"));
    assert_eq!(v2.version, Some(2));
    assert_eq!(
        v2.cri_registry_table.as_deref(),
        Some("plugins.\"io.containerd.grpc.v1.cri\".registry")
    );
    assert_eq!(v2.config_path.as_deref(), Some(""));
    assert_eq!(
        v2.mirrors["docker.io"],
        vec![
            "https://registry.docker-cn.com",
            "https://registry-1.docker.io"
        ]
    );
    assert_eq!(v2.configs_hosts, vec!["harbor.corp.example"]);
    assert!(!v2.cri_disabled());
    assert_no_secrets(&serde_json::to_string(&v2).unwrap());

    let v3 = parse_containerd_config(&fixture("containerd/config-v3.toml"));
    assert_eq!(v3.version, Some(3));
    assert_eq!(
        v3.cri_registry_table.as_deref(),
        Some("plugins.\"io.containerd.cri.v1.images\".registry")
    );
    assert_eq!(
        v3.config_path.as_deref(),
        Some("/etc/containerd/certs.d:/etc/docker/certs.d")
    );

    let pkg = parse_containerd_config(&fixture("containerd/config-docker-pkg.toml"));
    assert!(pkg.cri_disabled());
    assert_eq!(pkg.version, Some(1));
    assert_eq!(pkg.cri_registry_table, None);

    let broken = parse_containerd_config(&fixture("containerd/broken.toml"));
    let e = broken.error.unwrap();
    assert_eq!(e.line, 3, "{e:?}");
}

#[test]
fn hosts_toml_order_and_fields() {
    let h = parse_hosts_toml(&fixture("containerd/hosts-docker.io.toml"));
    assert_eq!(h.server.as_deref(), Some("https://registry-1.docker.io"));
    let urls: Vec<_> = h.hosts.iter().map(|x| x.url.as_str()).collect();
    assert_eq!(
        urls,
        vec![
            "https://mirror.gcr.io",
            "http://192.168.31.5:5000",
            "https://docker.m.daocloud.io"
        ]
    );
    assert_eq!(
        h.hosts[0].capabilities.as_deref(),
        Some(&["pull".to_string(), "resolve".to_string()][..])
    );
    assert_eq!(h.hosts[1].skip_verify, Some(true));
    assert_eq!(h.hosts[1].override_path, Some(false));
    assert_eq!(h.hosts[2].ca, vec!["/etc/certs/daocloud-ca.pem"]);
    assert_eq!(h.hosts[2].header_names, vec!["x-custom-token"]);
    assert_no_secrets(&serde_json::to_string(&h).unwrap());
    assert!(parse_hosts_toml("server = ").error.is_some());
}

#[test]
fn buildkitd_and_crictl_yaml() {
    let b = parse_buildkitd_toml(&fixture("containerd/buildkitd.toml"));
    assert_eq!(
        b.registries["docker.io"].mirrors,
        vec!["mirror.gcr.io", "docker.m.daocloud.io"]
    );
    assert_eq!(b.registries["registry.lan:5000"].http, Some(true));
    assert_eq!(b.registries["registry.lan:5000"].insecure, Some(true));
    let c = parse_crictl_yaml(&fixture("containerd/crictl.yaml"));
    assert_eq!(
        c.runtime_endpoint.as_deref(),
        Some("unix:///run/containerd/containerd.sock")
    );
    assert_eq!(
        c.image_endpoint.as_deref(),
        Some("unix:///run/containerd/containerd.sock")
    );
    assert_eq!(c.timeout.as_deref(), Some("10"));
}

#[test]
fn resolv_conf() {
    let r = parse_resolv_conf(&fixture("dns/resolv-stub.conf"));
    assert_eq!(r.nameservers, vec!["127.0.0.53"]);
    assert_eq!(r.search, vec!["corp.example", "lan"]);
    assert_eq!(r.options, vec!["edns0", "trust-ad"]);
    let w = parse_resolv_conf(&fixture("dns/resolv-wsl.conf"));
    assert_eq!(w.nameservers, vec!["10.255.255.254"]);
}

#[test]
fn etc_hosts_scan() {
    let interesting = [
        "docker.io",
        "docker.com",
        "host.lima.internal",
        "mirror.internal.example",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let h = scan_hosts(fixture("dns/hosts").as_bytes(), 1 << 20, &interesting);
    let kept: Vec<_> = h
        .entries
        .iter()
        .map(|e| (e.line, e.ip.as_str(), e.names[0].as_str()))
        .collect();
    assert_eq!(
        kept,
        vec![
            (4, "104.16.0.1", "registry-1.docker.io"),
            (5, "104.18.122.25", "production.cloudflare.docker.com"),
            (6, "192.168.5.2", "host.lima.internal"),
            (7, "10.1.2.3", "mirror.internal.example"),
        ]
    );
    assert!(!h.truncated);
    assert!(matches_any("Registry-1.Docker.IO.", &interesting));
    assert!(!matches_any("notdocker.io", &interesting));
}

#[test]
fn etc_hosts_is_capped() {
    // 20 MB of blocklist lines: only the cap is scanned, and quickly.
    let line = "0.0.0.0 ads.tracker.example\n";
    let mut big = String::with_capacity(20 << 20);
    big.push_str("1.2.3.4 registry-1.docker.io\n");
    while big.len() < 20 << 20 {
        big.push_str(line);
    }
    big.push_str("5.6.7.8 auth.docker.io\n");
    let interesting = ["docker.io".to_string()].into_iter().collect();
    let t = Instant::now();
    let h = scan_hosts(big.as_bytes(), 1 << 20, &interesting);
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(h.truncated);
    assert!(h.bytes_scanned <= 1 << 20);
    assert_eq!(h.entries.len(), 1, "the entry past the cap is not seen");
}

#[test]
fn colima_yaml_and_ini() {
    let c = parse_colima_yaml(&fixture("colima/colima.yaml"));
    assert_eq!(c.runtime.as_deref(), Some("docker"));
    assert_eq!(c.env["HTTP_PROXY"], "http://127.0.0.1:7890");
    assert_eq!(c.env["HTTPS_PROXY"], "http://127.0.0.1:7890");
    assert_eq!(c.env["no_proxy"], "localhost,127.0.0.1,.local");
    assert_eq!(c.env["EMPTY"], "");
    assert_eq!(
        c.env.len(),
        4,
        "the commented example and docker: section are not env"
    );
    assert!(c.warnings.is_empty());
    let f = parse_colima_yaml(&fixture("colima/colima-flow.yaml"));
    assert_eq!(f.runtime.as_deref(), Some("containerd"));
    assert_eq!(f.env["HTTPS_PROXY"], "http://host.lima.internal:3128");
    assert_eq!(f.env["NO_PROXY"], "localhost,127.0.0.1");
    assert!(parse_colima_yaml("env: {}\n").env.is_empty());

    let w = parse_ini(&fixture("colima/wsl.conf"));
    assert_eq!(w.get("boot", "systemd"), Some("true"));
    assert_eq!(w.get("network", "generateResolvConf"), Some("false"));
    assert_eq!(w.get("interop", "appendWindowsPath"), Some("false"));
}

#[test]
fn proc_net() {
    let v4 = parse_proc_net_tcp(&fixture("procnet/tcp"), false);
    let l: Vec<_> = v4
        .iter()
        .map(|s| (s.address.as_str(), s.port, s.scope))
        .collect();
    assert_eq!(
        l,
        vec![
            ("127.0.0.1", 7890, BindScope::Loopback),
            ("127.0.0.53", 53, BindScope::Loopback),
            ("0.0.0.0", 22, BindScope::Any),
            ("10.0.2.15", 3128, BindScope::Address),
        ]
    );
    assert_eq!(v4[0].uid, Some(1000));
    let v6 = parse_proc_net_tcp(&fixture("procnet/tcp6"), true);
    let l: Vec<_> = v6
        .iter()
        .map(|s| (s.address.as_str(), s.port, s.scope))
        .collect();
    assert_eq!(
        l,
        vec![
            ("::", 22, BindScope::Any),
            ("::1", 7890, BindScope::Loopback),
            ("::ffff:127.0.0.1", 8080, BindScope::Loopback)
        ]
    );
    // Streaming stops at the first non-LISTEN line (listeners come first in the kernel's
    // output), so a huge connection table is not read.
    let mut busy = fixture("procnet/tcp");
    for i in 0..200_000u32 {
        busy.push_str(&format!("{:4}: 0F02000A:{:04X} 0202000A:D6C2 01 00000000:00000000 00:00000000 00000000     0        0 1 1 0 20 4 31 10 -1\n", i + 6, i % 65535));
    }
    busy.push_str("9999: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 7 1 0 100 0 0 10 0\n");
    let streamed = procnet::scan_proc_net_tcp(busy.as_bytes(), false, 1 << 30);
    assert_eq!(streamed, v4);
    let routes = parse_proc_net_route(&fixture("procnet/route"));
    assert_eq!(routes.len(), 3);
    assert!(routes[0].is_default());
    assert_eq!(routes[0].gateway, "192.168.5.2");
    assert_eq!(routes[1].destination, "192.168.5.0");
    assert_eq!(routes[2].mask, "255.255.0.0");
}

#[test]
fn host_of_urls() {
    assert_eq!(
        host_of("http://user:p@ss@Proxy.Corp:3128/x").as_deref(),
        Some("proxy.corp")
    );
    assert_eq!(
        host_of("registry.lan:5000").as_deref(),
        Some("registry.lan")
    );
    assert_eq!(host_of("[::1]:80").as_deref(), Some("::1"));
    assert_eq!(host_of("socks5h://127.0.0.1").as_deref(), Some("127.0.0.1"));
    assert_eq!(host_of(""), None);
}

// ---------------------------------------------------------------------------------------
// collect_local on fake trees

fn scenario(name: &str) -> PathBuf {
    fixture_path(&format!("check/{name}/root"))
}

#[test]
fn collect_systemd_proxy_host() {
    let o = opts(
        &scenario("systemd-proxy"),
        "/home/alice",
        &[
            ("HTTPS_PROXY", "http://127.0.0.1:7890"),
            ("PATH", "/usr/bin"),
            ("SECRET_TOKEN", "x"),
        ],
    );
    let t = Instant::now();
    let ev = collect_local(&o);
    let took = t.elapsed();
    assert!(
        took < Duration::from_millis(250),
        "collect_local took {took:?}"
    );

    assert_eq!(
        ev.env.vars.keys().collect::<Vec<_>>(),
        vec!["HTTPS_PROXY"],
        "only the listed variables"
    );

    let docker = &ev.units["docker.service"];
    assert_eq!(
        docker.fragment.as_ref().unwrap().source.path(),
        Some("/lib/systemd/system/docker.service")
    );
    assert_eq!(docker.drop_ins.len(), 1);
    assert_eq!(
        docker.drop_ins[0].source.path(),
        Some("/etc/systemd/system/docker.service.d/http-proxy.conf")
    );
    assert!(docker.drop_ins[0].source.mtime().is_some());
    assert_eq!(
        docker.configured_env()["HTTPS_PROXY"],
        "http://127.0.0.1:7890"
    );
    assert!(ev.units.contains_key("containerd.service"));
    assert!(!ev.units.contains_key("buildkit.service"));

    let f = &ev.files;
    let dj = f.daemon_json.as_ref().unwrap();
    assert_eq!(dj.status, JsonStatus::Valid);
    assert_eq!(dj.source.path(), Some("/etc/docker/daemon.json"));
    assert_eq!(dj.registry_mirrors, vec!["https://mirror.gcr.io"]);
    let dc = f.docker_config.as_ref().unwrap();
    assert_eq!(dc.located_by, "home");
    assert_eq!(dc.auths_count, 4);
    assert!(f.default_docker.as_ref().unwrap().not_for_systemd_banner);
    assert!(f.containerd_config.as_ref().unwrap().cri_disabled());
    let certs = &f.certs_dirs["/etc/docker/certs.d/registry.lan:5000"];
    assert_eq!(certs.ca_certs, vec!["ca.crt"]);
    assert_eq!(certs.client_certs, vec!["client.cert"]);
    assert_eq!(certs.client_keys, vec!["client.key"]);
    // resolv.conf is a relative symlink into /run, resolved inside the root.
    let r = f.resolv_conf.as_ref().unwrap();
    assert_eq!(r.nameservers, vec!["127.0.0.53"]);
    match &r.source {
        Source::File { path, resolved, .. } => {
            assert_eq!(path, "/etc/resolv.conf");
            assert_eq!(
                resolved.as_deref(),
                Some("/run/systemd/resolve/stub-resolv.conf")
            );
        }
        other => panic!("{other:?}"),
    }
    let hosts = f.etc_hosts.as_ref().unwrap();
    assert!(
        hosts
            .entries
            .iter()
            .any(|e| e.names.contains(&"registry-1.docker.io".to_string()))
    );
    assert!(
        hosts
            .entries
            .iter()
            .all(|e| !e.names.contains(&"unrelated.example".to_string()))
    );
    assert_eq!(f.hostname.as_ref().unwrap().value, "devbox");

    let on_7890 = ev.listeners(7890);
    assert_eq!(on_7890.len(), 2);
    assert!(
        on_7890
            .iter()
            .all(|s| s.scope == procnet::BindScope::Loopback)
    );

    let p = &ev.platform;
    assert!(!p.lima_guest.detected);
    assert!(p.wsl.is_none());
    assert!(!p.kubernetes_node.detected);
    assert_eq!(p.default_gateway(), Some("192.168.1.1"));

    // Missing files are evidence, nothing else went wrong.
    assert!(
        ev.notes.iter().all(|n| n.kind == NoteKind::Missing),
        "{:?}",
        ev.notes
    );

    // No secret from config.json reaches the serialized evidence.
    let json = serde_json::to_string_pretty(&ev).unwrap();
    assert_no_secrets(&json);
}

#[test]
fn collect_broken_daemon_json() {
    let ev = collect_local(&opts(&scenario("broken-daemon-json"), "/root", &[]));
    let dj = ev.files.daemon_json.as_ref().unwrap();
    assert_eq!(dj.status, JsonStatus::Invalid);
    assert_eq!(dj.error.as_ref().unwrap().line, 2);
    assert_eq!(dj.hints.len(), 2);
    assert_eq!(
        ev.files.resolv_conf.as_ref().unwrap().nameservers,
        vec!["223.5.5.5", "114.114.114.114"]
    );
    let missing: Vec<_> = ev.notes.iter().map(|n| (n.path.as_str(), n.kind)).collect();
    assert!(
        missing.contains(&("/root/.docker/config.json", NoteKind::Missing)),
        "{missing:?}"
    );
    assert!(missing.contains(&("/etc/hosts", NoteKind::Missing)));
    assert!(missing.contains(&("/proc/net/tcp", NoteKind::Missing)));
}

#[test]
fn collect_colima_guest() {
    let ev = collect_local(&opts(
        &scenario("colima-guest"),
        "/home/alice.linux",
        &[("USER", "alice")],
    ));
    let p = &ev.platform;
    assert!(p.lima_guest.detected, "{:?}", p.lima_guest);
    assert!(
        p.lima_guest
            .signals
            .iter()
            .any(|s| s.contains("host.lima.internal"))
    );
    assert!(
        p.lima_guest
            .signals
            .iter()
            .any(|s| s.contains("192.168.5.2"))
    );
    assert!(
        p.lima_guest
            .signals
            .iter()
            .any(|s| s.contains("lima-cidata"))
    );
    assert!(p.colima_guest.detected);
    assert_eq!(p.default_gateway(), Some("192.168.5.2"));
    let dj = ev.files.daemon_json.as_ref().unwrap();
    assert_eq!(
        dj.proxies.as_ref().unwrap().https_proxy.as_deref(),
        Some("http://192.168.5.2:7890")
    );
    assert_eq!(dj.containerd_snapshotter(), Some(true));
    assert!(ev.files.etc_environment.as_ref().unwrap().lima_block);
    assert!(
        ev.listeners(7890).is_empty(),
        "nothing listens on the proxy port inside the VM"
    );
}

#[test]
fn collect_wsl2_nat_and_mirrored() {
    let root = scenario("wsl2-nat");
    let ev = collect_local(&opts(
        &root,
        "/home/alice",
        &[("WSL_DISTRO_NAME", "Ubuntu")],
    ));
    let w = ev.platform.wsl.as_ref().unwrap();
    assert_eq!(w.version, 2);
    assert_eq!(w.kernel, "5.15.167.4-microsoft-standard-WSL2");
    assert_eq!(w.networking_mode, "nat");
    assert!(w.signals.iter().any(|s| s.contains("systemd=true")));
    assert_eq!(
        ev.files
            .wsl_conf
            .as_ref()
            .unwrap()
            .get("network", "hostname"),
        Some("devbox-wsl")
    );
    assert_eq!(ev.platform.default_gateway(), Some("172.28.160.1"));
    assert_eq!(
        ev.files
            .docker_config
            .as_ref()
            .unwrap()
            .creds_store
            .as_deref(),
        Some("desktop.exe")
    );
    assert_eq!(
        ev.files.etc_hosts.as_ref().unwrap().entries.len(),
        2,
        "host/gateway.docker.internal"
    );

    // Mirrored mode: an interface loopback0 exists.
    let t = TempDir::new("wsl-mirrored");
    t.write("proc/version", fs::read(root.join("proc/version")).unwrap());
    t.write("sys/class/net/loopback0/operstate", "up\n");
    let ev = collect_local(&opts(t.path(), "/root", &[]));
    assert_eq!(
        ev.platform.wsl.as_ref().unwrap().networking_mode,
        "mirrored"
    );
}

#[test]
fn collect_k8s_node() {
    let ev = collect_local(&opts(&scenario("k8s-node"), "/root", &[]));
    assert!(ev.platform.kubernetes_node.detected);
    let c = ev.files.containerd_config.as_ref().unwrap();
    assert_eq!(
        c.config_path.as_deref(),
        Some("/etc/containerd/certs.d:/etc/docker/certs.d")
    );
    let h = &ev.files.hosts_toml["/etc/containerd/certs.d/docker.io/hosts.toml"];
    assert_eq!(h.namespace, "docker.io");
    assert_eq!(h.hosts.len(), 3);
    assert_eq!(
        ev.files.hosts_toml["/etc/containerd/certs.d/registry.k8s.io/hosts.toml"].hosts[0].url,
        "https://k8s.m.daocloud.io"
    );
    assert!(ev.files.certs_dirs["/etc/containerd/certs.d/docker.io"].has_hosts_toml);
    let u = &ev.units["containerd.service"];
    assert_eq!(
        u.fragment.as_ref().unwrap().source.path(),
        Some("/usr/lib/systemd/system/containerd.service")
    );
    assert_eq!(
        u.configured_env()["NO_PROXY"],
        "localhost,127.0.0.1,10.96.0.0/12,192.168.0.0/16,.svc,.cluster.local"
    );
    assert_eq!(
        ev.files
            .crictl_yaml
            .as_ref()
            .unwrap()
            .runtime_endpoint
            .as_deref(),
        Some("unix:///run/containerd/containerd.sock")
    );
    assert_eq!(
        ev.files.buildkitd["/etc/buildkit/buildkitd.toml"].registries["docker.io"]
            .mirrors
            .len(),
        2
    );
}

#[test]
fn unit_drift_between_files_and_systemd() {
    use std::time::SystemTime;
    let t = TempDir::new("drift");
    let dropin = t.write(
        "etc/systemd/system/docker.service.d/http-proxy.conf",
        "[Service]\nEnvironment=\"HTTPS_PROXY=http://127.0.0.1:7890\" \"NO_PROXY=localhost,.corp\"\n",
    );
    let frag = t.write(
        "lib/systemd/system/docker.service",
        "[Service]\nExecStart=/usr/bin/dockerd -H fd://\n",
    );
    // The daemon started at 2026-11-21 10:02:10 UTC; the drop-in was edited an hour later,
    // the unit file long before.
    let started = 1_795_255_330u64;
    let set = |p: &Path, secs: u64| {
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
            .unwrap();
    };
    set(&dropin, started + 3600);
    set(&frag, started - 86_400);
    let ev = collect_local(&opts(t.path(), "/root", &[]));
    let files = &ev.units["docker.service"];
    assert_eq!(files.newest_mtime(), Some((started + 3600) as i64));

    // systemd loaded an older version of the drop-in (no daemon-reload since).
    let mut show = parse_systemctl_show(&fixture("systemctl/docker-dropin.txt"));
    let d = systemd::compare(files, &show);
    assert_eq!(
        d.modified_after_start,
        vec!["/etc/systemd/system/docker.service.d/http-proxy.conf"]
    );
    assert_eq!(
        d.different["NO_PROXY"],
        (
            "localhost,.corp".to_string(),
            "localhost,127.0.0.1,.example.com".to_string()
        )
    );
    assert_eq!(d.only_loaded.keys().collect::<Vec<_>>(), vec!["HTTP_PROXY"]);
    assert!(d.only_in_files.is_empty());
    assert!(!d.need_daemon_reload);
    show.environment.remove("HTTPS_PROXY");
    show.need_daemon_reload = Some(true);
    let d = systemd::compare(files, &show);
    assert_eq!(d.only_in_files["HTTPS_PROXY"], "http://127.0.0.1:7890");
    assert!(d.need_daemon_reload);
    assert!(!d.is_empty());
}

#[test]
fn sockets_and_rootless_detection() {
    let t = TempDir::new("sockets");
    let _docker = std::os::unix::net::UnixListener::bind(
        t.path().join("run/user/1000/docker.sock").tap_dir(),
    )
    .unwrap();
    let _cri = std::os::unix::net::UnixListener::bind(
        t.path().join("run/containerd/containerd.sock").tap_dir(),
    )
    .unwrap();
    let _sys =
        std::os::unix::net::UnixListener::bind(t.path().join("run/docker.sock").tap_dir()).unwrap();
    fs::create_dir_all(t.path().join("var")).unwrap();
    std::os::unix::fs::symlink("../run", t.path().join("var/run")).unwrap();
    let ev = collect_local(&opts(
        t.path(),
        "/home/alice",
        &[("XDG_RUNTIME_DIR", "/run/user/1000")],
    ));
    let p = &ev.platform;
    assert_eq!(
        p.docker_sockets,
        vec!["/var/run/docker.sock", "/run/user/1000/docker.sock"]
    );
    assert_eq!(p.cri_sockets, vec!["/run/containerd/containerd.sock"]);
    assert!(p.rootless_docker.detected);
    assert!(p.rootless_docker.signals[0].contains("/run/user/1000/docker.sock exists"));
}

trait TapDir {
    fn tap_dir(self) -> Self;
}

impl TapDir for PathBuf {
    /// Create the parent directory, return the path.
    fn tap_dir(self) -> Self {
        fs::create_dir_all(self.parent().unwrap()).unwrap();
        self
    }
}

#[test]
fn collect_is_deterministic_and_round_trips() {
    let o = opts(&scenario("systemd-proxy"), "/home/alice", &[]);
    let mut a = collect_local(&o);
    let mut b = collect_local(&o);
    a.collect_ms = 0;
    b.collect_ms = 0;
    let ja = serde_json::to_string(&a).unwrap();
    assert_eq!(ja, serde_json::to_string(&b).unwrap());
    let back: HostEvidence = serde_json::from_str(&ja).unwrap();
    assert_eq!(back, a);
}

#[test]
fn collect_survives_hostile_files() {
    let t = TempDir::new("hostile");
    let root = t.path();
    // Symlink loop at daemon.json.
    fs::create_dir_all(root.join("etc/docker")).unwrap();
    std::os::unix::fs::symlink("b.json", root.join("etc/docker/daemon.json")).unwrap();
    std::os::unix::fs::symlink("daemon.json", root.join("etc/docker/b.json")).unwrap();
    // An absolute symlink must stay inside the root.
    t.write("elsewhere/resolv.conf", "nameserver 9.9.9.9\n");
    std::os::unix::fs::symlink("/elsewhere/resolv.conf", root.join("etc/resolv.conf")).unwrap();
    // A FIFO where /etc/hosts should be: opening it would block.
    let status = std::process::Command::new("mkfifo")
        .arg(root.join("etc/hosts"))
        .status()
        .unwrap();
    assert!(status.success());
    // Too large, not UTF-8, a directory instead of a file.
    let big = t.write("root/.docker/config.json", "");
    fs::File::create(&big)
        .unwrap()
        .set_len(FILE_CAP + 1)
        .unwrap();
    t.write("proc/version", b"Linux version \xff\xfe broken\n");
    fs::create_dir_all(root.join("etc/containerd/config.toml")).unwrap();
    // A sparse 100 MB /proc/net/tcp would be refused by size; a 100 MB resolv.conf too.
    let huge = t.write("etc/environment", "");
    fs::File::create(&huge).unwrap().set_len(100 << 20).unwrap();

    let start = Instant::now();
    let ev = collect_local(&opts(root, "/root", &[]));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    let note = |p: &str| ev.notes.iter().find(|n| n.path == p).map(|n| n.kind);
    assert_eq!(note("/etc/docker/daemon.json"), Some(NoteKind::SymlinkLoop));
    assert_eq!(note("/etc/hosts"), Some(NoteKind::NotAFile));
    assert_eq!(note("/root/.docker/config.json"), Some(NoteKind::TooLarge));
    assert_eq!(note("/proc/version"), Some(NoteKind::NotUtf8));
    assert_eq!(
        note("/etc/containerd/config.toml"),
        Some(NoteKind::NotAFile)
    );
    assert_eq!(note("/etc/environment"), Some(NoteKind::TooLarge));
    assert!(ev.files.daemon_json.is_none());
    assert_eq!(
        ev.files.resolv_conf.as_ref().unwrap().nameservers,
        vec!["9.9.9.9"]
    );
    assert_eq!(
        ev.files.resolv_conf.as_ref().unwrap().source.path(),
        Some("/etc/resolv.conf")
    );
}

#[test]
fn collect_huge_etc_hosts_is_cheap() {
    let t = TempDir::new("hugehosts");
    let mut head = String::from("127.0.0.1 localhost\n10.0.0.5 registry-1.docker.io\n");
    head.push_str(&"0.0.0.0 ad.example\n".repeat(1000));
    let p = t.write("etc/hosts", head);
    // 100 MB, mostly a sparse hole: reading it all would take visible time.
    fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    let start = Instant::now();
    let ev = collect_local(&opts(t.path(), "/root", &[]));
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    let h = ev.files.etc_hosts.as_ref().unwrap();
    assert!(h.truncated);
    assert_eq!(h.entries.len(), 1);
    assert!(
        ev.notes
            .iter()
            .any(|n| n.path == "/etc/hosts" && n.kind == NoteKind::Truncated)
    );
}

#[test]
fn collect_permission_denied_is_noted() {
    if is_root() {
        return; // root reads everything; nothing to observe.
    }
    let t = TempDir::new("perm");
    let p = t.write("etc/docker/daemon.json", "{}");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o000)).unwrap();
    let ev = collect_local(&opts(t.path(), "/root", &[]));
    assert!(
        ev.notes
            .iter()
            .any(|n| n.path == "/etc/docker/daemon.json" && n.kind == NoteKind::PermissionDenied)
    );
}

#[test]
fn collect_honours_docker_config_and_user_units() {
    let t = TempDir::new("dockerconfig");
    t.write(
        "opt/dc/config.json",
        r#"{"auths":{"ghcr.io":{"auth":"c2VjcmV0"}},"credsStore":"pass"}"#,
    );
    t.write(
        "home/bob/.config/systemd/user/docker.service.d/override.conf",
        "[Service]\nEnvironment=\"HTTPS_PROXY=http://10.0.2.2:3128\"\n",
    );
    t.write(
        "home/bob/.colima/work/colima.yaml",
        "env:\n  HTTPS_PROXY: http://proxy.work.example:8080\n",
    );
    t.write("home/bob/.colima/_lima/colima/lima.yaml", "env: {}\n");
    t.write(
        "etc/hosts",
        "10.3.3.3 proxy.work.example\n10.4.4.4 other.example\n",
    );
    let ev = collect_local(&opts(
        t.path(),
        "/home/bob",
        &[
            ("DOCKER_CONFIG", "/opt/dc"),
            ("DOCKER_HOST", "unix:///run/user/1000/docker.sock"),
        ],
    ));
    let dc = ev.files.docker_config.as_ref().unwrap();
    assert_eq!(dc.located_by, "DOCKER_CONFIG");
    assert_eq!(dc.source.path(), Some("/opt/dc/config.json"));
    assert_eq!(dc.creds_store.as_deref(), Some("pass"));
    assert!(!serde_json::to_string(&ev).unwrap().contains("c2VjcmV0"));
    assert_eq!(
        ev.user_units["docker.service"].configured_env()["HTTPS_PROXY"],
        "http://10.0.2.2:3128"
    );
    assert!(ev.platform.rootless_docker.detected);
    assert_eq!(ev.files.colima.keys().collect::<Vec<_>>(), vec!["work"]);
    // A proxy host named in colima.yaml makes its /etc/hosts entry interesting.
    let h = ev.files.etc_hosts.as_ref().unwrap();
    assert_eq!(h.entries.len(), 1);
    assert_eq!(h.entries[0].names, vec!["proxy.work.example"]);
}

#[test]
fn collect_this_machine_quickly() {
    // The real machine, read-only: must not panic or take long whatever is installed.
    let o = LocalOptions::from_process();
    let start = Instant::now();
    let ev = collect_local(&o);
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(ev.root, "/");
    serde_json::to_string(&ev).unwrap();
}

// ---------------------------------------------------------------------------------------
// Commands

fn cmd_env(dir: &Path) -> BTreeMap<String, String> {
    [("PATH".to_string(), dir.to_string_lossy().into_owned())]
        .into_iter()
        .collect()
}

fn fake_tools(dir: &TempDir) {
    let f = |rel: &str| {
        fixture_path(&format!("collect/{rel}"))
            .to_string_lossy()
            .into_owned()
    };
    dir.script(
        "bin/systemctl",
        &format!(
            r#"[ "$1" = show ] || exit 2
case "$2" in
  docker.service) /usr/bin/cat '{}' ;;
  containerd.service) /usr/bin/cat '{}' ;;
  *) /usr/bin/cat '{}' ;;
esac"#,
            f("systemctl/docker-dropin.txt"),
            f("systemctl/containerd-old-na.txt"),
            f("systemctl/buildkit-not-found.txt")
        ),
    );
    dir.script(
        "bin/docker",
        &format!(
            r#"case "$1" in
  info) /usr/bin/cat '{}' ;;
  version) /usr/bin/cat '{}'; echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2; exit 1 ;;
  context) /usr/bin/cat '{}' ;;
  *) exit 2 ;;
esac"#,
            f("docker-info/27-containerd.json"),
            f("docker-cli/version-down.json"),
            f("docker-cli/context-ls-27.jsonl")
        ),
    );
    dir.script(
        "bin/ctr",
        &format!("/usr/bin/cat '{}'", f("tools/ctr-version.txt")),
    );
    dir.script(
        "bin/crictl",
        &format!("/usr/bin/cat '{}'", f("tools/crictl-info.json")),
    );
    dir.script(
        "bin/colima",
        &format!(
            "/usr/bin/cat '{}' >&2; exit 1",
            f("tools/colima-status-stopped.txt")
        ),
    );
}

/// `docker context ls` runs only when a context besides the default one can exist.
#[tokio::test]
async fn docker_context_ls_only_when_contexts_exist() {
    let t = TempDir::new("contexts");
    let marker = t.path().join("context-ran");
    t.script(
        "bin/docker",
        &format!(
            "[ \"$1\" = context ] && : > '{}' && echo '{{\"Name\":\"default\",\"Current\":true}}'; exit 0",
            marker.display()
        ),
    );
    let home = t.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let run = |extra: &[(&str, &str)]| {
        let mut env = cmd_env(&t.path().join("bin"));
        env.insert("HOME".into(), home.display().to_string());
        for (k, v) in extra {
            env.insert((*k).into(), (*v).into());
        }
        async move {
            let o = CommandOptions::new(env);
            collect_commands(&o, tokio::time::Instant::now() + Duration::from_secs(10)).await
        }
    };
    let ev = run(&[]).await;
    assert_eq!(ev.docker_context.status, CommandStatus::Unneeded);
    assert!(
        ev.docker_context
            .error
            .as_deref()
            .unwrap()
            .contains("contexts/meta")
    );
    assert!(!marker.exists(), "docker context ls ran");
    assert!(ev.docker_info.found(), "docker info still runs");

    for extra in [&[("DOCKER_CONTEXT", "colima")][..], &[]] {
        if extra.is_empty() {
            std::fs::create_dir_all(home.join(".docker/contexts/meta/0123abcd")).unwrap();
        }
        let _ = std::fs::remove_file(&marker);
        let ev = run(extra).await;
        assert_eq!(ev.docker_context.status, CommandStatus::Exited, "{extra:?}");
        assert!(marker.exists(), "{extra:?}");
        assert_eq!(ev.docker_context.parsed.as_ref().unwrap().len(), 1);
    }
    std::fs::remove_dir_all(home.join(".docker/contexts")).unwrap();
    std::fs::write(
        home.join(".docker/config.json"),
        r#"{"currentContext": "desktop-linux"}"#,
    )
    .unwrap();
    let _ = std::fs::remove_file(&marker);
    let ev = run(&[]).await;
    assert_eq!(ev.docker_context.status, CommandStatus::Exited);
    assert!(marker.exists());
}

#[tokio::test]
async fn commands_with_fake_tools() {
    let t = TempDir::new("fake-tools");
    fake_tools(&t);
    let o = CommandOptions::new(cmd_env(&t.path().join("bin")));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let ev = collect_commands(&o, deadline).await;

    let d = &ev.systemd["docker.service"];
    assert!(d.succeeded(), "{d:?}");
    let show = d.parsed.as_ref().unwrap();
    assert_eq!(show.environment["HTTPS_PROXY"], "http://127.0.0.1:7890");
    match &d.source {
        Source::Command {
            argv,
            exit_code,
            timed_out,
            ..
        } => {
            assert_eq!(argv[..3], ["systemctl", "show", "docker.service"]);
            assert!(argv[3].starts_with(
                "--property=Environment,EnvironmentFiles,DropInPaths,FragmentPath,ActiveState"
            ));
            assert_eq!(*exit_code, Some(0));
            assert!(!timed_out);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !ev.systemd["buildkit.service"]
            .parsed
            .as_ref()
            .unwrap()
            .installed()
    );

    let info = ev.docker_info.parsed.as_ref().unwrap();
    assert!(info.containerd_snapshotter);
    let v = &ev.docker_version;
    assert_eq!(v.exit_code(), Some(1));
    assert!(v.stderr.contains("Is the docker daemon running?"));
    assert!(!v.parsed.as_ref().unwrap().server_present);
    assert_eq!(ev.docker_context.parsed.as_ref().unwrap().len(), 2);
    assert_eq!(
        ev.ctr_version
            .parsed
            .as_ref()
            .unwrap()
            .containerd_version
            .as_deref(),
        Some("v1.7.22")
    );
    assert_eq!(
        ev.colima_status.parsed.as_ref().unwrap().running,
        Some(false),
        "parsed from stderr"
    );
    assert_eq!(ev.colima_status.exit_code(), Some(1));
    let cr = &ev.crictl_info;
    assert!(cr.parsed.is_some());
    // Missing tools are recorded as such.
    assert_eq!(ev.nerdctl_version.status, CommandStatus::NotFound);
    assert_eq!(ev.wslinfo.status, CommandStatus::NotFound);
    assert!(ev.nerdctl_version.program.is_none());

    let json = serde_json::to_string(&ev).unwrap();
    assert!(
        !json.contains("SECRET-CRICTL-PASSWORD"),
        "crictl stdout is never kept"
    );
    let back: CommandsEvidence = serde_json::from_str(&json).unwrap();
    assert_eq!(back.docker_info.parsed, ev.docker_info.parsed);

    // Drop-ins named by systemctl but outside the standard directories are read afterwards.
    let root = TempDir::new("complete-root");
    root.write(
        "etc/systemd/system/docker.service.d/http-proxy.conf",
        "[Service]\nEnvironment=HTTPS_PROXY=http://127.0.0.1:7890\n",
    );
    let lo = opts(root.path(), "/root", &[]);
    let mut host = collect_local(&lo);
    let mut ev2 = ev.clone();
    let show = ev2
        .systemd
        .get_mut("docker.service")
        .unwrap()
        .parsed
        .as_mut()
        .unwrap();
    show.drop_in_paths
        .push("/run/systemd/transient/docker.service.d/50-extra.conf".into());
    root.write(
        "run/systemd/transient/docker.service.d/50-extra.conf",
        "[Service]\nEnvironment=NO_PROXY=.corp\n",
    );
    complete_with_commands(&lo, &mut host, &ev2);
    let env = host.units["docker.service"].configured_env();
    assert_eq!(env["NO_PROXY"], ".corp");
    assert_eq!(env["HTTPS_PROXY"], "http://127.0.0.1:7890");
}

#[tokio::test]
async fn command_hang_is_killed_and_reaped() {
    let t = TempDir::new("hang");
    t.script("bin/docker", "echo partial\nexec /usr/bin/sleep 30");
    // A script whose grandchild keeps the pipes open after the script is killed.
    t.script("bin/systemctl", "/usr/bin/sleep 30\necho never");
    let o = CommandOptions::new(cmd_env(&t.path().join("bin")));
    let start = tokio::time::Instant::now();
    let deadline = start + Duration::from_millis(800);
    let ev = collect_commands(&o, deadline).await;
    let took = start.elapsed();
    assert!(took < Duration::from_millis(800 + 1500), "took {took:?}");

    let r = &ev.docker_info;
    assert_eq!(r.status, CommandStatus::TimedOut);
    assert!(r.timed_out());
    assert_eq!(r.signal, Some(9));
    match &r.source {
        Source::Command {
            timed_out,
            duration_ms,
            exit_code,
            ..
        } => {
            assert!(*timed_out);
            assert!(*duration_ms >= 700, "{duration_ms}");
            assert_eq!(*exit_code, None);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        r.parse_error.as_deref().unwrap().starts_with("not JSON"),
        "partial output is garbage"
    );
    assert!(r.stdout_excerpt.as_deref().unwrap().starts_with("partial"));
    // Reaped: no zombie left behind.
    let pid = r.pid.unwrap();
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(!stat.contains(") Z "), "zombie: {stat}");

    let s = &ev.systemd["docker.service"];
    assert_eq!(s.status, CommandStatus::TimedOut);
}

#[tokio::test]
async fn command_garbage_exit_and_spawn_failures() {
    let t = TempDir::new("garbage");
    t.script(
        "bin/docker",
        "echo 'Segmentation fault (core dumped) <garbage>'; exit 139",
    );
    t.script("bin/systemctl", "echo 'System has not been booted with systemd as init system (PID 1). Can'\"'\"'t operate.' >&2; echo 'Failed to connect to bus: Host is down' >&2; exit 1");
    // Not executable: skipped by PATH lookup, like a shell would.
    t.write("bin/ctr", "#!/bin/sh\necho hi\n");
    // Executable with a missing interpreter: spawn fails.
    let p = t.write("bin/crictl", "#!/nonexistent/interpreter\n");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    let o = CommandOptions::new(cmd_env(&t.path().join("bin")));
    let ev = collect_commands(&o, tokio::time::Instant::now() + Duration::from_secs(10)).await;

    let d = &ev.docker_info;
    assert_eq!(d.status, CommandStatus::Exited);
    assert_eq!(d.exit_code(), Some(139));
    assert!(d.parsed.is_none());
    assert!(d.parse_error.is_some());
    assert!(d.stdout_excerpt.as_deref().unwrap().contains("<garbage>"));

    let s = &ev.systemd["docker.service"];
    assert_eq!(s.exit_code(), Some(1));
    assert_eq!(s.parse_error.as_deref(), Some("no output"));
    assert!(s.stderr.contains("Failed to connect to bus"));

    assert_eq!(ev.ctr_version.status, CommandStatus::NotFound);
    assert_eq!(ev.crictl_info.status, CommandStatus::SpawnFailed);
    assert!(ev.crictl_info.error.is_some());
}

#[tokio::test]
async fn command_output_is_capped_without_blocking() {
    let t = TempDir::new("cap");
    // 3 MiB on stdout and stderr each.
    t.script(
        "bin/loud",
        "/usr/bin/head -c 3145728 /dev/zero; /usr/bin/head -c 3145728 /dev/zero >&2; exit 0",
    );
    let env = cmd_env(&t.path().join("bin"));
    let raw = run_command(
        &["loud".to_string()],
        &env,
        &[],
        64 * 1024,
        tokio::time::Instant::now() + Duration::from_secs(10),
    )
    .await;
    assert_eq!(raw.status, CommandStatus::Exited);
    assert_eq!(raw.exit_code, Some(0));
    assert_eq!(raw.stdout.len(), 64 * 1024);
    assert_eq!(raw.stdout_bytes, 3 << 20);
    assert!(raw.stdout_truncated);
    assert!(raw.stderr_truncated);

    // Deadline already passed: not started.
    let raw = run_command(
        &["loud".to_string()],
        &env,
        &[],
        1024,
        tokio::time::Instant::now(),
    )
    .await;
    assert_eq!(raw.status, CommandStatus::Skipped);

    assert!(
        find_on_path(
            "loud",
            &format!("relative/dir::{}", t.path().join("bin").display())
        )
        .is_some()
    );
    assert!(find_on_path("loud", "relative/dir").is_none());
}
