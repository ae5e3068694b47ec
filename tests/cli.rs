//! The binary as a user runs it: exit codes, bad input, formats, language,
//! colour. Snapshots live in tests/snapshots; `UPDATE_SNAPSHOTS=1 cargo test`
//! re-blesses them.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pulldoctor"));
    c.env_remove("RUST_BACKTRACE")
        .env_remove("NO_COLOR")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C.UTF-8");
    c
}

pub fn run_with_stdin(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pulldoctor");
    let mut pipe = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {}; run UPDATE_SNAPSHOTS=1 cargo test",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "snapshot {} differs (UPDATE_SNAPSHOTS=1 re-blesses)\n~~~ expected\n{expected}~~~ actual\n{actual}~~~",
            path.display()
        );
    }
}

const REFUSED: &str = "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": proxyconnect tcp: dial tcp 10.0.0.5:3128: connect: connection refused\n";

#[test]
fn cli_empty_input_is_exit_2() {
    for input in [&b""[..], b"\n\n  \r\n"] {
        let out = run_with_stdin(bin().arg("explain"), input);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("pulldoctor: the input"),
            "{}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn cli_unreadable_inputs_are_exit_2() {
    let dir = std::env::temp_dir();
    let out = bin().args(["explain"]).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is a directory"));
    let out = bin()
        .args(["explain", "/nonexistent/pulldoctor.log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no such file"));
    assert!(!text(&out.stderr).contains("panicked"));
}

#[test]
fn cli_binary_input_is_exit_2() {
    let junk: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let out = run_with_stdin(bin().arg("explain"), &junk);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("binary"));
}

#[test]
fn cli_unknown_is_exit_1_with_unknown_category() {
    let out = run_with_stdin(
        bin().args(["explain", "--format", "json"]),
        b"Status: Downloaded newer image for nginx:latest\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"][0]["category"], "unknown");
}

#[test]
fn cli_utf16_ansi_crlf_progress_input() {
    let noisy = format!(
        "\u{1b}[1A\u{1b}[2Ka3ed95caeb02: Downloading [==>   ] 1MB/3MB\ra3ed95caeb02: Downloading [====> ] 2MB/3MB\r\n\u{1b}[31m{}\u{1b}[0m\r\n",
        REFUSED.trim_end()
    );
    let mut utf16: Vec<u8> = vec![0xFF, 0xFE];
    utf16.extend(noisy.encode_utf16().flat_map(|u| u.to_le_bytes()));
    for input in [noisy.as_bytes().to_vec(), utf16] {
        let out = run_with_stdin(bin().args(["explain", "--format", "json"]), &input);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["findings"][0]["category"], "proxy-refused");
        assert_eq!(v["findings"][0]["entities"]["proxy"], "10.0.0.5:3128");
        assert_eq!(v["findings"][0]["matched"][0]["line"], 2);
    }
}

#[test]
fn cli_json_schema_fields() {
    let out = run_with_stdin(
        bin().args(["explain", "--format", "json"]),
        REFUSED.as_bytes(),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "pulldoctor/report/v1");
    assert_eq!(v["tool"]["name"], "pulldoctor");
    assert_eq!(v["command"], "explain");
    let f = &v["findings"][0];
    for key in [
        "rule",
        "slug",
        "category",
        "severity",
        "title",
        "explanation",
        "entities",
        "matched",
        "count",
        "remediation",
        "docs",
    ] {
        assert!(!f[key].is_null(), "finding lacks {key}: {f}");
    }
    assert!(f["remediation"][0]["commands"].is_array());
}

#[test]
fn cli_language_from_flag_and_locale() {
    let zh_flag = run_with_stdin(
        bin().args(["explain", "--lang", "zh", "--format", "json"]),
        REFUSED.as_bytes(),
    );
    let mut c = bin();
    c.args(["explain", "--format", "json"])
        .env("LANG", "zh_CN.UTF-8");
    let zh_env = run_with_stdin(&mut c, REFUSED.as_bytes());
    let mut c = bin();
    c.args(["explain", "--format", "json"])
        .env("LANG", "zh_CN.UTF-8")
        .env("LC_ALL", "en_US.UTF-8");
    let en_env = run_with_stdin(&mut c, REFUSED.as_bytes());
    let title = |o: &Output| {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["findings"][0]["title"].as_str().unwrap().to_string()
    };
    let has_cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    assert!(has_cjk(&title(&zh_flag)), "{}", title(&zh_flag));
    assert!(has_cjk(&title(&zh_env)));
    assert!(!has_cjk(&title(&en_env)), "LC_ALL beats LANG");
}

