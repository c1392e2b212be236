//! `migrade verify`: runs the up migrations on a throwaway PostgreSQL and holds
//! what `lint` claims against what the server did.
//!
//! For each up file, in migration order, the statements run one by one in one
//! session, the way the file's tool runs them as `lint` models it: inside one
//! transaction when lint says the tool wraps the file (its first statement is
//! `in_transaction` and is not the file's own BEGIN), else each on its own, with
//! the file's own BEGIN/COMMIT taking effect. Inside a transaction, after each
//! statement the session reads its own `pg_locks` (relation locks are held until
//! the transaction ends, so the pairs that are new since the previous statement
//! are this statement's) and the relfilenode of every table; a lock or rewrite
//! that differs from the statement's static effects is a `verify-disagrees`
//! finding. A statement the server refuses is a `verify-apply-failed` finding;
//! the tool would stop there, so the rest of that file is not run (a wrapped file
//! is rolled back) and the run goes on with the next file from the schema as it
//! stands. A statement the tool runs outside a transaction is run alone in
//! `BEGIN; ...; COMMIT` (the same locks, one statement per transaction as autocommit
//! gives) and observed the same way; one that refuses a transaction block
//! (CONCURRENTLY, VACUUM, ...) runs as the tool runs it while a second session polls
//! pg_locks for its backend ([`Watcher`]); only a sampled lock stronger than the claim
//! is a difference then, since a brief one can be missed.

pub mod fill;
pub mod server;

use crate::model::{
    Advice, Direction, FileReport, FileVerify, Finding, Level, LockMode, NotCompared, ObservedLock, RoundTrip, Span,
    StatementReport, StatementVerify, TableSize,
};
use crate::report::RunReport;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Relation kinds compared for locks: tables, partitioned tables, materialized views,
/// views, foreign tables, sequences (indexes follow their table).
const LOCK_KINDS: &[&str] = &["r", "p", "m", "v", "f", "S"];
/// Relation kinds whose new relfilenode is a rewrite.
const REWRITE_KINDS: &[&str] = &["r", "m"];

/// What one file's run did.
#[derive(Debug, Clone, Default)]
pub struct FileRun {
    pub path: String,
    /// Statements the server ran (up to the first failure).
    pub applied: usize,
    pub failed: bool,
    /// Statements whose locks were observed (any way).
    pub observed: usize,
    /// Of those, run alone in a transaction of their own (the tool runs them outside one).
    pub observed_alone: usize,
    /// Of those, watched by polling pg_locks from a second session (they refuse a
    /// transaction block).
    pub observed_polled: usize,
    pub disagreements: usize,
    pub elapsed: Duration,
}

/// What the whole run did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub server: String,
    pub files: Vec<FileRun>,
    /// Ups with a down whose round trip (down, compare, up again) ran.
    pub round_trips: usize,
    pub downs_incomplete: usize,
    /// `--rows N`: N, the tables filled (distinct) and those it could not fill.
    pub rows: Option<u64>,
    pub tables_filled: BTreeSet<String>,
    pub tables_not_filled: BTreeSet<String>,
}

impl Summary {
    pub fn line(&self) -> String {
        let applied = self.files.iter().filter(|f| !f.failed).count();
        let failed = self.files.len() - applied;
        let observed: usize = self.files.iter().map(|f| f.observed).sum();
        let alone: usize = self.files.iter().map(|f| f.observed_alone).sum();
        let polled: usize = self.files.iter().map(|f| f.observed_polled).sum();
        let disagreements: usize = self.files.iter().map(|f| f.disagreements).sum();
        format!(
            "verify: {} — {} up file(s) applied, {failed} failed; {observed} statement(s) observed ({alone} alone in \
             a transaction of their own, {polled} by polling pg_locks), {disagreements} disagreement(s) with \
             migrade's lock and rewrite claims; {} down round trip(s), {} incomplete",
            self.server, applied, self.round_trips, self.downs_incomplete
        ) + &self.rows.map_or(String::new(), |n| {
            format!(
                "; --rows {n}: {} table(s) filled, {} could not be filled",
                self.tables_filled.len(),
                self.tables_not_filled.iter().filter(|t| !self.tables_filled.contains(*t)).count()
            )
        })
    }
}

/// One relation as the session sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Rel {
    name: String,
    kind: String,
}

/// The session's view before or after a statement. Relations are keyed by OID, so a
/// lock on a table the statement drops or renames is still matched to its name before.
#[derive(Debug, Default)]
struct Snapshot {
    /// Existing relations of a compared kind: OID → (lower-cased name, kind).
    rels: BTreeMap<u32, Rel>,
    /// Relation locks held: (OID, mode).
    locks: BTreeSet<(u32, LockMode)>,
    /// relfilenode of the relations of a rewrite kind, by OID.
    files: BTreeMap<u32, u32>,
    /// Every user relation (indexes included), for the report of observed locks.
    all: BTreeMap<u32, String>,
    /// Tables and materialized views: (rows, bytes) as pg_class estimates them (the last
    /// ANALYZE, VACUUM or index build; rows unknown before any), read without a lock.
    sizes: BTreeMap<u32, (Option<u64>, u64)>,
}

impl Snapshot {
    /// The locks `self` (after a statement) holds that `before` did not: the strongest
    /// mode per relation OID.
    fn new_locks(&self, before: &Snapshot) -> BTreeMap<u32, LockMode> {
        let mut taken: BTreeMap<u32, LockMode> = BTreeMap::new();
        for (oid, m) in self.locks.difference(&before.locks) {
            let e = taken.entry(*oid).or_insert(*m);
            *e = (*e).max(*m);
        }
        taken
    }
    /// Tables of `before` that got a new relfilenode in `self` (a dropped table is not one).
    fn rewritten_since(&self, before: &Snapshot) -> BTreeSet<u32> {
        before.files.iter().filter(|(o, f)| self.files.get(*o).is_some_and(|g| g != *f)).map(|(o, _)| *o).collect()
    }
    fn oid_of(&self, key: &str) -> Option<u32> {
        self.rels.iter().find(|(_, r)| r.name == key).map(|(o, _)| *o)
    }
    fn name(&self, oid: u32) -> String {
        self.rels.get(&oid).map_or_else(|| oid.to_string(), |r| r.name.clone())
    }
}

