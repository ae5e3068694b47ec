//! Streaming log normaliser: turns whatever the user pasted into clean text
//! lines with bounded memory.
//!
//! Handles UTF-8 (with or without BOM), UTF-16LE/BE (with BOM, or detected by
//! its NUL pattern: PowerShell 5's `>` writes UTF-16), invalid UTF-8 (replaced),
//! CRLF, `\r` progress redraws (each redraw is scanned), ANSI CSI/OSC escape
//! sequences, NUL and other control bytes, escaped quotes from logfmt/klog
//! (`\"`), hard-wrapped quoted URLs, and lines of any length (scanned in
//! overlapping windows, so an error at the end of a 1 GB line is still seen).
//!
//! Past the first chunk, [`read_lines`] does not normalise every line: a
//! raw-byte prefilter (`Prescan`) finds the lines that may hold one of the
//! sink's keywords, and only those (and lines the prefilter cannot judge from
//! raw bytes: escapes, control bytes, invalid UTF-8, quoted URLs, overlong
//! lines) go through the normaliser; the others are only counted. That is
//! what lets `explain` read a log about as fast as `rg` can search it.

use std::borrow::Cow;
use std::io::{self, Read};

use aho_corasick::{AhoCorasick, AhoCorasickKind, PatternID};

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

/// Where normalised lines go. See [`read_lines`].
pub trait LineSink {
    /// One normalised line segment and its physical line number.
    fn line(&mut self, line_no: u64, text: &str);

    /// Literals (ASCII, matched in any case) of which a line must contain one
    /// to matter: the sink promises that a line holding none of them would
    /// have no effect, so the reader may skip it without normalising it. The
    /// number is a generation, changed whenever the list changes. `None`
    /// (the default): every line matters.
    fn needles(&self) -> Option<(u64, &[String])> {
        None
    }
}

/// A closure as a [`LineSink`] that wants every line.
struct EveryLine<F>(F);

impl<F: FnMut(u64, &str)> LineSink for EveryLine<F> {
    fn line(&mut self, line_no: u64, text: &str) {
        (self.0)(line_no, text)
    }
}

/// Reads `r` to the end, calling `f(line_number, text)` for every normalised
/// line segment. A physical line may produce several segments (progress
/// redraws, windows of a long line); they share its line number.
pub fn for_each_line<R: Read>(r: R, f: impl FnMut(u64, &str)) -> io::Result<InputStats> {
    read_lines_after(r, &mut EveryLine(f), u64::MAX)
}

/// Input below this size is read line by line: building the raw-byte
/// prefilter would cost more than it saves.
pub const FAST_AFTER: u64 = 64 * 1024;

/// Like [`for_each_line`], for a sink that names its [`LineSink::needles`]:
/// past the first [`FAST_AFTER`] bytes, lines are searched for the needles in
/// the raw bytes and only those that may hold one (or that need the full
/// normaliser to tell: escape sequences, control bytes, invalid UTF-8, a
/// quoted URL that may be wrapped, overlong lines) are normalised and handed
/// on. The segments the sink sees, and their line numbers, are the same
/// either way, minus lines without a needle.
pub fn read_lines<R: Read, S: LineSink + ?Sized>(r: R, sink: &mut S) -> io::Result<InputStats> {
    read_lines_after(r, sink, FAST_AFTER)
}

/// [`read_lines`] with the raw-byte prefilter starting after `fast_after`
/// bytes (`0`: at once; `u64::MAX`: never). For tests.
pub fn read_lines_after<R: Read, S: LineSink + ?Sized>(
    mut r: R,
    sink: &mut S,
    fast_after: u64,
) -> io::Result<InputStats> {
    let mut stats = InputStats::default();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut utf8: Vec<u8> = Vec::new();
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
        let fast = stats.bytes >= fast_after;
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
        lines.feed(bytes, &mut stats, sink, fast);
    }
    lines.finish(&mut stats, sink);
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
    /// The raw-byte prefilter, once the fast path has started.
    scan: Option<Scan>,
}

/// A [`Prescan`] and how well it is doing.
struct Scan {
    /// The needle generation it was built for.
    generation: u64,
    prescan: Prescan,
    /// Lines and bytes passed since it was built.
    lines: u64,
    bytes: u64,
    /// Lines it sent to the exact check that held no needle.
    misses: u64,
}

/// A prefilter whose 4-grams, chosen on an earlier sample, keep sending
/// more than 1 line in 16 to the exact check for nothing is rebuilt on the
/// current chunk, at most once per this many bytes.
const RETUNE_AFTER: u64 = if cfg!(test) { 512 << 10 } else { 8 << 20 };

