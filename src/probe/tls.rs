//! TLS: a handshake with a *recording* verifier (the whole presented chain is kept even when
//! it would fail verification), then offline verdicts against each root store: Mozilla's
//! (webpki-roots), the system's (rustls-native-certs, honouring SSL_CERT_FILE and
//! SSL_CERT_DIR), each extra CA file (`/etc/docker/certs.d/HOST/*.crt`), and "docker" (the
//! system store plus the host's certs.d CAs, which is what dockerd trusts).
//!
//! The provider is always passed explicitly (`ring`), never taken from crate features.

use std::io;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use super::util::{BoxIo, Metered, ms, pem_certificate, rfc3339};
use super::{ErrorClass, ProbeError};

/// At most this many certificates of a presented chain are recorded.
pub const MAX_RECORDED_CERTS: usize = 10;
/// A handshake that reads more than this is abandoned (a 10 MB chain, a firehose).
pub const HANDSHAKE_BYTE_CAP: u64 = 256 * 1024;

/// The `ring` provider, explicitly (pitfall P5: never rely on crate-feature defaults).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// One certificate of a presented chain, for display and for rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// DNS names from the subjectAltName extension.
    pub dns_names: Vec<String>,
    /// IP addresses from the subjectAltName extension.
    pub ip_addresses: Vec<IpAddr>,
    /// RFC 3339, UTC.
    pub not_before: String,
    pub not_after: String,
    pub not_before_unix: i64,
    pub not_after_unix: i64,
    /// Hex, colon-separated, as x509-parser prints it.
    pub serial: String,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
    pub is_ca: bool,
    pub self_signed: bool,
    /// The certificate itself, PEM (public data; lets a support engineer run `openssl x509`).
    pub pem: String,
    /// Set when x509-parser could not read the certificate; the other fields are then empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
}

/// Reads a DER certificate for display.
pub fn cert_info(der: &[u8]) -> CertInfo {
    let sha256 = ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut info = CertInfo {
        subject: String::new(),
        issuer: String::new(),
        dns_names: vec![],
        ip_addresses: vec![],
        not_before: String::new(),
        not_after: String::new(),
        not_before_unix: 0,
        not_after_unix: 0,
        serial: String::new(),
        sha256,
        is_ca: false,
        self_signed: false,
        pem: pem_certificate(der),
        parse_error: None,
    };
    let cert = match x509_parser::parse_x509_certificate(der) {
        Ok((_, c)) => c,
        Err(e) => {
            info.parse_error = Some(e.to_string());
            return info;
        }
    };
    info.subject = cert.subject().to_string();
    info.issuer = cert.issuer().to_string();
    info.not_before_unix = cert.validity().not_before.timestamp();
    info.not_after_unix = cert.validity().not_after.timestamp();
    info.not_before = rfc3339(info.not_before_unix);
    info.not_after = rfc3339(info.not_after_unix);
    info.serial = cert.raw_serial_as_string();
    info.is_ca = cert.is_ca();
    info.self_signed = cert.subject().as_raw() == cert.issuer().as_raw();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                x509_parser::extensions::GeneralName::DNSName(d) => {
                    info.dns_names.push(d.to_string())
                }
                x509_parser::extensions::GeneralName::IPAddress(b) => {
                    if let Ok(a) = <[u8; 4]>::try_from(*b) {
                        info.ip_addresses.push(IpAddr::from(a));
                    } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                        info.ip_addresses.push(IpAddr::from(a));
                    }
                }
                _ => {}
            }
        }
    }
    info
}

/// Why a store did or did not trust a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictReason {
    Ok,
    UnknownAuthority,
    Expired,
    NotYetValid,
    NameMismatch,
    BadSignature,
    IncompatibleUsage,
    /// The store is empty (e.g. an empty certs.d directory): nothing to verify against.
    NoRoots,
    /// The server presented no certificate.
    NoChain,
    Other,
}

/// One store's verdict on one presented chain, computed offline after the handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreVerdict {
    /// `mozilla`, `system`, `docker` (system + certs.d), or `extra:SOURCE`.
    pub store: String,
    /// Number of roots in the store.
    pub roots: usize,
    pub ok: bool,
    pub reason: VerdictReason,
    /// On success, the name of the root the chain ends at (`CN=ISRG Root X1, ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_via: Option<String>,
    /// Go's text: `x509: certificate signed by unknown authority`, `x509: certificate is
    /// valid for a, b, not c`, `x509: certificate has expired or is not yet valid: current
    /// time T is after N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_error: Option<String>,
    /// rustls' error, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When the verdict was computed (RFC 3339): time checks depend on it.
    pub checked_at: String,
}

