//! Runs a lint over many files: discovery, reading, per-folder schema history
//! (folders in parallel, files within a folder in migration order).

use crate::discover::{self, DiscoverOptions, Input, Layout, PathError, Placed};
use crate::lint::{self, Settings};
use crate::model::{Direction, FileReport};
use crate::report::RunReport;
use crate::schema::Schema;
use rayon::prelude::*;
use std::collections::HashSet;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// Default size limit: files above it are reported and skipped.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

pub struct RunOptions {
    pub paths: Vec<String>,
    pub discover: DiscoverOptions,
    pub layout: Option<Layout>,
    pub max_file_size: u64,
    /// Only these files are reported (the others still feed the schema history).
    pub only: Option<HashSet<std::path::PathBuf>>,
    /// For files named on the command line, read the earlier migrations of their
    /// folder too (not reported) so the schema history is known.
    pub history_from_siblings: bool,
}

fn canonical(p: &Path) -> std::path::PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Reads a file as UTF-8 text, with clear errors for binary, oversized or invalid input.
pub fn read_source(path: &Path, max: u64) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if meta.len() > max {
        return Err(format!(
            "file is {} bytes, over the {max}-byte limit; skipped (raise it with --max-file-size or max_file_size in migrade.toml)",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    decode(bytes)
}

/// Validates bytes as UTF-8 SQL text.
pub fn decode(bytes: Vec<u8>) -> Result<String, String> {
    if let Some(p) = bytes.iter().position(|&b| b == 0) {
        let line = bytes[..p].iter().filter(|&&b| b == b'\n').count() + 1;
        return Err(format!("binary file (a NUL byte at byte offset {p}, line {line}); not SQL text, skipped"));
    }
    String::from_utf8(bytes).map_err(|e| {
        let off = e.utf8_error().valid_up_to();
        let b = e.as_bytes();
        let line = b[..off].iter().filter(|&&c| c == b'\n').count() + 1;
        format!("invalid UTF-8 at byte offset {off} (line {line}); save the file as UTF-8 and run again")
    })
}

/// What linting one file produced: its report (None when it only fed the history) or an error.
pub type FileResult = (Option<FileReport>, Option<PathError>);

/// Files read and parsed in parallel at a time: bounds memory, keeps both cores busy.
const CHUNK: usize = 32;

/// A file read, split and parsed, ready for the ordered analysis.
struct Loaded {
    path: String,
    reported: bool,
    text: Result<(lint::Unit, lint::Prepared), String>,
}

fn load(p: &Placed, max: u64, only: Option<&HashSet<std::path::PathBuf>>) -> Loaded {
    let (path, text) = match &p.input {
        Input::Stdin => {
            let mut buf = Vec::new();
            let r = std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| format!("cannot read standard input: {e}"))
                .and_then(|_| decode(buf));
            ("-".to_string(), r)
        }
        Input::File(f) => {
            let s = f.to_string_lossy();
            (s.strip_prefix("./").unwrap_or(&s).to_string(), read_source(f, max))
        }
    };
    let reported = match (&p.input, only) {
        (Input::File(f), Some(set)) => set.contains(&canonical(f)),
        _ => true,
    };
    let text = text.map(|t| {
        let text: Arc<str> = Arc::from(t);
        let prepared = lint::prepare(&text);
        (discover::unit_for(&path, text, p), prepared)
    });
    Loaded { path, reported, text }
}

/// Lints one folder: files are read and parsed in parallel chunks, then analysed in
/// migration order against the folder's schema history.
fn lint_group(
    files: &[Placed],
    settings: &Settings,
    max: u64,
    only: Option<&HashSet<std::path::PathBuf>>,
    emit: &mut dyn FnMut(FileResult),
) {
    let mut schema = Schema::default();
    for chunk in files.chunks(CHUNK) {
        let loaded: Vec<Loaded> = chunk.par_iter().map(|p| load(p, max, only)).collect();
        for (p, l) in chunk.iter().zip(loaded) {
            match l.text {
                Ok((unit, prepared)) => {
                    let report = if p.direction == Direction::Up || unit.layout == "dbmate" || unit.layout == "goose" {
                        lint::lint_prepared(&unit, prepared, &mut schema, settings)
                    } else {
                        // Down, undo and verify files do not change what later files see.
                        let mut scratch = schema.clone();
                        lint::lint_prepared(&unit, prepared, &mut scratch, settings)
                    };
                    emit((l.reported.then_some(report), None));
                }
                Err(message) => emit((None, l.reported.then_some(PathError { path: l.path, message }))),
            }
        }
    }
}

/// Lints everything the options name and collects the results.
pub fn run(opts: &RunOptions, settings: &Settings) -> Result<RunReport, String> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    run_streaming(opts, settings, &mut |(r, e)| {
        files.extend(r);
        errors.extend(e);
    })?;
    Ok(RunReport { files, errors })
}

