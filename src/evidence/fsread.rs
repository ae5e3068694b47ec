//! Bounded, read-only file access under a root directory.
//!
//! Paths are logical (as on the diagnosed system). Symlinks are resolved component by
//! component *inside* the root (an absolute link target restarts at the root, not at the
//! real `/`), with at most [`MAX_HOPS`] links, so a loop is reported instead of followed.
//! Only regular files are opened: a FIFO would block `open(2)`.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::{Note, NoteKind, Source};

/// Symlinks followed per lookup before declaring a loop (Linux allows 40).
const MAX_HOPS: usize = 40;
/// Directory entries listed per directory.
pub(crate) const MAX_DIR_ENTRIES: usize = 1000;

/// Why a path could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    Missing,
    Denied,
    Loop,
    NotAFile(&'static str),
    TooLarge(u64),
    NotUtf8,
    Io(String),
}

impl Problem {
    fn note(&self, path: &str) -> Note {
        let (kind, detail) = match self {
            Problem::Missing => (NoteKind::Missing, String::new()),
            Problem::Denied => (NoteKind::PermissionDenied, String::new()),
            Problem::Loop => (
                NoteKind::SymlinkLoop,
                format!("more than {MAX_HOPS} symlinks"),
            ),
            Problem::NotAFile(what) => (NoteKind::NotAFile, (*what).to_string()),
            Problem::TooLarge(cap) => (NoteKind::TooLarge, format!("larger than {cap} bytes")),
            Problem::NotUtf8 => (NoteKind::NotUtf8, String::new()),
            Problem::Io(e) => (NoteKind::IoError, e.clone()),
        };
        Note {
            path: path.to_string(),
            kind,
            detail,
        }
    }
}

fn map_io(e: &io::Error) -> Problem {
    match e.kind() {
        io::ErrorKind::NotFound => Problem::Missing,
        io::ErrorKind::PermissionDenied => Problem::Denied,
        _ => match e.raw_os_error() {
            Some(40) => Problem::Loop,    // ELOOP
            Some(20) => Problem::Missing, // ENOTDIR: a path component is a file
            _ => Problem::Io(e.to_string()),
        },
    }
}

/// What a path resolved to.
pub(crate) struct Resolved {
    /// Real path on this machine (under the root).
    pub real: PathBuf,
    /// Final logical path, after symlinks.
    pub logical: String,
    pub meta: Metadata,
}

/// Kind of a directory entry or resolved path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Dir,
    Socket,
    Other,
}

fn kind_of(meta: &Metadata) -> Kind {
    use std::os::unix::fs::FileTypeExt;
    let ft = meta.file_type();
    if ft.is_file() {
        Kind::File
    } else if ft.is_dir() {
        Kind::Dir
    } else if ft.is_socket() {
        Kind::Socket
    } else {
        Kind::Other
    }
}

fn describe(kind: Kind) -> &'static str {
    match kind {
        Kind::File => "regular file",
        Kind::Dir => "a directory",
        Kind::Socket => "a socket",
        Kind::Other => "a FIFO, device or other special file",
    }
}

pub(crate) struct Fs {
    root: PathBuf,
    notes: Vec<Note>,
}

impl Fs {
    pub fn new(root: &Path) -> Self {
        let root = if root.as_os_str().is_empty() {
            PathBuf::from("/")
        } else {
            root.to_path_buf()
        };
        Fs {
            root,
            notes: Vec::new(),
        }
    }

    pub fn into_notes(mut self) -> Vec<Note> {
        self.notes.sort_by(|a, b| a.path.cmp(&b.path));
        self.notes.dedup();
        self.notes
    }

    pub fn note(&mut self, path: &str, problem: &Problem) {
        self.notes.push(problem.note(path));
    }

    pub fn note_kind(&mut self, path: &str, kind: NoteKind, detail: String) {
        self.notes.push(Note {
            path: path.to_string(),
            kind,
            detail,
        });
    }

    fn real_of(&self, parts: &[OsString]) -> PathBuf {
        let mut p = self.root.clone();
        for c in parts {
            p.push(c);
        }
        p
    }