/// A TLS handshake, with the presented chain and the per-store verdicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsProbe {
    /// The name sent as SNI and verified against (an IP literal sends no SNI).
    pub server_name: String,
    /// The handshake completed (the chain may still be untrusted: see `verdicts`).
    pub ok: bool,
    pub elapsed_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    /// The presented chain, leaf first (at most [`MAX_RECORDED_CERTS`]).
    pub chain: Vec<CertInfo>,
    /// How many certificates the server presented.
    pub chain_presented: usize,
    /// Bytes read from the peer during the handshake.
    pub bytes_received: u64,
    pub verdicts: Vec<StoreVerdict>,
    pub error: Option<ProbeError>,
}

impl TlsProbe {
    /// The verdict of a store by name.
    pub fn verdict(&self, store: &str) -> Option<&StoreVerdict> {
        self.verdicts.iter().find(|v| v.store == store)
    }
}

/// CA certificates the caller read (e.g. `/etc/docker/certs.d/HOST/ca.crt`), as PEM bytes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraCa {
    /// The certs.d directory name it applies to (`host` or `host:port`); `None` for all.
    pub applies_to: Option<String>,
    /// Where it came from, for provenance (a path).
    pub source: String,
    pub pem: Vec<u8>,
}

impl std::fmt::Debug for ExtraCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtraCa")
            .field("applies_to", &self.applies_to)
            .field("source", &self.source)
            .field("pem_bytes", &self.pem.len())
            .finish()
    }
}

impl ExtraCa {
    /// Whether dockerd would use this file for `host:port` (certs.d is keyed by the
    /// registry's `host[:port]` as written; 443 is written without a port).
    pub fn applies(&self, host: &str, port: u16) -> bool {
        match &self.applies_to {
            None => true,
            Some(k) => *k == format!("{host}:{port}") || (port == 443 && k == host),
        }
    }
}

