//! `migrade.toml`: found by walking up from the working directory (or `--config`).
//! Unknown keys and bad values are errors that point at the key (miette).

use crate::lint::{RuleSetting, Settings};
use crate::model::Level;
use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

pub const FILE_NAME: &str = "migrade.toml";

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub pg_version: Option<Spanned<PgVersionValue>>,
    pub fail_on: Option<Spanned<String>>,
    pub assume_in_transaction: Option<bool>,
    /// The deploy session's TimeZone is UTC (timestamp → timestamptz needs no rewrite).
    pub session_timezone_utc: Option<bool>,
    pub include: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
    pub session_level: Option<Spanned<String>>,
    pub require_ignore_reason: Option<bool>,
    pub layout: Option<Spanned<String>>,
    pub max_file_size: Option<u64>,
    /// How the project's runner wraps files: "per-file", "all-pending" or "none".
    pub transaction: Option<Spanned<String>>,
    #[serde(default)]
    pub rules: BTreeMap<String, Spanned<String>>,
    /// Rule groups: `security = "off"` or a level.
    #[serde(default)]
    pub tags: BTreeMap<String, Spanned<String>>,
}

/// `pg_version = 15`, `pg_version = "16.2"` or `pg_version = 16.2`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PgVersionValue {
    Int(i64),
    Float(f64),
    Text(String),
}

/// The PostgreSQL majors migrade knows (9 stands for every 9.x release).
pub const PG_VERSIONS: std::ops::RangeInclusive<u32> = 9..=19;

/// Parses a target version `MAJOR[.MINOR]` (`15`, `16.2`, `9.6`) into its major
/// number: the one parser of `--pg-version` and `pg_version`, for every subcommand.
pub fn parse_pg_version(s: &str) -> Result<u32, String> {
    let s = s.trim();
    let mut parts = s.split('.');
    let major = parts.next().and_then(|m| m.parse::<u32>().ok());
    let minor_ok = match (parts.next(), parts.next()) {
        (None, _) => true,
        (Some(m), None) => !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    };
    match major {
        Some(v) if minor_ok && PG_VERSIONS.contains(&v) => Ok(v),
        Some(_) if minor_ok => Err(format!(
            "`{s}` is not a PostgreSQL version migrade knows: the major version must be {} to {} (e.g. 15 or 16.2)",
            PG_VERSIONS.start(),
            PG_VERSIONS.end()
        )),
        _ => Err(format!("`{s}` is not a PostgreSQL version: use MAJOR or MAJOR.MINOR, e.g. 15 or 16.2")),
    }
}

/// A config error with the file and the key's location.
#[derive(Debug, Diagnostic)]
#[diagnostic(code(migrade::config))]
pub struct ConfigError {
    pub message: String,
    #[source_code]
    pub src: NamedSource<String>,
    #[label("here")]
    pub span: Option<SourceSpan>,
    #[help]
    pub help: Option<String>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The loaded configuration, resolved into settings.
#[derive(Debug, Default)]
pub struct Loaded {
    pub path: Option<PathBuf>,
    pub fail_on: Option<Level>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub layout: Option<crate::discover::Layout>,
    pub max_file_size: Option<u64>,
}

/// Finds `migrade.toml` in `start` or its parents.
pub fn find(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let p = d.join(FILE_NAME);
        if p.is_file() {
            return Some(p);
        }
        dir = d.parent();
    }
    None
}

fn err(
    path: &Path,
    text: &str,
    message: String,
    span: Option<std::ops::Range<usize>>,
    help: Option<String>,
) -> ConfigError {
    ConfigError {
        message: format!("{}: {message}", path.display()),
        src: NamedSource::new(path.display().to_string(), text.to_string()),
        span: span.map(|r| (r.start, r.end.saturating_sub(r.start)).into()),
        help,
    }
}

