//! Finds migration files (walkdir + globset), recognises each folder's
//! migration tool layout, and orders files the way the tool applies them.

use crate::model::Direction;
use crate::unit::version_name;
use crate::unit::{Section, TxWrap, Unit, file_name, flyway_named, in_version_dir, is_dir_style, parent_name};
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An operational error about one path: reported, the rest goes on, exit 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    pub path: String,
    pub message: String,
}

/// Where a file's text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    File(PathBuf),
    /// Standard input, with the path it stands for (`--stdin-filename`) when given.
    Stdin(Option<PathBuf>),
}

/// The error for a folder argument with no migration file in it.
const NO_FILES: &str = "no migration files found here (looked for *.sql; set --include to change)";

/// Discovery options.
#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// How deep folders are walked below each folder argument (None: all the way).
    pub max_depth: Option<usize>,
    /// The path standard input stands for (`--stdin-filename`): used in output,
    /// for the layout and for the schema history.
    pub stdin_filename: Option<PathBuf>,
}

/// Whether `exclude` matches a path named on the command line: its display form,
/// and its absolute form (for patterns written from a parent folder).
fn excluded(exclude: &GlobSet, p: &Path) -> bool {
    if exclude.is_empty() {
        return false;
    }
    exclude.is_match(display(p)) || std::path::absolute(p).is_ok_and(|a| exclude.is_match(a))
}

/// The depth below a migration folder where its files can be: `x.sql` (plain and
/// most tools), `<version>/up.sql` (Diesel, Prisma, golang-migrate folders),
/// `deploy/x.sql` (sqitch). See [`group_of`].
pub const MIGRATION_FOLDER_DEPTH: usize = 2;

fn build_set(globs: &[String]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        let glob = Glob::new(g).map_err(|e| format!("invalid glob `{g}`: {e}"))?;
        b.add(glob);
    }
    b.build().map_err(|e| e.to_string())
}

/// Whether a path argument is a glob pattern.
pub fn has_glob_chars(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The folder a glob pattern is walked from: its fixed leading components (`.` when none).
pub fn glob_root(pattern: &str) -> PathBuf {
    let prefix: PathBuf = pattern.split('/').take_while(|c| !has_glob_chars(c)).collect::<Vec<_>>().join("/").into();
    if prefix.as_os_str().is_empty() { PathBuf::from(".") } else { prefix }
}

/// A path as shown in reports: without a leading `./`.
pub fn display(p: &Path) -> String {
    let s = p.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

/// Finds the files to lint. Explicit file arguments are linted unless `exclude`
/// matches them (pre-commit names every staged file: the config's excludes must
/// hold for them too, as ruff's `--force-exclude` makes them); directories are
/// walked for files matching `include` (default `**/*.sql`) and not `exclude`.
pub fn discover(paths: &[String], opts: &DiscoverOptions) -> Result<(Vec<Input>, Vec<PathError>), String> {
    let include =
        if opts.include.is_empty() { build_set(&["**/*.sql".to_string()])? } else { build_set(&opts.include)? };
    let exclude = build_set(&opts.exclude)?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    let mut push = |p: PathBuf, out: &mut Vec<Input>| {
        if seen.insert(p.clone()) {
            out.push(Input::File(p));
        }
    };
    for arg in paths {
        if arg == "-" {
            if opts.stdin_filename.as_deref().is_none_or(|p| !excluded(&exclude, p)) {
                out.push(Input::Stdin(opts.stdin_filename.clone()));
            }
            continue;
        }
        let path = Path::new(arg);
        if path.is_file() {
            if !excluded(&exclude, path) {
                push(path.to_path_buf(), &mut out);
            }
            continue;
        }
        if path.is_dir() {
            let before = out.len();
            let skipped = walk(path, &include, &exclude, opts.max_depth, &mut |p| push(p, &mut out), &mut errors);
            if out.len() == before {
                errors.push(PathError { path: display(path), message: no_files(skipped) });
            }
            continue;
        }
        if has_glob_chars(arg) {
            // Walk from the literal prefix of the pattern.
            let root = glob_root(arg);
            let set = build_set(&[arg.trim_start_matches("./").to_string()])?;
            let before = out.len();
            // A pattern whose fixed folder does not exist matches nothing: one error, not two.
            let skipped = if root.is_dir() {
                walk(&root, &set, &exclude, None, &mut |p| push(p, &mut out), &mut errors)
            } else {
                0
            };
            if out.len() == before {
                let message = if skipped > 0 {
                    format!(
                        "the pattern matches only excluded files ({skipped}); check exclude in migrade.toml and --exclude"
                    )
                } else {
                    "the pattern matches no files".into()
                };
                errors.push(PathError { path: arg.clone(), message });
            }
            continue;
        }
        let message = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => {
                "a symbolic link that cannot be followed (broken or a loop)".to_string()
            }
            Ok(_) => "not a regular file or directory".to_string(),
            Err(e) => format!("cannot read: {e}; check the path"),
        };
        errors.push(PathError { path: arg.clone(), message });
    }
    Ok((out, errors))
}

fn walk(
    root: &Path,
    include: &GlobSet,
    exclude: &GlobSet,
    max_depth: Option<usize>,
    found: &mut dyn FnMut(PathBuf),
    errors: &mut Vec<PathError>,
) -> usize {
    let mut w = Walk::new(root, include.clone(), exclude.clone(), max_depth);
    for item in w.by_ref() {
        match item {
            Ok(p) => found(p),
            Err(e) => errors.push(e),
        }
    }
    w.excluded
}

/// The error for a folder that gave no file: none there, or all excluded.
fn no_files(excluded: usize) -> String {
    if excluded == 0 {
        return NO_FILES.into();
    }
    let what = if excluded == 1 {
        "the one migration file here is".to_string()
    } else {
        format!("all {excluded} migration files here are")
    };
    format!("{what} excluded (by exclude in migrade.toml or --exclude); nothing to lint")
}

/// The files under a folder that match `include` and not `exclude`, depth first,
/// each folder's entries sorted by name: paths arrive in increasing order.
struct Walk {
    root: PathBuf,
    inner: walkdir::IntoIter,
    include: GlobSet,
    exclude: GlobSet,
    /// Files `include` matched that `exclude` then skipped.
    excluded: usize,
}

impl Walk {
    fn new(root: &Path, include: GlobSet, exclude: GlobSet, max_depth: Option<usize>) -> Walk {
        let inner = walkdir::WalkDir::new(root)
            .follow_links(true)
            .max_depth(max_depth.unwrap_or(usize::MAX))
            // By file name (what sort_by_file_name compares), read off the whole paths:
            // siblings' paths are their folder's path joined with their names, so they
            // compare as their names do, without splitting each path into components on
            // every comparison.
            .sort_by(|a, b| a.path().as_os_str().cmp(b.path().as_os_str()))
            .into_iter();
        Walk { root: root.to_path_buf(), inner, include, exclude, excluded: 0 }
    }
}

impl Iterator for Walk {
    type Item = Result<PathBuf, PathError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.inner.next()? {
                Ok(e) => {
                    if !e.file_type().is_file() {
                        continue;
                    }
                    let p = e.path();
                    let rel = p.strip_prefix(&self.root).unwrap_or(p);
                    let rel_s = rel.to_string_lossy();
                    let full_s = display(p);
                    let inc = self.include.is_match(rel)
                        || self.include.is_match(&full_s)
                        || self.include.is_match(rel_s.as_ref());
                    let exc = self.exclude.is_match(rel) || self.exclude.is_match(&full_s);
                    if inc && !exc {
                        return Some(Ok(e.into_path()));
                    }
                    if inc {
                        self.excluded += 1;
                    }
                }
                Err(e) => {
                    let path = e.path().map(display).unwrap_or_else(|| display(&self.root));
                    let message = if e.loop_ancestor().is_some() {
                        "symbolic link loop; skipped".to_string()
                    } else {
                        match e.io_error() {
                            Some(io) => format!("cannot read: {io}"),
                            None => e.to_string(),
                        }
                    };
                    return Some(Err(PathError { path, message }));
                }
            }
        }
    }
}

