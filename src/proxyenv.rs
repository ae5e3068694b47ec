//! Which proxy a request really uses, computed from environment variables the way Go
//! (`net/http.ProxyFromEnvironment`, i.e. `golang.org/x/net/http/httpproxy`) and curl compute it.
//!
//! dockerd, containerd, BuildKit, nerdctl, skopeo and podman all take their proxy from Go's
//! `httpproxy` package (DOMAIN.md §1). curl follows different rules (DOMAIN.md §2). Most "curl
//! works but `docker pull` does not" reports come from the difference, so both are here.
//!
//! # Go
//!
//! [`go_proxy_for`] is a port of `httpproxy.Config.ProxyFunc` at golang/net HEAD
//! (`http/httpproxy/proxy.go`), together with the parts of Go's `net/url` (`Parse`,
//! `URL.String`, `Hostname`, `Port`), `net` (`ParseIP`, `ParseCIDR`, `SplitHostPort`,
//! `JoinHostPort`, `IP.IsLoopback`, `IPNet.Contains`) and `net/netip` (`ParseAddr`) it depends on.
//! The proxy URL in [`Decision::Proxy`] is printed exactly as Go's `url.URL.String()` prints it.
//!
//! Go versions differ in a few places. [`GoSemantics`] names each difference;
//! [`GoSemantics::CURRENT`] (x/net HEAD + Go 1.26) is the default and what current docker and
//! containerd builds do. [`GoSemantics::DEBIAN_BOOKWORM`] (Go 1.19.8 + x/net 0.7.0) is what the
//! differential test in `tests/proxyenv.rs` runs against.
//!
//! Known gap: Go converts internationalised names with `idna.Lookup.ToASCII`, which needs the full
//! UTS #46 mapping table. [`idna`] implements punycode exactly and the mapping for ASCII, case
//! folding and the IDNA dots, and assumes every other non-ASCII code point is valid and already
//! NFC-normalised. Names with exotic code points (compatibility characters, combining marks at the
//! start of a label, ZWJ/ZWNJ, right-to-left scripts) can convert differently from Go.
//!
//! # curl
//!
//! [`curl_proxy_for`] follows curl's `detect_proxy` (lib/url.c) and `Curl_check_noproxy`
//! (lib/noproxy.c): lowercase variables win, `http_proxy` is lowercase only, `ALL_PROXY` is the
//! fallback, NO_PROXY has no `*.x` wildcards, no ports and a leading dot is ignored. Its URL parsing
//! is simplified (curl's own URL parser is not ported).
//!
//! Nothing in this module panics on any input.

use std::fmt;

// ---------------------------------------------------------------------------------------------
// Version differences
// ---------------------------------------------------------------------------------------------

/// The Go behaviours that changed between the Go and x/net versions pulldoctor meets.
///
/// Every field is `true` in [`GoSemantics::CURRENT`] and `false` in
/// [`GoSemantics::DEBIAN_BOOKWORM`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GoSemantics {
    /// x/net commit 8c07e20 (2023-09-03, golang/go#24135) and later: a proxy value that parses
    /// with a non-empty scheme and host is kept whatever its scheme; `http://` is prefixed only
    /// when `url.Parse` fails or gives an empty scheme or host. Before it, every scheme other than
    /// `http`, `https` and `socks5` was re-parsed with `http://` prefixed, so `socks5h://h:1080`
    /// became `http://socks5h://h:1080` and `http:/x` (no host) was kept.
    pub keep_any_proxy_scheme: bool,
    /// x/net commit cde1dda (2025-01-21) and later: the target host is parsed with
    /// `netip.ParseAddr`, which accepts IPv6 zones (so `[fe80::1%25eth0]` is an IP literal: the
    /// loopback rule and IP/CIDR entries apply to it), and domain entries never match an IP-literal
    /// host. Before it, `net.ParseIP` was used (no zones) and domain entries were suffix-matched
    /// against IP hosts too (`NO_PROXY=0.1` exempted `10.0.0.1`).
    pub domain_entries_skip_ip_hosts: bool,
    /// Go 1.24.8 / 1.25.2 (CVE-2025-47912) and later: `url.Parse` accepts `[` only as the first
    /// character of the host, and what is inside the brackets must be an IPv6 address (`netip`
    /// syntax, zone allowed, not plain IPv4). Go 1.19 accepted `http://[anything]:80`.
    pub url_strict_ip_literals: bool,
    /// Go 1.26 with the default `urlstrictcolons=1` (main modules that declare `go 1.26` or later):
    /// an `http`/`https` host with more than one colon outside brackets is rejected
    /// (`http://::1:3128`, `http://h:80:80`). Older Go, and `GODEBUG=urlstrictcolons=0`, treat the
    /// last colon as the port separator.
    pub url_strict_colons: bool,
    /// Go 1.26 `URL.String`: with no authority, a path starting with `//` is printed with its first
    /// slash escaped (`http:%2F/x`), so that it does not re-parse as a host. Go 1.19 printed
    /// `http://x`.
    pub url_escape_authority_like_path: bool,
    /// `net.ParseIP` / `net.ParseCIDR` built on `netip.ParseAddr` (current Go): an IPv6 group has
    /// at most four hex digits. Go 1.19's own parser accepted longer groups with leading zeros
    /// (`00001::`).
    pub ip_max_four_hex_digits: bool,
}

impl GoSemantics {
    /// golang.org/x/net HEAD and Go 1.26 defaults: what current docker, containerd and BuildKit
    /// releases do.
    pub const CURRENT: GoSemantics = GoSemantics {
        keep_any_proxy_scheme: true,
        domain_entries_skip_ip_hosts: true,
        url_strict_ip_literals: true,
        url_strict_colons: true,
        url_escape_authority_like_path: true,
        ip_max_four_hex_digits: true,
    };

    /// Go 1.19.8 with golang.org/x/net 0.7.0 (Debian 12 `golang-go` and
    /// `golang-golang-x-net-dev`; Go 1.19's own vendored copy of `httpproxy` is identical).
    pub const DEBIAN_BOOKWORM: GoSemantics = GoSemantics {
        keep_any_proxy_scheme: false,
        domain_entries_skip_ip_hosts: false,
        url_strict_ip_literals: false,
        url_strict_colons: false,
        url_escape_authority_like_path: false,
        ip_max_four_hex_digits: false,
    };
}

impl Default for GoSemantics {
    fn default() -> Self {
        GoSemantics::CURRENT
    }
}

// ---------------------------------------------------------------------------------------------
// Small Go string helpers (Go strings are bytes; these work on &[u8])
// ---------------------------------------------------------------------------------------------

