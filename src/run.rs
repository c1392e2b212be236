//! Runs a lint over many files: discovery, reading, per-folder schema history
//! (folders in parallel, files within a folder in migration order).

use crate::discover::{self, DiscoverOptions, Found, Input, Layout, PathError, Placed};
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
    let too_big = |size: &str| {
        format!(
            "file is {size}over the {max}-byte limit; skipped (raise it with --max-file-size or max_file_size in migrade.toml)"
        )
    };
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let len = file.metadata().map_err(|e| format!("cannot read: {e}"))?.len();
    if len > max {
        return Err(too_big(&format!("{len} bytes, ")));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0).saturating_add(1));
    // `take` keeps a file that grows while it is read within the limit.
    file.take(max.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(too_big(""));
    }
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

/// Files per pipeline window: a window is read and parsed (in parallel) while the
/// previous one is analysed, so memory is bounded by two windows of files.
const WINDOW: usize = 32;

/// A file read, split and parsed, ready for the ordered analysis.
struct Loaded {
    path: String,
    reported: bool,
    text: Result<(crate::unit::Unit, lint::Prepared), String>,
}

fn load(p: &Placed, max: u64, only: Option<&HashSet<std::path::PathBuf>>) -> Loaded {
    let (path, text) = match &p.input {
        Input::Stdin(name) => {
            let mut buf = Vec::new();
            let r = std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| format!("cannot read standard input: {e}"))
                .and_then(|_| decode(buf));
            (name.as_deref().map_or_else(|| "-".to_string(), discover::display), r)
        }
        Input::File(f) => (discover::display(f), read_source(f, max)),
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

/// The schema history of the folder whose files the last window ended with.
type Carry = Option<(Arc<Path>, Schema)>;

/// Analyses one window of loaded files: runs of files of the same folder are
/// analysed in parallel with each other, each run in migration order against its
/// folder's history (carried over when the folder continues from the last window).
/// Returns the results in input order and the history to carry on.
fn analyse(window: Vec<(Placed, Loaded)>, carry: Carry, settings: &Settings) -> (Vec<FileResult>, Carry) {
    let mut runs: Vec<Vec<(Placed, Loaded)>> = Vec::new();
    for item in window {
        match runs.last_mut() {
            Some(r) if r[0].0.group == item.0.group => r.push(item),
            _ => runs.push(vec![item]),
        }
    }
    let mut carry = carry;
    let jobs: Vec<(Vec<(Placed, Loaded)>, Schema)> = runs
        .into_iter()
        .map(|r| {
            let schema = match carry.take() {
                Some((g, s)) if g == r[0].0.group => s,
                _ => Schema::default(),
            };
            (r, schema)
        })
        .collect();
    let done: Vec<(Vec<FileResult>, Arc<Path>, Schema)> = jobs
        .into_par_iter()
        .map(|(run, mut schema)| {
            let group = run[0].0.group.clone();
            let out = run.into_iter().map(|(p, l)| analyse_one(&p, l, &mut schema, settings)).collect();
            (out, group, schema)
        })
        .collect();
    let mut out = Vec::new();
    let mut next = None;
    for (results, group, schema) in done {
        out.extend(results);
        next = Some((group, schema)); // the last folder's history goes on
    }
    (out, next)
}

fn analyse_one(p: &Placed, l: Loaded, schema: &mut Schema, settings: &Settings) -> FileResult {
    match l.text {
        Ok((unit, prepared)) => {
            // Down, undo and verify files do not change what later files see.
            let changes_history = p.direction == Direction::Up || unit.layout == "dbmate" || unit.layout == "goose";
            if !l.reported {
                // Read only for the history of the files that are reported.
                if changes_history {
                    lint::feed_history(&unit, prepared, schema, settings);
                }
                return (None, None);
            }
            // A file whose sections all run down leaves the history as it found it: the
            // linter analyses each such section on its own copy, no second copy here.
            let report = if changes_history || unit.sections.iter().all(|s| s.direction != Direction::Up) {
                lint::lint_prepared(&unit, prepared, schema, settings)
            } else {
                let mut scratch = schema.clone();
                lint::lint_prepared(&unit, prepared, &mut scratch, settings)
            };
            (Some(report), None)
        }
        Err(message) => (None, l.reported.then_some(PathError { path: l.path, message })),
    }
}

fn load_window(window: Vec<Placed>, max: u64, only: Option<&HashSet<std::path::PathBuf>>) -> Vec<(Placed, Loaded)> {
    window
        .into_par_iter()
        .map(|p| {
            let l = load(&p, max, only);
            (p, l)
        })
        .collect()
}

/// Lints the ordered files as a three-stage pipeline over windows of files: while
/// window N is analysed (folders in parallel, the files of a folder in order),
/// window N+1 is read and parsed and the results of window N-1 go through `map`
/// (the caller's rendering), all on the worker threads. `emit` gets the mapped
/// results in order, on the calling thread.
fn pipeline<T: Send>(
    files: &mut (dyn Iterator<Item = Found> + Send),
    settings: &Settings,
    max: u64,
    only: Option<&HashSet<std::path::PathBuf>>,
    map: &(dyn Fn(FileResult) -> T + Sync),
    emit: &mut dyn FnMut(T),
) {
    let mut carry: Carry = None;
    let mut loaded: Vec<(Placed, Loaded)> = Vec::new();
    let mut analysed: Vec<FileResult> = Vec::new();
    let mut exhausted = false;
    loop {
        if exhausted && loaded.is_empty() && analysed.is_empty() {
            break;
        }
        let to_analyse = std::mem::take(&mut loaded);
        let to_map = std::mem::take(&mut analysed);
        let held = carry.take();
        let ((results, c), ((fresh, errors, end), mapped)) = rayon::join(
            || analyse(to_analyse, held, settings),
            || {
                rayon::join(
                    || {
                        // Discovery (walking the folders) runs here too, off the analysis path.
                        let mut next = Vec::new();
                        let mut errors = Vec::new();
                        while !exhausted && next.len() < WINDOW {
                            match files.next() {
                                Some(Found::File(p)) => next.push(p),
                                Some(Found::Error(e)) => errors.push(e),
                                None => exhausted = true,
                            }
                        }
                        (load_window(next, max, only), errors, exhausted)
                    },
                    || to_map.into_par_iter().map(map).collect::<Vec<T>>(),
                )
            },
        );
        carry = c;
        loaded = fresh;
        analysed = results;
        exhausted = end;
        for t in mapped {
            emit(t);
        }
        for e in errors {
            emit(map((None, Some(e))));
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
/// migration order as soon as it is done (see [`run_mapped`]).
pub fn run_streaming(opts: &RunOptions, settings: &Settings, emit: &mut dyn FnMut(FileResult)) -> Result<(), String> {
    run_mapped(opts, settings, &|r| r, emit)
}

/// Lints everything the options name. Each file's result goes through `map` on a
/// worker thread (in parallel), then to `emit` on the calling thread, in migration
/// order, as soon as its window is done: files are read, parsed and analysed in
/// small windows, so memory does not grow with the number of files.
pub fn run_mapped<T: Send>(
    opts: &RunOptions,
    settings: &Settings,
    map: &(dyn Fn(FileResult) -> T + Sync),
    emit: &mut dyn FnMut(T),
) -> Result<(), String> {
    // One folder, every file reported: discover it as a stream, folder by folder,
    // so memory does not grow with the number of files.
    if let [one] = opts.paths.as_slice()
        && opts.only.is_none()
        && Path::new(one).is_dir()
    {
        let mut stream = discover::DirStream::new(Path::new(one), &opts.discover, opts.layout)?;
        pipeline(&mut stream, settings, opts.max_file_size, None, map, emit);
        return Ok(());
    }
    let (mut inputs, errors) = discover::discover(&opts.paths, &opts.discover)?;
    let mut only = opts.only.clone();
    let mut explicit: Vec<&Path> = opts.paths.iter().map(Path::new).filter(|p| p.is_file()).collect();
    if opts.paths.iter().any(|p| p == "-")
        && let Some(name) = &opts.discover.stdin_filename
    {
        explicit.push(name);
    }
    if opts.history_from_siblings && !explicit.is_empty() {
        let mut seen: HashSet<std::path::PathBuf> = inputs
            .iter()
            .filter_map(|i| match i {
                Input::File(p) | Input::Stdin(Some(p)) => Some(canonical(p)),
                Input::Stdin(None) => None,
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
            // Only the folder's own migrations: not every file below it (a file at the
            // root of a repository would otherwise walk the whole repository).
            let folder = DiscoverOptions { max_depth: Some(discover::MIGRATION_FOLDER_DEPTH), ..opts.discover.clone() };
            if let Ok((more, _)) = discover::discover(&[d.to_string_lossy().to_string()], &folder) {
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
            let reported = match &p.input {
                Input::File(f) => set.contains(&canonical(f)),
                Input::Stdin(_) => true,
            };
            if reported {
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
    let mut entries = errors.into_iter().map(Found::Error).chain(placed.into_iter().map(Found::File));
    pipeline(&mut entries, settings, opts.max_file_size, only.as_ref(), map, emit);
    Ok(())
}