/// One item of a streamed discovery: a file in migration order, or a path error.
pub enum Found {
    File(Placed),
    Error(PathError),
}

/// Walks one directory and yields its files in the order [`order`] gives them,
/// folder by folder, as soon as a folder is complete: paths arrive in increasing
/// order, so folders appear in the order of their first file, and a migration
/// folder (an ancestor of its files) is complete once the walk has left it.
/// Memory holds the folders still open, not every file found.
pub struct DirStream {
    walk: Walk,
    forced: Option<Layout>,
    /// Folders whose files are still being collected, in output order (few at a time).
    open: std::collections::VecDeque<(PathBuf, Vec<PathBuf>)>,
    ready: std::collections::VecDeque<Found>,
    found_any: bool,
    done: bool,
}

impl DirStream {
    pub fn new(root: &Path, opts: &DiscoverOptions, forced: Option<Layout>) -> Result<DirStream, String> {
        let include =
            if opts.include.is_empty() { build_set(&["**/*.sql".to_string()])? } else { build_set(&opts.include)? };
        let exclude = build_set(&opts.exclude)?;
        Ok(DirStream {
            walk: Walk::new(root, include, exclude, opts.max_depth),
            forced,
            open: Default::default(),
            ready: Default::default(),
            found_any: false,
            done: false,
        })
    }

    /// Moves the folders at the front of `open` that the walk has left (all of
    /// them when `all`) to `ready`, in order.
    fn flush(&mut self, current: Option<&Path>, all: bool) {
        while let Some((g, _)) = self.open.front() {
            let complete = all
                || current.is_some_and(|c| g != Path::new(".") && !c.strip_prefix("./").unwrap_or(c).starts_with(g));
            if !complete {
                break;
            }
            let Some((group, files)) = self.open.pop_front() else { break };
            let mut placed = Vec::new();
            order_group(&group, files, self.forced, &mut placed);
            self.ready.extend(placed.into_iter().map(Found::File));
        }
    }
}

impl Iterator for DirStream {
    type Item = Found;

    fn next(&mut self) -> Option<Found> {
        while self.ready.is_empty() && !self.done {
            match self.walk.next() {
                Some(Ok(p)) => {
                    self.found_any = true;
                    self.flush(Some(&p), false);
                    let g = group_of(&p);
                    match self.open.iter_mut().rev().find(|(k, _)| *k == g) {
                        Some((_, files)) => files.push(p),
                        None => self.open.push_back((g, vec![p])),
                    }
                }
                Some(Err(e)) => self.ready.push_back(Found::Error(e)),
                None => {
                    self.done = true;
                    self.flush(None, true);
                    if !self.found_any {
                        self.ready.push_back(Found::Error(PathError {
                            path: display(&self.walk.root),
                            message: no_files(self.walk.excluded),
                        }));
                    }
                }
            }
        }
        self.ready.pop_front()
    }
}