/// Loads and validates a config file into `settings`.
pub fn load(path: &Path, settings: &mut Settings) -> Result<Loaded, Box<ConfigError>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Box::new(err(path, "", format!("cannot read: {e}"), None, None)))?;
    let cfg: ConfigFile = toml::from_str(&text).map_err(|e| {
        Box::new(err(
            path,
            &text,
            e.message().to_string(),
            e.span(),
            Some(if e.message().contains("unknown field") {
                "Valid keys: pg_version, fail_on, assume_in_transaction, session_timezone_utc, include, exclude, session_level, require_ignore_reason, layout, max_file_size, transaction, [tags], [rules]".into()
            } else {
                "Check the value's type: numbers (pg_version = 15, max_file_size) are unquoted, levels are quoted strings, switches are true/false, include/exclude are lists of quoted globs".into()
            }),
        ))
    })?;
    let mut loaded = Loaded { path: Some(path.to_path_buf()), ..Default::default() };
    if let Some(v) = &cfg.pg_version {
        let raw = match v.get_ref() {
            PgVersionValue::Int(i) => i.to_string(),
            PgVersionValue::Float(f) => f.to_string(),
            PgVersionValue::Text(t) => t.clone(),
        };
        settings.pg_version = parse_pg_version(&raw).map_err(|e| {
            Box::new(err(
                path,
                &text,
                format!("pg_version: {e}"),
                Some(v.span()),
                Some("Use a version such as 15 or \"16.2\"".into()),
            ))
        })?;
    }
    let level = |s: &Spanned<String>, key: &str| {
        Level::parse(s.get_ref()).ok_or_else(|| {
            Box::new(err(
                path,
                &text,
                format!("{key} = \"{}\" is not a level", s.get_ref()),
                Some(s.span()),
                Some("Use low, medium, high or very-high".into()),
            ))
        })
    };
    if let Some(f) = &cfg.fail_on {
        loaded.fail_on = Some(level(f, "fail_on")?);
    }
    if let Some(s) = &cfg.session_level {
        settings.session_level = Some(level(s, "session_level")?);
    }
    if let Some(b) = cfg.assume_in_transaction {
        settings.assume_in_transaction = b;
    }
    if let Some(b) = cfg.session_timezone_utc {
        settings.utc = b;
    }
    if let Some(b) = cfg.require_ignore_reason {
        settings.require_ignore_reason = b;
    }
    if let Some(l) = &cfg.layout {
        let Some(layout) = crate::discover::Layout::parse(l.get_ref()) else {
            return Err(Box::new(err(
                path,
                &text,
                format!("unknown layout \"{}\"", l.get_ref()),
                Some(l.span()),
                Some(format!("Use one of: {}", crate::discover::Layout::names())),
            )));
        };
        loaded.layout = Some(layout);
    }
    if let Some(t) = &cfg.transaction {
        use crate::unit::TxWrap;
        // All pending files in one transaction: within each file the same as
        // per-file (every lock held to the end), and the locks of the earlier
        // pending files are held too (lint carries them from file to file).
        settings.all_pending = t.get_ref() == "all-pending";
        settings.transaction = Some(match t.get_ref().as_str() {
            "per-file" | "all-pending" => TxWrap::Always,
            "none" => TxWrap::Never,
            other => {
                let msg = format!("transaction = \"{other}\" is not a transaction mode");
                let help = "Use per-file (one transaction per file), all-pending (every pending file in one transaction) or none (each statement on its own)";
                return Err(Box::new(err(path, &text, msg, Some(t.span()), Some(help.into()))));
            }
        });
    }
    loaded.include = cfg.include.unwrap_or_default();
    loaded.exclude = cfg.exclude.unwrap_or_default();
    loaded.max_file_size = cfg.max_file_size;
    let setting = |key: String, v: &Spanned<String>| -> Result<RuleSetting, Box<ConfigError>> {
        if v.get_ref() == "off" {
            return Ok(RuleSetting::Off);
        }
        Level::parse(v.get_ref()).map(RuleSetting::Level).ok_or_else(|| {
            Box::new(err(
                path,
                &text,
                format!("{key} = \"{}\" is not off or a level", v.get_ref()),
                Some(v.span()),
                Some("Use off, low, medium, high or very-high".into()),
            ))
        })
    };
    // The keys of these maps carry no span: errors point at the value.
    for (tag, v) in &cfg.tags {
        if !crate::rules::ALL.iter().any(|r| r.tags.contains(&tag.as_str())) {
            let msg = format!("unknown rule group \"{tag}\" in [tags]");
            return Err(Box::new(err(path, &text, msg, Some(v.span()), Some("Known groups: security".into()))));
        }
        settings.tags.insert(tag.clone(), setting(format!("tags.{tag}"), v)?);
    }
    for (id, v) in &cfg.rules {
        if crate::rules::find(id).is_none() {
            let msg = format!("unknown rule \"{id}\" in [rules]");
            let help = "Run `migrade rules` for the list of rule ids".to_string();
            return Err(Box::new(err(path, &text, msg, Some(v.span()), Some(help))));
        }
        settings.rules.insert(id.clone(), setting(format!("rules.{id}"), v)?);
    }
    Ok(loaded)
}

/// The commented default file `migrade init` writes.
pub const DEFAULT_FILE: &str = r#"# migrade configuration (https://github.com/ — see README.md)
# Every key is optional; command-line flags override these values.

# Target PostgreSQL major version: version-dependent facts follow it.
# Default: 15, the oldest version the PostgreSQL project still supports.
# pg_version = 15

# Exit with code 1 when a file's grade reaches this level: low, medium, high, very-high.
# fail_on = "high"

# Treat every file as running inside one transaction (most migration tools wrap files).
# assume_in_transaction = false

# The deploy session's TimeZone is UTC: timestamp -> timestamptz then needs no rewrite.
# session_timezone_utc = false

