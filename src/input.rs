//! Streaming log normaliser: turns whatever the user pasted into clean text
//! lines with bounded memory.
//!
//! Handles UTF-8 (with or without BOM), UTF-16LE/BE (with BOM, or detected by
//! its NUL pattern: PowerShell 5's `>` writes UTF-16), invalid UTF-8 (replaced),
//! CRLF, `\r` progress redraws (each redraw is scanned), ANSI CSI/OSC escape
//! sequences, NUL and other control bytes, escaped quotes from logfmt/klog
//! (`\"`), hard-wrapped quoted URLs, and lines of any length (scanned in
//! overlapping windows, so an error at the end of a 1 GB line is still seen).

use std::borrow::Cow;
use std::io::{self, Read};

/// Longest piece of a line handed to the classifier at once.
pub const WINDOW: usize = 64 * 1024;
/// Bytes a window shares with the next, so a message across a boundary is seen.
pub const OVERLAP: usize = 4 * 1024;
const READ_CHUNK: usize = 256 * 1024;
/// A line with an open quote is joined with the next only below this length.
const JOIN_LIMIT: usize = 8 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf16Le => "utf-16le",
            Encoding::Utf16Be => "utf-16be",
        }
    }
}

/// What the normaliser saw; the caller decides what is an error.
#[derive(Debug, Clone, Default)]
pub struct InputStats {
    pub bytes: u64,
    pub lines: u64,
    pub encoding: Option<Encoding>,
    /// Bytes that are NUL or C0 controls other than tab, CR, LF and ESC.
    pub control_bytes: u64,
    /// Bytes that were not valid UTF-8.
    pub invalid_bytes: u64,
    /// Whether any non-whitespace text was seen.
    pub has_text: bool,
}

impl InputStats {
    /// Looks like a binary file rather than a text log.
    pub fn looks_binary(&self) -> bool {
        self.bytes > 0 && (self.control_bytes + self.invalid_bytes) * 10 > self.bytes
    }
}

/// Reads `r` to the end, calling `f(line_number, text)` for every normalised
/// line segment. A physical line may produce several segments (progress
/// redraws, windows of a long line); they share its line number.
pub fn for_each_line<R: Read>(mut r: R, mut f: impl FnMut(u64, &str)) -> io::Result<InputStats> {
    let mut stats = InputStats::default();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut utf8: Vec<u8> = Vec::with_capacity(READ_CHUNK + 4);
    let mut decoder: Option<Utf16Decoder> = None;
    let mut lines = LineSplitter::default();
    let mut first = true;
    loop {
        // The first chunk is filled to at least 1 KiB (a pipe may deliver a
        // few bytes at a time) so the encoding can be sniffed.
        let want = if first { 1024 } else { 1 };
        let mut n = 0;
        while n < want {
            match r.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        if n == 0 {
            break;
        }
        stats.bytes += n as u64;
        let mut chunk = &buf[..n];
        if first {
            first = false;
            let (enc, bom) = sniff(chunk);
            stats.encoding = Some(enc);
            chunk = &chunk[bom..];
            if enc != Encoding::Utf8 {
                decoder = Some(Utf16Decoder::new(enc));
            }
        }
        let bytes: &[u8] = match decoder.as_mut() {
            Some(d) => {
                utf8.clear();
                d.decode(chunk, &mut utf8);
                &utf8
            }
            None => chunk,
        };
        lines.feed(bytes, &mut stats, &mut f);
    }
    lines.finish(&mut stats, &mut f);
    Ok(stats)
}

/// Detects the encoding from a BOM or, without one, from where the NUL bytes
/// sit in the first bytes. Returns the encoding and the BOM length.
fn sniff(b: &[u8]) -> (Encoding, usize) {
    if b.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return (Encoding::Utf8, 3);
    }
    if b.starts_with(&[0xFF, 0xFE]) {
        return (Encoding::Utf16Le, 2);
    }
    if b.starts_with(&[0xFE, 0xFF]) {
        return (Encoding::Utf16Be, 2);
    }
    let sample = &b[..b.len().min(1024) & !1];
    if sample.len() >= 8 {
        let pairs = sample.len() / 2;
        let even_nul = sample.iter().step_by(2).filter(|&&x| x == 0).count();
        let odd_nul = sample
            .iter()
            .skip(1)
            .step_by(2)
            .filter(|&&x| x == 0)
            .count();
        if odd_nul * 10 >= pairs * 7 && even_nul * 20 < pairs {
            return (Encoding::Utf16Le, 0);
        }
        if even_nul * 10 >= pairs * 7 && odd_nul * 20 < pairs {
            return (Encoding::Utf16Be, 0);
        }
    }
    (Encoding::Utf8, 0)
}

