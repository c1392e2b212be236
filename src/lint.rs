//! The per-file driver: split → parse → facts → rules → ignores → grade.

use crate::facts::{self, FactCtx};
use crate::ir::{Op, ParsedStatement, TxKind};
use crate::model::*;
use crate::parse::parse_statement;
use crate::rules::{self, Check, FileCtx, Hit, Later, RuleSettings, StmtCtx, StmtRecord, TxState, ignores};
use crate::schema::Schema;
use crate::source::LineIndex;
use crate::split::{self, RawStatement};
use crate::unit::{TxWrap, Unit};
use std::collections::{HashMap, HashSet};

/// A rule's configured level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSetting {
    Off,
    Level(Level),
}

/// Settings for a run (config file + flags).
#[derive(Debug, Clone)]
pub struct Settings {
    pub pg_version: u32,
    pub utc: bool,
    pub assume_in_transaction: bool,
    pub rules: HashMap<String, RuleSetting>,
    /// Settings for rule groups (`security`): apply to every rule with the tag.
    pub tags: HashMap<String, RuleSetting>,
    /// Level of the session-safety findings (missing-lock-timeout ...).
    pub session_level: Option<Level>,
    pub require_ignore_reason: bool,
    /// How the project's runner wraps files, overriding the layout's default
    /// (`transaction` in migrade.toml).
    pub transaction: Option<TxWrap>,
    /// `transaction = "all-pending"`: the runner applies every pending file (the
    /// files this run lints, in migration order) in one transaction, so the locks
    /// an earlier file takes are held while the later ones run.
    pub all_pending: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            pg_version: DEFAULT_PG_VERSION,
            utc: false,
            assume_in_transaction: false,
            rules: HashMap::new(),
            tags: HashMap::new(),
            session_level: None,
            require_ignore_reason: false,
            transaction: None,
            all_pending: false,
        }
    }
}

/// The oldest PostgreSQL major version the project still supports (Nov 2026).
pub const DEFAULT_PG_VERSION: u32 = 15;

/// Whether the tool's wrapping puts these statements in a transaction.
fn wraps(tx: TxWrap, statements: &[&RawStatement], text: &str) -> bool {
    match tx {
        TxWrap::Never => false,
        TxWrap::Always => true,
        TxWrap::MultiStatement => statements.len() > 1,
        TxWrap::FlywayAuto => !statements.iter().all(|s| {
            let sql = text[s.start..s.body_end].to_ascii_uppercase();
            let w = rules::leading_words(&sql, 1);
            sql.contains("CONCURRENTLY") || matches!(w.first().map(String::as_str), Some("VACUUM"))
        }),
    }
}

struct FileState {
    new_objects: HashSet<String>,
    /// New objects written to since they were created (not empty).
    filled: HashSet<String>,
    /// (table, column) -> the expression an UPDATE of this file filled it with.
    fills: HashMap<(String, String), String>,
    added_alone: HashMap<(String, String), (usize, crate::ir::ColumnSpec)>,
    touched: HashMap<String, usize>,
    created_at: HashMap<String, usize>,
    explicit: bool,
    wrapped: bool,
    tx: TxState,
    tx_id: usize,
    lock_timeout_session: bool,
    statement_timeout_session: bool,
    /// A session-level `SET TimeZone` earlier in the file: whether it is UTC.
    utc_session: Option<bool>,
}

impl FileState {
    fn new(wrapped: bool) -> Self {
        FileState {
            new_objects: HashSet::new(),
            filled: HashSet::new(),
            fills: HashMap::new(),
            added_alone: HashMap::new(),
            touched: HashMap::new(),
            created_at: HashMap::new(),
            explicit: false,
            wrapped,
            tx: TxState::default(),
            tx_id: 0,
            lock_timeout_session: false,
            statement_timeout_session: false,
            utc_session: None,
        }
    }
    fn in_tx(&self) -> bool {
        self.explicit || self.wrapped
    }
    fn lock_timeout(&self) -> bool {
        self.tx.lock_timeout || self.lock_timeout_session
    }
    fn statement_timeout(&self) -> bool {
        self.tx.statement_timeout || self.statement_timeout_session
    }
    fn snapshot(&self) -> TxState {
        let mut t = self.tx.clone();
        t.in_tx = self.in_tx();
        t.wrapped = self.wrapped && !self.explicit;
        t.lock_timeout = self.lock_timeout();
        t.statement_timeout = self.statement_timeout();
        t
    }
    fn new_tx(&mut self) {
        self.tx = TxState::default();
        self.tx_id += 1;
    }
}