// ---------- layouts ----------

/// The migration tool a folder follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    GolangMigrate,
    UpDownSuffix,
    Diesel,
    Flyway,
    Dbmate,
    Goose,
    Sqitch,
    Prisma,
    Supabase,
    /// ory popx (Kratos, Hydra, Keto): `<version>_<name>[.<dialect>][.autocommit].(up|down).sql`.
    Popx,
    /// sqlx (Rust): `<version>_<name>.sql` or `.up.sql`/`.down.sql`, in a Cargo project using sqlx.
    Sqlx,
    Plain,
}

impl Layout {
    pub fn name(&self) -> &'static str {
        match self {
            Layout::GolangMigrate => "golang-migrate",
            Layout::UpDownSuffix => "up-down-suffix",
            Layout::Diesel => "diesel",
            Layout::Flyway => "flyway",
            Layout::Dbmate => "dbmate",
            Layout::Goose => "goose",
            Layout::Sqitch => "sqitch",
            Layout::Prisma => "prisma",
            Layout::Supabase => "supabase",
            Layout::Popx => "popx",
            Layout::Sqlx => "sqlx",
            Layout::Plain => "plain",
        }
    }
    /// Every layout, in the order help texts list them.
    pub const ALL: [Layout; 12] = [
        Layout::GolangMigrate,
        Layout::UpDownSuffix,
        Layout::Diesel,
        Layout::Flyway,
        Layout::Dbmate,
        Layout::Goose,
        Layout::Sqitch,
        Layout::Prisma,
        Layout::Supabase,
        Layout::Popx,
        Layout::Sqlx,
        Layout::Plain,
    ];
    pub fn parse(s: &str) -> Option<Layout> {
        Layout::ALL.into_iter().find(|l| l.name() == s)
    }
    /// The layout names, comma-separated, for messages.
    pub fn names() -> String {
        Layout::ALL.map(|l| l.name()).join(", ")
    }
    /// How the tool runs each file (before per-file opt-outs and project probes).
    pub fn tx(&self) -> TxWrap {
        match self {
            Layout::GolangMigrate => TxWrap::MultiStatement,
            Layout::Flyway => TxWrap::FlywayAuto,
            Layout::Diesel | Layout::Dbmate | Layout::Goose | Layout::Supabase => TxWrap::Always,
            // popx runs a migration with `tx.Exec(content)` inside a transaction
            // (ory/x popx/migration_box.go, `txRunner`); `.autocommit` files are
            // handled in `unit_for`.
            Layout::Popx => TxWrap::Always,
            // sqlx begins a transaction per migration unless the file starts with
            // `-- no-transaction` (sqlx-core migrate/source.rs sets `no_tx`;
            // sqlx-postgres migrate.rs `apply` begins a transaction when !no_tx).
            Layout::Sqlx => TxWrap::Always,
            // Prisma sends the whole migration.sql as one script (a multi-statement
            // simple query: one implicit transaction) unless the version splits it
            // into statements; see `prisma_tx`.
            Layout::Prisma => TxWrap::MultiStatement,
            _ => TxWrap::Never,
        }
    }
}

/// The folder whose files share one schema history.
pub fn group_of(p: &Path) -> PathBuf {
    let g = group_of_raw(p);
    // `x.sql` and `./x.sql` are in the same folder.
    if g.as_os_str().is_empty() || g == Path::new(".") {
        PathBuf::from(".")
    } else {
        g.strip_prefix("./").map(Path::to_path_buf).unwrap_or(g)
    }
}

fn group_of_raw(p: &Path) -> PathBuf {
    let parent = p.parent().unwrap_or(Path::new("")).to_path_buf();
    if is_dir_style(p) || in_version_dir(p) {
        return parent.parent().unwrap_or(Path::new("")).to_path_buf();
    }
    if matches!(parent_name(p).as_str(), "deploy" | "revert" | "verify") {
        return parent.parent().unwrap_or(Path::new("")).to_path_buf();
    }
    parent
}

/// A version for ordering: components compared numerically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionKey {
    /// 0 versioned, 1 unversioned, 2 repeatable (Flyway R__, run last).
    pub category: u8,
    pub parts: Vec<String>,
}

fn cmp_num(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl Ord for VersionKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.category.cmp(&other.category).then_with(|| {
            for (a, b) in self.parts.iter().zip(&other.parts) {
                let o = cmp_num(a, b);
                if o != Ordering::Equal {
                    return o;
                }
            }
            self.parts.len().cmp(&other.parts.len())
        })
    }
}