# Which files to lint inside directories, and which to skip (globs).
# include = ["**/*.sql"]
# exclude = ["**/seeds/**"]

# Migration tool layout; detected per folder when unset.
# golang-migrate, up-down-suffix, diesel, flyway, dbmate, goose, sqitch, prisma, supabase, plain
# layout = "golang-migrate"

# Level of the session-safety findings (missing-lock-timeout,
# statements-after-access-exclusive-lock). Default: low.
# session_level = "low"

# Inline ignores must give a reason: -- migrade-ignore: rule -- reason
# require_ignore_reason = false

# How your migration runner wraps files, when the layout does not tell or your
# runner differs from the tool's default: "per-file" (one transaction per file),
# "all-pending" (every pending file in one transaction) or "none".
# transaction = "per-file"

# Files larger than this many bytes are reported and skipped (default 16 MiB).
# max_file_size = 16777216

[tags]
# Turn a whole group of rules off or change its level:
# security = "off"

[rules]
# Turn a rule off or change its level:
# drop-index = "off"
# missing-lock-timeout = "medium"
"#;

/// What the settings resolver reads besides the paths: the flags every subcommand shares.
#[derive(Debug, Clone, Default)]
pub struct Shared {
    /// `--pg-version`, already validated by [`parse_pg_version`].
    pub pg_version: Option<u32>,
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    /// `--no-config`.
    pub no_config: bool,
}

/// One set of settings and the paths they apply to: the paths whose nearest
/// migrade.toml is the same file (or none).
#[derive(Debug)]
pub struct Resolved {
    pub settings: Settings,
    pub loaded: Loaded,
    pub paths: Vec<String>,
}

/// Why the settings could not be resolved (the run stops with exit code 2).
#[derive(Debug)]
pub enum ResolveError {
    /// `--config FILE` names no file.
    NotFound(PathBuf),
    /// A configuration file with an unknown key or a bad value.
    Invalid(Box<ConfigError>),
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResolveError::NotFound(p) => write!(f, "config file {} not found; check --config", p.display()),
            ResolveError::Invalid(e) => write!(f, "{e}"),
        }
    }
}

/// Where the config search starts for one path argument: its folder (a glob's
/// fixed folder part; standard input's `--stdin-filename` folder), made absolute
/// so the search reaches the working directory's parents.
pub fn search_start(arg: &str, stdin_name: Option<&Path>) -> PathBuf {
    let p = if arg == "-" {
        stdin_name.and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default()
    } else if crate::discover::has_glob_chars(arg) {
        crate::discover::glob_root(arg)
    } else {
        let p = Path::new(arg);
        if p.is_dir() { p.to_path_buf() } else { p.parent().map(Path::to_path_buf).unwrap_or_default() }
    };
    let p = if p.as_os_str().is_empty() { PathBuf::from(".") } else { p };
    std::path::absolute(&p).unwrap_or(p)
}

/// The one settings resolver of every subcommand (lint, verify, plan): the config
/// file(s), validated, then the shared flags. Without `--config`, each path uses the
/// migrade.toml found upward from it (as ruff does); paths that share one are resolved
/// together. The subcommand's own flags (`--fail-on`, `--layout`, ...) are applied
/// over [`Resolved::loaded`] with the `or_flag` helpers of [`Loaded`].
pub fn resolve(shared: &Shared, paths: &[String], stdin_name: Option<&Path>) -> Result<Vec<Resolved>, ResolveError> {
    let mut groups: Vec<(Option<PathBuf>, Vec<String>)> = Vec::new();
    if shared.no_config {
        groups.push((None, paths.to_vec()));
    } else if let Some(p) = &shared.config {
        if !p.is_file() {
            return Err(ResolveError::NotFound(p.clone()));
        }
        groups.push((Some(p.clone()), paths.to_vec()));
    } else {
        for arg in paths {
            let found = find(&search_start(arg, stdin_name));
            match groups.iter_mut().find(|(c, _)| *c == found) {
                Some((_, ps)) => ps.push(arg.clone()),
                None => groups.push((found, vec![arg.clone()])),
            }
        }
    }
    let mut out = Vec::new();
    for (path, paths) in groups {
        let mut settings = Settings::default();
        let loaded = match &path {
            Some(p) => load(p, &mut settings).map_err(ResolveError::Invalid)?,
            None => Loaded::default(),
        };
        if let Some(v) = shared.pg_version {
            settings.pg_version = v;
        }
        out.push(Resolved { settings, loaded, paths });
    }
    Ok(out)
}

impl Loaded {
    /// `--fail-on` over the file's `fail_on`; `high` when neither says.
    pub fn fail_on(&self, flag: Option<Level>) -> Level {
        flag.or(self.fail_on).unwrap_or(Level::High)
    }
}