struct Collected {
    statements: Vec<StatementReport>,
    findings: Vec<Finding>,
    records: Vec<StmtRecord>,
}

fn timeout_on(value: &str) -> bool {
    let v = value.trim().trim_matches('\'');
    !(v == "0" || v.is_empty() || v.eq_ignore_ascii_case("default"))
}

/// Level of an unreadable statement from its leading keywords (never below medium).
pub fn fallback_level(sql: &str) -> (Level, Option<&'static str>) {
    let w = rules::leading_words(sql, 3);
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    let upper = sql.to_ascii_uppercase();
    match w.as_slice() {
        ["DROP", "TABLE" | "SCHEMA" | "DATABASE", ..]
        | ["TRUNCATE", ..]
        | ["UPDATE", ..]
        | ["DELETE", ..]
        | ["MERGE", ..] => (Level::VeryHigh, Some("data loss or a data change")),
        ["ALTER", "TABLE", ..] if upper.contains("DROP COLUMN") => (Level::VeryHigh, Some("DROP COLUMN")),
        ["ALTER", "TABLE", ..]
            if upper.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').any(|w| w == "TYPE" || w == "RENAME")
                || upper.contains("SET NOT NULL") =>
        {
            (Level::High, Some("a type change, rename or SET NOT NULL"))
        }
        ["CREATE", "INDEX" | "UNIQUE", ..] if !upper.contains("CONCURRENTLY") => {
            (Level::High, Some("an index build that blocks writes"))
        }
        ["VACUUM", "FULL", ..] | ["CLUSTER", ..] | ["REINDEX", ..] => {
            (Level::High, Some("a table rewrite or index rebuild"))
        }
        ["INSERT", ..] if upper.contains("SELECT") => (Level::VeryHigh, Some("a data change")),
        _ => (Level::Medium, None),
    }
}

struct Linter<'a> {
    text: &'a str,
    lines: LineIndex,
    settings: &'a Settings,
    rule_settings: RuleSettings,
    /// The file only feeds the schema history (nothing of it is reported): no rules.
    history_only: bool,
}