impl LineSplitter {
    fn feed<S: LineSink + ?Sized>(
        &mut self,
        mut bytes: &[u8],
        stats: &mut InputStats,
        sink: &mut S,
        fast: bool,
    ) {
        if !self.pending.is_empty() || self.windowed {
            // Finish the line the previous chunk left open.
            match find_byte(bytes, b'\n') {
                Some(i) => {
                    self.pending.extend_from_slice(&bytes[..i]);
                    bytes = &bytes[i + 1..];
                    self.end_line(stats, sink);
                }
                None => {
                    self.pending.extend_from_slice(bytes);
                    self.window_pending(stats, sink);
                    return;
                }
            }
        }
        let split = rfind_byte(bytes, b'\n').map_or(0, |i| i + 1);
        let (body, tail) = bytes.split_at(split);
        if fast {
            self.fast_lines(body, stats, sink);
        } else {
            self.slow_lines(body, stats, sink);
        }
        if !tail.is_empty() {
            self.pending.extend_from_slice(tail);
            self.window_pending(stats, sink);
        }
    }

    /// Every complete line of `body` (which ends with `\n`) through the normaliser.
    fn slow_lines<S: LineSink + ?Sized>(
        &mut self,
        body: &[u8],
        stats: &mut InputStats,
        sink: &mut S,
    ) {
        let mut pos = 0;
        while pos < body.len() {
            let end = pos + find_byte(&body[pos..], b'\n').unwrap_or(body.len() - pos);
            self.whole_line(&body[pos..end], stats, sink);
            pos = end + 1;
        }
    }

    /// The complete lines of `body` (which ends with `\n`): those that cannot
    /// hold a needle are counted, not normalised. A line is skipped only when
    /// the normaliser would turn it into segments without a needle and would
    /// change no state but the counters: no quoted URL waiting to be joined,
    /// text already seen, and stats updated exactly as it would update them.
    fn fast_lines<S: LineSink + ?Sized>(
        &mut self,
        body: &[u8],
        stats: &mut InputStats,
        sink: &mut S,
    ) {
        if let Some(s) = self.scan.as_mut() {
            s.bytes += body.len() as u64;
            if s.bytes >= RETUNE_AFTER && s.misses > 1024 && s.misses * 16 > s.lines {
                // Rebuilt below, on this chunk.
                self.scan = None;
            }
        }
        let mut pos = 0;
        // Next escape/control byte and next possible needle at or after `pos`
        // (`usize::MAX`: not searched yet; `body.len()`: none).
        let mut next_special = usize::MAX;
        let mut next_needle = usize::MAX;
        while pos < body.len() {
            if self.carry.is_some() || !stats.has_text {
                let end = pos + find_byte(&body[pos..], b'\n').unwrap_or(body.len() - pos);
                self.whole_line(&body[pos..end], stats, sink);
                pos = end + 1;
                continue;
            }
            let Some((generation, needles)) = sink.needles() else {
                return self.slow_lines(&body[pos..], stats, sink);
            };
            if self
                .scan
                .as_ref()
                .is_none_or(|s| s.generation != generation)
            {
                // A new needle list is a subset of the old one (or the first),
                // so `next_needle` found with the old one stays a safe bound.
                self.scan = Some(Scan {
                    generation,
                    prescan: Prescan::new(needles, &body[pos..]),
                    lines: 0,
                    bytes: 0,
                    misses: 0,
                });
            }
            let state = self.scan.as_mut().expect("built above");
            let scan = &state.prescan;
            if next_special == usize::MAX || next_special < pos {
                next_special = find_special(&body[pos..]).map_or(body.len(), |i| pos + i);
            }
            if next_needle == usize::MAX || next_needle < pos {
                next_needle = scan.next(body, pos);
            }
            let at = next_special.min(next_needle);
            // Skip the lines before the one holding `at`, if valid UTF-8.
            let start = if at >= body.len() {
                body.len()
            } else {
                rfind_byte(&body[pos..at], b'\n').map_or(pos, |i| pos + i + 1)
            };
            let mut skip_to = start;
            if let Err(e) = std::str::from_utf8(&body[pos..start]) {
                let bad = pos + e.valid_up_to();
                skip_to = rfind_byte(&body[pos..bad], b'\n').map_or(pos, |i| pos + i + 1);
            }
            let skipped = count_byte(&body[pos..skip_to], b'\n') as u64;
            self.line += skipped;
            stats.lines += skipped;
            pos = skip_to;
            if pos >= body.len() {
                break;
            }
            let end = pos + find_byte(&body[pos..], b'\n').unwrap_or(body.len() - pos);
            let raw = &body[pos..end];
            let needed = if pos < start || raw.len() > WINDOW + OVERLAP {
                true
            } else if next_special < end {
                // Escapes can split a needle and controls become spaces:
                // decide on the text the normaliser would produce.
                let mut clean = std::mem::take(&mut self.scratch);
                clean.clear();
                let mut local = InputStats::default();
                strip_controls(raw, &mut clean, &mut local);
                let needed = std::str::from_utf8(&clean).is_err() || {
                    // The '\n' lets a 3-byte needle at the end be seen.
                    clean.push(b'\n');
                    let text = clean.len() - 1;
                    scan.next(&clean, 0) < text && scan.line_may_matter(&clean[..text])
                };
                if !needed {
                    stats.control_bytes += local.control_bytes;
                }
                self.scratch = clean;
                needed
            } else if std::str::from_utf8(raw).is_err() {
                true
            } else {
                // A hit that is only `://` matters with a quote in the line;
                // otherwise look on from there.
                let mut at = next_needle;
                let mut needed = false;
                while at < end {
                    if scan.url_only(body, at) {
                        if find_byte(raw, b'"').is_some() {
                            needed = true;
                            break;
                        }
                        at = scan.next(body, at + 1);
                    } else {
                        needed = scan.line_may_matter(raw);
                        break;
                    }
                }
                if at >= end {
                    next_needle = at;
                }
                if !needed {
                    state.misses += 1;
                }
                needed
            };
            state.lines += skipped + 1;
            if needed {
                self.whole_line(raw, stats, sink);
            } else {
                self.line += 1;
                stats.lines += 1;
            }
            pos = end + 1;
        }
    }

