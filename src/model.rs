//! Data that flows from the analysis to the reporters: levels, lock modes,
//! statement effects, findings, plans, file reports.

use serde::Serialize;
use std::fmt;

/// The hash map and set of the linter's per-file state (object names, statement
/// indexes): foldhash, seeded per process like std's, where SipHash was 2.5% of a
/// lint's instructions (issue 16). Nothing reads their iteration order.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// See [`FastMap`].
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// Risk level, ordered `low < medium < high < very-high`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    #[default]
    Low,
    Medium,
    High,
    VeryHigh,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::Low, Level::Medium, Level::High, Level::VeryHigh];
    pub fn as_str(&self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::VeryHigh => "very-high",
        }
    }
    pub fn parse(s: &str) -> Option<Level> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "low" => Some(Level::Low),
            "medium" => Some(Level::Medium),
            "high" => Some(Level::High),
            "very-high" | "veryhigh" => Some(Level::VeryHigh),
            _ => None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// PostgreSQL's table lock modes, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockMode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

impl LockMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }
    pub fn parse(s: &str) -> Option<LockMode> {
        let all = [
            LockMode::AccessShare,
            LockMode::RowShare,
            LockMode::RowExclusive,
            LockMode::ShareUpdateExclusive,
            LockMode::Share,
            LockMode::ShareRowExclusive,
            LockMode::Exclusive,
            LockMode::AccessExclusive,
        ];
        all.into_iter().find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
    }
    /// Blocks plain SELECTs.
    pub fn blocks_reads(&self) -> bool {
        *self == LockMode::AccessExclusive
    }
    /// Blocks INSERT/UPDATE/DELETE (conflicts with ROW EXCLUSIVE).
    pub fn blocks_writes(&self) -> bool {
        *self >= LockMode::Share
    }
    /// What the lock stops, for messages.
    pub fn blocks(&self) -> &'static str {
        if self.blocks_reads() {
            "blocks reads and writes"
        } else if self.blocks_writes() {
            "blocks writes"
        } else {
            "blocks neither reads nor writes"
        }
    }
}

impl Serialize for LockMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a statement does to a live database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// Main target table (or index/view/sequence), and the lock taken on it.
    pub table: Option<String>,
    pub lock: Option<LockMode>,
    /// Locks on other relations.
    pub other_locks: Vec<(String, LockMode)>,
    pub rewrite: bool,
    pub scan: bool,
    pub data_loss: bool,
    pub breaks_running_code: bool,
    /// Objects the statement creates.
    pub creates: Vec<String>,
    /// Relations locked only when the statement writes a row (the ROW SHARE of a
    /// foreign-key check fires per inserted or deleted row), with the mode the
    /// statement holds on each when it writes none (`None`: no lock). Part of the
    /// locks above too; `migrade verify` uses it when the server reports 0 rows.
    pub row_locks: Vec<(String, Option<LockMode>)>,
}

impl Effects {
    /// Adds a lock, keeping the strongest mode per relation.
    pub fn lock(&mut self, table: &str, mode: LockMode) {
        if self.table.is_none() {
            self.table = Some(table.to_string());
            self.lock = Some(mode);
            return;
        }
        if self.table.as_deref() == Some(table) {
            self.lock = self.lock.max(Some(mode));
            return;
        }
        if let Some(e) = self.other_locks.iter_mut().find(|(t, _)| t == table) {
            e.1 = e.1.max(mode);
        } else {
            self.other_locks.push((table.to_string(), mode));
        }
    }
    /// Every (relation, mode) pair.
    pub fn all_locks(&self) -> impl Iterator<Item = (&str, LockMode)> {
        self.table.as_deref().zip(self.lock).into_iter().chain(self.other_locks.iter().map(|(t, m)| (t.as_str(), *m)))
    }
    pub fn merge(&mut self, other: &Effects) {
        for (t, m) in other.all_locks() {
            self.lock(t, m);
        }
        self.rewrite |= other.rewrite;
        self.scan |= other.scan;
        self.data_loss |= other.data_loss;
        self.breaks_running_code |= other.breaks_running_code;
        self.creates.extend(other.creates.iter().cloned());
        self.row_locks.extend(other.row_locks.iter().cloned());
    }
    /// The mode held on `table`, if any.
    pub fn mode_of(&self, table: &str) -> Option<LockMode> {
        self.all_locks().filter(|(t, _)| *t == table).map(|(_, m)| m).max()
    }
}

/// Stage of an expand/contract plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Expand,
    Deploy,
    Backfill,
    Contract,
}