/// What was loaded into the stores (evidence).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoresInfo {
    pub mozilla_roots: usize,
    pub system: SystemStoreInfo,
    pub extra: Vec<ExtraCaInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemStoreInfo {
    /// False when the system store was not loaded (`ProbeOptions::system_store`).
    pub loaded: bool,
    pub roots: usize,
    /// Certificates found but not usable as trust anchors.
    pub ignored: usize,
    pub errors: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_cert_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_cert_dir: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraCaInfo {
    pub source: String,
    pub applies_to: Option<String>,
    pub certs: usize,
    pub errors: Vec<String>,
}

/// The root stores, loaded once per run.
#[derive(Debug, Clone)]
pub struct TrustStores {
    mozilla: Arc<RootCertStore>,
    system: Arc<RootCertStore>,
    extra: Vec<(ExtraCa, Vec<CertificateDer<'static>>)>,
    pub info: StoresInfo,
}

impl TrustStores {
    /// Loads Mozilla's roots, the system store (when `system`; reads files, so blocking)
    /// and the extra CA files.
    pub fn load(extra: &[ExtraCa], system: bool) -> TrustStores {
        let mut mozilla = RootCertStore::empty();
        mozilla.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let mut sys = RootCertStore::empty();
        let mut sys_info = SystemStoreInfo {
            loaded: system,
            ssl_cert_file: std::env::var("SSL_CERT_FILE").ok(),
            ssl_cert_dir: std::env::var("SSL_CERT_DIR").ok(),
            ..Default::default()
        };
        if system {
            let r = rustls_native_certs::load_native_certs();
            let (added, ignored) = sys.add_parsable_certificates(r.certs);
            sys_info.roots = added;
            sys_info.ignored = ignored;
            sys_info.errors = r.errors.iter().map(|e| e.to_string()).collect();
        }
        let mut infos = vec![];
        let mut extras = vec![];
        for x in extra {
            let mut errors = vec![];
            let mut certs = vec![];
            for c in CertificateDer::pem_slice_iter(&x.pem) {
                match c {
                    Ok(c) => certs.push(c.into_owned()),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            if certs.is_empty() && errors.is_empty() {
                errors.push("no PEM certificate found".into());
            }
            infos.push(ExtraCaInfo {
                source: x.source.clone(),
                applies_to: x.applies_to.clone(),
                certs: certs.len(),
                errors,
            });
            extras.push((x.clone(), certs));
        }
        TrustStores {
            info: StoresInfo {
                mozilla_roots: mozilla.len(),
                system: sys_info,
                extra: infos,
            },
            mozilla: Arc::new(mozilla),
            system: Arc::new(sys),
            extra: extras,
        }
    }

    /// Verdicts of every store on `chain` for `host:port`, at the current time.
    pub fn verdicts(
        &self,
        chain: &[CertificateDer<'static>],
        host: &str,
        port: u16,
    ) -> Vec<StoreVerdict> {
        let now = UnixTime::now();
        let mut out = vec![
            verdict("mozilla", &self.mozilla, chain, host, now),
            verdict("system", &self.system, chain, host, now),
        ];
        let mut docker = (*self.system).clone();
        for (x, certs) in self.extra.iter().filter(|(x, _)| x.applies(host, port)) {
            let mut s = RootCertStore::empty();
            s.add_parsable_certificates(certs.iter().cloned());
            docker.add_parsable_certificates(certs.iter().cloned());
            out.push(verdict(
                &format!("extra:{}", x.source),
                &Arc::new(s),
                chain,
                host,
                now,
            ));
        }
        out.push(verdict("docker", &Arc::new(docker), chain, host, now));
        out
    }
}

fn strip_seq_header(b: &[u8]) -> &[u8] {
    if b.len() < 2 || b[0] != 0x30 {
        return b;
    }
    let skip = if b[1] < 0x80 {
        2
    } else {
        2 + usize::from(b[1] & 0x7f)
    };
    b.get(skip..).unwrap_or(b)
}

/// The issuer name of the chain certificate that chains to an anchor of `roots`.
fn trusted_via(roots: &RootCertStore, chain: &[CertificateDer<'static>]) -> Option<String> {
    for der in chain.iter().rev() {
        let Ok((_, c)) = x509_parser::parse_x509_certificate(der) else {
            continue;
        };
        let raw = c.issuer().as_raw();
        let hit = roots
            .roots
            .iter()
            .any(|a| a.subject.as_ref() == raw || a.subject.as_ref() == strip_seq_header(raw));
        if hit {
            return Some(c.issuer().to_string());
        }
    }
    None
}

/// One store's verdict, offline (no second connection).
pub fn verdict(
    store: &str,
    roots: &Arc<RootCertStore>,
    chain: &[CertificateDer<'static>],
    host: &str,
    now: UnixTime,
) -> StoreVerdict {
    let mut v = StoreVerdict {
        store: store.to_string(),
        roots: roots.len(),
        ok: false,
        reason: VerdictReason::Other,
        trusted_via: None,
        go_error: None,
        detail: None,
        checked_at: rfc3339(now.as_secs() as i64),
    };
    let Some(leaf) = chain.first() else {
        v.reason = VerdictReason::NoChain;
        v.go_error = Some("tls: server sent no certificate".into());
        return v;
    };
    if roots.is_empty() {
        v.reason = VerdictReason::NoRoots;
        v.go_error = Some("x509: certificate signed by unknown authority".into());
        v.detail = Some("no roots loaded".into());
        return v;
    }
    let verifier =
        match WebPkiServerVerifier::builder_with_provider(roots.clone(), provider()).build() {
            Ok(v) => v,
            Err(e) => {
                v.detail = Some(format!("cannot build verifier: {e}"));
                return v;
            }
        };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let name = match ServerName::try_from(bare.to_string()) {
        Ok(n) => n,
        Err(e) => {
            v.detail = Some(format!("invalid server name {host:?}: {e}"));
            return v;
        }
    };
    match verifier.verify_server_cert(leaf, &chain[1..], &name, &[], now) {
        Ok(_) => {
            v.ok = true;
            v.reason = VerdictReason::Ok;
            v.trusted_via = trusted_via(roots, chain);
        }
        Err(e) => {
            v.detail = Some(format!("{e:?}"));
            let (reason, go) = go_x509_error(&e, &cert_info(leaf), bare);
            v.reason = reason;
            v.go_error = Some(go);
        }
    }
    v
}

/// Go's crypto/x509 text for a rustls verification error (`verify.go`).
pub fn go_x509_error(e: &rustls::Error, leaf: &CertInfo, host: &str) -> (VerdictReason, String) {
    use CertificateError as C;
    let rustls::Error::InvalidCertificate(ce) = e else {
        return (VerdictReason::Other, format!("x509: {e}"));
    };
    match ce {
        C::UnknownIssuer => (
            VerdictReason::UnknownAuthority,
            "x509: certificate signed by unknown authority".into(),
        ),
        C::ExpiredContext { time, not_after } => (
            VerdictReason::Expired,
            format!(
                "x509: certificate has expired or is not yet valid: current time {} is after {}",
                rfc3339(time.as_secs() as i64),
                rfc3339(not_after.as_secs() as i64)
            ),
        ),
        C::Expired => (
            VerdictReason::Expired,
            "x509: certificate has expired or is not yet valid".into(),
        ),
        C::NotValidYetContext { time, not_before } => (
            VerdictReason::NotYetValid,
            format!(
                "x509: certificate has expired or is not yet valid: current time {} is before {}",
                rfc3339(time.as_secs() as i64),
                rfc3339(not_before.as_secs() as i64)
            ),
        ),
        C::NotValidYet => (
            VerdictReason::NotYetValid,
            "x509: certificate has expired or is not yet valid".into(),
        ),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            (VerdictReason::NameMismatch, go_hostname_error(leaf, host))
        }
        C::BadSignature => (
            VerdictReason::BadSignature,
            "x509: certificate signature is invalid".into(),
        ),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => (
            VerdictReason::IncompatibleUsage,
            "x509: certificate specifies an incompatible key usage".into(),
        ),
        other => (VerdictReason::Other, format!("x509: {other:?}")),
    }
}

/// Go's `HostnameError.Error()`.
pub fn go_hostname_error(leaf: &CertInfo, host: &str) -> String {
    if let Ok(ip) = host.parse::<IpAddr>() {
        if leaf.ip_addresses.is_empty() {
            return format!(
                "x509: cannot validate certificate for {ip} because it doesn't contain any IP SANs"
            );
        }
        let valid: Vec<String> = leaf.ip_addresses.iter().map(|a| a.to_string()).collect();
        return format!(
            "x509: certificate is valid for {}, not {host}",
            valid.join(", ")
        );
    }
    if leaf.dns_names.is_empty() {
        if leaf.subject.contains("CN=") {
            return "x509: certificate relies on legacy Common Name field, use SANs instead".into();
        }
        return format!("x509: certificate is not valid for any names, but wanted to match {host}");
    }
    format!(
        "x509: certificate is valid for {}, not {host}",
        leaf.dns_names.join(", ")
    )
}

/// Records the presented chain and accepts it; verdicts are computed offline per store.
/// Handshake signatures are still verified, so the server must hold the key.
#[derive(Debug)]
struct Recorder {
    seen: Mutex<Option<(usize, Vec<CertificateDer<'static>>)>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        ee: &CertificateDer<'_>,
        inter: &[CertificateDer<'_>],
        _name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![ee.clone().into_owned()];
        chain.extend(
            inter
                .iter()
                .take(MAX_RECORDED_CERTS - 1)
                .map(|c| c.clone().into_owned()),
        );
        if let Ok(mut s) = self.seen.lock() {
            *s = Some((1 + inter.len(), chain));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            m,
            c,
            d,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            m,
            c,
            d,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `HandshakeFailure` → `handshake failure` (Go's alert texts are the spaced names).
fn alert_text(debug: &str) -> String {
    let mut out = String::new();
    for (i, ch) in debug.chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(ch.to_lowercase());
    }
    match out.as_str() {
        "protocol version" => "protocol version not supported".into(),
        "unrecognised name" => "unrecognized name".into(),
        _ => out,
    }
}

fn handshake_error(e: &io::Error, stats: &super::util::MeterStats) -> ProbeError {
    let detail = e.to_string();
    if stats.capped.load(Ordering::Relaxed) {
        return ProbeError::new(
            ErrorClass::TooLarge,
            format!("tls: handshake too large: peer sent more than {HANDSHAKE_BYTE_CAP} bytes"),
            detail,
        );
    }
    let first = stats.first.lock().map(|f| f.clone()).unwrap_or_default();
    if first.starts_with(b"HTTP/") {
        return ProbeError::new(
            ErrorClass::ProtocolMismatch,
            "http: server gave HTTP response to HTTPS client",
            detail,
        );
    }
    if let Some(&b) = first.first()
        && !(0x14..=0x18).contains(&b)
    {
        return ProbeError::new(
            ErrorClass::ProtocolMismatch,
            "tls: first record does not look like a TLS handshake",
            detail,
        );
    }
    if let Some(re) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        use rustls::InvalidMessage as M;
        return match re {
            rustls::Error::InvalidMessage(M::HandshakePayloadTooLarge | M::MessageTooLarge) => {
                ProbeError::new(
                    ErrorClass::TooLarge,
                    "tls: handshake message exceeds maximum size",
                    detail,
                )
            }
            rustls::Error::AlertReceived(a) => ProbeError::new(
                ErrorClass::Tls,
                format!("remote error: tls: {}", alert_text(&format!("{a:?}"))),
                detail,
            ),
            other => ProbeError::new(ErrorClass::Tls, format!("tls: {other}"), detail),
        };
    }
    if e.kind() == io::ErrorKind::UnexpectedEof
        || (e.kind() == io::ErrorKind::Other && first.is_empty())
    {
        return ProbeError::new(ErrorClass::Eof, "EOF", detail);
    }
    super::tcp::io_error("read", e)
}

/// Performs a TLS handshake on `io` for `host`, recording the presented chain. Returns the
/// stream (when the handshake completed), the probe (verdicts empty: the caller adds them
/// with [`TrustStores::verdicts`]) and the chain's DER.
pub(crate) async fn handshake(
    io: BoxIo,
    host: &str,
    deadline: Instant,
) -> (Option<BoxIo>, TlsProbe, Vec<CertificateDer<'static>>) {
    let start = Instant::now();
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let mut probe = TlsProbe {
        server_name: bare.clone(),
        ok: false,
        elapsed_ms: 0,
        version: None,
        cipher_suite: None,
        alpn: None,
        chain: vec![],
        chain_presented: 0,
        bytes_received: 0,
        verdicts: vec![],
        error: None,
    };
    let name = match ServerName::try_from(bare.clone()) {
        Ok(n) => n,
        Err(e) => {
            probe.error = Some(ProbeError::new(
                ErrorClass::InvalidInput,
                format!("tls: invalid server name {host:?}"),
                e.to_string(),
            ));
            return (None, probe, vec![]);
        }
    };
    let provider = provider();
    let recorder = Arc::new(Recorder {
        seen: Mutex::new(None),
        provider: provider.clone(),
    });
    let config =
        match ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions() {
            Ok(b) => {
                let mut c = b
                    .dangerous()
                    .with_custom_certificate_verifier(recorder.clone())
                    .with_no_client_auth();
                // Offer HTTP/1.1 only: the probe speaks HTTP/1.1, and dockerd's registry
                // transport does not force HTTP/2 either.
                c.alpn_protocols = vec![b"http/1.1".to_vec()];
                Arc::new(c)
            }
            Err(e) => {
                probe.error = Some(ProbeError::new(
                    ErrorClass::Other,
                    format!("tls: {e}"),
                    e.to_string(),
                ));
                return (None, probe, vec![]);
            }
        };
    let (metered, stats, limit) = Metered::new(io, HANDSHAKE_BYTE_CAP);
    let connect = TlsConnector::from(config).connect(name, metered);
    let result = tokio::time::timeout_at(deadline, connect).await;
    probe.elapsed_ms = ms(start.elapsed());
    probe.bytes_received = stats.bytes_read.load(Ordering::Relaxed);
    let (presented, chain) = recorder
        .seen
        .lock()
        .ok()
        .and_then(|mut s| s.take())
        .unwrap_or((0, vec![]));
    probe.chain_presented = presented;
    probe.chain = chain.iter().map(|c| cert_info(c)).collect();
    match result {
        Err(_) => {
            probe.error = Some(ProbeError::new(
                ErrorClass::Timeout,
                "net/http: TLS handshake timeout",
                format!(
                    "handshake not finished before the deadline ({} bytes received)",
                    probe.bytes_received
                ),
            ));
            (None, probe, chain)
        }
        Ok(Err(e)) => {
            probe.error = Some(handshake_error(&e, &stats));
            (None, probe, chain)
        }
        Ok(Ok(tls)) => {
            // The handshake cap does not apply to the application data that follows.
            limit.store(u64::MAX, Ordering::Relaxed);
            let (_, conn) = tls.get_ref();
            probe.ok = true;
            probe.version = conn.protocol_version().map(|v| match v {
                rustls::ProtocolVersion::TLSv1_3 => "TLS 1.3".to_string(),
                rustls::ProtocolVersion::TLSv1_2 => "TLS 1.2".to_string(),
                other => format!("{other:?}"),
            });
            probe.cipher_suite = conn
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()));
            probe.alpn = conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned());
            (Some(Box::new(tls) as BoxIo), probe, chain)
        }
    }
}