impl Linter<'_> {
    fn finding(&self, rule: &'static str, hit: Hit, statement: Option<usize>, span: Span) -> Option<Finding> {
        let def = rules::find(rule);
        let span = match hit.span {
            Some((s, e)) if s <= e && e <= self.text.len() => Span { start: s, end: e },
            _ => span,
        };
        let mut level = hit.level;
        if def.is_some_and(|r| r.session)
            && let Some(l) = self.settings.session_level
        {
            level = l;
        }
        for tag in def.map(|r| r.tags).unwrap_or(&[]) {
            match self.settings.tags.get(*tag) {
                Some(RuleSetting::Off) => return None,
                Some(RuleSetting::Level(l)) => level = *l,
                None => {}
            }
        }
        match self.settings.rules.get(rule) {
            Some(RuleSetting::Off) => return None,
            Some(RuleSetting::Level(l)) => level = *l,
            None => {}
        }
        Some(Finding {
            rule,
            level,
            statement,
            span,
            message: hit.message,
            help: hit.help,
            ignored: false,
            ignore_reason: None,
            plan: hit.plan,
        })
    }

    fn unparsable(&self, index: usize, span: Span, sql: &str, reason: String) -> Option<Finding> {
        let (level, kind) = fallback_level(sql);
        let mut message = format!("could not analyze: {reason}");
        let deep = ["memory exhausted", "stack depth limit", "failed to decode Protobuf", "Error decoding result"];
        if deep.iter().any(|d| reason.contains(d)) {
            message.push_str("; the statement is nested too deeply to analyse");
        }
        if let Some(p) = sql.find('\u{a0}') {
            let lc = self.lines.line_col(self.text, span.start + p);
            message.push_str(&format!(
                "; a no-break space (U+00A0) at line {}, column {} is read by PostgreSQL as part of a name",
                lc.line, lc.column
            ));
        }
        if let Some(k) = kind {
            message.push_str(&format!("; its leading keywords show {k}"));
        }
        let help = if sql.contains('\u{a0}') {
            "Replace the no-break space with a normal space, then review the statement by hand"
        } else {
            "Fix the syntax (does it run on the target PostgreSQL?) or review the statement by hand"
        };
        self.finding("unparsable-statement", Hit::new(level, message, help), Some(index), span)
    }

    /// Runs the statement rules and updates the state. Returns effects.
    #[allow(clippy::too_many_arguments)]
    fn analyze(
        &self,
        parsed: &ParsedStatement,
        sql: &str,
        index: usize,
        span: Span,
        schema: &mut Schema,
        st: &mut FileState,
        out: &mut Collected,
        embedded: bool,
        later: Later,
    ) -> Effects {
        let mut tx = st.snapshot();
        if embedded {
            tx.in_tx = true;
        }
        let fx = FactCtx {
            schema,
            new_objects: &st.new_objects,
            filled: &st.filled,
            fills: &st.fills,
            added_alone: &st.added_alone,
            touched: &st.touched,
            pg_version: self.settings.pg_version,
            utc: tx.utc_local.or(st.utc_session).unwrap_or(self.settings.utc),
        };
        let mut effects = facts::effects(&parsed.op, &parsed.reads, &fx);
        let mut hits: Vec<(&'static str, Hit)> = Vec::new();
        {
            let cx = StmtCtx {
                index,
                op: &parsed.op,
                sql,
                summary: &parsed.summary,
                effects: &effects,
                facts: &fx,
                tx: &tx,
                refuses_transaction: parsed.refuses_transaction.as_deref(),
                settings: &self.rule_settings,
                later,
            };
            let mut buf = Vec::new();
            for rule in rules::ALL.iter().filter(|_| !self.history_only) {
                if let Check::Statement(f) = rule.check {
                    if matches!(self.settings.rules.get(rule.id), Some(RuleSetting::Off)) {
                        continue;
                    }
                    f(&cx, &mut buf);
                    hits.extend(buf.drain(..).map(|h| (rule.id, h)));
                }
            }
        }
        for (id, h) in hits {
            if let Some(f) = self.finding(id, h, Some(index), span) {
                out.findings.push(f);
            }
        }
        // Statements inside a DO block run now: analyse them at their own location.
        if let Op::Do { statements, .. } = &parsed.op {
            for emb in statements {
                let espan = Span { start: emb.offset, end: (emb.offset + emb.sql.len()).min(self.text.len()) };
                match parse_statement(&emb.sql, emb.offset) {
                    Ok(p) => {
                        let e = self.analyze(&p, &emb.sql, index, espan, schema, st, out, true, later);
                        effects.merge(&e);
                    }
                    Err(e) => {
                        if let Some(f) = self.unparsable(index, espan, &emb.sql, e.message) {
                            out.findings.push(f);
                        }
                    }
                }
            }
        }
        // State after the statement.
        if !embedded {
            match &parsed.op {
                Op::Transaction(TxKind::Begin) => {
                    st.explicit = true;
                    st.new_tx();
                }
                Op::Transaction(TxKind::Commit | TxKind::Rollback) => {
                    st.explicit = false;
                    st.new_tx();
                }
                _ => {}
            }
        }
        if let Op::Set { name, value, local } = &parsed.op {
            let on = timeout_on(value);
            match (name.as_str(), local) {
                ("lock_timeout", true) => st.tx.lock_timeout = on,
                ("lock_timeout", false) => st.lock_timeout_session = on,
                ("statement_timeout", true) => st.tx.statement_timeout = on,
                ("statement_timeout", false) => st.statement_timeout_session = on,
                ("timezone", true) => st.tx.utc_local = facts::timezone_is_utc(value),
                ("timezone", false) => st.utc_session = facts::timezone_is_utc(value),
                _ => {}
            }
        }
        if tx.in_tx && !matches!(parsed.op, Op::Transaction(_)) {
            let new_objects = &st.new_objects;
            let existing = |t: &str| !new_objects.contains(t);
            // A plain VACUUM's ACCESS EXCLUSIVE (truncation) is conditional and never held
            // on: it cannot run in a transaction block anyway (vacuum-in-transaction).
            let plain_vacuum = matches!(parsed.op, Op::Vacuum { full: false, .. });
            let taken: Vec<String> = effects
                .all_locks()
                .filter(|(t, m)| *m == LockMode::AccessExclusive && existing(t) && !plain_vacuum)
                .map(|(t, _)| t.to_string())
                .collect();
            let change = rules::schema_and_data_change_in_transaction::change_kind(&parsed.op, |t| !existing(t));
            for t in taken {
                if !st.tx.access_exclusive.contains(&t) {
                    st.tx.access_exclusive.push(t);
                }
            }
            let list = match change {
                Some(rules::schema_and_data_change_in_transaction::Change::Data) => Some(&mut st.tx.dml_at),
                Some(rules::schema_and_data_change_in_transaction::Change::Schema) => Some(&mut st.tx.ddl_at),
                None => None,
            };
            if let Some(l) = list
                && !l.contains(&index)
            {
                l.push(index);
            }
            if let Op::AlterEnum { type_name, add_value: Some(v), .. } = &parsed.op {
                st.tx.enum_values_added.push((type_name.name.clone(), v.clone()));
            }
        }
        schema.apply(&parsed.op, &parsed.reads);
        // Rows written into a table created earlier in this file: it is not empty any more.
        let written = match &parsed.op {
            Op::Insert { table, .. } | Op::Update { table, .. } | Op::Merge { table } => Some(&table.name),
            Op::Copy { table: Some(t), from: true } => Some(&t.name),
            _ => None,
        };
        if let Some(t) = written.filter(|t| st.new_objects.contains(*t)) {
            st.filled.insert(t.clone());
        }
        // The file's own backfill expressions: an UPDATE of every row whose expression
        // stands on its own (no alias, FROM or WITH). One with a WHERE says nothing about
        // the rows it leaves out.
        if let Op::Update { table, has_where: false, set_values, joins: false, .. } = &parsed.op {
            for v in set_values {
                if let Some(sql) = &v.sql {
                    st.fills.insert((table.name.clone(), v.column.clone()), sql.clone());
                }
            }
        }
        if let Op::AlterTable { table, cmds, .. } = &parsed.op
            && let [crate::ir::AlterCmd::AddColumn { column, .. }] = cmds.as_slice()
        {
            st.added_alone.insert((table.name.clone(), column.name.clone()), (index, column.clone()));
        }
        let relations = effects.table.iter().chain(effects.other_locks.iter().map(|(t, _)| t));
        for t in relations.chain(&effects.creates).chain(&parsed.reads) {
            st.touched.insert(t.clone(), index);
        }
        for c in &effects.creates {
            st.new_objects.insert(c.clone());
            st.created_at.entry(c.clone()).or_insert(index);
        }
        if let Op::AlterTable { table, cmds, .. } = &parsed.op {
            for cmd in cmds {
                if let crate::ir::AlterCmd::AddColumn { column, .. } = cmd {
                    st.new_objects.insert(facts::new_column_key(&table.name, &column.name));
                }
            }
        }
        if let Op::Rename { kind: crate::ir::ObjKind::Table, column: None, new_name, .. } = &parsed.op {
            st.new_objects.insert(facts::renamed_table_key(new_name));
        }
        if let Op::CreateIndex { name: None, auto_name, .. } = &parsed.op {
            st.new_objects.insert(auto_name.clone());
        }
        effects
    }

    #[allow(clippy::too_many_arguments)]
    fn statement(
        &self,
        index: usize,
        raw: &RawStatement,
        parsed: Option<Result<ParsedStatement, crate::parse::ParseError>>,
        schema: &mut Schema,
        st: &mut FileState,
        out: &mut Collected,
        section: Direction,
        later: Later,
    ) {
        let span = Span { start: raw.start, end: raw.end };
        let sql = &self.text[raw.start..raw.body_end];
        // What the record needs of the transaction state before the statement.
        let (in_tx_before, lock_timeout_before, statement_timeout_before) =
            (st.in_tx(), st.lock_timeout(), st.statement_timeout());
        let tx_id = st.tx_id;
        let (summary, effects, op) = if let Some(u) = raw.unterminated {
            let lc = self.lines.line_col(self.text, u.start());
            let reason = format!(
                "{} starting at line {}, column {} runs to the end of the file",
                u.describe(),
                lc.line,
                lc.column
            );
            if let Some(f) = self.unparsable(index, span, sql, reason) {
                out.findings.push(f);
            }
            (summary_of(sql), Effects::default(), None)
        } else {
            match parsed.unwrap_or_else(|| parse_one(self.text, raw)) {
                Ok(p) => {
                    let e = self.analyze(&p, sql, index, span, schema, st, out, false, later);
                    (p.summary.clone(), e, Some(p.op))
                }
                Err(e) => {
                    if let Some(f) = self.unparsable(index, span, sql, e.message) {
                        out.findings.push(f);
                    }
                    (summary_of(sql), Effects::default(), None)
                }
            }
        };
        let targets_new = effects.table.as_deref().is_some_and(|t| st.created_at.get(t).is_some_and(|&i| i < index));
        out.records.push(StmtRecord {
            index,
            summary: summary.clone(),
            op,
            effects: effects.clone(),
            in_tx: in_tx_before,
            tx_id,
            lock_timeout_before,
            statement_timeout_before,
            targets_new,
        });
        if !in_tx_before && !st.explicit {
            st.new_tx();
        }
        out.statements.push(StatementReport {
            index,
            span,
            summary,
            level: Level::Low,
            effects,
            in_transaction: in_tx_before,
            section: Some(section),
        });
    }
}

