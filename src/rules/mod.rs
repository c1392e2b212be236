//! The rule catalogue. One rule = one file here (its `RULE` and check, registered by
//! build.rs from the file name) + `rules/<id>.md`, whose examples run as its fixtures.
//! Rules read facts and the statement in migrade's terms; they cannot fail; they only
//! emit hits.

use crate::facts::FactCtx;
use crate::ir::*;
use crate::model::{Direction, Effects, LockMode};
// What rule files use most, for their `use super::*;`.
pub(crate) use crate::facts::{TypeChange, type_change};
pub(crate) use crate::model::{FastMap, FastSet, Level, PlanStep};
pub(crate) use crate::plan;
pub use crate::plan::{backup_select, pk_of};
use crate::schema::Schema;
pub(crate) use crate::unit::TxWrap;

/// What a rule reports; the driver adds the location and the level (the rule's own,
/// unless the hit says otherwise with [`Hit::level`]).
#[derive(Debug, Clone)]
pub struct Hit {
    /// Set only by a rule whose level varies with what it found.
    pub level: Option<Level>,
    pub message: String,
    pub help: String,
    pub plan: Vec<PlanStep>,
    /// For file rules: the statement the hit points at.
    pub statement: Option<usize>,
    /// A narrower location than the statement (byte range in the file).
    pub span: Option<(usize, usize)>,
}

impl Hit {
    pub fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        Hit { level: None, message: message.into(), help: help.into(), plan: Vec::new(), statement: None, span: None }
    }
    /// This hit's level, when it differs from the rule's default.
    pub fn level(mut self, level: Level) -> Self {
        self.level = Some(level);
        self
    }
    pub fn plan(mut self, plan: Vec<PlanStep>) -> Self {
        self.plan = plan;
        self
    }
    pub fn span(mut self, start: usize, end: usize) -> Self {
        self.span = Some((start, end));
        self
    }
    pub fn at(mut self, statement: usize) -> Self {
        self.statement = Some(statement);
        self
    }
}

/// Transaction state before a statement runs.
#[derive(Debug, Clone, Default)]
pub struct TxState {
    /// Inside a transaction block (explicit BEGIN, or the tool wraps the file).
    pub in_tx: bool,
    /// The block is the migration tool's wrapper, not an explicit BEGIN.
    pub wrapped: bool,
    /// Tables locked ACCESS EXCLUSIVE earlier in this transaction (existing tables only).
    pub access_exclusive: Vec<String>,
    /// Earlier statements in this transaction that changed the schema of an existing table.
    pub ddl_at: Vec<usize>,
    /// Earlier statements in this transaction that changed data in an existing table.
    pub dml_at: Vec<usize>,
    /// Enum values added earlier in this transaction.
    pub enum_values_added: Vec<(String, String)>,
    pub lock_timeout: bool,
    pub statement_timeout: bool,
    /// `SET LOCAL TimeZone` earlier in this transaction: whether it is UTC.
    pub utc_local: Option<bool>,
}

/// Settings the rules read.
#[derive(Debug, Clone)]
pub struct RuleSettings {
    pub pg_version: u32,
    pub utc: bool,
}

/// A parsed statement slot of a file: `None` once taken or when unterminated.
pub type ParsedSlot = Option<Option<Result<ParsedStatement, crate::ir::ParseError>>>;

/// The statements after the current one in the same file section, for rules that
/// judge a statement by what follows it (a drop followed by its re-creation).
#[derive(Clone, Copy, Default)]
pub struct Later<'a> {
    pub(crate) slots: &'a [ParsedSlot],
    /// Position in `slots` of each later statement.
    pub(crate) positions: &'a [usize],
}