mod gostr {
    pub(super) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        if needle.is_empty() {
            return Some(0);
        }
        hay.windows(needle.len()).position(|w| w == needle)
    }

    pub(super) fn find_byte(hay: &[u8], b: u8) -> Option<usize> {
        hay.iter().position(|&c| c == b)
    }

    pub(super) fn rfind_byte(hay: &[u8], b: u8) -> Option<usize> {
        hay.iter().rposition(|&c| c == b)
    }

    /// `strings.Cut`.
    pub(super) fn cut(s: &[u8], sep: u8) -> (&[u8], &[u8], bool) {
        match find_byte(s, sep) {
            Some(i) => (&s[..i], &s[i + 1..], true),
            None => (s, &[], false),
        }
    }

    /// `utf8.DecodeRune`: invalid encodings give (U+FFFD, 1).
    pub(super) fn decode_rune(s: &[u8]) -> (char, usize) {
        const BAD: (char, usize) = ('\u{FFFD}', 1);
        let Some(&b0) = s.first() else {
            return ('\u{FFFD}', 0);
        };
        if b0 < 0x80 {
            return (b0 as char, 1);
        }
        let (len, lo, hi, init) = match b0 {
            0xC2..=0xDF => (2, 0x80, 0xBF, u32::from(b0 & 0x1F)),
            0xE0 => (3, 0xA0, 0xBF, u32::from(b0 & 0x0F)),
            0xE1..=0xEC | 0xEE..=0xEF => (3, 0x80, 0xBF, u32::from(b0 & 0x0F)),
            0xED => (3, 0x80, 0x9F, u32::from(b0 & 0x0F)),
            0xF0 => (4, 0x90, 0xBF, u32::from(b0 & 0x07)),
            0xF1..=0xF3 => (4, 0x80, 0xBF, u32::from(b0 & 0x07)),
            0xF4 => (4, 0x80, 0x8F, u32::from(b0 & 0x07)),
            _ => return BAD,
        };
        if s.len() < len {
            return BAD;
        }
        let b1 = s[1];
        if b1 < lo || b1 > hi {
            return BAD;
        }
        let mut cp = (init << 6) | u32::from(b1 & 0x3F);
        for &b in &s[2..len] {
            if !(0x80..=0xBF).contains(&b) {
                return BAD;
            }
            cp = (cp << 6) | u32::from(b & 0x3F);
        }
        match char::from_u32(cp) {
            Some(c) => (c, len),
            None => BAD,
        }
    }

    /// `utf8.DecodeLastRune`.
    pub(super) fn decode_last_rune(s: &[u8]) -> (char, usize) {
        if s.is_empty() {
            return ('\u{FFFD}', 0);
        }
        let end = s.len();
        let lim = end.saturating_sub(4);
        let mut start = end - 1;
        while start > lim && (s[start] & 0xC0) == 0x80 {
            start -= 1;
        }
        let (c, n) = decode_rune(&s[start..end]);
        if start + n != end {
            return ('\u{FFFD}', 1);
        }
        (c, n)
    }

    /// Decode a Go string into runes, as `for _, r := range s` does.
    pub(super) fn runes(s: &[u8]) -> Vec<char> {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            let (c, n) = decode_rune(&s[i..]);
            out.push(c);
            i += n.max(1);
        }
        out
    }

    /// `unicode.ToLower` (simple case mapping).
    pub(super) fn to_lower_rune(c: char) -> char {
        if c.is_ascii() {
            return c.to_ascii_lowercase();
        }
        if c == '\u{130}' {
            return 'i';
        }
        let mut it = c.to_lowercase();
        match (it.next(), it.next()) {
            (Some(l), None) => l,
            _ => c,
        }
    }

    /// `strings.ToLower`.
    pub(super) fn to_lower(s: &[u8]) -> Vec<u8> {
        if s.is_ascii() {
            return s.to_ascii_lowercase();
        }
        let mut out = String::with_capacity(s.len());
        for c in runes(s) {
            out.push(to_lower_rune(c));
        }
        out.into_bytes()
    }

    /// `unicode.IsSpace`.
    pub(super) fn is_space(c: char) -> bool {
        c.is_whitespace()
    }

    /// `strings.TrimSpace`.
    pub(super) fn trim_space(s: &[u8]) -> &[u8] {
        let mut start = 0;
        while start < s.len() {
            let (c, n) = decode_rune(&s[start..]);
            if n == 0 || !is_space(c) || (c == '\u{FFFD}' && n == 1) {
                break;
            }
            start += n;
        }
        let mut end = s.len();
        while end > start {
            let (c, n) = decode_last_rune(&s[start..end]);
            if n == 0 || !is_space(c) || (c == '\u{FFFD}' && n == 1) {
                break;
            }
            end -= n;
        }
        &s[start..end]
    }

    /// Approximation of `unicode.IsPrint` for non-ASCII runes: letters, marks, numbers,
    /// punctuation and symbols are printable; controls, format characters, separators other than
    /// U+0020, private-use and noncharacters are not.
    fn is_print(c: char) -> bool {
        if c.is_ascii() {
            return (' '..='~').contains(&c);
        }
        let u = c as u32;
        if c.is_control() || c.is_whitespace() {
            return false;
        }
        !matches!(u,
            0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
            | 0x202A..=0x202E | 0x2060..=0x206F | 0xD800..=0xF8FF | 0xFDD0..=0xFDEF
            | 0xFEFF | 0xFFF0..=0xFFFB | 0xFFFE | 0xFFFF | 0xE0000..=0xE0FFF
            | 0xF0000..=0x10FFFF)
            && (u & 0xFFFE) != 0xFFFE
    }

    /// `strconv.Quote`.
    pub(super) fn quote(s: &[u8]) -> String {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        let mut i = 0;
        while i < s.len() {
            let (c, n) = decode_rune(&s[i..]);
            if c == '\u{FFFD}' && n == 1 {
                out.push_str(&format!("\\x{:02x}", s[i]));
                i += 1;
                continue;
            }
            i += n.max(1);
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{7}' => out.push_str("\\a"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{b}' => out.push_str("\\v"),
                c if is_print(c) => out.push(c),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    out.push_str(&format!("\\x{:02x}", c as u32));
                }
                c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push_str(&format!("\\U{:08x}", c as u32)),
            }
        }
        out.push('"');
        out
    }

    pub(super) fn lossy(s: &[u8]) -> String {
        String::from_utf8_lossy(s).into_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// Go net/url
// ---------------------------------------------------------------------------------------------

/// A port of the parts of Go's `net/url` that `ProxyFromEnvironment` depends on.
pub mod gourl {
    use super::GoSemantics;
    use super::gonet;
    use super::gostr::{cut, find, find_byte, lossy, quote, rfind_byte};

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Enc {
        Path,
        Host,
        Zone,
        UserPassword,
        Fragment,
    }

    fn ishex(c: u8) -> bool {
        c.is_ascii_hexdigit()
    }

    fn unhex(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => 0,
        }
    }

    fn should_escape(c: u8, mode: Enc) -> bool {
        if c.is_ascii_alphanumeric() {
            return false;
        }
        // Host: RFC 3986 sub-delims, plus `:` for the port, `[]` for IPv6, and `<>"`, which
        // Parse would reject if escaped.
        if (mode == Enc::Host || mode == Enc::Zone) && b"!$&'()*+,;=:[]<>\"".contains(&c) {
            return false;
        }
        match c {
            b'-' | b'_' | b'.' | b'~' => return false,
            b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
                Enc::Path => return c == b'?',
                Enc::UserPassword => return c == b'@' || c == b'/' || c == b'?' || c == b':',
                Enc::Fragment => return false,
                Enc::Host | Enc::Zone => {}
            },
            _ => {}
        }
        if mode == Enc::Fragment && matches!(c, b'!' | b'(' | b')' | b'*') {
            return false;
        }
        true
    }

    /// Error text of `url.EscapeError` / `url.InvalidHostError` / plain errors.
    fn escape_error(s: &[u8]) -> String {
        format!("invalid URL escape {}", quote(s))
    }

    fn unescape(s: &[u8], mode: Enc) -> Result<Vec<u8>, String> {
        let mut n = 0;
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'%' => {
                    n += 1;
                    if i + 2 >= s.len() || !ishex(s[i + 1]) || !ishex(s[i + 2]) {
                        let rest = &s[i..];
                        let rest = &rest[..rest.len().min(3)];
                        return Err(escape_error(rest));
                    }
                    if mode == Enc::Host && unhex(s[i + 1]) < 8 && &s[i..i + 3] != b"%25" {
                        return Err(escape_error(&s[i..i + 3]));
                    }
                    if mode == Enc::Zone {
                        let v = (unhex(s[i + 1]) << 4) | unhex(s[i + 2]);
                        if &s[i..i + 3] != b"%25" && v != b' ' && should_escape(v, Enc::Host) {
                            return Err(escape_error(&s[i..i + 3]));
                        }
                    }
                    i += 3;
                }
                c => {
                    if (mode == Enc::Host || mode == Enc::Zone)
                        && c < 0x80
                        && should_escape(c, mode)
                    {
                        return Err(format!(
                            "invalid character {} in host name",
                            quote(&s[i..i + 1])
                        ));
                    }
                    i += 1;
                }
            }
        }
        if n == 0 {
            return Ok(s.to_vec());
        }
        let mut t = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            if s[i] == b'%' && i + 2 < s.len() {
                t.push((unhex(s[i + 1]) << 4) | unhex(s[i + 2]));
                i += 3;
            } else {
                t.push(s[i]);
                i += 1;
            }
        }
        Ok(t)
    }

    fn escape(s: &[u8], mode: Enc) -> Vec<u8> {
        const UPPERHEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut t = Vec::with_capacity(s.len());
        for &c in s {
            if should_escape(c, mode) {
                t.push(b'%');
                t.push(UPPERHEX[usize::from(c >> 4)]);
                t.push(UPPERHEX[usize::from(c & 15)]);
            } else {
                t.push(c);
            }
        }
        t
    }

    fn valid_encoded(s: &[u8], mode: Enc) -> bool {
        s.iter().all(|&c| match c {
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b':'
            | b'@' | b'[' | b']' | b'%' => true,
            _ => !should_escape(c, mode),
        })
    }

    fn valid_optional_port(port: &[u8]) -> bool {
        match port.split_first() {
            None => true,
            Some((&b':', digits)) => digits.iter().all(u8::is_ascii_digit),
            Some(_) => false,
        }
    }

    fn valid_userinfo(s: &[u8]) -> bool {
        s.iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&c))
    }

    /// `url.Userinfo`.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct Userinfo {
        pub username: Vec<u8>,
        /// `None` when no password was given (no `:` in the userinfo).
        pub password: Option<Vec<u8>>,
    }

    impl Userinfo {
        /// `Userinfo.String`.
        pub fn to_go_string(&self) -> Vec<u8> {
            let mut s = escape(&self.username, Enc::UserPassword);
            if let Some(p) = &self.password {
                s.push(b':');
                s.extend(escape(p, Enc::UserPassword));
            }
            s
        }
    }

    /// `url.URL`. Fields hold Go's byte strings (unescaping can produce invalid UTF-8).
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct Url {
        pub scheme: Vec<u8>,
        pub opaque: Vec<u8>,
        pub user: Option<Userinfo>,
        pub host: Vec<u8>,
        pub path: Vec<u8>,
        pub raw_path: Vec<u8>,
        pub omit_host: bool,
        pub force_query: bool,
        pub raw_query: Vec<u8>,
        pub fragment: Vec<u8>,
        pub raw_fragment: Vec<u8>,
        escape_authority_like_path: bool,
    }

    /// `url.Parse`. The error is Go's `(*url.Error).Error()` text, e.g.
    /// `parse "http://[::1": missing ']' in host`.
    pub fn parse(raw: &str, sem: &GoSemantics) -> Result<Url, String> {
        let raw = raw.as_bytes();
        let (u, frag, has_frag) = cut(raw, b'#');
        let mut url = parse_inner(u, sem).map_err(|e| format!("parse {}: {}", quote(u), e))?;
        url.escape_authority_like_path = sem.url_escape_authority_like_path;
        if !has_frag || frag.is_empty() {
            return Ok(url);
        }
        let f =
            unescape(frag, Enc::Fragment).map_err(|e| format!("parse {}: {}", quote(raw), e))?;
        url.raw_fragment = if escape(&f, Enc::Fragment) == frag {
            Vec::new()
        } else {
            frag.to_vec()
        };
        url.fragment = f;
        Ok(url)
    }

    fn get_scheme(raw: &[u8]) -> Result<(&[u8], &[u8]), String> {
        for (i, &c) in raw.iter().enumerate() {
            if c.is_ascii_alphabetic() {
                continue;
            }
            if c.is_ascii_digit() || c == b'+' || c == b'-' || c == b'.' {
                if i == 0 {
                    return Ok((&[], raw));
                }
                continue;
            }
            if c == b':' {
                if i == 0 {
                    return Err("missing protocol scheme".to_string());
                }
                return Ok((&raw[..i], &raw[i + 1..]));
            }
            return Ok((&[], raw));
        }
        Ok((&[], raw))
    }

    fn parse_inner(raw: &[u8], sem: &GoSemantics) -> Result<Url, String> {
        if raw.iter().any(|&b| b < 0x20 || b == 0x7f) {
            return Err("net/url: invalid control character in URL".to_string());
        }
        let mut url = Url::default();
        if raw == b"*" {
            url.path = b"*".to_vec();
            return Ok(url);
        }
        let (scheme, mut rest) = get_scheme(raw)?;
        url.scheme = scheme.to_ascii_lowercase();
        if rest.last() == Some(&b'?') && rest.iter().filter(|&&b| b == b'?').count() == 1 {
            url.force_query = true;
            rest = &rest[..rest.len() - 1];
        } else {
            let (r, q, _) = cut(rest, b'?');
            rest = r;
            url.raw_query = q.to_vec();
        }
        if !rest.starts_with(b"/") {
            if !url.scheme.is_empty() {
                url.opaque = rest.to_vec();
                return Ok(url);
            }
            let (segment, _, _) = cut(rest, b'/');
            if segment.contains(&b':') {
                return Err("first path segment in URL cannot contain colon".to_string());
            }
        }
        if (!url.scheme.is_empty() || !rest.starts_with(b"///")) && rest.starts_with(b"//") {
            let mut authority = &rest[2..];
            rest = &[];
            if let Some(i) = find_byte(authority, b'/') {
                rest = &authority[i..];
                authority = &authority[..i];
            }
            let (user, host) = parse_authority(&url.scheme, authority, sem)?;
            url.user = user;
            url.host = host;
        } else if !url.scheme.is_empty() && rest.starts_with(b"/") {
            url.omit_host = true;
        }
        let path = unescape(rest, Enc::Path)?;
        url.raw_path = if escape(&path, Enc::Path) == rest {
            Vec::new()
        } else {
            rest.to_vec()
        };
        url.path = path;
        Ok(url)
    }

    fn parse_authority(
        scheme: &[u8],
        authority: &[u8],
        sem: &GoSemantics,
    ) -> Result<(Option<Userinfo>, Vec<u8>), String> {
        let at = rfind_byte(authority, b'@');
        let host = match at {
            None => parse_host(scheme, authority, sem)?,
            Some(i) => parse_host(scheme, &authority[i + 1..], sem)?,
        };
        let Some(i) = at else {
            return Ok((None, host));
        };
        let userinfo = &authority[..i];
        if !valid_userinfo(userinfo) {
            return Err("net/url: invalid userinfo".to_string());
        }
        let user = if !userinfo.contains(&b':') {
            Userinfo {
                username: unescape(userinfo, Enc::UserPassword)?,
                password: None,
            }
        } else {
            let (u, p, _) = cut(userinfo, b':');
            Userinfo {
                username: unescape(u, Enc::UserPassword)?,
                password: Some(unescape(p, Enc::UserPassword)?),
            }
        };
        Ok((Some(user), host))
    }

    fn invalid_port(colon_port: &[u8]) -> String {
        format!("invalid port {} after host", quote(colon_port))
    }

    fn parse_host(scheme: &[u8], host: &[u8], sem: &GoSemantics) -> Result<Vec<u8>, String> {
        let bracketed = if sem.url_strict_ip_literals {
            match rfind_byte(host, b'[') {
                Some(i) if i > 0 => return Err("invalid IP-literal".to_string()),
                Some(_) => true,
                None => false,
            }
        } else {
            host.starts_with(b"[")
        };
        if bracketed {
            let Some(close) = rfind_byte(host, b']') else {
                return Err("missing ']' in host".to_string());
            };
            let colon_port = &host[close + 1..];
            if !valid_optional_port(colon_port) {
                return Err(invalid_port(colon_port));
            }
            let hostname = &host[1..close.max(1)];
            let mut unescaped = match find(hostname, b"%25") {
                Some(z) => {
                    let mut h = unescape(&hostname[..z], Enc::Host)?;
                    h.extend(unescape(&hostname[z..], Enc::Zone)?);
                    h
                }
                None if sem.url_strict_ip_literals => unescape(hostname, Enc::Host)?,
                // Go 1.19 unescapes the whole host, brackets and port included; same result.
                None => return unescape(host, Enc::Host),
            };
            if sem.url_strict_ip_literals {
                match gonet::parse_addr(&unescaped, true) {
                    Err(e) => return Err(format!("invalid host: {e}")),
                    Ok(a) if a.is4 => return Err("invalid IP-literal".to_string()),
                    Ok(_) => {}
                }
            }
            let mut out = Vec::with_capacity(unescaped.len() + colon_port.len() + 2);
            out.push(b'[');
            out.append(&mut unescaped);
            out.push(b']');
            out.extend_from_slice(colon_port);
            return Ok(out);
        }
        if let Some(first) = find_byte(host, b':') {
            let last = rfind_byte(host, b':').unwrap_or(first);
            let mut i = last;
            if sem.url_strict_colons && last != first && (scheme == b"http" || scheme == b"https") {
                i = first;
            }
            let colon_port = &host[i..];
            if !valid_optional_port(colon_port) {
                return Err(invalid_port(colon_port));
            }
        }
        unescape(host, Enc::Host)
    }

    /// The `host, port` split behind `URL.Hostname` and `URL.Port`.
    fn split_host_port(host_port: &[u8]) -> (&[u8], &[u8]) {
        let mut host = host_port;
        let mut port: &[u8] = &[];
        if let Some(colon) = rfind_byte(host, b':')
            && valid_optional_port(&host[colon..])
        {
            port = &host[colon + 1..];
            host = &host[..colon];
        }
        if host.len() >= 2 && host.starts_with(b"[") && host.ends_with(b"]") {
            host = &host[1..host.len() - 1];
        }
        (host, port)
    }

    impl Url {
        /// `URL.Hostname`.
        pub fn hostname(&self) -> &[u8] {
            split_host_port(&self.host).0
        }

        /// `URL.Port`.
        pub fn port(&self) -> &[u8] {
            split_host_port(&self.host).1
        }

        fn escaped_path(&self) -> Vec<u8> {
            if !self.raw_path.is_empty()
                && valid_encoded(&self.raw_path, Enc::Path)
                && unescape(&self.raw_path, Enc::Path).is_ok_and(|p| p == self.path)
            {
                return self.raw_path.clone();
            }
            if self.path == b"*" {
                return b"*".to_vec();
            }
            escape(&self.path, Enc::Path)
        }

        fn escaped_fragment(&self) -> Vec<u8> {
            if !self.raw_fragment.is_empty()
                && valid_encoded(&self.raw_fragment, Enc::Fragment)
                && unescape(&self.raw_fragment, Enc::Fragment).is_ok_and(|f| f == self.fragment)
            {
                return self.raw_fragment.clone();
            }
            escape(&self.fragment, Enc::Fragment)
        }

        /// `URL.String`, as bytes.
        pub fn to_go_bytes(&self) -> Vec<u8> {
            let mut buf: Vec<u8> = Vec::new();
            if !self.scheme.is_empty() {
                buf.extend_from_slice(&self.scheme);
                buf.push(b':');
            }
            if !self.opaque.is_empty() {
                buf.extend_from_slice(&self.opaque);
            } else {
                let no_authority = self.omit_host && self.host.is_empty() && self.user.is_none();
                if (!self.scheme.is_empty() || !self.host.is_empty() || self.user.is_some())
                    && !no_authority
                {
                    if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                        buf.extend_from_slice(b"//");
                    }
                    if let Some(ui) = &self.user {
                        buf.extend(ui.to_go_string());
                        buf.push(b'@');
                    }
                    if !self.host.is_empty() {
                        buf.extend(escape(&self.host, Enc::Host));
                    }
                }
                let mut path = self.escaped_path();
                if self.escape_authority_like_path && no_authority && path.starts_with(b"//") {
                    buf.extend_from_slice(b"%2F");
                    path.remove(0);
                }
                if !path.is_empty() && path[0] != b'/' && !self.host.is_empty() {
                    buf.push(b'/');
                }
                if buf.is_empty() {
                    let (segment, _, _) = cut(&path, b'/');
                    if segment.contains(&b':') {
                        buf.extend_from_slice(b"./");
                    }
                }
                buf.extend(path);
            }
            if self.force_query || !self.raw_query.is_empty() {
                buf.push(b'?');
                buf.extend_from_slice(&self.raw_query);
            }
            if !self.fragment.is_empty() {
                buf.push(b'#');
                buf.extend(self.escaped_fragment());
            }
            buf
        }

        /// `URL.String`.
        pub fn to_go_string(&self) -> String {
            lossy(&self.to_go_bytes())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Go net and net/netip
// ---------------------------------------------------------------------------------------------

/// A port of Go's `net` / `net/netip` address parsing and matching. IPs are kept in 16-byte form
/// (IPv4 as `::ffff:a.b.c.d`), which gives the same answers as Go's 4-or-16-byte `net.IP`.
pub mod gonet {
    use super::gostr::{find_byte, quote, rfind_byte};

    /// `netip.Addr`.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Addr {
        pub ip16: [u8; 16],
        /// Parsed as dotted IPv4 (`Addr.Is4`), not as IPv6 text.
        pub is4: bool,
        /// IPv6 zone, empty when none.
        pub zone: Vec<u8>,
    }

    /// `netip.parseAddrError`'s text.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct AddrError {
        input: Vec<u8>,
        msg: &'static str,
        at: Vec<u8>,
    }

    impl std::fmt::Display for AddrError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "ParseAddr({}): {}", quote(&self.input), self.msg)?;
            if !self.at.is_empty() {
                write!(f, " (at {})", quote(&self.at))?;
            }
            Ok(())
        }
    }

    fn err(input: &[u8], msg: &'static str, at: &[u8]) -> AddrError {
        AddrError {
            input: input.to_vec(),
            msg,
            at: at.to_vec(),
        }
    }

    /// `netip.ParseAddr`. With `max4hex == false` an IPv6 group may have more than four hex
    /// digits as long as its value fits (Go 1.19's `net.ParseIP`).
    pub fn parse_addr(s: &[u8], max4hex: bool) -> Result<Addr, AddrError> {
        for &c in s {
            match c {
                b'.' => {
                    let mut f = [0u8; 4];
                    parse_ipv4_fields(s, s, &mut f)?;
                    let mut ip16 = [0u8; 16];
                    ip16[10] = 0xff;
                    ip16[11] = 0xff;
                    ip16[12..].copy_from_slice(&f);
                    return Ok(Addr {
                        ip16,
                        is4: true,
                        zone: Vec::new(),
                    });
                }
                b':' => return parse_ipv6(s, max4hex),
                b'%' => return Err(err(s, "missing IPv6 address", b"")),
                _ => {}
            }
        }
        Err(err(s, "unable to parse IP", b""))
    }

    fn parse_ipv4_fields(input: &[u8], s: &[u8], fields: &mut [u8; 4]) -> Result<(), AddrError> {
        let mut val: u32 = 0;
        let mut pos = 0;
        let mut dig_len = 0;
        for (i, &c) in s.iter().enumerate() {
            if c.is_ascii_digit() {
                if dig_len == 1 && val == 0 {
                    return Err(err(input, "IPv4 field has octet with leading zero", b""));
                }
                val = val * 10 + u32::from(c - b'0');
                dig_len += 1;
                if val > 255 {
                    return Err(err(input, "IPv4 field has value >255", b""));
                }
            } else if c == b'.' {
                if i == 0 || i == s.len() - 1 || s[i - 1] == b'.' {
                    return Err(err(
                        input,
                        "IPv4 field must have at least one digit",
                        &s[i..],
                    ));
                }
                if pos == 3 {
                    return Err(err(input, "IPv4 address too long", b""));
                }
                fields[pos] = val as u8;
                pos += 1;
                val = 0;
                dig_len = 0;
            } else {
                return Err(err(input, "unexpected character", &s[i..]));
            }
        }
        if pos < 3 {
            return Err(err(input, "IPv4 address too short", b""));
        }
        fields[3] = val as u8;
        Ok(())
    }

    fn parse_ipv6(input: &[u8], max4hex: bool) -> Result<Addr, AddrError> {
        let mut s = input;
        let mut zone: &[u8] = &[];
        if let Some(i) = find_byte(s, b'%') {
            zone = &s[i + 1..];
            s = &s[..i];
            if zone.is_empty() {
                return Err(err(input, "zone must be a non-empty string", b""));
            }
        }
        let mut ip = [0u8; 16];
        let mut ellipsis: Option<usize> = None;
        if s.len() >= 2 && s[0] == b':' && s[1] == b':' {
            ellipsis = Some(0);
            s = &s[2..];
            if s.is_empty() {
                return Ok(Addr {
                    ip16: ip,
                    is4: false,
                    zone: zone.to_vec(),
                });
            }
        }
        let mut i = 0;
        while i < 16 {
            let mut off = 0;
            let mut acc: u32 = 0;
            while off < s.len() {
                let c = s[off];
                let d = match c {
                    b'0'..=b'9' => c - b'0',
                    b'a'..=b'f' => c - b'a' + 10,
                    b'A'..=b'F' => c - b'A' + 10,
                    _ => break,
                };
                acc = (acc << 4) + u32::from(d);
                if max4hex && off > 3 {
                    return Err(err(input, "each group must have 4 or less digits", s));
                }
                if acc > 0xFFFF {
                    return Err(err(input, "IPv6 field has value >=2^16", s));
                }
                off += 1;
            }
            if off == 0 {
                return Err(err(
                    input,
                    "each colon-separated field must have at least one digit",
                    s,
                ));
            }
            if off < s.len() && s[off] == b'.' {
                if ellipsis.is_none() && i != 12 {
                    return Err(err(
                        input,
                        "embedded IPv4 address must replace the final 2 fields of the address",
                        s,
                    ));
                }
                if i + 4 > 16 {
                    return Err(err(
                        input,
                        "too many hex fields to fit an embedded IPv4 at the end of the address",
                        s,
                    ));
                }
                let mut f = [0u8; 4];
                parse_ipv4_fields(input, s, &mut f)?;
                ip[i..i + 4].copy_from_slice(&f);
                s = &[];
                i += 4;
                break;
            }
            ip[i] = (acc >> 8) as u8;
            ip[i + 1] = acc as u8;
            i += 2;
            s = &s[off..];
            if s.is_empty() {
                break;
            }
            if s[0] != b':' {
                return Err(err(input, "unexpected character, want colon", s));
            } else if s.len() == 1 {
                return Err(err(input, "colon must be followed by more characters", s));
            }
            s = &s[1..];
            if s[0] == b':' {
                if ellipsis.is_some() {
                    return Err(err(input, "multiple :: in address", s));
                }
                ellipsis = Some(i);
                s = &s[1..];
                if s.is_empty() {
                    break;
                }
            }
        }
        if !s.is_empty() {
            return Err(err(input, "trailing garbage after address", s));
        }
        if i < 16 {
            let Some(e) = ellipsis else {
                return Err(err(input, "address string too short", b""));
            };
            let n = 16 - i;
            let mut j = i;
            while j > e {
                j -= 1;
                ip[j + n] = ip[j];
            }
            for b in &mut ip[e..e + n] {
                *b = 0;
            }
        } else if ellipsis.is_some() {
            return Err(err(
                input,
                "the :: must expand to at least one field of zeros",
                b"",
            ));
        }
        Ok(Addr {
            ip16: ip,
            is4: false,
            zone: zone.to_vec(),
        })
    }

    /// `net.ParseIP` (no zones). `max4hex` as in [`parse_addr`].
    pub fn parse_ip(s: &[u8], max4hex: bool) -> Option<[u8; 16]> {
        if !max4hex {
            // Go 1.19 decides by the first '.' or ':' only; a '%' anywhere makes it fail, like
            // netip's zone rejection below.
            if s.contains(&b'%') {
                return None;
            }
        }
        match parse_addr(s, max4hex) {
            Ok(a) if a.zone.is_empty() => Some(a.ip16),
            _ => None,
        }
    }

    /// `IP.To4` on the 16-byte form.
    pub fn to4(ip: &[u8; 16]) -> Option<[u8; 4]> {
        if ip[..10].iter().all(|&b| b == 0) && ip[10] == 0xff && ip[11] == 0xff {
            Some([ip[12], ip[13], ip[14], ip[15]])
        } else {
            None
        }
    }

    /// `IP.IsLoopback`.
    pub fn is_loopback(ip: &[u8; 16]) -> bool {
        match to4(ip) {
            Some(v4) => v4[0] == 127,
            None => {
                *ip == {
                    let mut l = [0u8; 16];
                    l[15] = 1;
                    l
                }
            }
        }
    }

    /// `net.IPNet` as `ParseCIDR` returns it.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct IpNet {
        /// 4 bytes for an IPv4 network, 16 for IPv6 (possibly v4-mapped).
        pub ip: Vec<u8>,
        pub mask: Vec<u8>,
    }

    /// `net.ParseCIDR`.
    pub fn parse_cidr(s: &[u8], max4hex: bool) -> Option<IpNet> {
        let i = find_byte(s, b'/')?;
        let (addr, mask) = (&s[..i], &s[i + 1..]);
        if !max4hex && addr.contains(&b'%') {
            return None;
        }
        let a = parse_addr(addr, max4hex).ok()?;
        if !a.zone.is_empty() {
            return None;
        }
        let bits: usize = if a.is4 { 32 } else { 128 };
        // dtoi: decimal digits, at least one, all consumed, < 0xFFFFFF.
        if mask.is_empty() || !mask.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut n: usize = 0;
        for &d in mask {
            n = n * 10 + usize::from(d - b'0');
            if n >= 0xFF_FFFF {
                return None;
            }
        }
        if n > bits {
            return None;
        }
        let mlen = bits / 8;
        let mut m = vec![0u8; mlen];
        let mut left = n;
        for b in &mut m {
            if left >= 8 {
                *b = 0xff;
                left -= 8;
            } else {
                *b = !(0xffu8 >> left);
                left = 0;
            }
        }
        // IP.Mask: a 4-byte mask on a v4-mapped 16-byte IP works on the last 4 bytes.
        let ip: Vec<u8> = if mlen == 4 {
            a.ip16[12..].to_vec()
        } else {
            a.ip16.to_vec()
        };
        let masked = ip.iter().zip(&m).map(|(x, y)| x & y).collect();
        Some(IpNet {
            ip: masked,
            mask: m,
        })
    }

    impl IpNet {
        /// `IPNet.Contains`.
        pub fn contains(&self, ip: &[u8; 16]) -> bool {
            let nn: Vec<u8> = if self.ip.len() == 4 {
                self.ip.clone()
            } else if self.ip.len() == 16 {
                let mut a = [0u8; 16];
                a.copy_from_slice(&self.ip);
                match to4(&a) {
                    Some(v4) => v4.to_vec(),
                    None => self.ip.clone(),
                }
            } else {
                return false;
            };
            let m: &[u8] = match self.mask.len() {
                4 if nn.len() != 4 => return false,
                4 => &self.mask,
                16 if nn.len() == 4 => &self.mask[12..],
                16 => &self.mask,
                _ => return false,
            };
            let target: Vec<u8> = match to4(ip) {
                Some(v4) => v4.to_vec(),
                None => ip.to_vec(),
            };
            if target.len() != nn.len() {
                return false;
            }
            (0..nn.len()).all(|i| nn[i] & m[i] == target[i] & m[i])
        }
    }

    /// `net.SplitHostPort`.
    pub fn split_host_port(hp: &[u8]) -> Option<(&[u8], &[u8])> {
        let i = rfind_byte(hp, b':')?;
        let (host, j, k);
        if hp.first() == Some(&b'[') {
            let end = find_byte(hp, b']')?;
            if end + 1 == hp.len() || end + 1 != i {
                return None;
            }
            host = &hp[1..end];
            j = 1;
            k = end + 1;
        } else {
            host = &hp[..i];
            if host.contains(&b':') {
                return None;
            }
            j = 0;
            k = 0;
        }
        if hp[j..].contains(&b'[') || hp[k..].contains(&b']') {
            return None;
        }
        Some((host, &hp[i + 1..]))
    }

    /// `net.JoinHostPort`.
    pub fn join_host_port(host: &[u8], port: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(host.len() + port.len() + 3);
        if host.contains(&b':') {
            out.push(b'[');
            out.extend_from_slice(host);
            out.extend_from_slice(b"]:");
        } else {
            out.extend_from_slice(host);
            out.push(b':');
        }
        out.extend_from_slice(port);
        out
    }
}