fn summary_of(sql: &str) -> String {
    let words = rules::leading_words(sql, 3).join(" ");
    if words.is_empty() { "(unreadable)".to_string() } else { words }
}

/// Parses one statement of a file; template placeholders (${x}, {{ x }}, :'x') are
/// replaced byte for byte first.
/// Statements larger than this are not parsed (the parse tree of a huge VALUES list
/// takes hundreds of bytes per row); real migrations' largest are tens of KiB.
pub const MAX_STATEMENT_BYTES: usize = 256 * 1024;

fn parse_one(text: &str, raw: &RawStatement) -> Result<ParsedStatement, crate::parse::ParseError> {
    let sql = &text[raw.start..raw.body_end];
    if sql.len() > MAX_STATEMENT_BYTES {
        return Err(crate::parse::ParseError {
            message: format!(
                "the statement is {} bytes, over the {} KiB migrade parses; review it by hand",
                sql.len(),
                MAX_STATEMENT_BYTES / 1024
            ),
        });
    }
    let neutral = crate::placeholders::neutralize(sql);
    parse_statement(neutral.as_deref().unwrap_or(sql), raw.start)
}

/// The expensive, order-independent part of linting a file: splitting it and parsing
/// every statement. Files are prepared in parallel, then analysed in migration order.
pub struct Prepared {
    split: split::Split,
    /// One entry per statement of `split` (None when the statement is unterminated).
    parsed: Vec<Option<Result<ParsedStatement, crate::parse::ParseError>>>,
}