    /// Emits windows of `p` while more than a window and its overlap remain;
    /// returns where the rest starts.
    fn emit_windows<S: LineSink + ?Sized>(
        &mut self,
        p: &[u8],
        stats: &mut InputStats,
        sink: &mut S,
    ) -> usize {
        let mut start = 0;
        while p.len() - start > WINDOW + OVERLAP {
            if !self.windowed {
                self.line += 1;
                self.windowed = true;
            }
            let mut cut = WINDOW;
            // Do not split a UTF-8 sequence (a valid one is at most 4 bytes).
            while cut > WINDOW - 4 && (p[start + cut] & 0xC0) == 0x80 {
                cut -= 1;
            }
            self.process(&p[start..start + cut], stats, sink, false);
            start += cut - OVERLAP;
        }
        start
    }

    fn window_pending<S: LineSink + ?Sized>(&mut self, stats: &mut InputStats, sink: &mut S) {
        if self.pending.len() > WINDOW + OVERLAP {
            let p = std::mem::take(&mut self.pending);
            let start = self.emit_windows(&p, stats, sink);
            self.pending = p;
            self.pending.drain(..start);
        }
    }

    /// The line in `pending` is complete.
    fn end_line<S: LineSink + ?Sized>(&mut self, stats: &mut InputStats, sink: &mut S) {
        let line = std::mem::take(&mut self.pending);
        self.whole_line(&line, stats, sink);
        self.pending = line;
        self.pending.clear();
    }

    /// A complete line (the rest of it, when windows were emitted already).
    fn whole_line<S: LineSink + ?Sized>(
        &mut self,
        raw: &[u8],
        stats: &mut InputStats,
        sink: &mut S,
    ) {
        let start = self.emit_windows(raw, stats, sink);
        if !self.windowed {
            self.line += 1;
        }
        self.windowed = false;
        stats.lines += 1;
        self.process(&raw[start..], stats, sink, true);
    }

    fn finish<S: LineSink + ?Sized>(&mut self, stats: &mut InputStats, sink: &mut S) {
        if !self.pending.is_empty() || self.windowed {
            self.end_line(stats, sink);
        }
        if let Some((n, s)) = self.carry.take() {
            sink.line(n, &s);
        }
    }

    /// Normalises one physical line (or window) and hands its segments on.
    fn process<S: LineSink + ?Sized>(
        &mut self,
        raw: &[u8],
        stats: &mut InputStats,
        sink: &mut S,
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
                sink.line(line_no, t);
                continue;
            }
            if let Some((n, mut prev)) = self.carry.take() {
                prev.push_str(t.trim_start());
                sink.line(n, &prev);
                continue;
            }
            if t.len() < JOIN_LIMIT && opens_quoted_token(t) {
                self.carry = Some((line_no, t.to_string()));
            } else {
                sink.line(line_no, t);
            }
        }
        self.scratch = clean;
    }
}

