//! A migration file as the driver sees it: its text, its sections (up/down parts of
//! one file), how its tool wraps it in transactions, and what its path says (the
//! version and the migration's name). Plain data: every stage may use it.

use crate::model::Direction;
use std::path::Path;
use std::sync::Arc;

/// A part of a file that runs in one direction (dbmate/goose sections).
#[derive(Debug, Clone)]
pub struct Section {
    pub start: usize,
    pub end: usize,
    pub direction: Direction,
    /// Whether the tool wraps this section in a transaction.
    pub tx: TxWrap,
}

/// How a migration tool runs a file (RISK-MODEL.md, "Transactions").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxWrap {
    /// Each statement on its own (psql -f), unless the file says BEGIN.
    Never,
    /// The whole file in one transaction (Diesel, dbmate, goose, Supabase).
    Always,
    /// One multi-statement query: an implicit transaction when there is more
    /// than one statement (golang-migrate).
    MultiStatement,
    /// Flyway: a transaction, unless every statement is non-transactional
    /// (CONCURRENTLY, VACUUM ...), which Flyway detects and runs outside one.
    FlywayAuto,
}

/// One migration file, ready to lint.
#[derive(Debug, Clone)]
pub struct Unit {
    pub path: String,
    pub text: Arc<str>,
    pub layout: &'static str,
    /// The migration's name without version prefix and extension.
    pub name: String,
    pub sections: Vec<Section>,
    /// Some(false): the layout has down migrations and this up file has none.
    pub has_down: Option<bool>,
    /// The up's down file when it holds only comments (no rollback).
    pub empty_down: Option<Arc<str>>,
}

impl Unit {
    /// A plain file in one direction.
    pub fn plain(path: impl Into<String>, text: impl Into<Arc<str>>, direction: Direction, tx: TxWrap) -> Unit {
        let text: Arc<str> = text.into();
        let path = path.into();
        let name = migration_name(&path);
        Unit {
            sections: vec![Section { start: 0, end: text.len(), direction, tx }],
            path,
            text,
            layout: "plain",
            name,
            has_down: None,
            empty_down: None,
        }
    }
    pub fn direction(&self) -> Direction {
        if self.sections.iter().any(|s| s.direction == Direction::Up) {
            Direction::Up
        } else {
            self.sections.first().map(|s| s.direction).unwrap_or(Direction::Up)
        }
    }
}

pub fn file_name(p: &Path) -> String {
    p.file_name().map(|s| s.to_string_lossy().to_string()).unwrap_or_default()
}

pub fn parent_name(p: &Path) -> String {
    p.parent().and_then(|d| d.file_name()).map(|s| s.to_string_lossy().to_string()).unwrap_or_default()
}

pub fn is_dir_style(p: &Path) -> bool {
    matches!(file_name(p).as_str(), "up.sql" | "down.sql" | "migration.sql")
}

/// A file in a version-named folder (`versioned/v1.10/x.sql`, `migration/2.33/V2_33_1__x.sql`):
/// the folders of one parent are one migration history, applied in version order
/// (temporal-sql-tool's `versioned/vX.Y` folders; Flyway reads its locations recursively).
pub fn in_version_dir(p: &Path) -> bool {
    let d = parent_name(p);
    let body = d.strip_prefix(['v', 'V']).unwrap_or(&d);
    body.contains('.') && body.split('.').all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A Flyway file name (`V1_2__x.sql`, `U1__x.sql`, `R__x.sql`): it carries its own version.
pub fn flyway_named(name: &str) -> bool {
    let b = name.as_bytes();
    (b.len() > 2 && matches!(b[0], b'V' | b'U') && b[1].is_ascii_digit() && name.contains("__"))
        || name.starts_with("R__")
}

/// The name that carries the version: the file, or its folder for Diesel/Prisma and for
/// a file without a version of its own in a version-named folder.
pub fn version_name(p: &Path) -> String {
    if is_dir_style(p) || (in_version_dir(p) && !flyway_named(&file_name(p))) { parent_name(p) } else { file_name(p) }
}

/// The migration's descriptive name: `0002_add_email.up.sql` → `add_email`.
pub fn migration_name(path: &str) -> String {
    let p = Path::new(path);
    let mut n = version_name(p);
    for suf in [".sql", ".up", ".down", ".postgres", ".autocommit", "_up", "_down"] {
        if let Some(s) = n.strip_suffix(suf) {
            n = s.to_string();
        }
    }
    for suf in [".up", ".down", ".postgres", ".autocommit", "_up", "_down"] {
        if let Some(s) = n.strip_suffix(suf) {
            n = s.to_string();
        }
    }
    if let Some(i) = n.find("__") {
        return n[i + 2..].to_string();
    }
    let trimmed = n.trim_start_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '_' || c == '.');
    trimmed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(migration_name("m/0002_add_email.up.sql"), "add_email");
        assert_eq!(migration_name("m/V1_2__drop_x.sql"), "drop_x");
        assert_eq!(migration_name("m/2019-03-22-170700_remove_x/up.sql"), "remove_x");
        assert_eq!(migration_name("m/03_create_users_up.sql"), "create_users");
    }
}