impl PartialOrd for VersionKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Version of a migration name: Flyway `V1_2__x` → [1, 2]; `0002_x` → [2];
/// Diesel `2019-03-22-170700_x` → [20190322170700]; `R__x` → repeatable.
pub fn version_key(name: &str) -> VersionKey {
    let b = name.as_bytes();
    if (name.starts_with('R') || name.starts_with('r')) && name[1..].starts_with("__") {
        return VersionKey { category: 2, parts: vec![] };
    }
    if b.len() > 1 && matches!(b[0], b'V' | b'v' | b'U' | b'u') && b[1].is_ascii_digit() && name.contains("__") {
        let ver = &name[1..name.find("__").unwrap_or(name.len())];
        let parts = ver
            .split(['.', '_'])
            .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
            .map(str::to_string)
            .collect();
        return VersionKey { category: 0, parts };
    }
    // A version-named folder or file (`v1.10/`, `1.2.3_x.sql`): a leading `v`, then
    // numbers separated by dots, each compared as a number (v1.10 after v1.2).
    let body = match b {
        [b'v' | b'V', d, ..] if d.is_ascii_digit() => &name[1..],
        _ => name,
    };
    let mut parts: Vec<String> = vec![String::new()];
    {
        let mut chars = body.chars().peekable();
        while let Some(&c) = chars.peek() {
            let cur = parts.last().map(String::is_empty).unwrap_or(true);
            if c.is_ascii_digit() {
                if let Some(p) = parts.last_mut() {
                    p.push(c);
                }
                chars.next();
            } else if (c == '-' || c == '.') && !cur {
                chars.next();
                if !chars.peek().is_some_and(|c| c.is_ascii_digit()) {
                    break;
                }
                // Diesel's `2019-03-22-170700` is one number; dots separate parts.
                if c == '.' {
                    parts.push(String::new());
                }
            } else {
                break;
            }
        }
    }
    if parts.first().is_none_or(String::is_empty) {
        VersionKey { category: 1, parts: vec![] }
    } else {
        VersionKey { category: 0, parts }
    }
}

fn direction_of(p: &Path, layout: Layout) -> Direction {
    if layout == Layout::Sqitch {
        // Only sqitch reads the folder's name (the parent is looked up on every call).
        return match parent_name(p).as_str() {
            "revert" => Direction::Down,
            "verify" => Direction::Verify,
            _ => Direction::Up,
        };
    }
    let f = file_name(p).to_ascii_lowercase();
    if f == "down.sql"
        || f.ends_with(".down.sql")
        || f.ends_with("_down.sql")
        || (f.starts_with('u') && f.contains("__") && f.as_bytes().get(1).is_some_and(|b| b.is_ascii_digit()))
    {
        Direction::Down
    } else if f.starts_with("r__") {
        Direction::Repeatable
    } else {
        Direction::Up
    }
}

/// Detects a folder's layout from its file names (files' markers refine it later).
pub fn detect_layout(files: &[&Path]) -> Layout {
    let names: Vec<String> = files.iter().map(|p| file_name(p)).collect();
    let parents: Vec<String> = files.iter().map(|p| parent_name(p)).collect();
    if parents.iter().any(|p| p == "deploy" || p == "revert") {
        return Layout::Sqitch;
    }
    if names.iter().any(|n| n == "up.sql" || n == "down.sql") {
        return Layout::Diesel;
    }
    if names.iter().any(|n| n == "migration.sql") {
        return Layout::Prisma;
    }
    if names.iter().any(|n| popx_name(n).is_some_and(|m| m.dialect.is_some() || m.autocommit)) {
        return Layout::Popx;
    }
    if names.iter().any(|n| flyway_named(n)) {
        return Layout::Flyway;
    }
    let sqlx_names = names.iter().all(|n| {
        let (v, rest) = n.split_once('_').unwrap_or(("", ""));
        !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && rest.ends_with(".sql")
    });
    if sqlx_names && files.first().is_some_and(|f| uses_sqlx(group_of(f).as_path())) {
        return Layout::Sqlx;
    }
    if names.iter().any(|n| n.ends_with(".up.sql") || n.ends_with(".down.sql")) {
        return Layout::GolangMigrate;
    }
    if names.iter().any(|n| n.ends_with("_up.sql") || n.ends_with("_down.sql")) {
        return Layout::UpDownSuffix;
    }
    if files.iter().any(|p| in_supabase_migrations(p)) {
        return Layout::Supabase;
    }
    Layout::Plain
}

/// A popx migration file name, as ory/x popx/match.go parses it:
/// `^(\d+)_([^.]+)(\.[a-z0-9]+)?(\.autocommit)?\.(up|down)\.(sql)$`.
#[derive(Debug, PartialEq, Eq)]
pub struct PopxName {
    pub version: String,
    /// `None`: dialect-free (popx's "all"), applies to every database.
    pub dialect: Option<String>,
    pub autocommit: bool,
    pub up: bool,
}

pub fn popx_name(file: &str) -> Option<PopxName> {
    // Matched by hand (compiling the regex was a third of a one-file lint's
    // instructions): the version's digits, `_`, a name without dots, then the dot
    // separated parts `[dialect][.autocommit].(up|down).sql`. `\d` is ASCII here, as
    // in Go's regexp.
    let (version, rest) = file.split_at(file.find(|c: char| !c.is_ascii_digit())?);
    let rest = rest.strip_prefix('_')?;
    if version.is_empty() {
        return None;
    }
    let dot = rest.find('.')?;
    if dot == 0 {
        return None;
    }
    let parts: Vec<&str> = rest[dot + 1..].split('.').collect();
    let (middle, up) = match parts.as_slice() {
        [middle @ .., dir, "sql"] if *dir == "up" || *dir == "down" => (middle, *dir == "up"),
        _ => return None,
    };
    let word = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let (third, autocommit) = match middle {
        [] => (None, false),
        [third] if word(third) => (Some(*third), false),
        [third, "autocommit"] if word(third) => (Some(*third), true),
        _ => return None,
    };
    let (dialect, autocommit) = match third {
        // popx: "the autocommit group moves forward to the 3rd index".
        Some("autocommit") => (None, true),
        d => (d.map(str::to_string), autocommit),
    };
    Some(PopxName { version: version.to_string(), dialect, autocommit, up })
}