impl<'a> Later<'a> {
    /// Each later statement's op, when it could be parsed.
    pub fn iter(&self) -> impl Iterator<Item = Option<&'a Op>> + 'a {
        self.parsed().map(|p| p.map(|x| &x.op))
    }
    /// Each later statement as parsed (None: it could not be parsed).
    pub fn parsed(&self) -> impl Iterator<Item = Option<&'a ParsedStatement>> + 'a {
        let slots = self.slots;
        self.positions
            .iter()
            .map(move |&p| slots.get(p).and_then(Option::as_ref).and_then(Option::as_ref).and_then(|x| x.as_ref().ok()))
    }
    /// The op of the statement right after the current one, when it could be parsed.
    pub fn next_op(&self) -> Option<&'a Op> {
        self.iter().next().flatten()
    }
}

/// One statement, as a rule sees it.
pub struct StmtCtx<'a> {
    pub index: usize,
    pub op: &'a Op,
    /// The statement's text, only to hand on whole to a plan step that runs it as written
    /// (rules read the IR and [`StmtCtx::text`], never this).
    pub sql: &'a str,
    /// What the parse stage read in the statement's text (string constants, connection
    /// settings, calls).
    pub text: &'a TextFacts,
    pub summary: &'a str,
    pub effects: &'a Effects,
    pub facts: &'a FactCtx<'a>,
    pub tx: &'a TxState,
    pub refuses_transaction: Option<&'a str>,
    pub settings: &'a RuleSettings,
    /// The statements after this one in the same section.
    pub later: Later<'a>,
}

impl StmtCtx<'_> {
    pub fn schema(&self) -> &Schema {
        self.facts.schema
    }
    /// The object was created earlier in this file: new and empty.
    pub fn is_new(&self, name: &str) -> bool {
        self.facts.is_new(name)
    }
    pub fn pg(&self) -> u32 {
        self.settings.pg_version
    }
}

/// What file-level rules see about each statement.
#[derive(Debug, Clone)]
pub struct StmtRecord {
    pub index: usize,
    pub summary: String,
    pub op: Option<Op>,
    pub effects: Effects,
    pub in_tx: bool,
    /// Identifies the transaction the statement ran in (autocommit statements get their own).
    pub tx_id: usize,
    pub lock_timeout_before: bool,
    pub statement_timeout_before: bool,
    /// The statement's main table was created earlier in the same file.
    pub targets_new: bool,
}

/// A file, as file-level rules see it.
pub struct FileCtx<'a> {
    pub path: &'a str,
    /// The migration's name without its version prefix and extension (`add_email`).
    pub name: &'a str,
    pub direction: Direction,
    /// How the migration tool runs this section: in a transaction of its own
    /// (`Always`, also under `assume_in_transaction`), as one multi-statement query, or
    /// statement by statement.
    pub tx: TxWrap,
    /// Some(false): the layout has down migrations and this up file has none.
    pub has_down: Option<bool>,
    /// The down file when it holds only comments.
    pub empty_down: Option<&'a str>,
    pub statements: &'a [StmtRecord],
    /// Objects created in this file, with the statement that created them.
    pub created_at: &'a crate::model::FastMap<String, usize>,
    /// `transaction = "all-pending"`: ACCESS EXCLUSIVE locks the earlier pending files
    /// took and the runner's one transaction still holds when this file starts:
    /// (table, `<file> statement N`).
    pub held: &'a [(String, String)],
}

impl FileCtx<'_> {
    /// `name` was created in this file, by statement `s` or before it.
    pub fn new_objects_before(&self, s: &StmtRecord, name: &str) -> bool {
        self.created_at.get(name).is_some_and(|&i| i <= s.index)
    }
}

pub enum Check {
    Statement(fn(&StmtCtx, &mut Vec<Hit>)),
    File(fn(&FileCtx, &mut Vec<Hit>)),
    /// Emitted by the driver itself (unparsable statements).
    Driver,
}

pub struct Rule {
    pub id: &'static str,
    pub level: Level,
    pub summary: &'static str,
    pub doc: &'static str,
    pub check: Check,
    /// Session-safety rule: its level follows the `session_level` setting.
    pub session: bool,
    /// Groups the rule belongs to (`security`), shown by `migrade rules` and
    /// switchable as a group in migrade.toml (`[tags] security = "off"`).
    pub tags: &'static [&'static str],
}