/// Streaming UTF-16 to UTF-8 transcoder (keeps an odd byte and a high surrogate
/// across chunks). Unpaired surrogates become U+FFFD.
struct Utf16Decoder {
    enc: Encoding,
    odd: Option<u8>,
    high: Option<u16>,
}

impl Utf16Decoder {
    fn new(enc: Encoding) -> Self {
        Utf16Decoder {
            enc,
            odd: None,
            high: None,
        }
    }

    fn decode(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        let mut units = Vec::with_capacity(input.len() / 2 + 1);
        if let Some(o) = self.odd.take() {
            if let Some((&b, rest)) = input.split_first() {
                units.push(self.unit([o, b]));
                input = rest;
            } else {
                self.odd = Some(o);
                return;
            }
        }
        let mut it = input.chunks_exact(2);
        for pair in it.by_ref() {
            units.push(self.unit([pair[0], pair[1]]));
        }
        if let [b] = it.remainder() {
            self.odd = Some(*b);
        }
        let mut tmp = [0u8; 4];
        for u in units {
            let c = match (self.high.take(), u) {
                (None, 0xD800..=0xDBFF) => {
                    self.high = Some(u);
                    continue;
                }
                (Some(h), 0xDC00..=0xDFFF) => {
                    let cp = 0x10000 + (((h as u32) - 0xD800) << 10) + ((u as u32) - 0xDC00);
                    char::from_u32(cp).unwrap_or('\u{FFFD}')
                }
                (Some(_), 0xD800..=0xDBFF) => {
                    out.extend_from_slice("\u{FFFD}".as_bytes());
                    self.high = Some(u);
                    continue;
                }
                (Some(_), _) => {
                    out.extend_from_slice("\u{FFFD}".as_bytes());
                    char::from_u32(u as u32).unwrap_or('\u{FFFD}')
                }
                (None, _) => char::from_u32(u as u32).unwrap_or('\u{FFFD}'),
            };
            out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
        }
    }

    fn unit(&self, b: [u8; 2]) -> u16 {
        match self.enc {
            Encoding::Utf16Be => u16::from_be_bytes(b),
            _ => u16::from_le_bytes(b),
        }
    }
}

/// Splits UTF-8 bytes into lines, windowing overlong ones.
#[derive(Default)]
struct LineSplitter {
    pending: Vec<u8>,
    /// Number of the line being assembled (1-based once started).
    line: u64,
    /// Whether `pending` continues a line already partly emitted as windows.
    windowed: bool,
    /// A short line with an open quote, waiting to be joined with the next.
    carry: Option<(u64, String)>,
    scratch: Vec<u8>,
}

impl LineSplitter {
    fn feed(&mut self, mut bytes: &[u8], stats: &mut InputStats, f: &mut impl FnMut(u64, &str)) {
        while !bytes.is_empty() {
            match memchr(b'\n', bytes) {
                Some(i) => {
                    self.pending.extend_from_slice(&bytes[..i]);
                    bytes = &bytes[i + 1..];
                    self.end_line(stats, f);
                }
                None => {
                    self.pending.extend_from_slice(bytes);
                    bytes = &[];
                    while self.pending.len() > WINDOW + OVERLAP {
                        self.emit_window(stats, f);
                    }
                }
            }
        }
    }