/// pop's canonical PostgreSQL dialect names (pop `CanonicalDialect`: postgres,
/// postgresql, pg); mysql, sqlite3, cockroach (crdb) are other databases.
fn popx_is_postgres(dialect: &str) -> bool {
    matches!(dialect, "postgres" | "postgresql" | "pg")
}

/// The files popx applies on PostgreSQL: other dialects' files are dropped, and a
/// dialect-free file is dropped when the same version and direction has a
/// `.postgres.` one (ory/x popx/migration_info.go `sortAndFilter`: the
/// dialect's migration wins over "all"). Returns the kept files and a note
/// saying what was skipped and why.
fn popx_select(files: Vec<PathBuf>) -> (Vec<PathBuf>, Option<String>) {
    let mut pg_specific: HashSet<(String, bool)> = HashSet::new();
    for f in &files {
        if let Some(m) = popx_name(&file_name(f))
            && m.dialect.as_deref().is_some_and(popx_is_postgres)
        {
            pg_specific.insert((m.version, m.up));
        }
    }
    let (mut other, mut replaced) = (BTreeMap::<String, usize>::new(), 0usize);
    let kept: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| match popx_name(&file_name(f)) {
            Some(m) => match m.dialect.as_deref() {
                Some(d) if popx_is_postgres(d) => true,
                Some(d) => {
                    *other.entry(d.to_string()).or_default() += 1;
                    false
                }
                None if pg_specific.contains(&(m.version.clone(), m.up)) => {
                    replaced += 1;
                    false
                }
                None => true,
            },
            None => true,
        })
        .collect();
    let mut parts = Vec::new();
    if !other.is_empty() {
        let n: usize = other.values().sum();
        let list: Vec<String> = other.iter().map(|(d, c)| format!("{c} .{d}.")).collect();
        parts.push(format!("{n} files for other databases ({}), which popx never runs on PostgreSQL", list.join(", ")));
    }
    if replaced > 0 {
        parts.push(format!(
            "{replaced} dialect-free files whose version has a .postgres. file (popx runs that one instead)"
        ));
    }
    let note = (!parts.is_empty()).then(|| format!("skipped {}", parts.join(" and ")));
    (kept, note)
}

/// Whether the folder belongs to a Cargo project that uses sqlx: a Cargo.toml in
/// it or up to three folders above it that names sqlx.
fn uses_sqlx(group: &Path) -> bool {
    let start = std::path::absolute(group).unwrap_or_else(|_| group.to_path_buf());
    start.ancestors().take(4).any(|d| {
        std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|t| {
            t.lines().any(|l| {
                let l = l.trim_start();
                l.starts_with("sqlx") || l.starts_with("[dependencies.sqlx]") || l.contains("sqlx = ")
            })
        })
    })
}

/// How Prisma runs the migration files of a folder: the whole file as one
/// multi-statement script (one implicit transaction: CONCURRENTLY fails when
/// the file has another statement) up to Prisma 7.3; from 7.4 the schema engine
/// splits the script into statements (prisma/prisma-engines#5767, #5799) and runs
/// them one by one, falling back to one script when its SQL parser cannot read a
/// statement (prisma-engines#5847: `DROP INDEX CONCURRENTLY`). The version is the
/// one package.json pins (`prisma` or `@prisma/client`) in the folder or up to
/// four folders above; unknown: the conservative one-script case.
pub fn prisma_splits(group: &Path) -> bool {
    let start = std::path::absolute(group).unwrap_or_else(|_| group.to_path_buf());
    for d in start.ancestors().take(5) {
        let Ok(text) = std::fs::read_to_string(d.join("package.json")) else { continue };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
        for section in ["dependencies", "devDependencies"] {
            for name in ["prisma", "@prisma/client"] {
                if let Some(v) = json[section][name].as_str() {
                    return prisma_version_splits(v);
                }
            }
        }
    }
    false
}

/// Whether a package.json version requirement (`^7.4.0`, `~6.19.1`, `7.5.2`)
/// pins a Prisma that splits migration scripts (7.4 or later). Ranges whose
/// lowest version cannot be read count as not splitting.
fn prisma_version_splits(req: &str) -> bool {
    let v = req.trim().trim_start_matches(['^', '~', '=', '>', 'v', ' ']);
    let mut nums = v.split(['.', '-', ' ']).map(|p| p.parse::<u32>().ok());
    match (nums.next().flatten(), nums.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (7, 4),
        (Some(major), None) => major >= 8,
        _ => false,
    }
}

/// Whether a file is in a `supabase/migrations` folder, wherever migrade runs from
/// (`migrations/x.sql` linted from inside `supabase/` too).
fn in_supabase_migrations(p: &Path) -> bool {
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let named = |d: &Path| {
        d.file_name().is_some_and(|n| n == "migrations")
            && d.parent().and_then(Path::file_name).is_some_and(|n| n == "supabase")
    };
    // The last two names settle it without touching the file system; `.`, `..` or a
    // one-name path (`migrations/x.sql` from inside `supabase/`) need the real path.
    let last_two_named =
        dir.components().rev().take(2).filter(|c| matches!(c, std::path::Component::Normal(_))).count() == 2;
    if last_two_named {
        return named(dir);
    }
    named(&std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()))
}