/// A raw-byte prefilter for a list of needles (ASCII, any case): finds the
/// places where one *may* start, several times faster than an automaton, and
/// checks a line exactly.
///
/// Every second position of the haystack is tested: its 4-gram, folded with
/// `| 0x20` (ASCII lower case, plus a few punctuation aliases that only add
/// false hits), is looked up in a two-hash Bloom filter. A needle of five
/// bytes or more is entered as two adjacent 4-grams of it (the pair rarest in
/// a sample of the input), so one of them sits on a tested position; a
/// needle of three or four bytes as the 4-grams that start and that end with
/// it (one wildcard byte); one- and two-byte needles are found by their first
/// byte. `://` is always a needle: a line holding a URL and a quote may be a
/// hard-wrapped quoted URL.
struct Prescan {
    /// Bloom filter: the first bitmap is small enough for L1 and tested at
    /// every step, the second only on a hit in the first.
    first: Box<[u64; 1 << (FIRST_BITS - 6)]>,
    second: Box<[u64; 1 << (SECOND_BITS - 6)]>,
    /// First bytes (both cases) of needles shorter than 3 bytes; more than 3
    /// of them and the filter is not used (`slow`).
    short: Vec<u8>,
    slow: bool,
    /// No 4-gram entered for another needle can hold `://` at offset 0 or 1,
    /// so a hit on a 4-gram with a literal `://` there is a URL, nothing else.
    url_alone: bool,
    /// `://` in `ac` when it is there only for wrapped URLs, not as a needle.
    url_id: Option<PatternID>,
    /// The exact check: every needle, ASCII case-insensitive.
    ac: AhoCorasick,
}

const FIRST_BITS: u32 = 18;
const SECOND_BITS: u32 = 20;
const FOLD: u32 = 0x2020_2020;

#[inline(always)]
fn first_hash(w: u32) -> usize {
    (w.wrapping_mul(0x9E37_79B1) >> (32 - FIRST_BITS)) as usize
}

#[inline(always)]
fn second_hash(w: u32) -> usize {
    (w.wrapping_mul(0x85EB_CA77) >> (32 - SECOND_BITS)) as usize
}

/// A 4-gram to enter: bytes, `None` for "any byte".
type Pattern = [Option<u8>; 4];

impl Prescan {
    fn new(needles: &[String], sample: &[u8]) -> Prescan {
        let mut list: Vec<Vec<u8>> = needles
            .iter()
            .map(|n| n.as_bytes().to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
        list.sort();
        list.dedup();
        // A needle that contains another adds nothing.
        let all = list.clone();
        list.retain(|n| {
            !all.iter()
                .any(|o| o.len() < n.len() && n.windows(o.len()).any(|w| w == &o[..]))
        });
        // `://` is looked for too, last, and matters only with a quote.
        let url_is_needle = list.iter().any(|n| n == b"://");
        let url_id = (!url_is_needle).then(|| {
            list.push(b"://".to_vec());
            PatternID::must(list.len() - 1)
        });
        let mut short: Vec<u8> = Vec::new();
        for n in list.iter().filter(|n| n.len() < 3) {
            for b in [n[0].to_ascii_lowercase(), n[0].to_ascii_uppercase()] {
                if !short.contains(&b) {
                    short.push(b);
                }
            }
        }
        let slow = short.len() > 3;
        // Without the filter the automaton scans everything: a DFA then;
        // otherwise it only checks candidate lines, and an NFA builds faster.
        let kind = if slow {
            AhoCorasickKind::DFA
        } else {
            AhoCorasickKind::ContiguousNFA
        };
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(kind))
            .build(&list)
            .or_else(|_| {
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(&list)
            })
            .expect("needle automaton");
        let counts = gram_counts(&list, sample);
        let count = |g: &[u8]| {
            let w = u32::from_le_bytes([g[0], g[1], g[2], g[3]]) | FOLD;
            counts
                .binary_search_by_key(&w, |c| c.0)
                .map_or(0, |i| counts[i].1)
        };
        let weight = |g: &[u8]| g.iter().map(|&b| byte_weight(b)).sum::<u32>();
        let mut patterns: Vec<(bool, Pattern)> = Vec::new();
        for n in &list {
            let url = url_id.is_some() && n == b"://";
            let exact = |g: &[u8]| [Some(g[0]), Some(g[1]), Some(g[2]), Some(g[3])];
            match n.len() {
                0..=2 => {}
                3 => {
                    patterns.push((url, [Some(n[0]), Some(n[1]), Some(n[2]), None]));
                    patterns.push((url, [None, Some(n[0]), Some(n[1]), Some(n[2])]));
                }
                4 => {
                    patterns.push((url, exact(n)));
                    patterns.push((url, [None, Some(n[0]), Some(n[1]), Some(n[2])]));
                }
                _ => {
                    let j = (0..=n.len() - 5)
                        .min_by_key(|&j| {
                            let (a, b) = (&n[j..j + 4], &n[j + 1..j + 5]);
                            (count(a) + count(b), weight(a) + weight(b))
                        })
                        .expect("five bytes or more");
                    patterns.push((url, exact(&n[j..j + 4])));
                    patterns.push((url, exact(&n[j + 1..j + 5])));
                }
            }
        }
        // Could a pattern of another needle hold `://` at offset 0 or 1?
        let url_clash = |p: &Pattern| {
            (0..2)
                .any(|off| (0..3).all(|i| p[off + i].is_none_or(|b| b | 0x20 == b"://"[i] | 0x20)))
        };
        let url_alone = url_id.is_some()
            && !short.contains(&b':')
            && !patterns.iter().any(|(url, p)| !url && url_clash(p));
        let mut first = Box::new([0u64; 1 << (FIRST_BITS - 6)]);
        let mut second = Box::new([0u64; 1 << (SECOND_BITS - 6)]);
        for (_, p) in &patterns {
            // Every folded value of the wildcard byte, if any.
            let wild = p.iter().position(Option::is_none);
            let values: Vec<u8> = match wild {
                Some(_) => (0..=255u8).filter(|x| x & 0x20 != 0).collect(),
                None => vec![0],
            };
            for x in values {
                let g: Vec<u8> = p.iter().map(|b| b.unwrap_or(x)).collect();
                let w = u32::from_le_bytes([g[0], g[1], g[2], g[3]]) | FOLD;
                let (h1, h2) = (first_hash(w), second_hash(w));
                first[h1 >> 6] |= 1 << (h1 & 63);
                second[h2 >> 6] |= 1 << (h2 & 63);
            }
        }
        Prescan {
            first,
            second,
            short,
            slow,
            url_alone,
            url_id,
            ac,
        }
    }