impl Stage {
    pub fn as_str(&self) -> &'static str {
        match self {
            Stage::Expand => "expand",
            Stage::Deploy => "deploy",
            Stage::Backfill => "backfill",
            Stage::Contract => "contract",
        }
    }
    pub fn heading(&self) -> &'static str {
        match self {
            Stage::Expand => "stage 1 — expand (before the code deploy)",
            Stage::Deploy => "deploy",
            Stage::Backfill => "backfill (in batches, outside the schema migration)",
            Stage::Contract => "stage 2 — contract (after the deploy)",
        }
    }
}

/// One step of a plan: runnable SQL, or an instruction when `sql` is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStep {
    pub stage: Stage,
    pub title: String,
    pub sql: String,
    /// The lock the step takes, when it takes one.
    pub lock: Option<String>,
    /// Cannot be undone: backup and approval needed.
    pub irreversible: bool,
    /// Must run outside a transaction block.
    pub no_transaction: bool,
    /// Earlier statements of the file (0-based indexes) this step stands in for: the
    /// file's plan leaves them out.
    pub replaces: Vec<usize>,
    /// Helper objects the step creates and the plan leaves in place on purpose (backup
    /// tables, recommended indexes): not part of the file's schema.
    pub leaves: Vec<String>,
}

impl PlanStep {
    pub fn new(stage: Stage, title: impl Into<String>, sql: impl Into<String>) -> Self {
        PlanStep {
            stage,
            title: title.into(),
            sql: sql.into(),
            lock: None,
            irreversible: false,
            no_transaction: false,
            replaces: Vec::new(),
            leaves: Vec::new(),
        }
    }
    pub fn leaving(mut self, helper: impl std::fmt::Display) -> Self {
        self.leaves.push(helper.to_string());
        self
    }
    pub fn replacing(mut self, statement: usize) -> Self {
        self.replaces.push(statement);
        self
    }
    pub fn lock(mut self, l: impl Into<String>) -> Self {
        self.lock = Some(l.into());
        self
    }
    pub fn irreversible(mut self) -> Self {
        self.irreversible = true;
        self
    }
    pub fn no_transaction(mut self) -> Self {
        self.no_transaction = true;
        self
    }
}

/// A byte span in a file, `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// One finding of one rule.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static str,
    pub level: Level,
    pub statement: Option<usize>,
    pub span: Span,
    pub message: String,
    pub help: String,
    pub ignored: bool,
    pub ignore_reason: Option<String>,
    pub plan: Vec<PlanStep>,
}

/// A statement as reported.
#[derive(Debug, Clone)]
pub struct StatementReport {
    pub index: usize,
    pub span: Span,
    pub summary: String,
    pub level: Level,
    pub effects: Effects,
    pub in_transaction: bool,
    pub section: Option<Direction>,
}

/// Which way a migration file (or a section of it) goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    Up,
    Down,
    /// Flyway repeatable (`R__`).
    Repeatable,
    /// sqitch `verify/`: only checks, not a schema change.
    Verify,
}

/// Deploy advice that goes with a grade (RISK-MODEL.md, "Advice per grade").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Advice {
    pub deploy: &'static str,
    pub backup: &'static str,
    pub manual_review: bool,
    pub stage2_approval: bool,
}

impl Direction {
    pub fn as_str(&self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
            Direction::Repeatable => "repeatable",
            Direction::Verify => "verify",
        }
    }
}

impl Advice {
    pub fn for_grade(level: Level) -> Advice {
        match level {
            Level::Low => {
                Advice { deploy: "automatic", backup: "optional", manual_review: false, stage2_approval: false }
            }
            Level::Medium => Advice {
                deploy: "review-then-automatic",
                backup: "recommended",
                manual_review: true,
                stage2_approval: false,
            },
            Level::High => Advice { deploy: "manual", backup: "required", manual_review: true, stage2_approval: false },
            Level::VeryHigh => {
                Advice { deploy: "manual", backup: "required", manual_review: true, stage2_approval: true }
            }
        }
    }
}

/// Everything migrade says about one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub path: String,
    pub text: std::sync::Arc<str>,
    pub direction: Direction,
    pub layout: &'static str,
    pub grade: Level,
    pub advice: Advice,
    pub statements: Vec<StatementReport>,
    pub findings: Vec<Finding>,
    pub plan: Vec<PlanStep>,
    /// For files with up and down sections (dbmate, goose): each section's own grade.
    pub sections: Vec<(Direction, Level)>,
    /// What `migrade verify` saw a real PostgreSQL do with the file (None from `lint`).
    pub verify: Option<FileVerify>,
}