// ---------------------------------------------------------------------------------------------
// IDNA
// ---------------------------------------------------------------------------------------------

/// Punycode (RFC 3492, as in golang.org/x/net/idna/punycode.go) and an approximation of
/// `idna.Lookup.ToASCII`; see the module documentation for what the approximation leaves out.
pub mod idna {
    const BASE: i64 = 36;
    const DAMP: i64 = 700;
    const INITIAL_BIAS: i64 = 72;
    const INITIAL_N: i64 = 128;
    const SKEW: i64 = 38;
    const TMAX: i64 = 26;
    const TMIN: i64 = 1;

    fn adapt(delta: i64, num_points: i64, first: bool) -> i64 {
        let mut delta = if first { delta / DAMP } else { delta / 2 };
        delta += delta / num_points.max(1);
        let mut k = 0;
        while delta > ((BASE - TMIN) * TMAX) / 2 {
            delta /= BASE - TMIN;
            k += BASE;
        }
        k + (BASE - TMIN + 1) * delta / (delta + SKEW)
    }

    /// Go's `madd`: a + b*c, failing outside int32.
    fn madd(a: i64, b: i64, c: i64) -> Option<i64> {
        let p = a.checked_add(b.checked_mul(c)?)?;
        if p > i64::from(i32::MAX) {
            None
        } else {
            Some(p)
        }
    }