    /// Whether a hit at `at` is on a 4-gram holding a literal `://` at
    /// offset 0 or 1, which no needle but `://` can have entered.
    fn url_only(&self, hay: &[u8], at: usize) -> bool {
        self.url_alone
            && !self.slow
            && (hay[at..].starts_with(b"://") || hay[at + 1..].starts_with(b"://"))
    }

    /// The first position at or after `from` that may lie in a needle or
    /// just before one (a superset), or `hay.len()`: a needle that starts at
    /// or after `from` has a hit between the byte before it and its last
    /// byte, and no hit before that is passed over.
    fn next(&self, hay: &[u8], from: usize) -> usize {
        if self.slow {
            return self
                .ac
                .find(&hay[from..])
                .map_or(hay.len(), |m| from + m.start());
        }
        let limit = match self.short.len() {
            0 => hay.len(),
            _ => find_any(&hay[from..], &self.short).map_or(hay.len(), |i| from + i),
        };
        // Tested positions: from, from + 2, … while a 4-gram fits.
        let stop = limit.min(hay.len().saturating_sub(3));
        let (first, second) = (&self.first[..], &self.second[..]);
        let in_second = |w: u32| {
            let h = second_hash(w);
            (second[h >> 6] >> (h & 63)) & 1 != 0
        };
        let mut base = from;
        // Seven positions a round from one 16-byte load, without branches.
        while base + 16 <= hay.len() && base + 14 <= stop {
            let x = u128::from_le_bytes(hay[base..base + 16].try_into().expect("16 bytes"))
                | 0x2020_2020_2020_2020_2020_2020_2020_2020;
            let mut bits = 0u32;
            for k in 0..7 {
                let w = (x >> (16 * k)) as u32;
                let h = first_hash(w);
                bits |= (((first[h >> 6] >> (h & 63)) & 1) as u32) << k;
            }
            while bits != 0 {
                let k = bits.trailing_zeros();
                if in_second((x >> (16 * k)) as u32) {
                    return base + 2 * k as usize;
                }
                bits &= bits - 1;
            }
            base += 14;
        }
        while base < stop {
            let w =
                u32::from_le_bytes([hay[base], hay[base + 1], hay[base + 2], hay[base + 3]]) | FOLD;
            let h = first_hash(w);
            if (first[h >> 6] >> (h & 63)) & 1 != 0 && in_second(w) {
                return base;
            }
            base += 2;
        }
        limit
    }

    /// Whether the normaliser must see this line: it holds a needle, or a
    /// quote and a URL (it may open a hard-wrapped quoted URL).
    fn line_may_matter(&self, line: &[u8]) -> bool {
        self.ac
            .find_overlapping_iter(line)
            .any(|m| Some(m.pattern()) != self.url_id || find_byte(line, b'"').is_some())
    }
}