/// `migrade verify`'s observations of one up file (JSON `verify`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileVerify {
    /// Every statement ran without error.
    pub applied: bool,
    pub statements: Vec<StatementVerify>,
    /// The down round trip, when the file has a down and applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round_trip: Option<RoundTrip>,
    /// `--rows N`: the tables topped up before the file, and those it could not fill.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fill: Option<FillReport>,
}

/// One statement as the server ran it.
#[derive(Debug, Clone, Serialize)]
pub struct StatementVerify {
    /// Position in the file, from 0, and the number messages use, from 1.
    pub index: usize,
    pub number: usize,
    pub ok: bool,
    /// Run inside a transaction, so its locks were read from the session's pg_locks.
    pub observed: bool,
    /// Relation locks it took that were not held before it (tables, indexes,
    /// sequences, views), strongest first per relation.
    pub locks: Vec<ObservedLock>,
    /// Existing tables that got a new relfilenode.
    pub rewritten: Vec<String>,
    /// Wall time of the statement on the throwaway server, in milliseconds (tables there
    /// hold only what the migrations inserted).
    pub millis: f64,
    /// Rows the statement inserted, updated or deleted (its command tag), for DML.
    pub rows: Option<u64>,
    /// How its locks were observed: `transaction` (the file's transaction, the
    /// session's own pg_locks after it), `own_transaction` (a statement the tool runs
    /// outside a transaction, run alone in `BEGIN; ...; COMMIT`, which takes the same
    /// locks), `polled` (one that refuses a transaction block, such as CONCURRENTLY or
    /// VACUUM: a second session polls pg_locks for its backend while it runs, so a
    /// brief lock may be missed), or null (not observed).
    pub observed_by: Option<&'static str>,
    /// How long the locks it took were held, in milliseconds: from its start to the end
    /// of its transaction (the file's COMMIT, or its own), when it took a new lock; for a
    /// polled statement, its own run time. With the tables' sizes this is the figure to
    /// extrapolate to production.
    pub held_millis: Option<f64>,
    /// The existing tables it locked, with their size before it as pg_class estimates it
    /// (`reltuples`, `relpages`: as of the last ANALYZE, VACUUM or index build; `--rows`
    /// analyses what it fills; rows null before any): with `held_millis`, what a later
    /// step extrapolates to production sizes from.
    pub tables: Vec<TableSize>,
    /// Locks the statement took that are not compared with migrade's claims, and why
    /// (relations reached only through a trigger or function body, which static
    /// analysis does not read).
    pub not_compared: Vec<NotCompared>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableSize {
    pub relation: String,
    pub rows: Option<u64>,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NotCompared {
    pub relation: String,
    pub lock: &'static str,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObservedLock {
    pub relation: String,
    pub lock: &'static str,
}

/// Up, down, schema compared with the one before the up, up again.
#[derive(Debug, Clone, Serialize)]
pub struct RoundTrip {
    pub down: String,
    pub complete: bool,
    /// Schema objects the down did not restore, and those it left behind.
    pub not_restored: Vec<String>,
    pub left_behind: Vec<String>,
    /// The up applied again after the down.
    pub up_again: bool,
}

impl FileReport {
    /// Whether the whole file is a down migration (`*.down.sql`, `down.sql`, sqitch `revert/`).
    pub fn is_down(&self) -> bool {
        self.direction == Direction::Down
    }

    /// The grade that counts toward `--fail-on`. A down migration is the expected rollback of
    /// its up (RISK-MODEL: "they count toward `--fail-on` only when asked"): a down file, or the
    /// down section of a dbmate/goose file, counts only with `include_down`. None: nothing counts.
    pub fn fail_grade(&self, include_down: bool) -> Option<Level> {
        if include_down {
            return Some(self.grade);
        }
        if self.is_down() {
            return None;
        }
        if self.sections.is_empty() {
            return Some(self.grade);
        }
        self.sections.iter().filter(|(d, _)| *d != Direction::Down).map(|(_, g)| *g).max().or(Some(Level::Low))
    }

    /// The finding a summary names for this file: the highest level not ignored, first in the file.
    pub fn top_finding(&self) -> Option<&Finding> {
        let mut top: Option<&Finding> = None;
        for f in self.findings.iter().filter(|f| !f.ignored) {
            if top.is_none_or(|t| f.level > t.level) {
                top = Some(f);
            }
        }
        top
    }
}

/// What `migrade verify --rows` did before a file: tables topped up with generated rows.
/// What one fill did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FillReport {
    /// Tables topped up, with the rows added.
    pub filled: Vec<Filled>,
    /// Tables it could not fill, and why (each reason once per run).
    pub not_filled: Vec<NotFilled>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Filled {
    pub table: String,
    pub rows_added: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NotFilled {
    pub table: String,
    pub why: String,
}