fn pg_mode(s: &str) -> Option<LockMode> {
    Some(match s {
        "AccessShareLock" => LockMode::AccessShare,
        "RowShareLock" => LockMode::RowShare,
        "RowExclusiveLock" => LockMode::RowExclusive,
        "ShareUpdateExclusiveLock" => LockMode::ShareUpdateExclusive,
        "ShareLock" => LockMode::Share,
        "ShareRowExclusiveLock" => LockMode::ShareRowExclusive,
        "ExclusiveLock" => LockMode::Exclusive,
        "AccessExclusiveLock" => LockMode::AccessExclusive,
        _ => return None,
    })
}

const SNAPSHOT_RELS: &str = "SELECT c.oid::text, lower(c.relname), c.relkind::text, c.relfilenode::oid::text, \
     c.reltuples::bigint::text, (c.relpages::bigint * current_setting('block_size')::bigint)::text \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' \
     AND n.nspname NOT LIKE 'pg_temp%'";
/// Every relation lock of the session: user relations are picked by OID from the
/// snapshot taken before (a dropped table has no pg_class row any more).
const SNAPSHOT_LOCKS: &str = "SELECT l.relation::text, l.mode FROM pg_locks l \
     WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted";

fn rows(client: &mut postgres::Client, sql: &str) -> Result<Vec<Vec<String>>, postgres::Error> {
    let mut out = Vec::new();
    for m in client.simple_query(sql)? {
        if let postgres::SimpleQueryMessage::Row(r) = m {
            out.push((0..r.len()).map(|i| r.get(i).unwrap_or_default().to_string()).collect());
        }
    }
    Ok(out)
}

fn snapshot(client: &mut postgres::Client) -> Result<Snapshot, postgres::Error> {
    let mut s = Snapshot::default();
    for r in rows(client, SNAPSHOT_RELS)? {
        let [oid, name, kind, file] = [&r[0], &r[1], &r[2], &r[3]];
        let Ok(oid) = oid.parse::<u32>() else { continue };
        s.all.insert(oid, name.clone());
        if LOCK_KINDS.contains(&kind.as_str()) {
            s.rels.insert(oid, Rel { name: name.clone(), kind: kind.clone() });
        }
        if REWRITE_KINDS.contains(&kind.as_str())
            && let Ok(f) = file.parse()
        {
            s.files.insert(oid, f);
        }
        if matches!(kind.as_str(), "r" | "p" | "m")
            && let (Ok(tuples), Ok(bytes)) = (r[4].parse::<i64>(), r[5].parse::<u64>())
        {
            s.sizes.insert(oid, (u64::try_from(tuples).ok(), bytes));
        }
    }
    for r in rows(client, SNAPSHOT_LOCKS)? {
        if let (Ok(oid), Some(m)) = (r[0].parse::<u32>(), pg_mode(&r[1])) {
            s.locks.insert((oid, m));
        }
    }
    Ok(s)
}

/// `public."Order"` → `order`; `users` → `users`: the last name, unquoted, lower-cased
/// (the server side is lower-cased too).
fn rel_key(name: &str) -> String {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in name.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    parts.pop().unwrap_or_default().to_lowercase()
}