macro_rules! rule_doc {
    ($id:literal) => {
        include_str!(concat!("../../rules/", $id, ".md"))
    };
}
// Every rule module and [`ALL`], generated by build.rs from the file names of this
// folder (a rule is registered by its file existing; tests/architecture.rs checks that
// ALL is exactly the files, each RULE's id its file name). At one position, findings of
// one level are reported in rule-id order (src/lint/grading.rs).
include!(concat!(env!("OUT_DIR"), "/rules.rs"));

/// Not a rule: the parser of inline ignore comments (src/lint/suppression.rs applies them).
pub mod ignores;

pub fn find(id: &str) -> Option<&'static Rule> {
    ALL.iter().copied().find(|r| r.id == id)
}

// ---- helpers shared by rules ----

/// The ALTER TABLE sub-commands of a statement with its table, if it is one.
pub fn alter_cmds(op: &Op) -> Option<(&QName, &[AlterCmd])> {
    match op {
        Op::AlterTable { table, cmds, kind: ObjKind::Table | ObjKind::ForeignTable | ObjKind::Other, .. } => {
            Some((table, cmds.as_slice()))
        }
        _ => None,
    }
}

/// The column types a statement declares, with their table: CREATE TABLE columns,
/// ADD COLUMN and ALTER COLUMN ... TYPE.
pub fn declared_types(op: &Op) -> Vec<(&QName, &str, &TypeRef)> {
    match op {
        Op::CreateTable { table, columns, .. } => {
            columns.iter().map(|c| (table, c.name.as_str(), &c.type_ref)).collect()
        }
        _ => match alter_cmds(op) {
            Some((table, cmds)) => cmds
                .iter()
                .filter_map(|cmd| match cmd {
                    AlterCmd::AddColumn { column, .. } => Some((table, column.name.as_str(), &column.type_ref)),
                    AlterCmd::AlterType { column, new_type, .. } => Some((table, column.as_str(), new_type)),
                    _ => None,
                })
                .collect(),
            None => Vec::new(),
        },
    }
}

/// The type is PostgreSQL's built-in `name` (one of `names`), not a user type of
/// the same name in another schema.
pub fn is_builtin(t: &TypeRef, names: &[&str]) -> bool {
    names.contains(&t.name.as_str()) && !t.display.contains('.')
}

/// The ALTER TABLE sub-commands of a statement on an existing table (not one
/// created earlier in the same file: those are new and empty).
pub fn existing_alter_cmds<'a>(cx: &StmtCtx<'a>) -> Option<(&'a QName, &'a [AlterCmd])> {
    alter_cmds(cx.op).filter(|(t, _)| !cx.is_new(&t.name))
}

/// A table rebuilt under its own name in one file: `ALTER TABLE t RENAME TO t_old;
/// CREATE TABLE t (...); INSERT INTO t ... SELECT ... FROM t_old; [DROP TABLE t_old]`.
pub struct Rebuild {
    pub table: String,
    pub old: String,
    /// `DROP TABLE t_old` follows the copy.
    pub dropped: bool,
    /// The rename, the copy (and the drop) run in one transaction: the rename's ACCESS
    /// EXCLUSIVE lock on the old table is held through the copy.
    pub one_tx: bool,
    /// The file's statements (0-based indexes) of the create, the copy and the drop.
    pub create_at: usize,
    pub copy_at: usize,
    pub drop_at: Option<usize>,
}