/// Splits and parses a file's text.
pub fn prepare(text: &str) -> Prepared {
    let split = split::split(text);
    let parsed = split.statements.iter().map(|raw| raw.unterminated.is_none().then(|| parse_one(text, raw))).collect();
    Prepared { split, parsed }
}

/// Lints one file against the schema history (updated in place for up sections).
pub fn lint_unit(unit: &Unit, schema: &mut Schema, settings: &Settings) -> FileReport {
    lint_prepared(unit, prepare(&unit.text), schema, settings)
}

/// Lints a prepared file against the schema history (updated in place for up sections).
pub fn lint_prepared(unit: &Unit, prepared: Prepared, schema: &mut Schema, settings: &Settings) -> FileReport {
    check_prepared(unit, prepared, schema, settings, false)
}

/// Applies a prepared file to the schema history exactly as [`lint_prepared`] does,
/// without running the rules: for the earlier files of a folder that are read only
/// so that the files named on the command line see their history.
pub fn feed_history(unit: &Unit, prepared: Prepared, schema: &mut Schema, settings: &Settings) {
    check_prepared(unit, prepared, schema, settings, true);
}

fn check_prepared(
    unit: &Unit,
    prepared: Prepared,
    schema: &mut Schema,
    settings: &Settings,
    history_only: bool,
) -> FileReport {
    let text: &str = &unit.text;
    let linter = Linter {
        text,
        lines: LineIndex::new(text),
        settings,
        rule_settings: RuleSettings { pg_version: settings.pg_version, utc: settings.utc },
        history_only,
    };
    let Prepared { split: sp, parsed } = prepared;
    let mut parsed: Vec<_> = parsed.into_iter().map(Some).collect();
    let mut out = Collected { statements: vec![], findings: vec![], records: vec![] };
    let mut index = 0;
    for section in &unit.sections {
        let mut scratch;
        let schema_ref: &mut Schema = if section.direction == Direction::Up {
            &mut *schema
        } else {
            scratch = schema.clone();
            &mut scratch
        };
        let (raws, positions): (Vec<&RawStatement>, Vec<usize>) = sp
            .statements
            .iter()
            .enumerate()
            .filter(|(_, r)| r.start >= section.start && r.start < section.end)
            .map(|(i, r)| (r, i))
            .unzip();
        let tx = settings.transaction.unwrap_or(section.tx);
        let mut st = FileState::new(wraps(tx, &raws, text) || settings.assume_in_transaction);
        // transaction = "all-pending": the runner's one transaction is still open from the
        // earlier pending files, with their ACCESS EXCLUSIVE locks. The files read only for
        // the history are applied already: the batch starts after them.
        let batch = settings.all_pending && section.direction == Direction::Up;
        if batch && history_only {
            schema_ref.open_batch = Default::default();
        }
        let held = if batch { schema_ref.open_batch.access_exclusive.clone() } else { Vec::new() };
        st.tx.access_exclusive.extend(held.iter().map(|(t, _)| t.clone()));
        let first_record = out.records.len();
        let first_finding = out.findings.len();
        for (k, (raw, &pos)) in raws.iter().zip(&positions).enumerate() {
            let p = parsed.get_mut(pos).and_then(Option::take).flatten();
            let later = Later { slots: &parsed, raws: &raws[k + 1..], positions: &positions[k + 1..], text };
            linter.statement(index, raw, p, schema_ref, &mut st, &mut out, section.direction, later);
            index += 1;
        }
        // File-level rules, per section.
        let records = &out.records[first_record..];
        let grade_so_far = out.findings[first_finding..].iter().map(|f| f.level).max().unwrap_or(Level::Low);
        let fcx = FileCtx {
            path: &unit.path,
            name: &unit.name,
            direction: section.direction,
            has_down: if grade_so_far >= Level::Medium { unit.has_down } else { None },
            empty_down: unit.empty_down.as_deref(),
            statements: records,
            created_at: &st.created_at,
            held: &held,
        };
        let mut buf = Vec::new();
        for rule in rules::ALL.iter().filter(|_| !history_only) {
            if let Check::File(f) = rule.check {
                f(&fcx, &mut buf);
                for h in buf.drain(..) {
                    let (stmt, span) = match h.statement.and_then(|i| out.statements.iter().find(|s| s.index == i)) {
                        Some(s) => (Some(s.index), s.span),
                        None => {
                            (None, Span { start: section.start.min(text.len()), end: section.start.min(text.len()) })
                        }
                    };
                    if let Some(f) = linter.finding(rule.id, h, stmt, span) {
                        out.findings.push(f);
                    }
                }
            }
        }
        if batch && !history_only {
            carry_batch(&mut schema_ref.open_batch, &unit.path, &st, &out.records[first_record..]);
        }
    }
    apply_ignores(&linter, &sp, &mut out, settings);
    // Statement levels: the highest finding on each (one pass over the findings).
    let mut levels: HashMap<usize, Level> = HashMap::new();
    for f in out.findings.iter().filter(|f| !f.ignored) {
        if let Some(i) = f.statement {
            let l = levels.entry(i).or_insert(Level::Low);
            *l = (*l).max(f.level);
        }
    }
    for s in &mut out.statements {
        s.level = levels.get(&s.index).copied().unwrap_or(Level::Low);
    }
    out.findings.sort_by_key(|f| (f.span.start, std::cmp::Reverse(f.level)));
    let grade = out.findings.iter().filter(|f| !f.ignored).map(|f| f.level).max().unwrap_or(Level::Low);
    let ops: HashMap<usize, &Op> = out.records.iter().filter_map(|r| Some((r.index, r.op.as_ref()?))).collect();
    let plan = crate::plan::file_plan(text, &out.statements, &out.findings, unit.sections.len() > 1, &ops);
    // dbmate/goose files: each direction is graded on its own as well.
    let sections = if unit.sections.len() > 1 {
        unit.sections
            .iter()
            .map(|s| {
                let g = out
                    .findings
                    .iter()
                    .filter(|f| !f.ignored && f.span.start >= s.start && f.span.start < s.end.max(s.start + 1))
                    .map(|f| f.level)
                    .max()
                    .unwrap_or(Level::Low);
                (s.direction, g)
            })
            .collect()
    } else {
        Vec::new()
    };
    FileReport {
        sections,
        path: unit.path.clone(),
        text: unit.text.clone(),
        direction: unit.direction(),
        layout: unit.layout,
        grade,
        advice: Advice::for_grade(grade),
        statements: out.statements,
        findings: out.findings,
        plan,
        verify: None,
    }
}