    fn emit_window(&mut self, stats: &mut InputStats, f: &mut impl FnMut(u64, &str)) {
        if !self.windowed {
            self.line += 1;
            self.windowed = true;
        }
        let mut cut = WINDOW;
        // Do not split a UTF-8 sequence.
        while cut > 0 && (self.pending[cut] & 0xC0) == 0x80 {
            cut -= 1;
        }
        let window: Vec<u8> = self.pending[..cut].to_vec();
        self.process(&window, stats, f, false);
        let keep_from = cut.saturating_sub(OVERLAP);
        self.pending.drain(..keep_from);
    }

    fn end_line(&mut self, stats: &mut InputStats, f: &mut impl FnMut(u64, &str)) {
        if !self.windowed {
            self.line += 1;
        }
        self.windowed = false;
        stats.lines += 1;
        let line = std::mem::take(&mut self.pending);
        self.process(&line, stats, f, true);
        self.pending = line;
        self.pending.clear();
    }

    fn finish(&mut self, stats: &mut InputStats, f: &mut impl FnMut(u64, &str)) {
        if !self.pending.is_empty() || self.windowed {
            self.end_line(stats, f);
        }
        if let Some((n, s)) = self.carry.take() {
            f(n, &s);
        }
    }

    /// Normalises one physical line (or window) and hands its segments on.
    fn process(
        &mut self,
        raw: &[u8],
        stats: &mut InputStats,
        f: &mut impl FnMut(u64, &str),
        whole: bool,
    ) {
        let line_no = self.line;
        let mut clean = std::mem::take(&mut self.scratch);
        clean.clear();
        strip_controls(raw, &mut clean, stats);
        for seg in clean.split(|&b| b == b'\r') {
            let text = decode_utf8(seg, stats);
            let text = unescape_quotes(&text);
            let t = text.trim_end();
            if t.trim_start().is_empty() {
                continue;
            }
            stats.has_text = true;
            if !whole {
                f(line_no, t);
                continue;
            }
            if let Some((n, mut prev)) = self.carry.take() {
                prev.push_str(t.trim_start());
                f(n, &prev);
                continue;
            }
            if t.len() < JOIN_LIMIT && opens_quoted_token(t) {
                self.carry = Some((line_no, t.to_string()));
            } else {
                f(line_no, t);
            }
        }
        self.scratch = clean;
    }
}

/// True when the line ends inside a quoted token with no space in it so far: a
/// URL that a terminal or an issue tracker hard-wrapped.
fn opens_quoted_token(t: &str) -> bool {
    let quotes = t.bytes().filter(|&b| b == b'"').count();
    if quotes % 2 == 0 {
        return false;
    }
    let after = &t[t.rfind('"').map_or(0, |i| i + 1)..];
    after.len() >= 8 && !after.contains(char::is_whitespace) && after.contains("://")
}

/// Drops ANSI escape sequences (CSI, OSC, two- and three-byte escapes) and
/// turns NUL and other C0 controls into spaces; keeps `\r` and tabs.
fn strip_controls(raw: &[u8], out: &mut Vec<u8>, stats: &mut InputStats) {
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == 0x1B {
            i = skip_escape(raw, i);
            continue;
        }
        if b < 0x20 && b != b'\t' && b != b'\r' || b == 0x7F {
            stats.control_bytes += 1;
            out.push(b' ');
        } else {
            out.push(b);
        }
        i += 1;
    }
}

/// Returns the index after the escape sequence starting at `i`.
fn skip_escape(raw: &[u8], i: usize) -> usize {
    match raw.get(i + 1) {
        Some(b'[') => {
            let mut j = i + 2;
            while j < raw.len() && (0x20..=0x3F).contains(&raw[j]) {
                j += 1;
            }
            (j + 1).min(raw.len())
        }
        Some(b']') | Some(b'P') | Some(b'_') | Some(b'^') => {
            // OSC / DCS / APC / PM: until BEL or ESC '\'.
            let mut j = i + 2;
            while j < raw.len() {
                if raw[j] == 0x07 {
                    return j + 1;
                }
                if raw[j] == 0x1B && raw.get(j + 1) == Some(&b'\\') {
                    return j + 2;
                }
                j += 1;
            }
            raw.len()
        }
        Some(b'(') | Some(b')') | Some(b'*') | Some(b'+') | Some(b'#') => (i + 3).min(raw.len()),
        Some(_) => i + 2,
        None => i + 1,
    }
}

