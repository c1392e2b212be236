//! Stage: transactions. Which statements of a file run inside a transaction (the
//! tool's wrapping, explicit BEGIN/COMMIT), what the open transaction holds (ACCESS
//! EXCLUSIVE locks, schema and data changes, enum values added, timeouts, time zone),
//! and what a `transaction = "all-pending"` batch carries from file to file.

use crate::facts;
use crate::ir::{Op, TxKind};
use crate::model::{Effects, LockMode};
use crate::rules::schema_and_data_change_in_transaction::{Change, change_kind};
use crate::rules::{self, StmtRecord, TxState};
use crate::split::RawStatement;
use crate::unit::TxWrap;

/// Whether the tool's wrapping puts these statements in a transaction.
pub(super) fn wraps(tx: TxWrap, statements: &[&RawStatement], text: &str) -> bool {
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

/// The flags of [`TxState`] that [`Transactions::enter`] overwrote.
#[must_use]
pub(super) struct Entered([bool; 4]);

/// The transaction state of one file section as its statements run.
pub(super) struct Transactions {
    /// Inside an explicit BEGIN.
    pub explicit: bool,
    /// The tool wraps the section in a transaction.
    wrapped: bool,
    /// What the open transaction holds.
    pub tx: TxState,
    /// Identifies the open transaction (autocommit statements get their own).
    pub tx_id: usize,
    lock_timeout_session: bool,
    statement_timeout_session: bool,
    /// A session-level `SET TimeZone` earlier in the file: whether it is UTC.
    pub utc_session: Option<bool>,
}

impl Transactions {
    pub fn new(wrapped: bool) -> Self {
        Transactions {
            explicit: false,
            wrapped,
            tx: TxState::default(),
            tx_id: 0,
            lock_timeout_session: false,
            statement_timeout_session: false,
            utc_session: None,
        }
    }
    pub fn in_tx(&self) -> bool {
        self.explicit || self.wrapped
    }
    pub fn lock_timeout(&self) -> bool {
        self.tx.lock_timeout || self.lock_timeout_session
    }
    pub fn statement_timeout(&self) -> bool {
        self.tx.statement_timeout || self.statement_timeout_session
    }
    /// Puts the state a statement's rules see in `self.tx` (a DO block's statements are
    /// in its transaction, `embedded`), in place: copying the open transaction's lists
    /// for every statement was 2% of a lint (issue 16). Returns what [`Self::leave`]
    /// puts back before the state changes again.
    pub fn enter(&mut self, embedded: bool) -> Entered {
        let saved = Entered([self.tx.in_tx, self.tx.wrapped, self.tx.lock_timeout, self.tx.statement_timeout]);
        self.tx.in_tx = self.in_tx() || embedded;
        self.tx.wrapped = self.wrapped && !self.explicit;
        self.tx.lock_timeout = self.lock_timeout();
        self.tx.statement_timeout = self.statement_timeout();
        saved
    }
    /// Undoes [`Self::enter`].
    pub fn leave(&mut self, saved: Entered) {
        let Entered([in_tx, wrapped, lock_timeout, statement_timeout]) = saved;
        self.tx.in_tx = in_tx;
        self.tx.wrapped = wrapped;
        self.tx.lock_timeout = lock_timeout;
        self.tx.statement_timeout = statement_timeout;
    }
    pub fn new_tx(&mut self) {
        self.tx = TxState::default();
        self.tx_id += 1;
    }

    /// After a statement: BEGIN/COMMIT (not for a DO block's own statements, `embedded`),
    /// SET of a timeout or the time zone, and, inside a transaction (`in_tx`, the state
    /// the statement ran in), the ACCESS EXCLUSIVE locks it took on existing tables and
    /// whether it changed their schema or data. `is_new`: the object was created earlier
    /// in the file.
    pub fn after(
        &mut self,
        op: &Op,
        effects: &Effects,
        index: usize,
        in_tx: bool,
        embedded: bool,
        is_new: impl Fn(&str) -> bool,
    ) {
        if !embedded {
            match op {
                Op::Transaction(TxKind::Begin) => {
                    self.explicit = true;
                    self.new_tx();
                }
                Op::Transaction(TxKind::Commit | TxKind::Rollback) => {
                    self.explicit = false;
                    self.new_tx();
                }
                _ => {}
            }
        }
        if let Op::Set { name, value, local } = op {
            let on = timeout_on(value);
            match (name.as_str(), local) {
                ("lock_timeout", true) => self.tx.lock_timeout = on,
                ("lock_timeout", false) => self.lock_timeout_session = on,
                ("statement_timeout", true) => self.tx.statement_timeout = on,
                ("statement_timeout", false) => self.statement_timeout_session = on,
                ("timezone", true) => self.tx.utc_local = facts::timezone_is_utc(value),
                ("timezone", false) => self.utc_session = facts::timezone_is_utc(value),
                _ => {}
            }
        }
        if in_tx && !matches!(op, Op::Transaction(_)) {
            // A plain VACUUM's ACCESS EXCLUSIVE (truncation) is conditional and never held
            // on: it cannot run in a transaction block anyway (vacuum-in-transaction).
            let plain_vacuum = matches!(op, Op::Vacuum { full: false, .. });
            let taken: Vec<String> = effects
                .all_locks()
                .filter(|(t, m)| *m == LockMode::AccessExclusive && !is_new(t) && !plain_vacuum)
                .map(|(t, _)| t.to_string())
                .collect();
            for t in taken {
                if !self.tx.access_exclusive.contains(&t) {
                    self.tx.access_exclusive.push(t);
                }
            }
            let list = match change_kind(op, &is_new) {
                Some(Change::Data) => Some(&mut self.tx.dml_at),
                Some(Change::Schema) => Some(&mut self.tx.ddl_at),
                None => None,
            };
            if let Some(l) = list
                && !l.contains(&index)
            {
                l.push(index);
            }
            if let Op::AlterEnum { type_name, add_value: Some(v), .. } = op {
                self.tx.enum_values_added.push((type_name.name.clone(), v.clone()));
            }
        }
    }
}

fn timeout_on(value: &str) -> bool {
    let v = value.trim().trim_matches('\'');
    !(v == "0" || v.is_empty() || v.eq_ignore_ascii_case("default"))
}

/// transaction = "all-pending": what the open transaction holds after this file: the
/// ACCESS EXCLUSIVE locks on tables that existed before the batch (with the statement
/// that took each), and the objects the file created.
pub(super) fn carry_batch<'a>(
    batch: &mut crate::schema::OpenBatch,
    path: &str,
    created: impl Iterator<Item = &'a String>,
    tx: &Transactions,
    records: &[StmtRecord],
) {
    batch.created.extend(created.cloned());
    let file = path.rsplit('/').next().unwrap_or(path);
    // What the transaction holds at the end of the file (an explicit COMMIT in it released
    // the earlier locks), each with the statement that first took it.
    let still: Vec<(String, String)> = tx
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