/// The first keyword of a statement, comments skipped, upper-cased.
fn first_word(sql: &str) -> String {
    let mut s = sql.trim_start();
    loop {
        if let Some(rest) = s.strip_prefix("--") {
            s = rest.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(rest) = s.strip_prefix("/*") {
            s = rest.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else {
            break;
        }
    }
    s.split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("").to_ascii_uppercase()
}

fn opens_transaction(word: &str) -> bool {
    matches!(word, "BEGIN" | "START")
}

fn ends_transaction(word: &str) -> bool {
    matches!(word, "COMMIT" | "END" | "ROLLBACK" | "ABORT")
}

/// Statements PostgreSQL refuses outside a transaction block (`LOCK TABLE can only be used
/// in transaction blocks`; SAVEPOINT, RELEASE): outside the file's transaction they run as
/// the tool runs them, never in a transaction of verify's own, which would let them pass.
fn requires_transaction_block(word: &str) -> bool {
    matches!(word, "LOCK" | "SAVEPOINT" | "RELEASE")
}

fn mode_name(m: Option<LockMode>) -> &'static str {
    m.map_or("no lock", |m| m.as_str())
}

/// One difference between migrade's claims and the server.
#[derive(Debug)]
struct Difference {
    message: String,
    /// A lock the server took on a relation migrade claimed nothing on: (OID, mode).
    unclaimed: Option<(u32, LockMode)>,
    /// A lock difference: (what migrade said, what PostgreSQL took).
    modes: Option<(Option<LockMode>, Option<LockMode>)>,
}

/// Compares one statement's static effects with what the server did between two
/// snapshots. `rows`: what the statement wrote, when it is DML (a foreign-key check's
/// lock is taken per written row, so none when it wrote none).
fn compare(
    st: &StatementReport,
    before: &Snapshot,
    after: &Snapshot,
    truncate: bool,
    rows: Option<u64>,
) -> Vec<Difference> {
    let mut out = Vec::new();
    // What migrade claims, on relations that existed before the statement.
    let mut claims: BTreeMap<u32, LockMode> = BTreeMap::new();
    let no_rows = rows == Some(0);
    for (name, mode) in st.effects.all_locks() {
        let mode = match st.effects.row_locks.iter().find(|(t, _)| t == name) {
            Some((_, without_rows)) if no_rows => match without_rows {
                Some(m) => *m,
                None => continue,
            },
            _ => mode,
        };
        if let Some(oid) = before.oid_of(&rel_key(name)) {
            let e = claims.entry(oid).or_insert(mode);
            *e = (*e).max(mode);
        }
    }
    let held = |oid: u32| before.locks.iter().filter(|(o, _)| *o == oid).map(|(_, m)| *m).max();
    let mut taken = after.new_locks(before);
    taken.retain(|oid, _| before.rels.contains_key(oid));
    let oids: BTreeSet<u32> = claims.keys().chain(taken.keys()).copied().collect();
    for oid in oids {
        let (said, took, had) = (claims.get(&oid).copied(), taken.get(&oid).copied(), held(oid));
        // A mode already held from an earlier statement of the transaction is not
        // taken again: whatever this statement needs up to it cannot be observed.
        if had.is_some() && said.max(took) <= had {
            continue;
        }
        if said != took {
            let kind = before.rels.get(&oid).map_or("relation", |r| kind_name(&r.kind));
            out.push(Difference {
                message: format!(
                    "migrade said {} on {kind} {}; PostgreSQL took {}",
                    mode_name(said),
                    before.name(oid),
                    mode_name(took)
                ),
                unclaimed: if said.is_none() { took.map(|m| (oid, m)) } else { None },
                modes: Some((said, took)),
            });
        }
    }
    // Rewrites: an existing table with a new relfilenode (TRUNCATE empties, it does not
    // rewrite). A table the statement drops has no relfilenode after it: not a rewrite.
    let rewritten = after.rewritten_since(before);
    let target = st.effects.table.as_deref().and_then(|t| before.oid_of(&rel_key(t)));
    if st.effects.rewrite
        && let Some(t) = target
        && before.files.contains_key(&t)
        && after.files.contains_key(&t)
        && !rewritten.contains(&t)
    {
        out.push(Difference {
            message: format!(
                "migrade said the statement rewrites {}; PostgreSQL kept its data files (no rewrite)",
                before.name(t)
            ),
            unclaimed: None,
            modes: None,
        });
    }
    if !truncate {
        for o in rewritten {
            if !(st.effects.rewrite && target == Some(o)) {
                out.push(Difference {
                    message: format!(
                        "PostgreSQL rewrote {} (a new relfilenode); migrade did not say so",
                        before.name(o)
                    ),
                    unclaimed: None,
                    modes: None,
                });
            }
        }
    }
    out
}

/// User code a statement runs: the triggers (not internal ones) on the relations it
/// wrote (a new lock of ROW EXCLUSIVE or stronger), and the user functions its text
/// calls. Their bodies are not read by migrade's static facts, so the locks they take
/// on relations the statement does not name are not compared (the JSON lists them
/// under `not_compared`). `None` when the statement runs none.
fn user_code(client: &mut postgres::Client, sql: &str, written: &[u32]) -> Option<String> {
    if !written.is_empty() {
        let list = written.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(",");
        let q = format!(
            "SELECT DISTINCT c.relname || '.' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
             WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND t.tgrelid IN ({list}) ORDER BY 1"
        );
        if let Ok(r) = rows(client, &q)
            && !r.is_empty()
        {
            let names: Vec<String> = r.into_iter().filter_map(|r| r.into_iter().next()).collect();
            return Some(format!("reached through the body of trigger {}", names.join(", ")));
        }
    }
    let funcs = rows(
        client,
        "SELECT DISTINCT lower(p.proname) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')",
    )
    .ok()?;
    let text = sql.to_lowercase();
    let called: Vec<String> = funcs
        .into_iter()
        .filter_map(|r| r.into_iter().next())
        .filter(|f| {
            text.match_indices(f.as_str()).any(|(i, _)| {
                let before_ok = text[..i].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                let after = text[i + f.len()..].trim_start();
                before_ok && after.starts_with('(')
            })
        })
        .collect();
    (!called.is_empty()).then(|| format!("reached through the body of function {}", called.join(", ")))
}

fn kind_name(kind: &str) -> &'static str {
    match kind {
        "r" => "table",
        "p" => "partitioned table",
        "m" => "materialized view",
        "v" => "view",
        "f" => "foreign table",
        "S" => "sequence",
        _ => "relation",
    }
}

fn finding(rule: &'static str, level: Level, st: &StatementReport, message: String, help: &str) -> Finding {
    Finding {
        rule,
        level,
        statement: Some(st.index),
        span: st.span,
        message,
        help: help.to_string(),
        ignored: false,
        ignore_reason: None,
        plan: Vec::new(),
    }
}

fn db_error_text(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                s.push_str(&format!("; {d}"));
            }
            if let Some(h) = db.hint() {
                s.push_str(&format!("; hint: {h}"));
            }
            s
        }
        None => e.to_string(),
    }
}

/// A second session that watches the main one's locks while a statement that refuses
/// a transaction block runs (pg_locks is cluster-wide: on the throwaway server it is
/// connected to the `postgres` database, so it never blocks the copy of the main one).
pub struct Watcher {
    client: postgres::Client,
}

/// A statement's result and the locks sampled while it ran.
type Polled = (Result<Vec<postgres::SimpleQueryMessage>, postgres::Error>, BTreeSet<(u32, LockMode)>);

impl Watcher {
    pub fn new(client: postgres::Client) -> Watcher {
        Watcher { client }
    }