/// How often each candidate 4-gram of the needles occurs in `sample` (folded).
fn gram_counts(needles: &[Vec<u8>], sample: &[u8]) -> Vec<(u32, u32)> {
    let mut counts: Vec<(u32, u32)> = needles
        .iter()
        .filter(|n| n.len() >= 4)
        .flat_map(|n| n.windows(4))
        .map(|g| {
            (
                u32::from_le_bytes([g[0], g[1], g[2], g[3]]) | 0x2020_2020,
                0,
            )
        })
        .collect();
    counts.sort_unstable();
    counts.dedup();
    let sample = &sample[..sample.len().min(256 * 1024)];
    if counts.is_empty() || sample.len() < 4 {
        return counts;
    }
    // A bitmap of the candidates first: most positions stop there.
    let mut bits = vec![0u64; 1 << 10];
    for (w, _) in &counts {
        let h = (w.wrapping_mul(0x9E37_79B1) >> 16) as usize;
        bits[h >> 6] |= 1 << (h & 63);
    }
    for g in sample.windows(4) {
        let w = u32::from_le_bytes([g[0], g[1], g[2], g[3]]) | 0x2020_2020;
        let h = (w.wrapping_mul(0x9E37_79B1) >> 16) as usize;
        if (bits[h >> 6] >> (h & 63)) & 1 != 0
            && let Ok(i) = counts.binary_search_by_key(&w, |c| c.0)
        {
            counts[i].1 += 1;
        }
    }
    counts
}

/// A rough frequency of a byte in logs, to choose among 4-grams the sample
/// cannot tell apart.
fn byte_weight(b: u8) -> u32 {
    match b.to_ascii_lowercase() {
        b' ' => 150,
        b'e' => 127,
        b't' => 91,
        b'a' => 82,
        b'o' => 75,
        b'i' => 70,
        b'n' => 67,
        b's' => 63,
        b'h' => 61,
        b'r' => 60,
        b'd' => 43,
        b'0'..=b'9' => 40,
        b'l' => 40,
        b'.' | b':' | b'/' | b'-' => 30,
        b'c' | b'u' => 28,
        b'm' | b'w' => 24,
        b'f' => 22,
        b'g' | b'y' => 20,
        b'p' => 19,
        b'b' => 15,
        b'_' | b'=' | b'"' => 10,
        b'v' => 10,
        b'k' => 8,
        b'j' | b'x' => 2,
        b'q' | b'z' => 1,
        _ => 5,
    }
}

/// Bytes the normaliser changes: NUL and C0 controls other than tab, LF and
/// CR (ESC among them), and DEL.
#[inline(always)]
fn is_special(b: u8) -> bool {
    (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r') | (b == 0x7F)
}

/// Blocks of 32 bytes tested with straight-line code the compiler vectorises.
const BLOCK: usize = 32;

fn find_special(hay: &[u8]) -> Option<usize> {
    let mut blocks = hay.chunks_exact(BLOCK);
    let mut base = 0;
    for blk in blocks.by_ref() {
        if blk.iter().fold(false, |acc, &b| acc | is_special(b)) {
            return blk.iter().position(|&b| is_special(b)).map(|i| base + i);
        }
        base += BLOCK;
    }
    blocks
        .remainder()
        .iter()
        .position(|&b| is_special(b))
        .map(|i| base + i)
}

fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    memchr::memchr(needle, hay)
}

fn rfind_byte(hay: &[u8], needle: u8) -> Option<usize> {
    memchr::memrchr(needle, hay)
}

/// First position of any of `set` (at most 3 bytes).
fn find_any(hay: &[u8], set: &[u8]) -> Option<usize> {
    match *set {
        [a] => memchr::memchr(a, hay),
        [a, b] => memchr::memchr2(a, b, hay),
        [a, b, c, ..] => memchr::memchr3(a, b, c, hay),
        [] => None,
    }
}