#[test]
fn cli_colour_only_when_asked() {
    let piped = run_with_stdin(bin().arg("explain"), REFUSED.as_bytes());
    assert!(
        !piped.stdout.contains(&0x1b),
        "no escapes when stdout is not a terminal"
    );
    let always = run_with_stdin(
        bin().args(["explain", "--color", "always"]),
        REFUSED.as_bytes(),
    );
    assert!(always.stdout.contains(&0x1b));
    let mut c = bin();
    c.args(["explain", "--color", "never"]).env("NO_COLOR", "1");
    assert!(
        !run_with_stdin(&mut c, REFUSED.as_bytes())
            .stdout
            .contains(&0x1b)
    );
}

#[test]
fn cli_rules_list_and_explain() {
    let out = bin().args(["rules", "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.as_array().unwrap().len() >= 22);
    for q in ["PD9001", "9001", "unrecognised"] {
        let out = bin().args(["rules", q]).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert!(text(&out.stdout).starts_with("# PD9001 unrecognised"));
    }
    let out = bin().args(["rules", "PD0000"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no rule"));
}

#[test]
fn cli_closed_stdout_exits_quietly() {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{:?} rules | head -c 10 >/dev/null",
            env!("CARGO_BIN_EXE_pulldoctor")
        ))
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !text(&out.stderr).contains("Broken pipe"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn cli_error_at_end_of_a_long_line() {
    let mut input = vec![b'='; 5 << 20];
    input.extend_from_slice(REFUSED.as_bytes());
    let out = run_with_stdin(bin().args(["explain", "--format", "json"]), &input);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"][0]["count"], 1);
    assert!(
        v["findings"][0]["matched"][0]["text"]
            .as_str()
            .unwrap()
            .len()
            < 1000
    );
}

#[test]
fn cli_snapshots_of_three_formats() {
    // A relative path, so the snapshots do not depend on where the repository is.
    let example = "fixtures/explain/example.log";
    let root = env!("CARGO_MANIFEST_DIR");
    for (fmt, name) in [
        ("human", "example.human.txt"),
        ("markdown", "example.md"),
        ("json", "example.json"),
    ] {
        let out = bin()
            .current_dir(root)
            .args(["explain", "--color", "never", "--format", fmt, example])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let s = text(&out.stdout).replace(env!("CARGO_PKG_VERSION"), "VERSION");
        snapshot(name, &s);
    }
    let out = bin()
        .current_dir(root)
        .args(["explain", "--color", "never", "--lang", "zh", example])
        .output()
        .unwrap();
    snapshot("example.zh.txt", &text(&out.stdout));
}

#[test]
fn cli_secrets_never_reach_output() {
    let log = "level=error msg=\"Handler for POST /v1.43/images/create returned error: Get \\\"https://production.cloudflare.docker.com/registry-v2/docker/registry/v2/blobs/sha256/19/19fa7f391c55906b0bbe77bd45a4e7951c67ed70f8054e5987749785450c0442/data?verify=1724172530-5QFH8JiRFjY5RRAQqyHkaNW0Kb4%3D\\\": proxyconnect tcp: dial tcp 10.0.0.5:3128: connect: connection refused\" HTTPS_PROXY=http://alice:S3cretPw@10.0.0.5:3128 Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl\n";
    for fmt in ["human", "json", "markdown"] {
        let out = run_with_stdin(bin().args(["explain", "--format", fmt]), log.as_bytes());
        let s = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{s}");
        for secret in [
            "5QFH8JiRFjY5RRAQqyHkaNW0Kb4",
            "S3cretPw",
            "eyJzdWIiOiJhbGljZSJ9",
        ] {
            assert!(!s.contains(secret), "{fmt} output leaks {secret}:\n{s}");
        }
    }
}

#[test]
fn cli_explain_check_confirms_and_refutes_on_loopback() {
    // Only loopback: a listening port (refuted), a closed one (confirmed).
    let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open_port = open.local_addr().unwrap().port();
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let log = format!(
        "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": proxyconnect tcp: dial tcp 127.0.0.1:{open_port}: connect: connection refused\n\
         Error response from daemon: Get \"https://quay.io/v2/\": proxyconnect tcp: dial tcp 127.0.0.1:{closed_port}: connect: connection refused\n\
         Error response from daemon: toomanyrequests: You have reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit\n"
    );
    let out = run_with_stdin(
        bin().args(["explain", "--check", "--timeout", "3", "--format", "json"]),
        log.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdict = |port: u16| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["entities"]["proxy_port"].as_str() == Some(port.to_string().as_str()))
            .map(|f| f["status"]["verdict"].as_str().unwrap().to_string())
    };
    assert_eq!(verdict(open_port).as_deref(), Some("refuted"), "{v}");
    assert_eq!(verdict(closed_port).as_deref(), Some("confirmed"), "{v}");
    let rate = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["category"] == "rate-limit")
        .unwrap();
    assert_eq!(rate["status"]["verdict"], "untested");
    drop(open);
}