fn decode_utf8<'a>(seg: &'a [u8], stats: &mut InputStats) -> Cow<'a, str> {
    match std::str::from_utf8(seg) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            let s = String::from_utf8_lossy(seg);
            stats.invalid_bytes += s.matches('\u{FFFD}').count() as u64;
            s
        }
    }
}

/// `\"` as written by logfmt (dockerd, containerd) and klog becomes `"`.
fn unescape_quotes(s: &str) -> Cow<'_, str> {
    if s.contains("\\\"") {
        Cow::Owned(s.replace("\\\\\"", "\"").replace("\\\"", "\""))
    } else {
        Cow::Borrowed(s)
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<(u64, String)> {
        let mut v = Vec::new();
        for_each_line(input, |n, s| v.push((n, s.to_string()))).unwrap();
        v
    }

    #[test]
    fn crlf_and_progress_redraws() {
        let v = lines(b"a\r\nb 10%\rb 20%\rerror x\r\n");
        assert_eq!(
            v,
            vec![
                (1, "a".into()),
                (2, "b 10%".into()),
                (2, "b 20%".into()),
                (2, "error x".into())
            ]
        );
    }

    #[test]
    fn ansi_is_stripped() {
        let v = lines(b"\x1b[31mx509:\x1b[0m bad \x1b]0;title\x07end\n");
        assert_eq!(v, vec![(1, "x509: bad end".into())]);
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let text = "Error response from daemon: EOF\r\nsecond\r\n";
        let mut le: Vec<u8> = vec![0xFF, 0xFE];
        le.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
        let mut be: Vec<u8> = Vec::new();
        be.extend(text.encode_utf16().flat_map(|u| u.to_be_bytes()));
        let want = vec![
            (1, "Error response from daemon: EOF".to_string()),
            (2, "second".to_string()),
        ];
        assert_eq!(lines(&le), want);
        assert_eq!(lines(&be), want);
    }

    #[test]
    fn wrapped_quoted_url_is_joined() {
        let v = lines(b"Get \"https://production.cloudflare.docker.com/registry-v2/blobs/sha256/19/\n  data?verify=1\": dial tcp 1.2.3.4:443: i/o timeout\nnext\n");
        assert_eq!(v[0].0, 1);
        assert!(v[0].1.contains("/19/data?verify=1\": dial tcp"), "{v:?}");
        assert_eq!(v[1], (3, "next".to_string()));
    }

    #[test]
    fn long_line_error_at_end_is_seen() {
        let mut input = vec![b'x'; 3 * WINDOW + 123];
        input.extend_from_slice(
            b" proxyconnect tcp: dial tcp 127.0.0.1:1: connect: connection refused",
        );
        let v = lines(&input);
        assert!(v.iter().all(|(n, _)| *n == 1));
        assert!(v.iter().any(|(_, s)| {
            s.contains("proxyconnect tcp: dial tcp 127.0.0.1:1: connect: connection refused")
        }));
        assert!(v.iter().all(|(_, s)| s.len() <= WINDOW + OVERLAP));
    }

    #[test]
    fn binary_is_flagged() {
        let data: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 256) as u8).collect();
        let stats = for_each_line(&data[..], |_, _| {}).unwrap();
        assert!(stats.looks_binary());
        let text = for_each_line(&b"hello\n"[..], |_, _| {}).unwrap();
        assert!(!text.looks_binary());
    }

    #[test]
    fn escaped_quotes_are_unescaped() {
        let v = lines(br#"err="failed to pull and unpack image \"docker.io/library/nginx:1\": x""#);
        assert!(v[0].1.contains(r#"image "docker.io/library/nginx:1""#));
    }
}