/// transaction = "all-pending": what the open transaction holds after this file: the
/// ACCESS EXCLUSIVE locks on tables that existed before the batch (with the statement
/// that took each), and the objects the file created.
fn carry_batch(batch: &mut crate::schema::OpenBatch, path: &str, st: &FileState, records: &[StmtRecord]) {
    batch.created.extend(st.new_objects.iter().cloned());
    let file = path.rsplit('/').next().unwrap_or(path);
    // What the transaction holds at the end of the file (an explicit COMMIT in it released
    // the earlier locks), each with the statement that first took it.
    let still: Vec<(String, String)> = st
        .tx
        .access_exclusive
        .iter()
        .filter(|t| !batch.created.contains(*t))
        .map(|t| {
            let taker = batch.access_exclusive.iter().find(|(x, _)| x == t).map(|(_, w)| w.clone());
            let taker = taker.unwrap_or_else(|| {
                records
                    .iter()
                    .find(|r| r.effects.all_locks().any(|(x, m)| x == t && m == LockMode::AccessExclusive))
                    .map_or_else(|| file.to_string(), |r| format!("{file} statement {}", r.index + 1))
            });
            (t.clone(), taker)
        })
        .collect();
    batch.access_exclusive = still;
}

fn apply_ignores(linter: &Linter, sp: &split::Split, out: &mut Collected, settings: &Settings) {
    let text = linter.text;
    let mut parsed: Vec<ignores::Ignore> = sp
        .comments
        .iter()
        .filter(|c| c.line)
        .filter_map(|c| ignores::parse_ignore(&text[c.start + 2..c.end], c.start, c.end))
        .collect();
    let mut extra = Vec::new();
    for ig in &mut parsed {
        let span = Span { start: ig.start, end: ig.end };
        for p in &ig.problems {
            extra.push((
                "invalid-ignore",
                Hit::new(
                    Level::Low,
                    format!("invalid ignore comment: {p}"),
                    "Write it as `-- migrade-ignore: rule-id, other-rule -- reason`",
                ),
                span,
            ));
        }
        if settings.require_ignore_reason && ig.reason.is_none() && !ig.rules.is_empty() {
            extra.push((
                "invalid-ignore",
                Hit::new(
                    Level::Low,
                    "ignore comment without a reason (require_ignore_reason is on): it is not applied".to_string(),
                    "Add the reason after a second `--`: `-- migrade-ignore: rule -- why it is safe here`",
                ),
                span,
            ));
            ig.rules.clear();
        }
        // The statement an ignore applies to: the first that starts after it.
        let target =
            if ig.file_wide { None } else { out.statements.iter().find(|s| s.span.start >= ig.end).map(|s| s.index) };
        let mut used = false;
        for f in &mut out.findings {
            let applies =
                ig.rules.iter().any(|r| r == f.rule) && (ig.file_wide || (target.is_some() && f.statement == target));
            if applies && !f.ignored {
                f.ignored = true;
                f.ignore_reason = ig.reason.clone();
                used = true;
            }
        }
        if !used && !ig.rules.is_empty() {
            extra.push((
                "unused-ignore",
                Hit::new(
                    Level::Low,
                    format!("this ignore of {} matches no finding", ig.rules.join(", ")),
                    "Remove the ignore comment, or move it just above the statement it is for",
                ),
                span,
            ));
        }
    }
    for (rule, hit, span) in extra {
        if let Some(f) = linter.finding(rule, hit, None, span) {
            out.findings.push(f);
        }
    }
}
