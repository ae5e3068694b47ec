//! `~/.docker/config.json` (or `$DOCKER_CONFIG/config.json`): the CLI's configuration.
//!
//! Kept: `proxies` (`default` and per-daemon-host entries; they affect containers and
//! builds, never `docker pull`), `credsStore`, the registry names of `credHelpers`, the
//! number and registry names of `auths`, `currentContext`. **Never kept:** any `auth`,
//! `identitytoken`, `registrytoken`, `username`, `password` or `email` value. The file is
//! parsed into a transient `serde_json::Value` and only those pieces are copied out; a
//! syntax error is reported with line and column but without the line's text.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::daemon_json::{JsonSyntaxError, syntax_error};
use super::fsread::Fs;
use super::{FILE_CAP, LocalOptions, Source};

/// One entry of `"proxies"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CliProxyConfig {
    #[serde(rename = "httpProxy")]
    pub http_proxy: Option<String>,
    #[serde(rename = "httpsProxy")]
    pub https_proxy: Option<String>,
    #[serde(rename = "noProxy")]
    pub no_proxy: Option<String>,
    #[serde(rename = "ftpProxy")]
    pub ftp_proxy: Option<String>,
    #[serde(rename = "allProxy")]
    pub all_proxy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DockerConfig {
    pub source: Source,
    /// How the file was located: `DOCKER_CONFIG` or `home`.
    pub located_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<JsonSyntaxError>,
    /// `"proxies"` by key (`default` or a daemon address such as `tcp://host:2376`).
    pub proxies: BTreeMap<String, CliProxyConfig>,
    #[serde(rename = "credsStore")]
    pub creds_store: Option<String>,
    /// Registry names that have a credential helper (the helper names are not kept).
    #[serde(rename = "credHelpers")]
    pub cred_helpers: Vec<String>,
    /// Number of `auths` entries.
    pub auths_count: usize,
    /// Registry names of the `auths` entries (values never kept).
    pub auths_registries: Vec<String>,
    #[serde(rename = "currentContext")]
    pub current_context: Option<String>,
}

/// Parse config.json text; secret values are never copied out.
pub fn parse_docker_config(text: &str) -> DockerConfig {
    let mut dc = DockerConfig::default();
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    if text.trim().is_empty() {
        return dc;
    }
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            dc.error = Some(syntax_error(text, &e, false));
            return dc;
        }
    };
    let Value::Object(obj) = value else {
        dc.error = Some(JsonSyntaxError {
            message: "top level is not an object".into(),
            line: 1,
            column: 1,
            line_text: String::new(),
        });
        return dc;
    };
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(String::from);
    if let Some(Value::Object(p)) = obj.get("proxies") {
        for (k, v) in p {
            let Value::Object(e) = v else { continue };
            dc.proxies.insert(
                k.clone(),
                CliProxyConfig {
                    http_proxy: s(e.get("httpProxy")),
                    https_proxy: s(e.get("httpsProxy")),
                    no_proxy: s(e.get("noProxy")),
                    ftp_proxy: s(e.get("ftpProxy")),
                    all_proxy: s(e.get("allProxy")),
                },
            );
        }
    }
    dc.creds_store = s(obj.get("credsStore")).filter(|x| !x.is_empty());
    if let Some(Value::Object(h)) = obj.get("credHelpers") {
        dc.cred_helpers = h.keys().cloned().collect();
    }
    if let Some(Value::Object(a)) = obj.get("auths") {
        dc.auths_count = a.len();
        dc.auths_registries = a.keys().cloned().collect();
    }
    dc.current_context = s(obj.get("currentContext")).filter(|x| !x.is_empty());
    dc
}

pub(crate) fn collect(fs: &mut Fs, opts: &LocalOptions) -> Option<DockerConfig> {
    let (dir, by) = match opts.var("DOCKER_CONFIG") {
        Some(d) if d.starts_with('/') => (d.trim_end_matches('/').to_string(), "DOCKER_CONFIG"),
        Some(d) => (
            format!("{}/{}", opts.home_str(), d.trim_end_matches('/')),
            "DOCKER_CONFIG",
        ),
        None => (format!("{}/.docker", opts.home_str()), "home"),
    };
    let path = format!("{dir}/config.json");
    let (text, source) = fs.read_text(&path, FILE_CAP, true)?;
    let mut dc = parse_docker_config(&text);
    dc.source = source;
    dc.located_by = by.to_string();
    Some(dc)
}