    /// Runs `sql` on `client` while polling pg_locks for its backend: every relation lock
    /// granted at some sample. A lock held for less than a poll's round trip (well under
    /// a millisecond here) can be missed.
    fn run_polled(&mut self, client: &mut postgres::Client, sql: &str) -> Polled {
        let pid = rows(client, "SELECT pg_backend_pid()")
            .ok()
            .and_then(|r| r.first().and_then(|r| r.first()).and_then(|p| p.parse::<i32>().ok()));
        let Some(pid) = pid else {
            return (client.simple_query(sql), BTreeSet::new());
        };
        let q = format!(
            "SELECT relation::text, mode FROM pg_locks WHERE pid = {pid} AND locktype = 'relation' AND granted \
             AND relation IS NOT NULL"
        );
        let stop = std::sync::atomic::AtomicBool::new(false);
        let watcher = &mut self.client;
        std::thread::scope(|s| {
            let (stop, q) = (&stop, &q);
            let handle = s.spawn(move || {
                let mut seen = BTreeSet::new();
                loop {
                    let done = stop.load(std::sync::atomic::Ordering::SeqCst);
                    if let Ok(r) = rows(watcher, q) {
                        for r in r {
                            if let (Ok(oid), Some(m)) = (r[0].parse::<u32>(), pg_mode(&r[1])) {
                                seen.insert((oid, m));
                            }
                        }
                    }
                    if done {
                        break;
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
                seen
            });
            let result = client.simple_query(sql);
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            let seen = handle.join().unwrap_or_default();
            (result, seen)
        })
    }
}

/// How a statement's locks are observed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Observe {
    No,
    /// Inside the file's transaction.
    FileTransaction,
    /// Outside one: alone in `BEGIN; ...; COMMIT` (or polled when it refuses that).
    Alone,
}

/// The error of a statement that cannot run inside a transaction block.
fn refuses_transaction_block(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.code().is_some_and(|c| *c == SqlState::ACTIVE_SQL_TRANSACTION || *c == SqlState::INVALID_TRANSACTION_TERMINATION)
}

/// Whether a statement is run: the up part of the file (not a down section, not sqitch verify).
fn runs(file: &FileReport, st: &StatementReport) -> bool {
    matches!(file.direction, Direction::Up | Direction::Repeatable) && !matches!(st.section, Some(Direction::Down))
}

/// Runs `statements` of a file whose text is `text`; returns the run and its findings
/// (observations only when `observe`).
fn run_statements(
    client: &mut postgres::Client,
    path: &str,
    text: &str,
    statements: &[StatementReport],
    observe_locks: bool,
    mut watcher: Option<&mut Watcher>,
) -> (FileRun, Vec<Finding>, Vec<StatementVerify>) {
    let mut run = FileRun { path: path.to_string(), ..FileRun::default() };
    let mut seen = Vec::new();
    let t0 = Instant::now();
    let sql_of = |sp: Span| text.get(sp.start..sp.end).unwrap_or("");
    let mut findings = Vec::new();
    let Some(first) = statements.first() else {
        return (run, findings, seen);
    };
    let wrapped = first.in_transaction && !opens_transaction(&first_word(sql_of(first.span)));
    let mut in_tx = false;
    // Statements of the open transaction that took a lock, and when they started.
    let mut held_until_end: Vec<(usize, Instant)> = Vec::new();
    if wrapped {
        if let Err(e) = client.batch_execute("BEGIN") {
            findings.push(finding(
                "verify-apply-failed",
                Level::VeryHigh,
                first,
                format!("the transaction could not begin: {}", db_error_text(&e)),
                "",
            ));
            run.failed = true;
        }
        in_tx = true;
    }
    for st in statements {
        if run.failed {
            break;
        }
        let sql = sql_of(st.span);
        let word = first_word(sql);
        let observe = if !observe_locks
            || ends_transaction(&word)
            || opens_transaction(&word)
            || (!in_tx && requires_transaction_block(&word))
        {
            Observe::No
        } else if in_tx {
            Observe::FileTransaction
        } else {
            Observe::Alone
        };
        let before = if observe == Observe::No { None } else { snapshot(client).ok() };
        let mut observed_by = before.as_ref().map(|_| if in_tx { "transaction" } else { "own_transaction" });
        let mut after: Option<Snapshot> = None;
        let started = Instant::now();
        let mut result = if observe == Observe::Alone && before.is_some() {
            client.batch_execute("BEGIN").and_then(|()| client.simple_query(sql))
        } else {
            client.simple_query(sql)
        };
        if observe == Observe::Alone && before.is_some() {
            match &result {
                Err(e) if refuses_transaction_block(e) => {
                    // CONCURRENTLY, VACUUM, ...: as the tool runs it, watched from a second session.
                    let _ = client.batch_execute("ROLLBACK");
                    match watcher.as_deref_mut() {
                        Some(w) => {
                            let (r, locks) = w.run_polled(client, sql);
                            result = r;
                            observed_by = Some("polled");
                            if result.is_ok()
                                && let Ok(mut a) = snapshot(client)
                            {
                                a.locks = locks;
                                after = Some(a);
                            }
                        }
                        None => {
                            result = client.simple_query(sql);
                            observed_by = None;
                        }
                    }
                }
                Err(_) => {
                    let _ = client.batch_execute("ROLLBACK");
                }
                Ok(_) => {
                    after = snapshot(client).ok();
                    if let Err(e) = client.batch_execute("COMMIT") {
                        result = Err(e);
                    }
                }
            }
        } else if observe == Observe::FileTransaction && result.is_ok() {
            after = snapshot(client).ok();
        }
        let dml = matches!(word.as_str(), "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "WITH");
        let written_rows = match &result {
            Ok(msgs) if dml => msgs.iter().rev().find_map(|m| match m {
                postgres::SimpleQueryMessage::CommandComplete(n) => Some(*n),
                _ => None,
            }),
            _ => None,
        };
        let mut sv = StatementVerify {
            index: st.index,
            number: st.index + 1,
            ok: result.is_ok(),
            observed: false,
            locks: Vec::new(),
            rewritten: Vec::new(),
            millis: started.elapsed().as_secs_f64() * 1000.0,
            rows: written_rows,
            not_compared: Vec::new(),
            observed_by: None,
            held_millis: None,
            tables: Vec::new(),
        };
        let tx_end_here = ends_transaction(&word) && result.is_ok();
        match result {
            Ok(_) => {
                run.applied += 1;
                if opens_transaction(&word) {
                    in_tx = true;
                } else if ends_transaction(&word) {
                    in_tx = false;
                }
                if let Some(before) = before
                    && let Some(after) = after
                {
                    run.observed += 1;
                    match observed_by {
                        Some("own_transaction") => run.observed_alone += 1,
                        Some("polled") => run.observed_polled += 1,
                        _ => {}
                    }
                    sv.observed_by = observed_by;
                    observed(&before, &after, &mut sv);
                    let mut differences = compare(st, &before, &after, word == "TRUNCATE", written_rows);
                    if observed_by == Some("polled") {
                        // Sampling can miss a brief lock: only a stronger lock than
                        // migrade's claim is a certain difference.
                        differences.retain(|d| d.modes.is_none_or(|(said, took)| took > said));
                    }
                    if differences.iter().any(|d| d.unclaimed.is_some()) {
                        // Written: a new lock of ROW EXCLUSIVE or stronger, or one migrade claims.
                        let mut written: Vec<u32> = after
                            .new_locks(&before)
                            .into_iter()
                            .filter(|(_, m)| *m >= LockMode::RowExclusive)
                            .map(|(o, _)| o)
                            .collect();
                        written.extend(
                            st.effects
                                .all_locks()
                                .filter(|(_, m)| *m >= LockMode::RowExclusive)
                                .filter_map(|(n, _)| before.oid_of(&rel_key(n))),
                        );
                        written.sort_unstable();
                        written.dedup();
                        if let Some(why) = user_code(client, sql, &written) {
                            differences.retain(|d| match d.unclaimed {
                                Some((oid, m)) => {
                                    sv.not_compared.push(NotCompared {
                                        relation: before.name(oid),
                                        lock: m.as_str(),
                                        why: why.clone(),
                                    });
                                    false
                                }
                                None => true,
                            });
                        }
                    }
                    for d in differences {
                        run.disagreements += 1;
                        findings.push(finding(
                            "verify-disagrees",
                            Level::High,
                            st,
                            d.message,
                            "PostgreSQL is the truth: review this statement's locks by hand before deploying, and \
                             report the difference (it is a bug in migrade's lock facts)",
                        ));
                    }
                }
            }
            Err(_) if server::interrupted() => server::wait_for_exit(),
            Err(e) => {
                run.failed = true;
                findings.push(finding(
                    "verify-apply-failed",
                    Level::VeryHigh,
                    st,
                    format!(
                        "PostgreSQL refused statement {}: {}{}",
                        st.index + 1,
                        db_error_text(&e),
                        if in_tx { "; the file's transaction was rolled back" } else { "" }
                    ),
                    "fix the statement (or the earlier migration it depends on) and run migrade verify again: \
                     the migration tool stops at this statement too",
                ));
            }
        }
        let took_lock = sv.observed && !sv.locks.is_empty();
        match sv.observed_by {
            // Held until its own COMMIT, which has run.
            Some("own_transaction" | "polled") if took_lock => {
                sv.held_millis = Some(started.elapsed().as_secs_f64() * 1000.0);
            }
            Some("transaction") if took_lock => held_until_end.push((seen.len(), started)),
            _ => {}
        }
        seen.push(sv);
        if tx_end_here {
            // The file's own COMMIT/ROLLBACK released the locks of its transaction.
            for (i, at) in held_until_end.drain(..) {
                if let Some(s) = seen.get_mut(i) {
                    s.held_millis = Some(at.elapsed().as_secs_f64() * 1000.0);
                }
            }
        }
    }
    // Whatever the outcome, leave no transaction open for the next file.
    if in_tx || run.failed {
        let end = if run.failed { "ROLLBACK" } else { "COMMIT" };
        let ended = client.batch_execute(end);
        for (i, at) in held_until_end.drain(..) {
            if let Some(s) = seen.get_mut(i) {
                s.held_millis = Some(at.elapsed().as_secs_f64() * 1000.0);
            }
        }
        if let Err(e) = ended
            && let Some(last) = statements.last()
        {
            run.failed = true;
            findings.push(finding(
                "verify-apply-failed",
                Level::VeryHigh,
                last,
                format!("the file's transaction could not commit: {}", db_error_text(&e)),
                "a deferred constraint or trigger failed at COMMIT: fix the data or the constraint",
            ));
        }
    }
    run.elapsed = t0.elapsed();
    (run, findings, seen)
}

/// Fills a statement's observed locks and rewrites from the snapshots around it.
fn observed(before: &Snapshot, after: &Snapshot, sv: &mut StatementVerify) {
    sv.observed = true;
    let name = |oid: u32| {
        before
            .rels
            .get(&oid)
            .or_else(|| after.rels.get(&oid))
            .map(|r| r.name.clone())
            .or_else(|| after.all.get(&oid).cloned())
    };
    let mut strongest: BTreeMap<String, LockMode> = BTreeMap::new();
    for (oid, m) in after.new_locks(before) {
        if let Some(n) = name(oid) {
            let e = strongest.entry(n).or_insert(m);
            *e = (*e).max(m);
        }
    }
    sv.locks = strongest.into_iter().map(|(relation, m)| ObservedLock { relation, lock: m.as_str() }).collect();
    sv.rewritten = after.rewritten_since(before).into_iter().map(|o| before.name(o)).collect();
    let touched: BTreeSet<u32> = after.new_locks(before).into_keys().chain(after.rewritten_since(before)).collect();
    sv.tables = touched
        .iter()
        .filter_map(|o| {
            let (rows, bytes) = before.sizes.get(o)?;
            Some(TableSize { relation: before.name(*o), rows: *rows, bytes: *bytes })
        })
        .collect();
}

/// Adds findings to a file and grades it again.
fn attach(file: &mut FileReport, findings: Vec<Finding>) {
    if findings.is_empty() {
        return;
    }
    file.findings.extend(findings);
    file.findings.sort_by_key(|f| (f.span.start, std::cmp::Reverse(f.level)));
    let grade = file.findings.iter().filter(|f| !f.ignored).map(|f| f.level).max().unwrap_or(Level::Low);
    file.grade = file.grade.max(grade);
    file.advice = Advice::for_grade(file.grade);
}

/// Every schema object of the user's schemas as one line each, for the down round trip:
/// relations, columns (type, NOT NULL, default), constraints, indexes, views, functions
/// (signature and body), types (enum labels, domains), sequences, policies, triggers,
/// grants, extensions.
const SCHEMA: &str = "
WITH ns AS (SELECT oid, nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema')
            AND nspname NOT LIKE 'pg_toast%' AND nspname NOT LIKE 'pg_temp%')
SELECT 'schema ' || nspname FROM ns
UNION ALL SELECT kind || ' ' || ns.nspname || '.' || c.relname FROM pg_class c JOIN ns ON ns.oid = c.relnamespace,
  LATERAL (SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view'
    WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' WHEN 'i' THEN 'index'
    WHEN 'I' THEN 'index' ELSE NULL END AS kind) k WHERE kind IS NOT NULL
UNION ALL SELECT 'column ' || ns.nspname || '.' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
  || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
UNION ALL SELECT 'constraint ' || co.conname || ' on ' || ns.nspname || '.' || cl.relname || ' ' || pg_get_constraintdef(co.oid)
  FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid JOIN ns ON ns.oid = cl.relnamespace
UNION ALL SELECT 'index definition ' || pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN ns ON ns.oid = c.relnamespace
UNION ALL SELECT 'view definition ' || ns.nspname || '.' || c.relname || ': ' || pg_get_viewdef(c.oid)
  FROM pg_class c JOIN ns ON ns.oid = c.relnamespace WHERE c.relkind IN ('v', 'm')
UNION ALL SELECT 'function ' || p.oid::regprocedure::text || ' (body md5 ' || md5(coalesce(p.prosrc, '')) || ')'
  FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
  WHERE NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.objid = p.oid AND dep.deptype = 'e')
UNION ALL SELECT 'type ' || ns.nspname || '.' || t.typname || coalesce(' (' || (SELECT string_agg(e.enumlabel, ', '
  ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) || ')', '')
  || CASE WHEN t.typtype = 'd' THEN ' domain over ' || format_type(t.typbasetype, t.typtypmod) ELSE '' END
  FROM pg_type t JOIN ns ON ns.oid = t.typnamespace WHERE t.typtype IN ('e', 'd', 'r', 'm')
  OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))
