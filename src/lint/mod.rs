//! The per-file driver: split → parse → facts → rules → suppression → grade.
//!
//! This module walks a file's statements in order (the schema history and what the file
//! created so far in hand) and runs the rules on each; its stages are modules of their
//! own: [`settings`] (what the run asked for, the level of each finding),
//! [`transactions`] (which statements run in a transaction and what it holds),
//! [`suppression`] (inline ignores) and [`grading`] (statement and file levels, advice,
//! the file's plan). The findings the driver itself emits have their rule files like any
//! other: `unparsable-statement`, `unused-ignore`, `invalid-ignore`.

mod grading;
mod settings;
mod suppression;
mod transactions;

pub use settings::{DEFAULT_PG_VERSION, RuleSetting, Settings};

use crate::facts::{self, FactCtx};
use crate::ir::{Op, ParsedStatement};
use crate::model::*;
use crate::parse::parse_statement;
use crate::rules::{self, Check, FileCtx, Hit, Later, RuleSettings, StmtCtx, StmtRecord, unparsable_statement};
use crate::schema::Schema;
use crate::source::LineIndex;
use crate::split::{self, RawStatement};
use crate::unit::{TxWrap, Unit};
use transactions::Transactions;

/// What the driver remembers of a file section while it walks it: the objects the file
/// created and wrote (new tables are empty until written), the file's own backfill
/// expressions, and the transaction state.
struct FileState {
    new_objects: FastSet<String>,
    /// New objects written to since they were created (not empty).
    filled: FastSet<String>,
    /// (table, column) -> the expression an UPDATE of this file filled it with.
    fills: FastMap<(String, String), String>,
    added_alone: FastMap<(String, String), (usize, crate::ir::ColumnSpec)>,
    touched: FastMap<String, usize>,
    created_at: FastMap<String, usize>,
    txs: Transactions,
}

impl FileState {
    fn new(wrapped: bool) -> Self {
        FileState {
            new_objects: FastSet::default(),
            filled: FastSet::default(),
            fills: FastMap::default(),
            added_alone: FastMap::default(),
            touched: FastMap::default(),
            created_at: FastMap::default(),
            txs: Transactions::new(wrapped),
        }
    }
}

struct Collected {
    statements: Vec<StatementReport>,
    findings: Vec<Finding>,
    records: Vec<StmtRecord>,
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
        let span = match hit.span {
            Some((s, e)) if s <= e && e <= self.text.len() => Span { start: s, end: e },
            _ => span,
        };
        let def = rules::find(rule);
        let default = hit.level.or(def.map(|r| r.level)).unwrap_or(Level::Medium);
        let level = self.settings.level_for(rule, def, default)?;
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
        let hit = unparsable_statement::hit(sql, &reason, |p| {
            let lc = self.lines.line_col(self.text, span.start + p);
            (lc.line, lc.column)
        });
        self.finding(unparsable_statement::RULE.id, hit, Some(index), span)
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
        let entered = st.txs.enter(embedded);
        let tx = &st.txs.tx;
        let in_tx = tx.in_tx;
        let fx = FactCtx {
            schema,
            new_objects: &st.new_objects,
            filled: &st.filled,
            fills: &st.fills,
            added_alone: &st.added_alone,
            touched: &st.touched,
            pg_version: self.settings.pg_version,
            utc: tx.utc_local.or(st.txs.utc_session).unwrap_or(self.settings.utc),
        };
        let mut effects = facts::effects(&parsed.op, &parsed.reads, &fx);
        let mut hits: Vec<(&'static str, Hit)> = Vec::new();
        {
            let cx = StmtCtx {
                index,
                op: &parsed.op,
                sql,
                text: &parsed.text,
                summary: &parsed.summary,
                effects: &effects,
                facts: &fx,
                tx,
                refuses_transaction: parsed.refuses_transaction.as_deref(),
                settings: &self.rule_settings,
                later,
            };
            let mut buf = Vec::new();
            for rule in rules::ALL.iter().filter(|_| !self.history_only) {
                if let Check::Statement(f) = rule.check {
                    if self.settings.is_off(rule.id) {
                        continue;
                    }
                    f(&cx, &mut buf);
                    // Most rules find nothing in most statements: no drain then.
                    if !buf.is_empty() {
                        hits.extend(buf.drain(..).map(|h| (rule.id, h)));
                    }
                }
            }
        }
        st.txs.leave(entered);
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
        // The transaction state after the statement.
        let new_objects = &st.new_objects;
        st.txs.after(&parsed.op, &effects, index, in_tx, embedded, |t| new_objects.contains(t));
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
        parsed: Option<Result<ParsedStatement, crate::ir::ParseError>>,
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
            (st.txs.in_tx(), st.txs.lock_timeout(), st.txs.statement_timeout());
        let tx_id = st.txs.tx_id;
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
        if !in_tx_before && !st.txs.explicit {
            st.txs.new_tx();
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

fn parse_one(text: &str, raw: &RawStatement) -> Result<ParsedStatement, crate::ir::ParseError> {
    let sql = &text[raw.start..raw.body_end];
    if sql.len() > MAX_STATEMENT_BYTES {
        return Err(crate::ir::ParseError {
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
    parsed: Vec<Option<Result<ParsedStatement, crate::ir::ParseError>>>,
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
    // Every statement gets a record and a report: sized up front, a large file's vectors
    // are not doubled and copied as they grow.
    let n = sp.statements.len();
    let mut out = Collected { statements: Vec::with_capacity(n), findings: vec![], records: Vec::with_capacity(n) };
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
        let mut st = FileState::new(transactions::wraps(tx, &raws, text) || settings.assume_in_transaction);
        // transaction = "all-pending": the runner's one transaction is still open from the
        // earlier pending files, with their ACCESS EXCLUSIVE locks. The files read only for
        // the history are applied already: the batch starts after them.
        let batch = settings.all_pending && section.direction == Direction::Up;
        if batch && history_only {
            schema_ref.open_batch = Default::default();
        }
        let held = if batch { schema_ref.open_batch.access_exclusive.clone() } else { Vec::new() };
        st.txs.tx.access_exclusive.extend(held.iter().map(|(t, _)| t.clone()));
        let first_record = out.records.len();
        let first_finding = out.findings.len();
        for (k, (raw, &pos)) in raws.iter().zip(&positions).enumerate() {
            let p = parsed.get_mut(pos).and_then(Option::take).flatten();
            let later = Later { slots: &parsed, positions: &positions[k + 1..] };
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
            tx: if settings.assume_in_transaction { TxWrap::Always } else { tx },
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
            transactions::carry_batch(
                &mut schema_ref.open_batch,
                &unit.path,
                st.new_objects.iter(),
                &st.txs,
                &out.records[first_record..],
            );
        }
    }
    suppression::apply_ignores(text, &sp, &mut out, settings, |rule, hit, span| linter.finding(rule, hit, None, span));
    let (grade, sections) = grading::grade(unit, &mut out);
    let mut ops: Vec<Option<&Op>> = vec![None; out.records.iter().map(|r| r.index + 1).max().unwrap_or(0)];
    for r in &out.records {
        ops[r.index] = r.op.as_ref();
    }
    let plan = crate::plan::file_plan(text, &out.statements, &out.findings, unit.sections.len() > 1, &ops);
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