/// The rebuild that a `RENAME TO` of an existing table starts, judged from the statements
/// after it in the same file section.
pub fn rebuild_from_rename(cx: &StmtCtx) -> Option<Rebuild> {
    let Op::Rename { kind: ObjKind::Table, object, column: None, new_name } = cx.op else {
        return None;
    };
    if cx.is_new(&object.name) {
        return None;
    }
    // Positions (among the later statements) of the create, the copy, the drop and each
    // transaction end.
    let (mut created, mut copied, mut dropped, mut tx_ends) = (None, None, None, vec![]);
    for (i, p) in cx.later.parsed().enumerate() {
        let Some(p) = p else { continue };
        match &p.op {
            Op::Transaction(TxKind::Commit | TxKind::Rollback) => tx_ends.push(i),
            Op::CreateTable { table, .. } if table.name == object.name && created.is_none() => created = Some(i),
            Op::Insert { table, from_query: true, .. }
                if created.is_some() && copied.is_none() && table.name == object.name && p.reads.contains(new_name) =>
            {
                copied = Some(i)
            }
            Op::Drop { kind: ObjKind::Table, names, .. }
                if copied.is_some() && dropped.is_none() && names.iter().any(|n| &n.name == new_name) =>
            {
                dropped = Some(i)
            }
            _ => {}
        }
    }
    let end = dropped.or(copied)?;
    let at = |i: usize| cx.index + 1 + i;
    Some(Rebuild {
        table: object.name.clone(),
        old: new_name.clone(),
        dropped: dropped.is_some(),
        one_tx: cx.tx.in_tx && !tx_ends.iter().any(|&t| t < end),
        create_at: at(created?),
        copy_at: at(copied?),
        drop_at: dropped.map(at),
    })
}

/// `SET lock_timeout` line for plans.
pub const LOCK_TIMEOUT: &str = "SET lock_timeout = '5s';";

/// Describes a lock for messages: `ACCESS EXCLUSIVE lock on users (blocks reads and writes)`.
pub fn lock_phrase(table: &str, mode: LockMode) -> String {
    format!("{mode} lock on {table} ({})", mode.blocks())
}

/// The constraints of `kind` an ALTER TABLE adds, each with its name: the file's, or the
/// one PostgreSQL chooses ([`Schema::new_constraint_name`]) past the history's names, the
/// ones the statement chose before, and the ones it drops (PostgreSQL drops a statement's
/// constraints before it adds any, so their names are free).
pub fn added_constraints<'a>(
    schema: &Schema,
    table: &str,
    cmds: &'a [AlterCmd],
    kind: ConstraintKind,
) -> Vec<(String, &'a ConstraintSpec)> {
    let freed: Vec<String> = cmds
        .iter()
        .filter_map(|c| match c {
            AlterCmd::DropConstraint { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    let mut chosen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for cmd in cmds {
        if let AlterCmd::AddConstraint(spec) = cmd
            && spec.kind == kind
        {
            let name = spec.name.clone().unwrap_or_else(|| schema.new_constraint_name(table, spec, &chosen, &freed));
            chosen.push(name.clone());
            out.push((name, spec));
        }
    }
    out
}

/// `DROP COLUMN x, ADD COLUMN x <definition>` in one ALTER TABLE (how Prisma changes a
/// type that has no cast): the new definition of `column`, when it is a plain column (no
/// key, CHECK, foreign key, identity or generated value; a non-volatile default or none),
/// the case [`crate::plan::replace_column`] plans.
pub fn replaced_column<'a>(cmds: &'a [AlterCmd], column: &str) -> Option<&'a ColumnSpec> {
    let dropped = cmds.iter().position(|c| matches!(c, AlterCmd::DropColumn { column: d, .. } if d == column))?;
    cmds[dropped..].iter().find_map(|c| match c {
        AlterCmd::AddColumn { column: spec, .. } if spec.name == column && spec.is_plain() => Some(spec),
        _ => None,
    })
}

/// Whether `table.column` is of an enum type of the history.
pub fn is_enum_column(schema: &Schema, table: &str, column: &str) -> bool {
    schema.table(table).and_then(|t| t.column(column)).is_some_and(|c| schema.enums.contains(&c.type_ref.name))
}

/// A unique or primary key that `ALTER TABLE table DROP CONSTRAINT name` drops: its
/// kind from the schema history when it knows the constraint, else from PostgreSQL's
/// default names (`<table>_pkey`, `<table>_<cols>_key`). With the known constraint.
pub fn dropped_key<'s>(
    schema: &'s Schema,
    table: &str,
    name: &str,
) -> Option<(ConstraintKind, Option<&'s crate::schema::Constraint>)> {
    if let Some(k) = schema.table(table).and_then(|t| t.constraint(name)) {
        return matches!(k.kind, ConstraintKind::PrimaryKey | ConstraintKind::Unique).then_some((k.kind, Some(k)));
    }
    if name == format!("{table}_pkey") {
        return Some((ConstraintKind::PrimaryKey, None));
    }
    let cols = name.strip_prefix(table).and_then(|r| r.strip_prefix('_')).and_then(|r| r.strip_suffix("_key"));
    cols.is_some_and(|c| !c.is_empty()).then_some((ConstraintKind::Unique, None))
}