UNION ALL SELECT 'policy ' || pol.polname || ' on ' || ns.nspname || '.' || c.relname || ' '
  || coalesce(pg_get_expr(pol.polqual, pol.polrelid), '') || ' ' || coalesce(pg_get_expr(pol.polwithcheck, pol.polrelid), '')
  FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid JOIN ns ON ns.oid = c.relnamespace
UNION ALL SELECT 'trigger ' || pg_get_triggerdef(t.oid)
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN ns ON ns.oid = c.relnamespace WHERE NOT t.tgisinternal
UNION ALL SELECT 'grant on ' || ns.nspname || '.' || c.relname || ' ' || c.relacl::text
  FROM pg_class c JOIN ns ON ns.oid = c.relnamespace WHERE c.relacl IS NOT NULL
UNION ALL SELECT 'row level security on ' || ns.nspname || '.' || c.relname
  FROM pg_class c JOIN ns ON ns.oid = c.relnamespace WHERE c.relrowsecurity
UNION ALL SELECT 'extension ' || extname FROM pg_extension WHERE extname <> 'plpgsql'";

fn schema(client: &mut postgres::Client) -> Result<BTreeSet<String>, postgres::Error> {
    Ok(rows(client, SCHEMA)?.into_iter().filter_map(|r| r.into_iter().next()).collect())
}