    fn decode_digit(c: u8) -> Option<i64> {
        match c {
            b'0'..=b'9' => Some(i64::from(c - b'0') + 26),
            b'A'..=b'Z' => Some(i64::from(c - b'A')),
            b'a'..=b'z' => Some(i64::from(c - b'a')),
            _ => None,
        }
    }

    fn encode_digit(d: i64) -> char {
        match d {
            0..=25 => (b'a' + d as u8) as char,
            26..=35 => (b'0' + (d - 26) as u8) as char,
            _ => '?',
        }
    }

    fn threshold(k: i64, bias: i64) -> i64 {
        if k <= bias {
            TMIN
        } else if k >= bias + TMAX {
            TMAX
        } else {
            k - bias
        }
    }

    /// Punycode-decode (without the `xn--` prefix).
    pub fn decode(encoded: &str) -> Option<String> {
        if encoded.is_empty() {
            return Some(String::new());
        }
        let bytes = encoded.as_bytes();
        let pos0 = encoded.rfind('-').map_or(0, |i| i + 1);
        if pos0 == 1 {
            return None;
        }
        if pos0 == bytes.len() {
            return Some(encoded[..encoded.len() - 1].to_string());
        }
        let mut output: Vec<u32> = Vec::new();
        if pos0 != 0 {
            output.extend(encoded[..pos0 - 1].chars().map(|c| c as u32));
        }
        let mut pos = pos0;
        let (mut i, mut n, mut bias) = (0i64, INITIAL_N, INITIAL_BIAS);
        while pos < bytes.len() {
            let old_i = i;
            let mut w = 1i64;
            let mut k = BASE;
            loop {
                if pos == bytes.len() {
                    return None;
                }
                let digit = decode_digit(bytes[pos])?;
                pos += 1;
                i = madd(i, digit, w)?;
                let t = threshold(k, bias);
                if digit < t {
                    break;
                }
                w = madd(0, w, BASE - t)?;
                k += BASE;
            }
            if output.len() >= 1024 {
                return None;
            }
            let x = output.len() as i64 + 1;
            bias = adapt(i - old_i, x, old_i == 0);
            n += i / x;
            i %= x;
            if !(0..=0x10FFFF).contains(&n) {
                return None;
            }
            let at = usize::try_from(i).ok()?.min(output.len());
            output.insert(at, n as u32);
            i += 1;
        }
        // Go builds a string from runes; invalid code points (surrogates) become U+FFFD.
        Some(
            output
                .into_iter()
                .map(|c| char::from_u32(c).unwrap_or('\u{FFFD}'))
                .collect(),
        )
    }