/// The dependent-foreign-key part of a key-drop message, and whether the drop
/// fails because of them (no CASCADE).
pub fn dependent_fks(
    schema: &Schema,
    table: &str,
    key: Option<&crate::schema::Constraint>,
    cascade: bool,
) -> (String, bool) {
    let deps = key.map(|k| schema.foreign_keys_on(table, k)).unwrap_or_default();
    if deps.is_empty() {
        return (String::new(), false);
    }
    let list = deps.iter().map(|(t, k)| format!("{k} on {t}")).collect::<Vec<_>>().join(", ");
    let mut tables: Vec<&str> = deps.iter().map(|(t, _)| t.as_str()).filter(|t| *t != table).collect();
    tables.dedup();
    if cascade {
        let locked = if tables.is_empty() {
            String::new()
        } else {
            format!(", taking ACCESS EXCLUSIVE on {}", tables.join(", "))
        };
        (format!("; CASCADE also drops the foreign keys that depend on it ({list}){locked}"), false)
    } else {
        (format!("; foreign keys depend on it ({list}): without CASCADE the DROP fails"), true)
    }
}

/// Leading keywords of a statement, upper-cased, comments skipped.
pub fn leading_words(sql: &str, n: usize) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = sql;
    while words.len() < n {
        rest = rest.trim_start();
        if rest.starts_with("--") {
            rest = rest.find('\n').map(|i| &rest[i..]).unwrap_or("");
            continue;
        }
        if rest.starts_with("/*") {
            rest = rest.find("*/").map(|i| &rest[i + 2..]).unwrap_or("");
            continue;
        }
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        words.push(rest[..end].to_ascii_uppercase());
        rest = &rest[end..];
    }
    words
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::lint::{Settings, lint_unit};
    use crate::model::{Direction, Level};
    use crate::schema::Schema;
    use crate::unit::{TxWrap, Unit};

    /// (rule, level, message) of the findings of `rules` in `sql`, linted after the file `history`.
    pub(crate) fn after_history(history: &str, sql: &str, rules: &[&str]) -> Vec<(String, Level, String)> {
        let mut schema = Schema::default();
        let settings = Settings::default();
        lint_unit(&Unit::plain("0001_history.sql", history, Direction::Up, TxWrap::Never), &mut schema, &settings);
        let report =
            lint_unit(&Unit::plain("0002_test.sql", sql, Direction::Up, TxWrap::Never), &mut schema, &settings);
        report
            .findings
            .iter()
            .filter(|f| rules.contains(&f.rule))
            .map(|f| (f.rule.to_string(), f.level, f.message.clone()))
            .collect()
    }

    /// The key-drop findings of `sql` after `history`.
    pub(crate) fn key_drops(history: &str, sql: &str) -> Vec<(String, Level, String)> {
        after_history(history, sql, &["drop-primary-key", "drop-unique-constraint"])
    }

    /// (rule, 1-based statement number) of every finding of `rules`.
    pub(crate) fn findings(sql: &str, tx: TxWrap, rules: &[&str]) -> Vec<(String, usize)> {
        let unit = Unit::plain("0001_test.sql", sql, Direction::Up, tx);
        let report = lint_unit(&unit, &mut Schema::default(), &Settings::default());
        report
            .findings
            .iter()
            .filter(|f| rules.contains(&f.rule))
            .map(|f| (f.rule.to_string(), f.statement.map_or(0, |s| s + 1)))
            .collect()
    }
}