fn listed(items: &[&String]) -> String {
    let mut s = items.iter().take(5).map(|i| i.as_str()).collect::<Vec<_>>().join("; ");
    if items.len() > 5 {
        s.push_str(&format!("; and {} more", items.len() - 5));
    }
    s
}

/// Where an up file's down is: another file of the run (by index), or the Down section
/// of the same file (goose, dbmate).
enum Down {
    File(usize),
    Section,
}

/// The down of the up at `i`: `x.up.sql` / `x.down.sql`, `x_up.sql` / `x_down.sql`,
/// `dir/up.sql` / `dir/down.sql` (Diesel), popx `x.postgres.up.sql` / `x.down.sql`, sqitch
/// `deploy/x.sql` / `revert/x.sql`, or a Down section in the file itself.
fn down_of(files: &[FileReport], i: usize) -> Option<Down> {
    let up = &files[i];
    if up.statements.iter().any(|s| s.section == Some(Direction::Down)) {
        return Some(Down::Section);
    }
    let p = up.path.replace('\\', "/");
    let mut candidates = Vec::new();
    if let Some(stem) = p.strip_suffix(".up.sql") {
        candidates.push(format!("{stem}.down.sql"));
        if let Some(base) = stem.strip_suffix(".postgres") {
            candidates.push(format!("{base}.down.sql"));
            candidates.push(format!("{base}.postgres.down.sql"));
        }
    }
    if let Some(stem) = p.strip_suffix("_up.sql") {
        candidates.push(format!("{stem}_down.sql"));
    }
    if let Some(dir) = p.strip_suffix("/up.sql") {
        candidates.push(format!("{dir}/down.sql"));
    }
    if p.contains("/deploy/") {
        candidates.push(p.replacen("/deploy/", "/revert/", 1));
    }
    files
        .iter()
        .position(|f| f.direction == Direction::Down && candidates.iter().any(|c| f.path.replace('\\', "/") == *c))
        .map(Down::File)
}