    /// Resolve `logical` inside the root, following symlinks by hand.
    pub fn resolve(&self, logical: &str) -> Result<Resolved, Problem> {
        let mut todo: VecDeque<OsString> = split(Path::new(logical));
        let mut cur: Vec<OsString> = Vec::new();
        let mut hops = 0;
        while let Some(part) = todo.pop_front() {
            if part == ".." {
                cur.pop();
                continue;
            }
            cur.push(part);
            let real = self.real_of(&cur);
            let meta = fs::symlink_metadata(&real).map_err(|e| map_io(&e))?;
            if meta.file_type().is_symlink() {
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(Problem::Loop);
                }
                let target = fs::read_link(&real).map_err(|e| map_io(&e))?;
                cur.pop();
                if target.is_absolute() {
                    cur.clear();
                }
                let mut next = split(&target);
                next.extend(todo);
                todo = next;
            }
        }
        let real = self.real_of(&cur);
        let meta = fs::symlink_metadata(&real).map_err(|e| map_io(&e))?;
        let logical = format!(
            "/{}",
            cur.iter()
                .map(|c| c.to_string_lossy())
                .collect::<Vec<_>>()
                .join("/")
        );
        Ok(Resolved {
            real,
            logical,
            meta,
        })
    }

    /// Kind of the path after symlinks, or `None` if it cannot be resolved.
    pub fn kind(&self, logical: &str) -> Option<Kind> {
        self.resolve(logical).ok().map(|r| kind_of(&r.meta))
    }

    pub fn exists(&self, logical: &str) -> bool {
        self.resolve(logical).is_ok()
    }

    fn source_of(logical: &str, r: &Resolved) -> Source {
        let mtime = r
            .meta
            .modified()
            .ok()
            .and_then(|t| match t.duration_since(UNIX_EPOCH) {
                Ok(d) => i64::try_from(d.as_secs()).ok(),
                Err(e) => i64::try_from(e.duration().as_secs()).ok().map(|s| -s),
            });
        // Paths through /proc/self resolve to a pid: noise, and not stable between runs.
        let resolved = (r.logical != normalize(logical) && !logical.starts_with("/proc/"))
            .then(|| r.logical.clone());
        Source::File {
            path: logical.to_string(),
            resolved,
            mtime,
        }
    }

    /// Open a regular file for streaming.
    pub fn open(&mut self, logical: &str, note_missing: bool) -> Option<(File, Resolved, Source)> {
        match self.try_open(logical) {
            Ok(v) => Some(v),
            Err(p) => {
                if p != Problem::Missing || note_missing {
                    self.note(logical, &p);
                }
                None
            }
        }
    }

    fn try_open(&self, logical: &str) -> Result<(File, Resolved, Source), Problem> {
        let r = self.resolve(logical)?;
        let k = kind_of(&r.meta);
        if k != Kind::File {
            return Err(Problem::NotAFile(describe(k)));
        }
        let f = File::open(&r.real).map_err(|e| map_io(&e))?;
        let src = Self::source_of(logical, &r);
        Ok((f, r, src))
    }

    /// Read a whole regular file of at most `cap` bytes.
    pub fn read_bytes(
        &mut self,
        logical: &str,
        cap: u64,
        note_missing: bool,
    ) -> Option<(Vec<u8>, Source)> {
        let res = self.try_open(logical).and_then(|(f, r, src)| {
            // /proc files report size 0: the read itself is capped too.
            if r.meta.len() > cap {
                return Err(Problem::TooLarge(cap));
            }
            let mut buf = Vec::new();
            f.take(cap + 1)
                .read_to_end(&mut buf)
                .map_err(|e| map_io(&e))?;
            if buf.len() as u64 > cap {
                return Err(Problem::TooLarge(cap));
            }
            Ok((buf, src))
        });
        match res {
            Ok(v) => Some(v),
            Err(p) => {
                if p != Problem::Missing || note_missing {
                    self.note(logical, &p);
                }
                None
            }
        }
    }

    /// Read a whole UTF-8 text file of at most `cap` bytes.
    pub fn read_text(
        &mut self,
        logical: &str,
        cap: u64,
        note_missing: bool,
    ) -> Option<(String, Source)> {
        let (bytes, src) = self.read_bytes(logical, cap, note_missing)?;
        match String::from_utf8(bytes) {
            Ok(s) => Some((s, src)),
            Err(_) => {
                self.note(logical, &Problem::NotUtf8);
                None
            }
        }
    }

    /// List a directory: (name, kind after symlinks), sorted by name, at most
    /// [`MAX_DIR_ENTRIES`]. Names that are not UTF-8 are skipped.
    pub fn list_dir(
        &mut self,
        logical: &str,
        note_missing: bool,
    ) -> Option<(Vec<(String, Kind)>, Source)> {
        let res = self.resolve(logical).and_then(|r| {
            let k = kind_of(&r.meta);
            if k != Kind::Dir {
                return Err(Problem::NotAFile(describe(k)));
            }
            let rd = fs::read_dir(&r.real).map_err(|e| map_io(&e))?;
            let src = Self::source_of(logical, &r);
            let mut out = Vec::new();
            for entry in rd.flatten().take(MAX_DIR_ENTRIES * 4) {
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                let kind = match entry.file_type() {
                    Ok(ft) if ft.is_symlink() => {
                        let child = format!("{}/{}", logical.trim_end_matches('/'), name);
                        self.kind(&child).unwrap_or(Kind::Other)
                    }
                    Ok(ft) if ft.is_file() => Kind::File,
                    Ok(ft) if ft.is_dir() => Kind::Dir,
                    Ok(ft) if std::os::unix::fs::FileTypeExt::is_socket(&ft) => Kind::Socket,
                    _ => Kind::Other,
                };
                out.push((name, kind));
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out.truncate(MAX_DIR_ENTRIES);
            Ok((out, src))
        });
        match res {
            Ok(v) => Some(v),
            Err(p) => {
                if p != Problem::Missing || note_missing {
                    self.note(logical, &p);
                }
                None
            }
        }
    }
}

fn split(p: &Path) -> VecDeque<OsString> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

fn normalize(logical: &str) -> String {
    let parts: Vec<&str> = logical
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    format!("/{}", parts.join("/"))
}