    /// Punycode-encode `s` and prepend `prefix`.
    pub fn encode(prefix: &str, s: &str) -> Option<String> {
        let mut output = String::from(prefix);
        let (mut delta, mut n, mut bias) = (0i64, INITIAL_N, INITIAL_BIAS);
        let (mut b, mut remaining) = (0i64, 0i64);
        for c in s.chars() {
            if c.is_ascii() {
                b += 1;
                output.push(c);
            } else {
                remaining += 1;
            }
        }
        let mut h = b;
        if b > 0 {
            output.push('-');
        }
        while remaining != 0 {
            let mut m = i64::from(i32::MAX);
            for c in s.chars() {
                let r = c as i64;
                if m > r && r >= n {
                    m = r;
                }
            }
            delta = madd(delta, m - n, h + 1)?;
            n = m;
            for c in s.chars() {
                let r = c as i64;
                if r < n {
                    delta += 1;
                    if delta > i64::from(i32::MAX) {
                        return None;
                    }
                    continue;
                }
                if r > n {
                    continue;
                }
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = threshold(k, bias);
                    if q < t {
                        break;
                    }
                    output.push(encode_digit(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                output.push(encode_digit(q));
                bias = adapt(delta, h + 1, h == b);
                delta = 0;
                h += 1;
                remaining -= 1;
            }
            delta += 1;
            n += 1;
        }
        Some(output)
    }

    /// The UTS #46 mapping step, approximated (module docs). `None` means Go reports an error.
    fn map_rune(c: char, out: &mut String) -> Option<()> {
        match c {
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            'a'..='z' | '0'..='9' | '-' | '.' => out.push(c),
            // Other ASCII is disallowed under the STD3 rules of the Lookup profile.
            c if c.is_ascii() => return None,
            '\u{3002}' | '\u{FF0E}' | '\u{FF61}' => out.push('.'),
            // Fullwidth ASCII maps to ASCII (NFKC); punctuation then fails STD3.
            '\u{FF01}'..='\u{FF5E}' => {
                let a = char::from_u32(c as u32 - 0xFF01 + 0x21)?;
                return map_rune(a, out);
            }
            // Soft hyphen and the variation selectors are ignored.
            '\u{AD}' | '\u{FE00}'..='\u{FE0F}' => {}
            c if c.is_whitespace() || c.is_control() => return None,
            '\u{200C}' | '\u{200D}' => return None,
            c => out.push(super::gostr::to_lower_rune(c)),
        }
        Some(())
    }

    fn is_combining_mark(c: char) -> bool {
        matches!(c as u32, 0x300..=0x36F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF
            | 0xFE20..=0xFE2F)
    }

    fn validate_label(s: &str) -> Option<()> {
        if s.is_empty() {
            return Some(());
        }
        let b = s.as_bytes();
        if b.len() > 4 && b[2] == b'-' && b[3] == b'-' {
            return None;
        }
        if b[0] == b'-' || b[b.len() - 1] == b'-' {
            return None;
        }
        if s.chars().next().is_some_and(is_combining_mark) {
            return None;
        }
        Some(())
    }

    /// A decoded `xn--` label must consist of valid (unmapped) code points.
    fn validate_from_punycode(s: &str) -> Option<()> {
        for c in s.chars() {
            let mut m = String::new();
            map_rune(c, &mut m)?;
            if m.len() != c.len_utf8() || !m.starts_with(c) {
                return None;
            }
        }
        Some(())
    }

    /// `idna.Lookup.ToASCII` (approximated for non-ASCII input, see the module docs).
    pub fn lookup_to_ascii(s: &str) -> Option<String> {
        let mut mapped = String::with_capacity(s.len());
        for c in s.chars() {
            map_rune(c, &mut mapped)?;
        }
        let mut labels: Vec<String> = Vec::new();
        for label in mapped.split('.') {
            if label.is_empty() {
                labels.push(String::new());
                continue;
            }
            let label = if let Some(rest) = label.strip_prefix("xn--") {
                let u = decode(rest)?;
                validate_from_punycode(&u)?;
                validate_label(&u)?;
                u
            } else {
                validate_label(label)?;
                label.to_string()
            };
            if label.is_ascii() {
                labels.push(label);
            } else {
                labels.push(encode("xn--", &label)?);
            }
        }
        Some(labels.join("."))
    }

    /// The `idnaASCII` helper of httpproxy: ASCII input is returned unchanged; anything else goes
    /// through `idna.Lookup.ToASCII`, and `None` means "error, keep the original".
    pub fn idna_ascii(v: &[u8]) -> Option<Vec<u8>> {
        if v.is_ascii() {
            return Some(v.to_vec());
        }
        let s = std::str::from_utf8(v).ok()?;
        lookup_to_ascii(s).map(String::into_bytes)
    }
}

// ---------------------------------------------------------------------------------------------
// Decisions
// ---------------------------------------------------------------------------------------------

/// Why a request goes direct (no proxy).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DirectReason {
    /// Go uses a proxy only for `http` and `https` request URLs.
    UnsupportedScheme { scheme: String },
    /// No variable is set (or all are empty) for this request; `var` names the ones consulted.
    NoProxyVariable { var: &'static str },
    /// The value is set but does not parse, even with `http://` prefixed. Go ignores it silently.
    UnparsableProxy {
        var: &'static str,
        value: String,
        error: String,
    },
    /// The target is `localhost` or a loopback IP: Go never proxies those.
    Loopback { host: String },
    /// NO_PROXY contains `*` (Go: anywhere in the list; curl: the whole value).
    NoProxyWildcard { var: &'static str },
    /// A NO_PROXY entry matches the target.
    NoProxyEntry { var: &'static str, entry: String },
    /// Go's `net.SplitHostPort` rejects the target's `host:port` (a host with `[` or `]`), and
    /// Go's `useProxy` then answers "no proxy".
    MalformedTarget { host_port: String },
}

impl fmt::Display for DirectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DirectReason::UnsupportedScheme { scheme } => {
                write!(f, "no proxy is used for `{scheme}` URLs")
            }
            DirectReason::NoProxyVariable { var } => write!(f, "no {var} set"),
            DirectReason::UnparsableProxy { var, value, error } => {
                write!(
                    f,
                    "{var} value `{value}` does not parse ({error}); it is ignored"
                )
            }
            DirectReason::Loopback { host } => {
                write!(f, "`{host}` is a loopback target, never proxied")
            }
            DirectReason::NoProxyWildcard { var } => write!(f, "{var} contains `*`"),
            DirectReason::NoProxyEntry { var, entry } => {
                write!(f, "{var} entry `{entry}` matches")
            }
            DirectReason::MalformedTarget { host_port } => {
                write!(
                    f,
                    "target `{host_port}` is not a valid host:port, so no proxy applies"
                )
            }
        }
    }
}

/// The outcome for one request URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Connect directly.
    Direct { reason: DirectReason },
    /// Connect through `url`, taken from the variable `var`.
    Proxy {
        /// Go: `url.URL.String()` of the parsed value. curl: `scheme://[user@]host:port`.
        url: String,
        var: &'static str,
        /// The `host:port` that is dialled (port defaults applied), when known.
        dial: Option<String>,
    },
    /// The proxy function fails (Go's CGI rule, curl's unsupported proxy scheme).
    Error(String),
    /// The request URL itself does not parse (Go's `url.Parse` error text).
    InvalidRequestUrl(String),
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Direct { reason } => write!(f, "direct: {reason}"),
            Decision::Proxy { url, var, dial } => {
                write!(f, "proxy {url} (from {var}")?;
                if let Some(d) = dial {
                    write!(f, ", dials {d}")?;
                }
                write!(f, ")")
            }
            Decision::Error(e) => write!(f, "error: {e}"),
            Decision::InvalidRequestUrl(e) => write!(f, "invalid request URL: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Go: configuration
// ---------------------------------------------------------------------------------------------

/// `httpproxy.Config`, plus which variable each value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoProxyConfig {
    pub http_proxy: String,
    pub https_proxy: String,
    pub no_proxy: String,
    /// `REQUEST_METHOD` is set and non-empty.
    pub cgi: bool,
    /// `"HTTP_PROXY"` or `"http_proxy"`.
    pub http_proxy_var: &'static str,
    /// `"HTTPS_PROXY"` or `"https_proxy"`.
    pub https_proxy_var: &'static str,
    /// `"NO_PROXY"` or `"no_proxy"`.
    pub no_proxy_var: &'static str,
}

impl Default for GoProxyConfig {
    fn default() -> Self {
        GoProxyConfig {
            http_proxy: String::new(),
            https_proxy: String::new(),
            no_proxy: String::new(),
            cgi: false,
            http_proxy_var: "HTTP_PROXY",
            https_proxy_var: "HTTPS_PROXY",
            no_proxy_var: "NO_PROXY",
        }
    }
}

impl GoProxyConfig {
    /// `httpproxy.FromEnvironment`: for each pair the first non-empty of UPPER then lower.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Self {
        let any = |upper: &'static str, lower: &'static str| -> (String, &'static str) {
            for name in [upper, lower] {
                if let Some(v) = get(name)
                    && !v.is_empty()
                {
                    return (v, name);
                }
            }
            (String::new(), upper)
        };
        let (http_proxy, http_proxy_var) = any("HTTP_PROXY", "http_proxy");
        let (https_proxy, https_proxy_var) = any("HTTPS_PROXY", "https_proxy");
        let (no_proxy, no_proxy_var) = any("NO_PROXY", "no_proxy");
        GoProxyConfig {
            http_proxy,
            https_proxy,
            no_proxy,
            cgi: get("REQUEST_METHOD").is_some_and(|v| !v.is_empty()),
            http_proxy_var,
            https_proxy_var,
            no_proxy_var,
        }
    }

    /// [`GoProxyConfig::from_env`] over this process's environment.
    pub fn from_process_env() -> Self {
        GoProxyConfig::from_env(|k| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned()))
    }
}

// ---------------------------------------------------------------------------------------------
// Go: NO_PROXY
// ---------------------------------------------------------------------------------------------

/// One parsed NO_PROXY entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoProxyEntry {
    /// An IPv4 or IPv6 CIDR; matches IP-literal targets inside it only (no DNS).
    Cidr { raw: String, net: gonet::IpNet },
    /// An IP literal, optionally with a port (`1.2.3.4:80`, `[::1]:443`).
    Ip {
        raw: String,
        ip: [u8; 16],
        port: String,
    },
    /// A domain: `suffix` is `.example.com`; `match_host` is true when the entry had no leading dot
    /// (so `example.com` itself matches too). `port` is empty for "any port".
    Domain {
        raw: String,
        suffix: Vec<u8>,
        port: String,
        match_host: bool,
    },
}

impl NoProxyEntry {
    /// The entry as written (trimmed).
    pub fn raw(&self) -> &str {
        match self {
            NoProxyEntry::Cidr { raw, .. }
            | NoProxyEntry::Ip { raw, .. }
            | NoProxyEntry::Domain { raw, .. } => raw,
        }
    }

    fn matches(&self, host: &[u8], port: &[u8], ip: Option<&[u8; 16]>, sem: &GoSemantics) -> bool {
        match self {
            NoProxyEntry::Cidr { net, .. } => ip.is_some_and(|ip| net.contains(ip)),
            NoProxyEntry::Ip { ip: e, port: p, .. } => {
                ip.is_some_and(|ip| ip == e) && (p.is_empty() || p.as_bytes() == port)
            }
            NoProxyEntry::Domain {
                suffix,
                port: p,
                match_host,
                ..
            } => {
                if sem.domain_entries_skip_ip_hosts && ip.is_some() {
                    return false;
                }
                (host.ends_with(suffix) || (*match_host && host == &suffix[1..]))
                    && (p.is_empty() || p.as_bytes() == port)
            }
        }
    }
}

/// A parsed NO_PROXY value with Go's semantics (`httpproxy` `config.init` + `useProxy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoNoProxy {
    /// Set when the list contains `*`. Go then ignores every other entry.
    pub wildcard: bool,
    /// IP and CIDR entries, in list order (Go checks these first, for IP-literal targets only).
    pub ip_entries: Vec<NoProxyEntry>,
    /// Domain entries, in list order.
    pub domain_entries: Vec<NoProxyEntry>,
    /// Entries Go drops as malformed (empty host part, e.g. `:1`).
    pub ignored: Vec<String>,
    /// The variable name used in reasons.
    pub var: &'static str,
    sem: GoSemantics,
}

/// Parse NO_PROXY the way current Go does ([`GoSemantics::CURRENT`]).
pub fn parse_no_proxy(value: &str) -> GoNoProxy {
    GoNoProxy::parse_with(value, &GoSemantics::CURRENT)
}