/// Whether the file has statements to run as an up.
fn up_statements(file: &FileReport) -> Vec<StatementReport> {
    file.statements.iter().filter(|s| runs(file, s)).cloned().collect()
}

/// The down round trip of an up that just applied: down, compare with the schema
/// before the up, up again. Findings go to the down (file or section).
fn round_trip(
    client: &mut postgres::Client,
    files: &[FileReport],
    up: usize,
    down: &Down,
    before: &BTreeSet<String>,
) -> (RoundTrip, Vec<(usize, Finding)>) {
    let mut out = Vec::new();
    let (di, statements): (usize, Vec<StatementReport>) = match down {
        Down::File(d) => (*d, files[*d].statements.clone()),
        Down::Section => {
            (up, files[up].statements.iter().filter(|s| s.section == Some(Direction::Down)).cloned().collect())
        }
    };
    let mut trip = RoundTrip {
        down: files[di].path.clone(),
        complete: false,
        not_restored: Vec::new(),
        left_behind: Vec::new(),
        up_again: false,
    };
    let Some(first) = statements.first().cloned() else {
        trip.complete = true;
        trip.up_again = true;
        return (trip, out);
    };
    let (run, findings, _) = run_statements(client, &files[di].path, &files[di].text, &statements, false, None);
    out.extend(findings.into_iter().map(|f| (di, f)));
    if run.failed {
        return (trip, out);
    }
    let Ok(after) = schema(client) else {
        return (trip, out);
    };
    let missing: Vec<&String> = before.difference(&after).collect();
    let extra: Vec<&String> = after.difference(before).collect();
    let mut complete = true;
    let help = "make the down restore exactly the schema before its up: add what it forgets, \
                recreate what it leaves different";
    if !missing.is_empty() {
        complete = false;
        out.push((
            di,
            finding(
                "verify-down-incomplete",
                Level::High,
                &first,
                format!("after the up and this down, the schema lacks what it had before the up: {}", listed(&missing)),
                help,
            ),
        ));
    }
    if !extra.is_empty() {
        complete = false;
        out.push((
            di,
            finding(
                "verify-down-incomplete",
                Level::High,
                &first,
                format!(
                    "after the up and this down, the schema has what it did not have before the up: {}",
                    listed(&extra)
                ),
                help,
            ),
        ));
    }
    // The up again: a down that leaves something behind often makes it fail.
    let statements = up_statements(&files[up]);
    let (run, findings, _) = run_statements(client, &files[up].path, &files[up].text, &statements, false, None);
    trip.up_again = !run.failed;
    if run.failed {
        complete = false;
        for f in findings.into_iter().filter(|f| f.rule == "verify-apply-failed") {
            out.push((
                di,
                finding(
                    "verify-down-incomplete",
                    Level::High,
                    &first,
                    format!("after this down, the up fails when applied again: {}", f.message),
                    help,
                ),
            ));
        }
    }
    trip.not_restored = missing.iter().map(|s| s.to_string()).collect();
    trip.left_behind = extra.iter().map(|s| s.to_string()).collect();
    trip.complete = complete;
    (trip, out)
}

/// Starts a throwaway server with `bins`, applies every up file of `report` in order
/// (with its down round trip when it has one), and adds the verify findings to the files.
pub fn verify(report: &mut RunReport, bins: server::Bins, rows: Option<u64>) -> Result<Summary, String> {
    let version = bins.version.clone();
    let server = server::Server::start(bins)?;
    let mut admin = server.connect("postgres")?;
    admin.batch_execute(&format!("CREATE DATABASE {MAIN_DB}")).map_err(|e| db_error_text(&e))?;
    let mut client = server.connect(MAIN_DB)?;
    let described = format!("{version}, throwaway cluster in {}", server.folder().display());
    let connect = |db: &str| server.connect(db);
    let mut iso = Isolation { admin, connect: &connect };
    let watcher = server.connect("postgres").ok().map(Watcher::new);
    let summary = verify_on(report, &mut client, described, Some(&mut iso), watcher, rows);
    drop(client);
    drop(iso);
    drop(server);
    Ok(summary)
}

/// A scratch database the user named (`--database-url`): connected, and refused when it
/// already holds tables, views or sequences unless `allow_nonempty`. Returns the client,
/// the server's major version and its description.
pub fn connect_scratch(url: &str, allow_nonempty: bool) -> Result<(postgres::Client, u32, String), String> {
    let config: postgres::Config = url.parse().map_err(|e| format!("--database-url: {e}"))?;
    let mut client = config.connect(postgres::NoTls).map_err(|e| format!("--database-url: cannot connect: {e}"))?;
    let info = rows(&mut client, "SELECT current_setting('server_version_num'), version(), current_database()")
        .map_err(|e| format!("--database-url: {e}"))?;
    let row = info.first().ok_or("--database-url: the server answered nothing")?;
    let major = row[0].parse::<u32>().map(|n| n / 10000).unwrap_or(0);
    let count = rows(
        &mut client,
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
         AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'",
    )
    .map_err(|e| format!("--database-url: {e}"))?;
    let n: u64 = count.first().and_then(|r| r[0].parse().ok()).unwrap_or(0);
    if n > 0 && !allow_nonempty {
        return Err(format!(
            "--database-url: database {} already holds {n} table(s), view(s) or sequence(s): verify applies \
             migrations to it, so it must be a scratch database; give an empty one, or --allow-nonempty if this one \
             is yours to change",
            row[2]
        ));
    }
    Ok((client, major, format!("{}, scratch database {}", row[1], row[2])))
}