/// Reads `sqitch.plan` in a sqitch project folder: change name → position.
fn sqitch_order(root: &Path) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    if let Ok(text) = std::fs::read_to_string(root.join("sqitch.plan")) {
        for line in text.lines() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('%') || l.starts_with('#') || l.starts_with('@') {
                continue;
            }
            if let Some(name) = l.split_whitespace().next() {
                let n = m.len();
                m.entry(name.to_string()).or_insert(n);
            }
        }
    }
    m
}

/// A file placed in its group, in migration order.
#[derive(Debug, Clone)]
pub struct Placed {
    pub input: Input,
    /// Shared by every file of the folder.
    pub group: std::sync::Arc<Path>,
    pub layout: Layout,
    pub direction: Direction,
    pub has_down: Option<bool>,
    /// The down file of this up when it holds only comments (no rollback).
    pub empty_down: Option<Arc<str>>,
    /// How the folder's tool runs a file, before the file's own opt-outs: the
    /// layout's default refined by what the project shows (Prisma's version).
    pub tool_tx: TxWrap,
}

/// Groups files by migration folder and orders each group as the tool would;
/// folders come in the order of their first file by path.
pub fn order(inputs: Vec<Input>, forced: Option<Layout>) -> Vec<Placed> {
    let mut stdin = Vec::new();
    // Standard input with a path takes that path's place in its folder's order.
    let mut stdin_as: Option<PathBuf> = None;
    let mut groups: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for i in inputs {
        match i {
            Input::File(p) => groups.entry(group_of(&p)).or_default().push(p),
            Input::Stdin(Some(p)) if stdin_as.is_none() => {
                stdin_as = Some(p.clone());
                groups.entry(group_of(&p)).or_default().push(p);
            }
            Input::Stdin(_) => stdin.push(Placed {
                input: Input::Stdin(None),
                group: std::sync::Arc::from(Path::new("-")),
                layout: forced.unwrap_or(Layout::Plain),
                direction: Direction::Up,
                has_down: None,
                empty_down: None,
                tool_tx: forced.unwrap_or(Layout::Plain).tx(),
            }),
        }
    }
    // Folders in the order of their first file (the order a walk meets them).
    let mut groups: Vec<(PathBuf, Vec<PathBuf>)> = groups.into_iter().collect();
    groups.sort_by_cached_key(|(_, files)| files.iter().min().cloned());
    let mut out = Vec::new();
    for (group, files) in groups {
        order_group(&group, files, forced, &mut out);
    }
    if let Some(name) = stdin_as {
        for p in &mut out {
            if matches!(&p.input, Input::File(f) if *f == name) {
                p.input = Input::Stdin(Some(name));
                break;
            }
        }
    }
    out.extend(stdin);
    out
}

/// Orders the files of one migration folder as its tool would, appending them to `out`.
fn order_group(group: &Path, mut files: Vec<PathBuf>, forced: Option<Layout>, out: &mut Vec<Placed>) {
    let shared_group: std::sync::Arc<Path> = std::sync::Arc::from(group);
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let layout = forced.unwrap_or_else(|| detect_layout(&refs));
    if layout == Layout::Popx {
        let (kept, note) = popx_select(files);
        files = kept;
        if let Some(n) = note {
            // Said once per folder, on stderr: these files are not migrations here.
            eprintln!("note: {}: {n}", display(group));
        }
    }
    let tool_tx = if layout == Layout::Prisma && prisma_splits(group) { TxWrap::Never } else { layout.tx() };
    let plan = if layout == Layout::Sqitch { sqitch_order(group) } else { HashMap::new() };
    // Which up files have a matching down.
    let downs: HashMap<String, PathBuf> = files
        .iter()
        .filter(|p| direction_of(p, layout) == Direction::Down)
        .map(|p| (down_key(p, layout), p.clone()))
        .collect();
    let layout_has_downs = !downs.is_empty()
        && matches!(
            layout,
            Layout::GolangMigrate | Layout::UpDownSuffix | Layout::Diesel | Layout::Popx | Layout::Sqlx
        );
    // The tool's own order. Tools that compare versions as text (a shorter number sorts
    // after a longer one starting with a higher digit: "10" before "9"):
    // - ory popx: `compareMigration` uses strings.Compare on the version
    //   (ory/x popx/migration_info.go);
    // - dbmate: FindMigrations sorts by file name as a string (pkg/dbmate/db.go);
    // - Prisma: list_migrations sorts the migration folders by name as strings
    //   (prisma-engines schema-engine/.../migrations_directory.rs);
    // - Diesel: the version is the folder name before the first `_` with the `-`
    //   removed (migrations_internals::version_from_string), and pending migrations
    //   are sorted by that version, a string (diesel_migrations migration_harness.rs).
    // The others compare numbers: golang-migrate parses the version with
    // strconv.ParseUint (source/parse.go), goose with strconv.ParseInt (NumericComponent),
    // sqlx with `parse::<i64>` and sorts by it (sqlx-core/src/migrate/source.rs), Flyway
    // compares each dot/underscore-separated part as a number (version_key).
    let text_order = match layout {
        Layout::Popx => true,
        Layout::Dbmate => true,
        // Folder names the tool generates start with their timestamp; a version-named
        // folder (`v1.2/up.sql`) belongs to a runner of the project's own, ordered as
        // versions (v1.10 after v1.2).
        Layout::Prisma | Layout::Diesel => {
            files.iter().all(|p| version_name(p).as_bytes().first().is_some_and(u8::is_ascii_digit))
        }
        // dbmate is recognised by its `-- migrate:up` sections, not by its file names.
        Layout::Plain | Layout::Supabase => forced.is_none() && files.iter().any(|p| dbmate_sections(p)),
        _ => false,
    };
    // Keys computed once per file, not once per comparison.
    files.sort_by_cached_key(|p| {
        let name = version_name(p);
        let (key, text) = if layout == Layout::Sqitch {
            let step = plan.get(file_stem(p).as_str()).copied().unwrap_or(usize::MAX).to_string();
            (VersionKey { category: 0, parts: vec![step] }, String::new())
        } else if text_order && layout == Layout::Popx {
            let version = popx_name(&name).map(|m| m.version).unwrap_or_else(|| name.clone());
            (VersionKey { category: 0, parts: vec![] }, version)
        } else if text_order && layout == Layout::Diesel {
            let version = name.split('_').next().unwrap_or(&name).replace('-', "");
            (VersionKey { category: 0, parts: vec![] }, version)
        } else if text_order {
            (VersionKey { category: 0, parts: vec![] }, name.clone())
        } else {
            (version_key(&name), String::new())
        };
        (key, text, direction_rank(direction_of(p, layout)), name, p.clone())
    });
    for p in files {
        let direction = direction_of(&p, layout);
        let down = (layout_has_downs && direction == Direction::Up).then(|| downs.get(&down_key(&p, layout)));
        // A down that holds only comments is no rollback: reported as such, not as missing.
        let empty_down = down.flatten().filter(|d| comment_only(d)).map(|d| Arc::from(display(d).as_str()));
        let has_down = down.map(|d| d.is_some());
        out.push(Placed {
            input: Input::File(p),
            group: shared_group.clone(),
            layout,
            direction,
            has_down,
            empty_down,
            tool_tx,
        });
    }
}