/// Lints everything the options name, handing each file's result to `emit` in
/// migration order as soon as it is done. Parsing runs in parallel over small
/// chunks of files, so memory does not grow with the number of files.
pub fn run_streaming(opts: &RunOptions, settings: &Settings, emit: &mut dyn FnMut(FileResult)) -> Result<(), String> {
    let (mut inputs, mut errors) = discover::discover(&opts.paths, &opts.discover)?;
    let mut only = opts.only.clone();
    let explicit: Vec<&Path> = opts.paths.iter().map(Path::new).filter(|p| p.is_file()).collect();
    if opts.history_from_siblings && !explicit.is_empty() {
        let mut seen: HashSet<std::path::PathBuf> = inputs
            .iter()
            .filter_map(|i| match i {
                Input::File(p) => Some(canonical(p)),
                Input::Stdin => None,
            })
            .collect();
        let reported = seen.clone();
        let dirs: std::collections::BTreeSet<std::path::PathBuf> = explicit
            .iter()
            .map(|p| {
                let g = discover::group_of(p);
                if g.as_os_str().is_empty() { std::path::PathBuf::from(".") } else { g }
            })
            .collect();
        for d in dirs {
            if let Ok((more, _)) = discover::discover(&[d.to_string_lossy().to_string()], &opts.discover) {
                for m in more {
                    if let Input::File(p) = &m
                        && seen.insert(canonical(p))
                    {
                        inputs.push(m);
                    }
                }
            }
        }
        only = Some(match only {
            Some(o) => o.intersection(&reported).cloned().collect(),
            None => reported,
        });
    }
    let mut placed = discover::order(inputs, opts.layout);
    // Files that only feed the history and come after every reported file of their
    // folder cannot change anything reported: skip them.
    if let Some(set) = &only {
        let mut keep = vec![true; placed.len()];
        let mut last_reported: std::collections::HashMap<Arc<Path>, usize> = Default::default();
        for (i, p) in placed.iter().enumerate() {
            if let Input::File(f) = &p.input
                && set.contains(&canonical(f))
            {
                last_reported.insert(p.group.clone(), i);
            }
        }
        for (i, p) in placed.iter().enumerate() {
            if let Input::File(f) = &p.input
                && !set.contains(&canonical(f))
            {
                keep[i] = last_reported.get(&p.group).is_some_and(|&l| i < l);
            }
        }
        let mut k = keep.into_iter();
        placed.retain(|_| k.next().unwrap_or(true));
    }
    // Split into groups, keeping order.
    let mut groups: Vec<Vec<Placed>> = Vec::new();
    for p in placed {
        match groups.last_mut() {
            Some(g) if g[0].group == p.group => g.push(p),
            _ => groups.push(vec![p]),
        }
    }
    for e in errors.drain(..) {
        emit((None, Some(e)));
    }
    for g in &groups {
        lint_group(g, settings, opts.max_file_size, only.as_ref(), emit);
    }
    Ok(())
}