impl GoNoProxy {
    /// Parse with the given Go semantics.
    pub fn parse_with(value: &str, sem: &GoSemantics) -> GoNoProxy {
        let mut np = GoNoProxy {
            wildcard: false,
            ip_entries: Vec::new(),
            domain_entries: Vec::new(),
            ignored: Vec::new(),
            var: "NO_PROXY",
            sem: *sem,
        };
        let max4 = sem.ip_max_four_hex_digits;
        for part in value.split(',') {
            let raw = gostr::trim_space(part.as_bytes());
            let p = gostr::to_lower(raw);
            let raw = gostr::lossy(raw);
            if p.is_empty() {
                continue;
            }
            if p == b"*" {
                np.wildcard = true;
                np.ip_entries.clear();
                np.domain_entries.clear();
                return np;
            }
            if let Some(net) = gonet::parse_cidr(&p, max4) {
                np.ip_entries.push(NoProxyEntry::Cidr { raw, net });
                continue;
            }
            let (mut phost, pport): (Vec<u8>, Vec<u8>) = match gonet::split_host_port(&p) {
                Some((h, port)) => {
                    if h.is_empty() {
                        np.ignored.push(raw);
                        continue;
                    }
                    let h = if h.len() >= 2 && h[0] == b'[' && h[h.len() - 1] == b']' {
                        &h[1..h.len() - 1]
                    } else {
                        h
                    };
                    (h.to_vec(), port.to_vec())
                }
                None => (p.clone(), Vec::new()),
            };
            let port = gostr::lossy(&pport);
            if let Some(ip) = gonet::parse_ip(&phost, max4) {
                np.ip_entries.push(NoProxyEntry::Ip { raw, ip, port });
                continue;
            }
            if phost.is_empty() {
                np.ignored.push(raw);
                continue;
            }
            if phost.starts_with(b"*.") {
                phost.remove(0);
            }
            let mut match_host = false;
            if phost[0] != b'.' {
                match_host = true;
                phost.insert(0, b'.');
            }
            if let Some(v) = idna::idna_ascii(&phost) {
                phost = v;
            }
            np.domain_entries.push(NoProxyEntry::Domain {
                raw,
                suffix: phost,
                port,
                match_host,
            });
        }
        np
    }

    /// Go's `useProxy` for a target given as hostname (no brackets) and port (`"443"`); the
    /// hostname is IDNA-converted first, as `canonicalAddr` does. `None` means the proxy applies;
    /// `Some(reason)` says why Go goes direct.
    pub fn bypass(&self, hostname: &str, port: &str) -> Option<DirectReason> {
        self.bypass_bytes(hostname.as_bytes(), port.as_bytes())
    }