/// Whether a file has dbmate's `-- migrate:up` section marker. Unreadable files do not.
fn dbmate_sections(p: &Path) -> bool {
    // Every match below has `migrate:up` in it: a file without those bytes (nearly all)
    // is not scanned line by line.
    let Ok(bytes) = std::fs::read(p) else {
        return false;
    };
    if memchr::memmem::find(&bytes, b"migrate:up").is_none() {
        return false;
    }
    String::from_utf8(bytes).is_ok_and(|t| {
        t.lines().any(|l| {
            l.trim()
                .strip_prefix("--")
                .is_some_and(|c| c.trim().strip_prefix("migrate:").is_some_and(|r| r.starts_with("up")))
        })
    })
}

/// Whether a file holds no SQL: only blank lines and `--` comments (a down
/// migration left as a placeholder). Unreadable files count as holding SQL.
fn comment_only(p: &Path) -> bool {
    std::fs::read_to_string(p).is_ok_and(|t| {
        t.lines().all(|l| {
            let l = l.trim().trim_start_matches('\u{feff}');
            l.is_empty() || l.starts_with("--")
        })
    })
}

fn direction_rank(d: Direction) -> u8 {
    match d {
        Direction::Up => 0,
        Direction::Verify => 1,
        Direction::Down => 2,
        Direction::Repeatable => 3,
    }
}

fn file_stem(p: &Path) -> String {
    p.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default()
}

/// The key an up file and its down file share.
fn down_key(p: &Path, layout: Layout) -> String {
    if layout == Layout::Diesel {
        return p.parent().map(|d| d.to_string_lossy().to_string()).unwrap_or_default();
    }
    // popx pairs by version: a dialect-free down undoes a `.postgres.` up.
    if layout == Layout::Popx
        && let Some(m) = popx_name(&file_name(p))
    {
        let dir = p.parent().map(|d| d.to_string_lossy().to_string()).unwrap_or_default();
        return format!("{dir}/{}", m.version);
    }
    let f = p.to_string_lossy().to_string();
    for (a, b) in [(".down.sql", ""), (".up.sql", ""), ("_down.sql", ""), ("_up.sql", "")] {
        if let Some(s) = f.strip_suffix(a) {
            return format!("{s}{b}");
        }
    }
    f
}

/// Builds the lint unit for a file's text: sections for dbmate/goose markers,
/// the transaction behaviour of its tool.
pub fn unit_for(path: &str, text: Arc<str>, placed: &Placed) -> Unit {
    let mut unit = Unit::plain(path.to_string(), text.clone(), placed.direction, placed.tool_tx);
    unit.layout = placed.layout.name();
    unit.has_down = placed.has_down;
    unit.empty_down = placed.empty_down.clone();
    let lower_path = path.to_ascii_lowercase();
    // ory/popx: `.autocommit.` files are not wrapped in a transaction, but popx
    // sends the whole file in one `RawQuery(content).ExecWithCount()` (ory/x
    // popx/migration_box.go, `autoCommitRunner`), a multi-statement simple
    // query: one implicit transaction when the file has several statements.
    if lower_path.contains(".autocommit.") {
        unit.sections[0].tx = if placed.layout == Layout::Popx { TxWrap::MultiStatement } else { TxWrap::Never };
    }
    // sqlx: `-- no-transaction` as the file's start opts out of the transaction
    // (sqlx-core migrate/source.rs); the file is then still executed as one
    // multi-statement query.
    if placed.layout == Layout::Sqlx && text.trim_start_matches('\u{feff}').starts_with("-- no-transaction") {
        unit.sections[0].tx = TxWrap::MultiStatement;
    }
    // Prisma 7.4+ splits the script, but sends it whole when its SQL parser cannot
    // read a statement (prisma-engines#5847: DROP INDEX CONCURRENTLY).
    if placed.layout == Layout::Prisma
        && placed.tool_tx == TxWrap::Never
        && text.to_ascii_uppercase().contains("DROP INDEX CONCURRENTLY")
    {
        unit.sections[0].tx = TxWrap::MultiStatement;
    }
    // Diesel: metadata.toml with `run_in_transaction = false`.
    if placed.layout == Layout::Diesel
        && let Some(dir) = Path::new(path).parent()
        && let Ok(meta) = std::fs::read_to_string(dir.join("metadata.toml"))
        && meta.lines().any(|l| {
            let l: String = l.chars().filter(|c| !c.is_whitespace()).collect();
            l == "run_in_transaction=false"
        })
    {
        unit.sections[0].tx = TxWrap::Never;
    }
    if let Some(sections) = marker_sections(&text) {
        unit.layout = sections.0.name();
        unit.sections = sections.1;
    }
    if placed.direction == Direction::Verify {
        unit.sections[0].tx = TxWrap::Never;
    }
    unit
}