/// A second session on the scratch database the user named, to watch the locks of the
/// statements that refuse a transaction block.
pub fn connect_watcher(url: &str) -> Result<Watcher, String> {
    let config: postgres::Config = url.parse().map_err(|e| format!("--database-url: {e}"))?;
    config.connect(postgres::NoTls).map(Watcher::new).map_err(|e| format!("--database-url: cannot connect: {e}"))
}

/// The throwaway server's database the migrations go to, and the copy a round trip uses.
const MAIN_DB: &str = "migrade_verify";
const TRIP_DB: &str = "migrade_round_trip";

/// On a throwaway server, each down round trip runs on a copy of the database as it was
/// before the up (`CREATE DATABASE ... TEMPLATE`), so a down that restores too little or
/// too much never changes the state the next files are applied to.
pub struct Isolation<'a> {
    admin: postgres::Client,
    connect: &'a dyn Fn(&str) -> Result<postgres::Client, String>,
}

impl Isolation<'_> {
    /// Copies the main database (its own session must be closed meanwhile) and reopens it.
    fn copy_main(&mut self, client: &mut postgres::Client) -> Result<(), String> {
        *client = (self.connect)("postgres")?;
        let _ = self.admin.batch_execute(&format!("DROP DATABASE IF EXISTS {TRIP_DB}"));
        let made = self.admin.batch_execute(&format!("CREATE DATABASE {TRIP_DB} TEMPLATE {MAIN_DB}"));
        *client = (self.connect)(MAIN_DB)?;
        made.map_err(|e| db_error_text(&e))
    }
}

/// Applies the up files on `client`'s database (a fresh one, or a scratch one the user
/// named); see [`verify`]. Without `isolation` (a scratch database) the round trips run
/// in place.
pub fn verify_on(
    report: &mut RunReport,
    client: &mut postgres::Client,
    described: String,
    mut isolation: Option<&mut Isolation>,
    mut watcher: Option<Watcher>,
    fill_rows: Option<u64>,
) -> Summary {
    let mut summary = Summary { server: described, rows: fill_rows, ..Summary::default() };
    let mut fill_reported = BTreeSet::new();
    let mut pending: Vec<(usize, Finding)> = Vec::new();
    for i in 0..report.files.len() {
        if !matches!(report.files[i].direction, Direction::Up | Direction::Repeatable) {
            continue;
        }
        // --rows N: every existing table topped up to N rows before the file.
        let filled = fill_rows.map(|n| fill::fill(client, n, &mut fill_reported));
        if let Some(f) = &filled {
            summary.tables_filled.extend(f.filled.iter().map(|t| t.table.clone()));
            summary.tables_not_filled.extend(f.not_filled.iter().map(|t| t.table.clone()));
        }
        let down = down_of(&report.files, i);
        // The copy for the round trip, taken before the up (throwaway server only).
        let copied = match (&down, isolation.as_deref_mut()) {
            (Some(_), Some(iso)) => iso.copy_main(client).is_ok(),
            _ => false,
        };
        let before = if down.is_some() && !copied { schema(client).ok() } else { None };
        let file = &report.files[i];
        let statements = up_statements(file);
        let (run, findings, seen) = run_statements(client, &file.path, &file.text, &statements, true, watcher.as_mut());
        let failed = run.failed;
        summary.files.push(run);
        pending.extend(findings.into_iter().map(|f| (i, f)));
        let mut fv = FileVerify { applied: !failed, statements: seen, round_trip: None, fill: filled };
        if let (false, Some(down)) = (failed, &down) {
            let trip = if copied && let Some(iso) = isolation.as_deref_mut() {
                // On the copy: schema, up, then the round trip; the main line is untouched.
                match (iso.connect)(TRIP_DB) {
                    Ok(mut rt) => {
                        let before = schema(&mut rt).ok();
                        let (up_run, _, _) = run_statements(&mut rt, &file.path, &file.text, &statements, false, None);
                        let trip = match before {
                            Some(before) if !up_run.failed => {
                                Some(round_trip(&mut rt, &report.files, i, down, &before))
                            }
                            _ => None,
                        };
                        drop(rt);
                        let _ = iso.admin.batch_execute(&format!("DROP DATABASE IF EXISTS {TRIP_DB}"));
                        trip
                    }
                    Err(_) => None,
                }
            } else {
                before.map(|before| round_trip(client, &report.files, i, down, &before))
            };
            if let Some((trip, findings)) = trip {
                summary.round_trips += 1;
                if !trip.complete {
                    summary.downs_incomplete += 1;
                }
                fv.round_trip = Some(trip);
                pending.extend(findings);
            }
        }
        report.files[i].verify = Some(fv);
    }
    let mut by_file: BTreeMap<usize, Vec<Finding>> = BTreeMap::new();
    for (i, f) in pending {
        by_file.entry(i).or_default().push(f);
    }
    for (i, findings) in by_file {
        attach(&mut report.files[i], findings);
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_keys_and_first_words() {
        assert_eq!(rel_key("public.\"Order\""), "order");
        assert_eq!(rel_key("\"a.b\""), "a.b");
        assert_eq!(rel_key("users"), "users");
        assert_eq!(first_word("-- c\n/* x */ begin;"), "BEGIN");
        assert_eq!(first_word("  Truncate t"), "TRUNCATE");
        assert_eq!(pg_mode("ShareRowExclusiveLock"), Some(LockMode::ShareRowExclusive));
    }
}