/// How many times `needle` occurs in `hay`.
fn count_byte(hay: &[u8], needle: u8) -> usize {
    memchr::memchr_iter(needle, hay).count()
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
/// turns each run of NUL and other C0 controls into one space, none next to
/// a space or tab already there (`connection\0 refused` is `connection
/// refused`); keeps `\r` and tabs.
fn strip_controls(raw: &[u8], out: &mut Vec<u8>, stats: &mut InputStats) {
    let blank = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t'));
    let mut gap = false;
    let mut i = 0;
    while i < raw.len() {
        // Copy the run of ordinary bytes, then deal with one special byte.
        let mut run = find_special(&raw[i..]).unwrap_or(raw.len() - i);
        if run > 0 {
            match (gap, blank(out.last()), blank(raw.get(i))) {
                (true, false, false) => out.push(b' '),
                // `a \0 b`: the controls and one of the blanks go.
                (true, true, true) => {
                    i += 1;
                    run -= 1;
                }
                _ => {}
            }
            gap = false;
            out.extend_from_slice(&raw[i..i + run]);
        }
        i += run;
        match raw.get(i) {
            None => break,
            Some(0x1B) => i = skip_escape(raw, i),
            Some(_) => {
                stats.control_bytes += 1;
                gap = true;
                i += 1;
            }
        }
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
    fn control_runs_become_one_space() {
        let v = lines(b"connection\0 refused\nconnect\0\0\x01refused \0\x7f x\n\0\0\0EOF\n");
        assert_eq!(
            v,
            vec![
                (1, "connection refused".into()),
                (2, "connect refused x".into()),
                (3, " EOF".into())
            ]
        );
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

    /// A sink that records every segment and names needles.
    struct Record {
        needles: Vec<String>,
        got: Vec<(u64, String)>,
    }

    impl LineSink for Record {
        fn line(&mut self, n: u64, text: &str) {
            self.got.push((n, text.to_string()));
        }
        fn needles(&self) -> Option<(u64, &[String])> {
            Some((1, &self.needles))
        }
    }

    /// A reader that hands out its bytes in pseudo-random pieces.
    struct Pieces<'a> {
        data: &'a [u8],
        rng: Rng,
        max: usize,
    }

    impl Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = (self.rng.below(self.max as u64) as usize + 1)
                .min(buf.len())
                .min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            // xorshift64*
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
        fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
            &v[self.below(v.len() as u64) as usize]
        }
    }

    const NEEDLES: &[&str] = &[
        "connection refused",
        "proxyconnect",
        "eof",
        "i/o timeout",
        "x509",
        "#",
        "?ns=",
        "no such host",
        "lookup ",
        "https://",
    ];

    /// Random log text: ordinary lines, needles in any case, split by
    /// escapes or turned into near misses, control bytes, invalid UTF-8,
    /// `\r` redraws, CRLF, quoted URLs wrapped over two lines, long lines.
    fn random_log(rng: &mut Rng, lines: usize) -> Vec<u8> {
        let words = [
            "pulling",
            "layer",
            "Download complete",
            "sha256:0123abcd",
            "http://deb.debian.org/x",
            "https://registry-1.docker.io/v2/",
            "\"quoted\"",
            "msg=\"done\"",
            "[=====>   ]",
            "12.3MB/45.6MB",
            "Step 3/9 : RUN make",
            "#12 [2/6] RUN apt-get",
            "\u{2588}\u{2588}",
            "\u{4e2d}\u{6587}",
            "time=\"2026\"",
            "level=info",
        ];
        let mut out = Vec::new();
        for _ in 0..lines {
            let mut line: Vec<u8> = Vec::new();
            for _ in 0..rng.below(8) {
                let piece: Vec<u8> = match rng.below(14) {
                    0 | 1 => {
                        let n = rng.pick(NEEDLES).as_bytes().to_vec();
                        match rng.below(6) {
                            0 => n.to_ascii_uppercase(),
                            1 if n.len() > 2 => {
                                // An escape or a control byte inside the needle.
                                let at = 1 + rng.below(n.len() as u64 - 1) as usize;
                                let inserts: [&[u8]; 6] = [
                                    b"\x1b[31m",
                                    b"\x1b[0m",
                                    b"\x00",
                                    b"\x07",
                                    b"\x1b]0;t\x07",
                                    b"\x1b(B",
                                ];
                                let ins = *rng.pick(&inserts);
                                [&n[..at], ins, &n[at..]].concat()
                            }
                            2 if n.len() > 2 => {
                                let at = rng.below(n.len() as u64) as usize;
                                [&n[..at], &n[at + 1..]].concat()
                            }
                            _ => n,
                        }
                    }
                    2 => b"\x1b[2K\x1b[1A".to_vec(),
                    3 => b"\r".to_vec(),
                    4 => vec![rng.pick(&[0x00u8, 0x01, 0x7f, 0x0c, 0xff, 0xc3, 0x80, b'\t'])
                        .to_owned()],
                    5 => b"Get \"https://production.cloudflare.docker.com/registry-v2/blobs/\n  data?x=1\": dial tcp".to_vec(),
                    6 if rng.below(40) == 0 => {
                        let mut long = vec![b'y'; WINDOW + OVERLAP + rng.below(3 * WINDOW as u64) as usize];
                        let at = rng.below(long.len() as u64) as usize;
                        long.splice(at..at, b" connection refused ".iter().copied());
                        long
                    }
                    7 => b"\\\"escaped\\\"".to_vec(),
                    _ => rng.pick(&words).as_bytes().to_vec(),
                };
                line.extend_from_slice(&piece);
                line.push(b' ');
            }
            if rng.below(5) == 0 {
                line.push(b'\r');
            }
            out.extend_from_slice(&line);
            out.push(b'\n');
            if rng.below(30) == 0 {
                out.push(b'\n');
            }
        }
        out
    }

    fn has_needle(text: &str) -> bool {
        let low = text.to_ascii_lowercase();
        NEEDLES.iter().any(|n| low.contains(n))
    }

    fn run(
        data: &[u8],
        seed: u64,
        max_piece: usize,
        fast_after: u64,
    ) -> (Vec<(u64, String)>, String) {
        let mut sink = Record {
            needles: NEEDLES.iter().map(|s| s.to_string()).collect(),
            got: Vec::new(),
        };
        let r = Pieces {
            data,
            rng: Rng(seed | 1),
            max: max_piece,
        };
        let stats = read_lines_after(r, &mut sink, fast_after).unwrap();
        (sink.got, format!("{stats:?}"))
    }

    /// The raw-byte prefilter hands on every segment that holds a needle,
    /// with the same line number and in the same order, and counts the same.
    #[test]
    fn fast_path_sees_what_the_normaliser_sees() {
        let mut rng = Rng(0x5eed);
        let mut skipped = 0;
        for round in 0..60 {
            let n = 200 + rng.below(800) as usize;
            let mut data = random_log(&mut rng, n);
            if round % 10 == 9 {
                // UTF-16 as well.
                let text = String::from_utf8_lossy(&data).into_owned();
                data = vec![0xFF, 0xFE];
                data.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
            }
            let max_piece = *rng.pick(&[7usize, 300, 5000, READ_CHUNK]);
            let (slow, slow_stats) = run(&data, round, max_piece, u64::MAX);
            let (fast, fast_stats) = run(&data, round, max_piece, 0);
            assert_eq!(slow_stats, fast_stats, "round {round}");
            let want: Vec<_> = slow.iter().filter(|(_, t)| has_needle(t)).collect();
            let got: Vec<_> = fast.iter().filter(|(_, t)| has_needle(t)).collect();
            assert_eq!(want, got, "round {round}");
            // And nothing that the normaliser would not have produced.
            let mut it = slow.iter();
            assert!(fast.iter().all(|f| it.any(|s| s == f)), "round {round}");
            skipped += slow.len() - fast.len();
        }
        assert!(
            skipped > 5_000,
            "the fast path skipped only {skipped} segments"
        );
    }

    #[test]
    fn long_lines_are_windowed_however_they_are_read() {
        let mut input = vec![b'x'; 3 * WINDOW + 123];
        input.extend_from_slice(
            b" proxyconnect tcp: dial tcp 127.0.0.1:1: connect: connection refused\nnext\n",
        );
        let (a, _) = run(&input, 1, READ_CHUNK, u64::MAX);
        let (b, _) = run(&input, 2, 100, u64::MAX);
        assert_eq!(a, b);
        assert!(a.iter().all(|(_, s)| s.len() <= WINDOW + OVERLAP));
        assert_eq!(a.last().unwrap(), &(2, "next".to_string()));
    }

    #[test]
    fn prescan_finds_every_needle() {
        let needles: Vec<String> = NEEDLES.iter().map(|s| s.to_string()).collect();
        let scan = Prescan::new(&needles, b"");
        for n in NEEDLES {
            for pad in 0..5 {
                let mut hay = vec![b'-'; pad];
                hay.extend_from_slice(n.to_ascii_uppercase().as_bytes());
                hay.push(b'\n');
                for from in 0..=pad {
                    let at = scan.next(&hay, from);
                    assert!(at < pad + n.len(), "{n:?} pad {pad} from {from}: {at}");
                }
            }
        }
    }

    /// A prefilter that keeps sending lines to the exact check for nothing
    /// is rebuilt on later input; what the sink sees does not change.
    #[test]
    fn prefilter_is_retuned_on_later_input() {
        let mut data = Vec::new();
        for i in 0..5_000 {
            data.extend_from_slice(format!("plain line {i} without anything\n").as_bytes());
        }
        let mut i = 0;
        while data.len() < (RETUNE_AFTER as usize) * 2 {
            // Near misses of the needle, then now and then the needle.
            let line = if i % 997 == 0 {
                format!("{i} connection refused\n")
            } else {
                format!("{i} connection refusal, connection reset, refused nothing\n")
            };
            data.extend_from_slice(line.as_bytes());
            i += 1;
        }
        let (slow, slow_stats) = run(&data, 1, READ_CHUNK, u64::MAX);
        let (fast, fast_stats) = run(&data, 1, READ_CHUNK, 0);
        assert_eq!(slow_stats, fast_stats);
        let want: Vec<_> = slow.iter().filter(|(_, t)| has_needle(t)).collect();
        let got: Vec<_> = fast.iter().filter(|(_, t)| has_needle(t)).collect();
        assert_eq!(want, got);
    }
}