/// dbmate (`-- migrate:up` / `-- migrate:down`) and goose (`-- +goose Up` / `Down`) sections.
fn marker_sections(text: &str) -> Option<(Layout, Vec<Section>)> {
    let mut marks: Vec<(usize, Direction, bool, Layout)> = Vec::new();
    let mut goose_no_tx = false;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let l = line.trim();
        let start = offset;
        offset += line.len();
        let Some(c) = l.strip_prefix("--") else {
            continue;
        };
        let c = c.trim();
        if let Some(rest) = c.strip_prefix("migrate:") {
            let no_tx = rest.contains("transaction:false");
            if rest.starts_with("up") {
                marks.push((start, Direction::Up, !no_tx, Layout::Dbmate));
            } else if rest.starts_with("down") {
                marks.push((start, Direction::Down, !no_tx, Layout::Dbmate));
            }
        } else if let Some(rest) = c.strip_prefix("+goose") {
            let r = rest.trim();
            if r.eq_ignore_ascii_case("up") {
                marks.push((start, Direction::Up, true, Layout::Goose));
            } else if r.eq_ignore_ascii_case("down") {
                marks.push((start, Direction::Down, true, Layout::Goose));
            } else if r.eq_ignore_ascii_case("no transaction") {
                goose_no_tx = true;
            }
        }
    }
    if marks.is_empty() {
        return None;
    }
    let layout = marks[0].3;
    let mut sections = Vec::new();
    for (i, (start, dir, tx, _)) in marks.iter().enumerate() {
        let end = marks.get(i + 1).map(|m| m.0).unwrap_or(text.len());
        let wraps = *tx && !(layout == Layout::Goose && goose_no_tx);
        sections.push(Section {
            start: *start,
            end,
            direction: *dir,
            tx: if wraps { TxWrap::Always } else { TxWrap::Never },
        });
    }
    // Text before the first marker belongs to the first section.
    if let Some(first) = sections.first_mut() {
        first.start = 0;
    }
    Some((layout, sections))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_and_flyway_ordering() {
        assert!(version_key("2_x.sql") < version_key("10_x.sql"));
        assert!(version_key("V1_2__a.sql") < version_key("V1_10__a.sql"));
        assert!(version_key("V1__a.sql") < version_key("R__views.sql"));
        assert!(version_key("20161115111853_x") < version_key("2019-03-22-170700_x"));
        assert!(version_key("0001_a") < version_key("0002_a"));
        // Version-named folders: numbers, not text (v1.10 after v1.2).
        assert!(version_key("v1.2") < version_key("v1.10"));
        assert!(version_key("v1.9.3") < version_key("v1.10.0"));
        assert!(version_key("1.2_x.sql") < version_key("1.10_x.sql"));
    }

    #[test]
    fn popx_names_and_prisma_versions() {
        let m = popx_name("20200317160354_create_profile_request_forms.postgres.up.sql").unwrap();
        assert_eq!(
            (m.version.as_str(), m.dialect.as_deref(), m.autocommit, m.up),
            ("20200317160354", Some("postgres"), false, true)
        );
        let m = popx_name("20210410175418_identity_credentials.autocommit.down.sql").unwrap();
        assert_eq!((m.dialect, m.autocommit, m.up), (None, true, false));
        let m = popx_name("1_x.mysql.autocommit.up.sql").unwrap();
        assert_eq!((m.dialect.as_deref(), m.autocommit), (Some("mysql"), true));
        assert_eq!(popx_name("1_x.up.sql").map(|m| m.dialect), Some(None));
        assert!(popx_name("x.up.sql").is_none());
        // The same answers as popx's regex on the edges of each part.
        assert_eq!(
            popx_name("1_x.autocommit.autocommit.up.sql").map(|m| (m.dialect, m.autocommit)),
            Some((None, true))
        );
        for bad in [
            "_x.up.sql",
            "1x.up.sql",
            "1_.up.sql",
            "1_x.Postgres.up.sql",
            "1_x..up.sql",
            "1_x.pg.sqlite.up.sql",
            "1_x.up.SQL",
            "1_x.sideways.sql",
            "1_x.up.sql.bak",
        ] {
            assert!(popx_name(bad).is_none(), "{bad}");
        }
        for (req, splits) in
            [("^7.4.0", true), ("7.10.1", true), ("~6.19.0", false), ("5.22.0", false), ("latest", false), ("8", true)]
        {
            assert_eq!(prisma_version_splits(req), splits, "{req}");
        }
    }
}