    fn bypass_bytes(&self, hostname: &[u8], port: &[u8]) -> Option<DirectReason> {
        let addr = idna::idna_ascii(hostname).unwrap_or_else(|| hostname.to_vec());
        let hp = gonet::join_host_port(&addr, port);
        let Some((host, port)) = gonet::split_host_port(&hp) else {
            return Some(DirectReason::MalformedTarget {
                host_port: gostr::lossy(&hp),
            });
        };
        if host == b"localhost" {
            return Some(DirectReason::Loopback {
                host: "localhost".to_string(),
            });
        }
        let ip: Option<[u8; 16]> = if self.sem.domain_entries_skip_ip_hosts {
            gonet::parse_addr(host, true).ok().map(|a| a.ip16)
        } else {
            gonet::parse_ip(host, self.sem.ip_max_four_hex_digits)
        };
        if ip.as_ref().is_some_and(gonet::is_loopback) {
            return Some(DirectReason::Loopback {
                host: gostr::lossy(host),
            });
        }
        if self.wildcard {
            return Some(DirectReason::NoProxyWildcard { var: self.var });
        }
        let lower = gostr::to_lower(gostr::trim_space(host));
        if let Some(ip) = &ip {
            for e in &self.ip_entries {
                if e.matches(&lower, port, Some(ip), &self.sem) {
                    return Some(DirectReason::NoProxyEntry {
                        var: self.var,
                        entry: e.raw().into(),
                    });
                }
            }
        }
        for e in &self.domain_entries {
            if e.matches(&lower, port, ip.as_ref(), &self.sem) {
                return Some(DirectReason::NoProxyEntry {
                    var: self.var,
                    entry: e.raw().into(),
                });
            }
        }
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Go: the proxy function
// ---------------------------------------------------------------------------------------------

/// `parseProxy`: `Ok(None)` for an empty value, `Err(text)` when unparsable.
pub fn go_parse_proxy(value: &str, sem: &GoSemantics) -> Result<Option<gourl::Url>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    let first = gourl::parse(value, sem);
    let retry = match &first {
        Err(_) => true,
        Ok(u) if sem.keep_any_proxy_scheme => u.scheme.is_empty() || u.host.is_empty(),
        Ok(u) => !matches!(u.scheme.as_slice(), b"http" | b"https" | b"socks5"),
    };
    if retry && let Ok(u) = gourl::parse(&format!("http://{value}"), sem) {
        return Ok(Some(u));
    }
    match first {
        Ok(u) => Ok(Some(u)),
        Err(e) => Err(format!(
            "invalid proxy address {}: {e}",
            gostr::quote(value.as_bytes())
        )),
    }
}

/// The `host:port` net/http dials for a proxy URL (its `portMap`: http 80, https 443, socks5 and
/// socks5h 1080); `None` for other schemes without an explicit port.
pub fn go_proxy_dial_addr(proxy: &gourl::Url) -> Option<String> {
    let port: &[u8] = match (proxy.port(), proxy.scheme.as_slice()) {
        (p, _) if !p.is_empty() => p,
        (_, b"http") => b"80",
        (_, b"https") => b"443",
        (_, b"socks5" | b"socks5h") => b"1080",
        _ => return None,
    };
    let host = proxy.hostname();
    let host = idna::idna_ascii(host).unwrap_or_else(|| host.to_vec());
    Some(gostr::lossy(&gonet::join_host_port(&host, port)))
}

/// `http.ProxyFromEnvironment` for `request_url` with current Go ([`GoSemantics::CURRENT`]).
pub fn go_proxy_for(cfg: &GoProxyConfig, request_url: &str) -> Decision {
    go_proxy_for_with(cfg, request_url, &GoSemantics::CURRENT)
}

/// [`go_proxy_for`] with explicit Go semantics.
pub fn go_proxy_for_with(cfg: &GoProxyConfig, request_url: &str, sem: &GoSemantics) -> Decision {
    let req = match gourl::parse(request_url, sem) {
        Ok(u) => u,
        Err(e) => return Decision::InvalidRequestUrl(e),
    };
    let (value, var) = match req.scheme.as_slice() {
        b"https" => (&cfg.https_proxy, cfg.https_proxy_var),
        b"http" => (&cfg.http_proxy, cfg.http_proxy_var),
        other => {
            return Decision::Direct {
                reason: DirectReason::UnsupportedScheme {
                    scheme: gostr::lossy(other),
                },
            };
        }
    };
    let proxy = match go_parse_proxy(value, sem) {
        Ok(Some(p)) => p,
        Ok(None) => {
            let var = if req.scheme == b"https" {
                "HTTPS_PROXY/https_proxy"
            } else {
                "HTTP_PROXY/http_proxy"
            };
            return Decision::Direct {
                reason: DirectReason::NoProxyVariable { var },
            };
        }
        Err(error) => {
            return Decision::Direct {
                reason: DirectReason::UnparsableProxy {
                    var,
                    value: value.clone(),
                    error,
                },
            };
        }
    };
    if req.scheme == b"http" && cfg.cgi {
        return Decision::Error(
            "refusing to use HTTP_PROXY value in CGI environment; see golang.org/s/cgihttpproxy"
                .to_string(),
        );
    }
    let port: &[u8] = match req.port() {
        p if !p.is_empty() => p,
        _ if req.scheme == b"https" => b"443",
        _ => b"80",
    };
    let mut np = GoNoProxy::parse_with(&cfg.no_proxy, sem);
    np.var = cfg.no_proxy_var;
    if let Some(reason) = np.bypass_bytes(req.hostname(), port) {
        return Decision::Direct { reason };
    }
    Decision::Proxy {
        url: proxy.to_go_string(),
        var,
        dial: go_proxy_dial_addr(&proxy),
    }
}

// ---------------------------------------------------------------------------------------------
// curl
// ---------------------------------------------------------------------------------------------

/// curl's `Curl_check_noproxy`: the matching entry (`"*"` for the lone wildcard), if any.
/// `host` is the URL host without brackets.
pub fn curl_no_proxy_match(no_proxy: &str, host: &str) -> Option<String> {
    if host.is_empty() || no_proxy.is_empty() {
        return None;
    }
    if no_proxy == "*" {
        return Some("*".to_string());
    }
    enum Kind {
        Host,
        V4(std::net::Ipv4Addr),
        V6(std::net::Ipv6Addr),
    }
    let kind = if let Ok(v4) = host.parse::<std::net::Ipv4Addr>() {
        Kind::V4(v4)
    } else if let Ok(v6) = host
        .split('%')
        .next()
        .unwrap_or("")
        .parse::<std::net::Ipv6Addr>()
    {
        Kind::V6(v6)
    } else {
        Kind::Host
    };
    let name = host.strip_suffix('.').unwrap_or(host).as_bytes();
    let p = no_proxy.as_bytes();
    let blank = |c: u8| c == b' ' || c == b'\t';
    let mut i = 0;
    while i < p.len() {
        while i < p.len() && blank(p[i]) {
            i += 1;
        }
        let start = i;
        while i < p.len() && !blank(p[i]) && p[i] != b',' {
            i += 1;
        }
        let token = &p[start..i];
        if !token.is_empty() {
            let matched = match &kind {
                Kind::Host => {
                    let mut t = token.strip_suffix(b".").unwrap_or(token);
                    if let Some(rest) = t.strip_prefix(b".") {
                        t = rest;
                    }
                    if t.len() == name.len() {
                        t.eq_ignore_ascii_case(name)
                    } else if t.len() < name.len() {
                        name[name.len() - t.len() - 1] == b'.'
                            && t.eq_ignore_ascii_case(&name[name.len() - t.len()..])
                    } else {
                        false
                    }
                }
                Kind::V4(addr) => {
                    let tok = String::from_utf8_lossy(token);
                    let (net, bits) = split_bits(&tok);
                    match net.parse::<std::net::Ipv4Addr>() {
                        Ok(_) if bits > 32 => false,
                        Ok(check) if bits == 0 || bits == 32 => check == *addr,
                        Ok(check) => {
                            let mask = u32::MAX << (32 - bits);
                            (u32::from(*addr) ^ u32::from(check)) & mask == 0
                        }
                        Err(_) => false,
                    }
                }
                Kind::V6(addr) => {
                    let tok = String::from_utf8_lossy(token);
                    let (net, bits) = split_bits(&tok);
                    let bits = if bits == 0 { 128 } else { bits };
                    match net.parse::<std::net::Ipv6Addr>() {
                        Ok(_) if bits > 128 => false,
                        Ok(check) => {
                            let (a, c) = (addr.octets(), check.octets());
                            let (bytes, rest) = ((bits / 8) as usize, bits % 8);
                            // As in lib/noproxy.c: whole bytes compared, then the partial byte.
                            a[..bytes] == c[..bytes]
                                && (rest == 0
                                    || (a[bytes] ^ c[bytes]) & (0xffu8 << (8 - rest)) == 0)
                        }
                        Err(_) => false,
                    }
                }
            };
            if matched {
                return Some(String::from_utf8_lossy(token).into_owned());
            }
        }
        while i < p.len() && blank(p[i]) {
            i += 1;
        }
        if i >= p.len() || p[i] != b',' {
            break;
        }
        while i < p.len() && p[i] == b',' {
            i += 1;
        }
    }
    None
}

/// `atoi` of what follows a `/` in a curl NO_PROXY token (0 when absent or not a number).
fn split_bits(tok: &str) -> (&str, u32) {
    match tok.split_once('/') {
        None => (tok, 0),
        Some((net, bits)) => {
            let digits: String = bits
                .chars()
                .take_while(char::is_ascii_digit)
                .take(9)
                .collect();
            (net, digits.parse().unwrap_or(0))
        }
    }
}

/// Static names for the variables curl reads for a request scheme.
fn curl_vars(scheme: &str) -> (Option<&'static str>, Option<&'static str>) {
    match scheme {
        // http_proxy is read in lowercase only (CGI HTTP_PROXY header injection).
        "http" => (Some("http_proxy"), None),
        "https" => (Some("https_proxy"), Some("HTTPS_PROXY")),
        "ftp" => (Some("ftp_proxy"), Some("FTP_PROXY")),
        "ftps" => (Some("ftps_proxy"), Some("FTPS_PROXY")),
        "ws" => (Some("ws_proxy"), Some("WS_PROXY")),
        "wss" => (Some("wss_proxy"), Some("WSS_PROXY")),
        _ => (None, None),
    }
}

/// curl's choice of proxy for `request_url`, from the environment `env` (DOMAIN.md §2).
pub fn curl_proxy_for(env: impl Fn(&str) -> Option<String>, request_url: &str) -> Decision {
    let get = |k: &str| env(k).filter(|v| !v.is_empty());
    let (scheme, rest) = match request_url.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("http".to_string(), request_url),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(inner) = hostport.strip_prefix('[') {
        inner.split(']').next().unwrap_or("")
    } else {
        hostport.split(':').next().unwrap_or("")
    };
    if host.is_empty() {
        return Decision::InvalidRequestUrl(format!("no host in `{request_url}`"));
    }
    if let Some((v, var)) = get("no_proxy")
        .map(|v| (v, "no_proxy"))
        .or_else(|| get("NO_PROXY").map(|v| (v, "NO_PROXY")))
        && let Some(entry) = curl_no_proxy_match(&v, host)
    {
        let reason = if entry == "*" {
            DirectReason::NoProxyWildcard { var }
        } else {
            DirectReason::NoProxyEntry { var, entry }
        };
        return Decision::Direct { reason };
    }
    let (lower, upper) = curl_vars(&scheme);
    let mut found: Option<(String, &'static str)> = None;
    for name in [lower, upper, Some("all_proxy"), Some("ALL_PROXY")]
        .into_iter()
        .flatten()
    {
        if let Some(v) = get(name) {
            found = Some((v, name));
            break;
        }
    }
    let Some((value, var)) = found else {
        let var = match scheme.as_str() {
            "http" => "http_proxy/all_proxy/ALL_PROXY",
            "https" => "https_proxy/HTTPS_PROXY/all_proxy/ALL_PROXY",
            _ => "all_proxy/ALL_PROXY",
        };
        return Decision::Direct {
            reason: DirectReason::NoProxyVariable { var },
        };
    };
    let (pscheme, prest) = match value.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("http".to_string(), value.as_str()),
    };
    if !matches!(
        pscheme.as_str(),
        "http" | "https" | "socks4" | "socks" | "socks4a" | "socks5" | "socks5h"
    ) {
        return Decision::Error(format!("Unsupported proxy scheme for '{value}'"));
    }
    let pauth = prest.split(['/', '?', '#']).next().unwrap_or("");
    let (user, phostport) = match pauth.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, pauth),
    };
    let (phost, pport) = if let Some(inner) = phostport.strip_prefix('[') {
        let (h, after) = inner.split_once(']').unwrap_or((inner, ""));
        (format!("[{h}]"), after.strip_prefix(':').unwrap_or(""))
    } else {
        match phostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p),
            None => (phostport.to_string(), ""),
        }
    };
    if phost.is_empty() || phost == "[]" {
        return Decision::Error(format!("Unsupported proxy syntax in '{value}'"));
    }
    let port = if !pport.is_empty() && pport.bytes().all(|b| b.is_ascii_digit()) {
        pport.to_string()
    } else if pscheme == "https" {
        "443".to_string()
    } else {
        "1080".to_string()
    };
    let dial = format!("{phost}:{port}");
    let url = match user {
        Some(u) => format!("{pscheme}://{u}@{dial}"),
        None => format!("{pscheme}://{dial}"),
    };
    Decision::Proxy {
        url,
        var,
        dial: Some(dial),
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(http: &str, https: &str, no: &str) -> GoProxyConfig {
        GoProxyConfig {
            http_proxy: http.into(),
            https_proxy: https.into(),
            no_proxy: no.into(),
            ..GoProxyConfig::default()
        }
    }

    fn proxy_url(d: &Decision) -> Option<&str> {
        match d {
            Decision::Proxy { url, .. } => Some(url),
            _ => None,
        }
    }

    fn go(c: &GoProxyConfig, url: &str) -> Option<String> {
        proxy_url(&go_proxy_for(c, url)).map(str::to_string)
    }

    #[test]
    fn scheme_less_values_become_http() {
        let c = cfg("127.0.0.1:8080", "cache.corp.example.com:1234", "");
        assert_eq!(
            go(&c, "http://example.com").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            go(&c, "https://example.com").as_deref(),
            Some("http://cache.corp.example.com:1234")
        );
        // A single label parses as a scheme with an empty host, so it is re-parsed.
        let c = cfg("localhost", "", "");
        assert_eq!(
            go(&c, "http://example.com").as_deref(),
            Some("http://localhost")
        );
    }

    #[test]
    fn https_uses_only_https_proxy() {
        let c = cfg("http.proxy.tld", "", "");
        assert_eq!(
            go_proxy_for(&c, "https://registry-1.docker.io/v2/"),
            Decision::Direct {
                reason: DirectReason::NoProxyVariable {
                    var: "HTTPS_PROXY/https_proxy"
                }
            }
        );
        assert!(matches!(
            go_proxy_for(&c, "ftp://x/"),
            Decision::Direct {
                reason: DirectReason::UnsupportedScheme { .. }
            }
        ));
    }

    #[test]
    fn schemes_kept_and_legacy_reparse() {
        let c = cfg("foo://host", "socks5h://p:1080", "");
        assert_eq!(go(&c, "http://example.com").as_deref(), Some("foo://host"));
        assert_eq!(
            go(&c, "https://example.com").as_deref(),
            Some("socks5h://p:1080")
        );
        let old = GoSemantics::DEBIAN_BOOKWORM;
        let d = go_proxy_for_with(&c, "https://example.com", &old);
        assert_eq!(proxy_url(&d), Some("http://socks5h://p:1080"));
    }

    #[test]
    fn userinfo_is_escaped_like_go() {
        // A space is not valid in userinfo, so the value fails to parse; the retry with
        // `http://` prefixed then succeeds with host `http:` and the rest as the path.
        let c = cfg("", "http://user:p@ss w@proxy:3128", "");
        assert_eq!(
            go(&c, "https://x").as_deref(),
            Some("http://http://user:p@ss%20w@proxy:3128")
        );
        let c = cfg("", "http://us%65r:p@ss@proxy:3128", "");
        assert_eq!(
            go(&c, "https://x").as_deref(),
            Some("http://user:p%40ss@proxy:3128")
        );
        let c = cfg("", "http://a:b;c=d!$@proxy", "");
        // Go escapes the sub-delims `!'()*` in userinfo but keeps `;=$&+,`.
        assert_eq!(
            go(&c, "https://x").as_deref(),
            Some("http://a:b;c=d%21$@proxy")
        );
    }

    #[test]
    fn unparsable_values_are_ignored() {
        for v in ["[::1", "%zz", "a b:1", "http://%zz"] {
            let c = cfg("", v, "");
            let d = go_proxy_for(&c, "https://example.com");
            assert!(
                matches!(
                    d,
                    Decision::Direct {
                        reason: DirectReason::UnparsableProxy { .. }
                    }
                ),
                "{v}: {d:?}"
            );
        }
        // ":1" is re-parsed as "http://:1", which has an empty host but parses.
        let c = cfg("", ":1", "");
        assert_eq!(go(&c, "https://example.com").as_deref(), Some("http://:1"));
        // A broken URL is re-parsed with `http://` prefixed, which often succeeds: the host
        // becomes `http:` (dialled as http:80). Checked against Go 1.19 + x/net 0.7.0.
        let c = cfg("", "http://[::1", "");
        let d = go_proxy_for(&c, "https://example.com");
        assert_eq!(proxy_url(&d), Some("http://http://[::1"));
        assert!(matches!(d, Decision::Proxy { dial: Some(ref a), .. } if a == "http:80"));
    }

    #[test]
    fn cgi_refuses_http_proxy_only() {
        let mut c = cfg("http://10.1.2.3:8080", "https://secure.proxy.tld", "");
        c.cgi = true;
        assert!(matches!(
            go_proxy_for(&c, "http://example.com"),
            Decision::Error(_)
        ));
        assert_eq!(
            go(&c, "https://secure.tld/").as_deref(),
            Some("https://secure.proxy.tld")
        );
        // The CGI check comes before NO_PROXY and the loopback rule.
        assert!(matches!(
            go_proxy_for(&c, "http://localhost/"),
            Decision::Error(_)
        ));
    }

    #[test]
    fn precedence_upper_then_lower_empty_falls_through() {
        let env = |k: &str| match k {
            "HTTPS_PROXY" => Some(String::new()),
            "https_proxy" => Some("lower:3128".to_string()),
            "HTTP_PROXY" => Some("UP:1".to_string()),
            "http_proxy" => Some("low:1".to_string()),
            "ALL_PROXY" => Some("all:1".to_string()),
            _ => None,
        };
        let c = GoProxyConfig::from_env(env);
        assert_eq!(c.https_proxy, "lower:3128");
        assert_eq!(c.https_proxy_var, "https_proxy");
        assert_eq!(c.http_proxy, "UP:1");
        assert_eq!(c.http_proxy_var, "HTTP_PROXY");
        assert!(!c.cgi);
        let d = go_proxy_for(&c, "https://example.com");
        assert_eq!(
            d,
            Decision::Proxy {
                url: "http://lower:3128".into(),
                var: "https_proxy",
                dial: Some("lower:3128".into())
            }
        );
        // curl: lowercase wins, and http_proxy is lowercase only.
        assert_eq!(
            proxy_url(&curl_proxy_for(env, "http://example.com")),
            Some("http://low:1")
        );
        let only_upper = |k: &str| (k == "HTTP_PROXY").then(|| "up:1".to_string());
        assert!(matches!(
            curl_proxy_for(only_upper, "http://example.com"),
            Decision::Direct { .. }
        ));
        let all = |k: &str| (k == "ALL_PROXY").then(|| "all".to_string());
        assert_eq!(
            proxy_url(&curl_proxy_for(all, "https://x")),
            Some("http://all:1080")
        );
    }

    #[test]
    fn no_proxy_rules() {
        let np = parse_no_proxy(
            "foobar.com, .barbaz.net, *.wildcard.io, 192.168.1.1, 192.168.1.2:81, \
             192.168.1.3:80, 10.0.0.0/30, 2001:db8::52:0:1, [2001:db8::52:0:2]:443, \
             [2001:db8::52:0:3]:80, 2002:db8:a::45/64",
        );
        let by = |h: &str| np.bypass(h, "80").is_some();
        for h in [
            "localhost",
            "127.0.0.1",
            "127.0.0.2",
            "::1",
            "192.168.1.1",
            "192.168.1.3",
        ] {
            assert!(by(h), "{h}");
        }
        for h in [
            "10.0.0.2",
            "2001:db8::52:0:1",
            "2001:db8::52:0:3",
            "2002:db8:a::123",
        ] {
            assert!(by(h), "{h}");
        }
        for h in [
            "www.barbaz.net",
            "foobar.com",
            "www.foobar.com",
            "nested.wildcard.io",
        ] {
            assert!(by(h), "{h}");
        }
        for h in [
            "::2",
            "192.168.1.2",
            "192.168.1.4",
            "2001:db8::52:0:2",
            "fe80::424b:c8be:1643:a1b6",
        ] {
            assert!(!by(h), "{h}");
        }
        for h in [
            "barbaz.net",
            "foofoobar.com",
            "baz.com",
            "localhost.net",
            "local.localhost",
        ] {
            assert!(!by(h), "{h}");
        }
        for h in ["barbarbaz.net", "wildcard.io", "awildcard.io"] {
            assert!(!by(h), "{h}");
        }
        assert_eq!(
            np.bypass("www.foobar.com", "443"),
            Some(DirectReason::NoProxyEntry {
                var: "NO_PROXY",
                entry: "foobar.com".into()
            })
        );
        assert!(parse_no_proxy(":1").bypass("example.com", "80").is_none());
        assert_eq!(parse_no_proxy(":1").ignored, vec![":1".to_string()]);
        assert!(parse_no_proxy("a.com, *").bypass("anything", "1").is_some());
    }

    #[test]
    fn domain_entries_and_ip_hosts() {
        let c = cfg("proxy", "", "example.com");
        // A zoned IPv6 host whose zone looks like the domain: current Go proxies it.
        assert_eq!(
            go(&c, "http://[1000::%25.example.com]:123").as_deref(),
            Some("http://proxy")
        );
        let old = go_proxy_for_with(
            &c,
            "http://[1000::%25.example.com]:123",
            &GoSemantics {
                url_strict_ip_literals: false,
                ..GoSemantics::DEBIAN_BOOKWORM
            },
        );
        assert!(matches!(old, Decision::Direct { .. }));
        let c = cfg("proxy", "", "0.1");
        assert_eq!(go(&c, "http://10.0.0.1/").as_deref(), Some("http://proxy"));
        let old = go_proxy_for_with(&c, "http://10.0.0.1/", &GoSemantics::DEBIAN_BOOKWORM);
        assert!(matches!(old, Decision::Direct { .. }));
        // Loopback with a zone is loopback in current Go.
        let c = cfg("proxy", "", "");
        assert!(matches!(
            go_proxy_for(&c, "http://[::1%25lo]/"),
            Decision::Direct { .. }
        ));
    }

    #[test]
    fn uppercase_localhost_is_not_special() {
        let c = cfg("proxy", "", "");
        assert_eq!(
            go(&c, "http://LOCALHOST:5000/").as_deref(),
            Some("http://proxy")
        );
        assert!(matches!(
            go_proxy_for(&c, "http://localhost:5000/"),
            Decision::Direct { .. }
        ));
        let c = cfg("proxy", "", "localhost");
        assert!(matches!(
            go_proxy_for(&c, "http://LOCALHOST:5000/"),
            Decision::Direct { .. }
        ));
    }

    #[test]
    fn idn_no_proxy() {
        let c = cfg("proxy", "", ".示例.com");
        assert!(matches!(
            go_proxy_for(&c, "http://www.示例.com"),
            Decision::Direct { .. }
        ));
        let c = cfg("proxy", "", "xn--fsq092h.com");
        assert!(matches!(
            go_proxy_for(&c, "http://www.示例.com"),
            Decision::Direct { .. }
        ));
        let c = cfg("proxy", "", "示例.com");
        assert!(matches!(
            go_proxy_for(&c, "http://www.xn--fsq092h.com"),
            Decision::Direct { .. }
        ));
        assert_eq!(
            idna::encode("xn--", "bücher").as_deref(),
            Some("xn--bcher-kva")
        );
        assert_eq!(idna::decode("bcher-kva").as_deref(), Some("bücher"));
        assert_eq!(
            idna::lookup_to_ascii("Bücher.Example").as_deref(),
            Some("xn--bcher-kva.example")
        );
        assert_eq!(idna::lookup_to_ascii("a_b.ü"), None);
    }

    #[test]
    fn url_string_and_strictness() {
        let cur = GoSemantics::CURRENT;
        let old = GoSemantics::DEBIAN_BOOKWORM;
        let s = |u: &str, sem: &GoSemantics| gourl::parse(u, sem).map(|u| u.to_go_string());
        assert_eq!(
            s("HTTP://User@H.example:80/p?q#f", &cur).as_deref(),
            Ok("http://User@H.example:80/p?q#f")
        );
        assert_eq!(
            s("http://ex%C3%A4mple.com/", &cur).as_deref(),
            Ok("http://ex%C3%A4mple.com/")
        );
        assert_eq!(
            s("http://exämple.com", &cur).as_deref(),
            Ok("http://ex%C3%A4mple.com")
        );
        assert!(s("http://[1.2.3.4]/", &cur).is_err());
        assert!(s("http://[1.2.3.4]/", &old).is_ok());
        assert!(s("http://::1:3128", &cur).is_err());
        assert_eq!(s("http://::1:3128", &old).as_deref(), Ok("http://::1:3128"));
        assert_eq!(s("foo://::1:3128", &cur).as_deref(), Ok("foo://::1:3128"));
        assert_eq!(
            s("http://[::1", &cur),
            Err("parse \"http://[::1\": missing ']' in host".to_string())
        );
        assert_eq!(
            s("http://h:8é/", &cur),
            Err("parse \"http://h:8é/\": invalid port \":8é\" after host".to_string())
        );
        assert_eq!(
            s("http://h/%zz", &cur),
            Err("parse \"http://h/%zz\": invalid URL escape \"%zz\"".to_string())
        );
    }

    #[test]
    fn cidr_and_ip_details() {
        let np = parse_no_proxy("::ffff:10.0.0.0/104, 10.1.0.0/16");
        assert!(np.bypass("10.2.3.4", "80").is_some());
        assert!(np.bypass("::ffff:10.1.9.9", "80").is_some());
        assert!(np.bypass("11.0.0.1", "80").is_none());
        assert!(parse_no_proxy("::/0").bypass("1.2.3.4", "80").is_none());
        assert!(parse_no_proxy("::/0").bypass("2001:db8::1", "80").is_some());
        assert!(gonet::parse_ip(b"00001::", true).is_none());
        assert!(gonet::parse_ip(b"00001::", false).is_some());
        assert!(gonet::parse_ip(b"1.2.3.04", true).is_none());
    }

    #[test]
    fn curl_rules() {
        assert_eq!(
            curl_no_proxy_match("example.com", "www.example.com").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            curl_no_proxy_match(".example.com", "example.com").as_deref(),
            Some(".example.com")
        );
        assert_eq!(
            curl_no_proxy_match("*.example.com", "www.example.com"),
            None
        );
        assert_eq!(curl_no_proxy_match("ample.com", "example.com"), None);
        assert_eq!(
            curl_no_proxy_match("10.0.0.0/8", "10.1.2.3").as_deref(),
            Some("10.0.0.0/8")
        );
        assert_eq!(curl_no_proxy_match("a.com, *", "x"), None);
        assert_eq!(curl_no_proxy_match("*", "x").as_deref(), Some("*"));
        // A space-separated list only uses its first token.
        assert_eq!(curl_no_proxy_match("a.com b.com", "b.com"), None);
        let env = |k: &str| match k {
            "https_proxy" => Some("proxy.corp".to_string()),
            "no_proxy" => Some("internal".to_string()),
            _ => None,
        };
        assert_eq!(
            curl_proxy_for(env, "https://registry.example/v2/"),
            Decision::Proxy {
                url: "http://proxy.corp:1080".into(),
                var: "https_proxy",
                dial: Some("proxy.corp:1080".into())
            }
        );
        assert!(matches!(
            curl_proxy_for(env, "https://x.internal/"),
            Decision::Direct { .. }
        ));
        let bad = |k: &str| (k == "https_proxy").then(|| "foo://p".to_string());
        assert!(matches!(
            curl_proxy_for(bad, "https://x/"),
            Decision::Error(_)
        ));
    }

    #[test]
    fn never_panics_on_random_input() {
        let alphabet: Vec<char> = "ab:/@[]%25.*,?#-_ xnXN0123456789füß示💩\u{3002}\u{200d}\t"
            .chars()
            .collect();
        let mut state: u64 = 0x1234_5678;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let word = |next: &mut dyn FnMut() -> u64| -> String {
            let len = (next() % 24) as usize;
            (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect()
        };
        for _ in 0..20_000 {
            let (a, b, c) = (word(&mut next), word(&mut next), word(&mut next));
            let cfg = GoProxyConfig {
                http_proxy: a.clone(),
                https_proxy: format!("http://{b}"),
                no_proxy: c.clone(),
                cgi: next() % 2 == 0,
                ..GoProxyConfig::default()
            };
            for url in [
                format!("https://{a}"),
                format!("http://{c}:{b}/"),
                b.clone(),
            ] {
                for sem in [GoSemantics::CURRENT, GoSemantics::DEBIAN_BOOKWORM] {
                    let d = go_proxy_for_with(&cfg, &url, &sem);
                    let _ = d.to_string();
                }
                let _ = curl_proxy_for(|_| Some(c.clone()), &url);
            }
            let _ = curl_no_proxy_match(&c, &a);
            let _ = idna::lookup_to_ascii(&a);
            let _ = idna::decode(&b);
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        let odd = [
            "",
            "[",
            "]",
            "[]",
            "[:",
            "http://[",
            "http://]",
            "http://[]",
            "http://[%25]",
            "%",
            "%2",
            "http://%25",
            "http://@",
            "http://:@:",
            "ht tp://x",
            "http://a]b/",
            "http://a[b/",
            "//",
            "///",
            "http:",
            "http:/",
            "http:?",
            "*",
            "#",
            "http://x#%",
            "http://[::1%25]",
            "http://[::1%25%]",
            "xn--",
            "http://xn--/",
            "http://xn--ß.a/",
            "http://é.xn--99999999999999999999.com/",
            "\u{0}",
            "http://\u{7f}",
            "::",
            ":",
        ];
        for a in odd {
            for b in odd {
                let c = GoProxyConfig {
                    http_proxy: a.into(),
                    https_proxy: a.into(),
                    no_proxy: format!("{a},{b},*.{b}"),
                    cgi: false,
                    ..GoProxyConfig::default()
                };
                for sem in [GoSemantics::CURRENT, GoSemantics::DEBIAN_BOOKWORM] {
                    let _ = go_proxy_for_with(&c, b, &sem);
                    let _ = go_proxy_for_with(&c, &format!("http://{b}/"), &sem);
                }
                let _ = curl_proxy_for(|_| Some(a.to_string()), b);
                let _ = curl_no_proxy_match(a, b);
                let _ = idna::lookup_to_ascii(&format!("{a}.é{b}"));
            }
        }
    }
}
