//! What the server did: per-table strongest lock, and whether a table was rewritten.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::cases::{Case, Mode, default_blockers, mode_from_pg_locks, mode_name};
use super::server::{Server, SqlOut};

/// The common fixture of every case (run in a fresh schema). Data is loaded
/// separately by [`FIXTURE_DATA`] so that the DDL alone can be shown to migrade as
/// the schema history.
pub const FIXTURE_DDL: &str = "\
CREATE TABLE parent (
    id int PRIMARY KEY,
    name text
);
CREATE TABLE t (
    id int PRIMARY KEY,
    parent_id int REFERENCES parent (id),
    a int,
    b int,
    v20 varchar(20),
    txt text,
    num numeric(10,2),
    ts timestamp,
    code text NOT NULL
);
CREATE INDEX t_a_idx ON t (a);
";

pub const FIXTURE_DATA: &str = "\
INSERT INTO parent SELECT g, 'p' || g FROM generate_series(1, 100) g;
INSERT INTO t
SELECT g, 1 + g % 100, g, g % 7, 'v' || g, 'text ' || g, g / 3.0,
       timestamp '2024-01-01' + g * interval '1 minute', 'c' || g
FROM generate_series(1, 1000) g;
";

/// Relation kinds that count as "tables" for the comparison: ordinary and partitioned
/// tables, materialized views, views, foreign tables and sequences. Indexes and TOAST
/// tables are left out (their locks follow the table's).
pub const TABLE_KINDS: &[char] = &['r', 'p', 'm', 'v', 'f', 'S'];
/// Relation kinds whose relfilenode change counts as a rewrite. Sequences are left
/// out: `ALTER SEQUENCE` writes a new 1-page relfilenode, which is not a table rewrite.
pub const REWRITE_KINDS: &[char] = &['r', 'm'];

#[derive(Debug, Clone)]
pub struct Rel {
    pub name: String,
    pub kind: char,
}

#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Existing relations (before the statement) of a table kind, by name: the
    /// universe of the comparison.
    pub existing: BTreeSet<String>,
    /// Strongest mode per existing table (granted or requested).
    pub locks: BTreeMap<String, Mode>,
    /// All relation locks seen, for the report: (relation, kind, mode, granted, new?).
    pub raw_locks: Vec<(String, char, Mode, bool, bool)>,
    pub rewrite: bool,
    /// Existing tables that got a new relfilenode with data in it.
    pub rewritten: Vec<String>,
    /// Existing tables that got a new, empty relfilenode (TRUNCATE): not a rewrite.
    pub emptied: Vec<String>,
    /// For notx cases: the error of the in-transaction attempt.
    pub tx_error: Option<String>,
    /// For `-- fails` cases: the server's error (the statement was refused).
    pub refused: Option<String>,
    /// Transactional cases: existing tables the statement scanned sequentially (their
    /// `pg_stat_xact_user_tables.seq_scan` grew across the statement).
    pub scanned: Vec<String>,
    pub notes: Vec<String>,
}

fn schema_name(idx: usize) -> String {
    format!("case_{idx:03}")
}

fn ensure_semicolon(s: &str) -> String {
    let t = s.trim_end();
    if t.ends_with(';') { t.to_string() } else { format!("{t};") }
}

fn prelude(schema: &str, case: &Case, with_fixture: bool) -> String {
    let mut s = String::new();
    s.push_str("SET client_min_messages = warning;\n");
    // Nothing in a case may hang the test run.
    s.push_str("SET statement_timeout = '60s';\n");
    if with_fixture {
        s.push_str(&format!("CREATE SCHEMA {schema};\n"));
    }
    s.push_str(&format!("SET search_path = {schema};\n"));
    if with_fixture {
        s.push_str(FIXTURE_DDL);
        s.push_str(FIXTURE_DATA);
        for l in &case.setup {
            s.push_str(&ensure_semicolon(l));
            s.push('\n');
        }
    }
    for l in &case.session {
        s.push_str(&ensure_semicolon(l));
        s.push('\n');
    }
    s
}

fn rels_query(tag: &str, schema: &str) -> String {
    format!(
        "SELECT format('{tag}|%s|%s|%s', c.oid::bigint, c.relname, c.relkind) FROM pg_class c \
         WHERE c.relnamespace = '{schema}'::regnamespace;\n"
    )
}

/// Filenode and size of the relations listed in the temp table `_before`.
fn filenode_query(tag: &str) -> String {
    format!(
        "SELECT format('{tag}|%s|%s|%s', b.relid::bigint, pg_relation_filenode(b.relid), pg_relation_size(b.relid)) \
         FROM _before b WHERE b.relkind IN ('r','m','S','p');\n"
    )
}

const BEFORE_TABLE: &str = "CREATE TEMP TABLE _before AS \
    SELECT c.oid AS relid, c.relname, c.relkind FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace;\n";

struct Parsed {
    rels: BTreeMap<u64, Rel>,
    new_rels: BTreeMap<u64, Rel>,
    fn0: BTreeMap<u64, (Option<u64>, Option<u64>)>,
    fn1: BTreeMap<u64, (Option<u64>, Option<u64>)>,
    locks: Vec<(u64, Mode, bool)>,
    /// seq_scan of each table of the schema in this transaction, before and after the statement.
    scan0: BTreeMap<u64, u64>,
    scan1: BTreeMap<u64, u64>,
}

fn parse_output(out: &str) -> Result<Parsed, String> {
    let mut p = Parsed {
        rels: BTreeMap::new(),
        new_rels: BTreeMap::new(),
        fn0: BTreeMap::new(),
        fn1: BTreeMap::new(),
        locks: Vec::new(),
        scan0: BTreeMap::new(),
        scan1: BTreeMap::new(),
    };
    let num = |s: &str| -> Option<u64> { if s.is_empty() { None } else { s.parse().ok() } };
    for line in out.lines() {
        let parts: Vec<&str> = line.split('|').collect();
        match parts.as_slice() {
            [tag @ ("rel" | "new"), oid, name, kind] => {
                let oid: u64 = oid.parse().map_err(|_| format!("bad line {line}"))?;
                let rel = Rel { name: name.to_string(), kind: kind.chars().next().unwrap_or('?') };
                if *tag == "rel" {
                    p.rels.insert(oid, rel);
                } else {
                    p.new_rels.insert(oid, rel);
                }
            }
            [tag @ ("fn0" | "fn1"), oid, node, size] => {
                let oid: u64 = oid.parse().map_err(|_| format!("bad line {line}"))?;
                let v = (num(node), num(size));
                if *tag == "fn0" {
                    p.fn0.insert(oid, v);
                } else {
                    p.fn1.insert(oid, v);
                }
            }
            [tag @ ("scan0" | "scan1"), oid, n] => {
                let (Ok(oid), Ok(n)) = (oid.parse::<u64>(), n.parse::<u64>()) else {
                    return Err(format!("bad line {line}"));
                };
                if *tag == "scan0" {
                    p.scan0.insert(oid, n)
                } else {
                    p.scan1.insert(oid, n)
                };
            }
            ["lock", oid, mode, granted] | ["samp", oid, mode, granted] => {
                let oid: u64 = oid.parse().map_err(|_| format!("bad line {line}"))?;
                let Some(m) = mode_from_pg_locks(mode) else {
                    return Err(format!("unknown lock mode in `{line}`"));
                };
                p.locks.push((oid, m, *granted == "t" || *granted == "true"));
            }
            _ => {} // output of the statement itself (e.g. a SELECT in setup)
        }
    }
    Ok(p)
}

fn facts_from(p: &Parsed, mut facts: Facts) -> Facts {
    for r in p.rels.values() {
        if TABLE_KINDS.contains(&r.kind) {
            facts.existing.insert(r.name.clone());
        }
    }
    for &(oid, mode, granted) in &p.locks {
        let (rel, is_new) = match (p.rels.get(&oid), p.new_rels.get(&oid)) {
            (Some(r), _) => (r, false),
            (None, Some(r)) => (r, true),
            (None, None) => continue, // a catalog or another schema's relation
        };
        facts.raw_locks.push((rel.name.clone(), rel.kind, mode, granted, is_new));
        if !is_new && TABLE_KINDS.contains(&rel.kind) {
            let e = facts.locks.entry(rel.name.clone()).or_insert(mode);
            if mode > *e {
                *e = mode;
            }
        }
    }
    facts.raw_locks.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)));
    facts.raw_locks.dedup();
    for (oid, (node0, size0)) in &p.fn0 {
        let Some(rel) = p.rels.get(oid) else { continue };
        if !REWRITE_KINDS.contains(&rel.kind) {
            continue;
        }
        let Some((node1, size1)) = p.fn1.get(oid) else {
            continue;
        };
        if node1.is_none() || node0 == node1 {
            continue; // dropped, or same storage
        }
        // A new relfilenode that is empty while the old one had data is TRUNCATE's
        // fresh storage, not a rewrite.
        if size1 == &Some(0) && size0.unwrap_or(0) > 0 {
            facts.emptied.push(rel.name.clone());
        } else {
            facts.rewritten.push(rel.name.clone());
        }
    }
    facts.rewrite = !facts.rewritten.is_empty();
    for (oid, n1) in &p.scan1 {
        if let Some(rel) = p.rels.get(oid)
            && n1 > p.scan0.get(oid).unwrap_or(&0)
        {
            facts.scanned.push(rel.name.clone());
        }
    }
    facts.scanned.sort();
    facts
}

/// The sequential scans of every table of the case schema counted in this transaction
/// (pg_stat_xact_user_tables: not flushed before the transaction ends, so the difference
/// across the statement is the statement's own scans, such as ATTACH PARTITION's check).
fn scan_query(tag: &str, schema: &str) -> String {
    format!(
        "SELECT format('{tag}|%s|%s', relid::bigint, seq_scan) FROM pg_stat_xact_user_tables \
         WHERE schemaname = '{schema}';\n"
    )
}

/// Runs a transactional case: fixture, `BEGIN; <stmt>;`, read own pg_locks and the
/// relfilenodes, `ROLLBACK`.
pub fn run_tx(server: &Server, idx: usize, case: &Case) -> Result<Facts, String> {
    let schema = schema_name(idx);
    let mut s = prelude(&schema, case, true);
    s.push_str(BEFORE_TABLE);
    s.push_str(&rels_query("rel", &schema));
    s.push_str(&filenode_query("fn0"));
    s.push_str("BEGIN;\n");
    s.push_str(&scan_query("scan0", &schema));
    s.push_str(&ensure_semicolon(&case.stmt));
    s.push('\n');
    // First thing after the statement: this backend's relation locks. Every later
    // query may add locks of its own (catalogs, the temp table).
    s.push_str(
        "SELECT format('lock|%s|%s|%s', l.relation::bigint, l.mode, l.granted) FROM pg_locks l \
         WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation';\n",
    );
    s.push_str(&scan_query("scan1", &schema));
    s.push_str(&rels_query("new", &schema));
    s.push_str(&filenode_query("fn1"));
    s.push_str("ROLLBACK;\n");
    let out = server.sql(&s);
    if !out.ok {
        return Err(format!("psql failed (exit {:?}) for case `{}`:\n{}", out.code, case.name, out.stderr.trim()));
    }
    let p = parse_output(&out.stdout)?;
    if p.rels.is_empty() {
        return Err(format!("case `{}`: no relations read back (output: {})", case.name, out.stdout));
    }
    Ok(facts_from(&p, Facts::default()))
}

/// Runs a `-- fails: <text>` case: fixture, `BEGIN; <stmt>; ROLLBACK`, which must
/// fail with an error containing `text`. Nothing is held or rewritten: the facts
/// are only the error.
pub fn run_fails(server: &Server, idx: usize, case: &Case, text: &str) -> Result<Facts, String> {
    let schema = schema_name(idx);
    let mut s = prelude(&schema, case, true);
    s.push_str("BEGIN;\n");
    s.push_str(&ensure_semicolon(&case.stmt));
    s.push_str("\nROLLBACK;\n");
    let out = server.sql(&s);
    if out.ok {
        return Err(format!("case `{}` says it fails with `{text}`, but the server ran it", case.name));
    }
    let error = out.stderr.lines().find(|l| l.contains("ERROR:")).unwrap_or("").trim().to_string();
    if !error.contains(text) {
        return Err(format!(
            "case `{}`: expected an error containing `{text}`, got:\n{}",
            case.name,
            out.stderr.trim()
        ));
    }
    Ok(Facts { refused: Some(error), ..Facts::default() })
}

/// Runs a statement that refuses a transaction block:
/// 1. asserts that `BEGIN; <stmt>` fails with "cannot run inside a transaction block";
/// 2. runs it for real in session A while blocker sessions hold table locks for a
///    while (see [`super::cases::default_blockers`]), so that A queues for its locks
///    or holds them while it waits, and a sampler session S reads A's `pg_locks` rows
///    (granted or waiting) in a loop inside the server;
/// 3. compares the relfilenodes before and after (committed).
pub fn run_notx(server: &Server, idx: usize, case: &Case) -> Result<Facts, String> {
    let schema = schema_name(idx);
    let mut facts = Facts::default();
    let blockers = if case.blockers.is_empty() { default_blockers() } else { case.blockers.clone() };

    // Fixture, committed.
    let out = server.sql(&prelude(&schema, case, true));
    if !out.ok {
        return Err(format!("fixture/setup failed for `{}`:\n{}", case.name, out.stderr.trim()));
    }

    // 1. In a transaction block it must fail.
    let mut s = prelude(&schema, case, false);
    s.push_str("BEGIN;\n");
    s.push_str(&ensure_semicolon(&case.stmt));
    s.push_str("\nROLLBACK;\n");
    let out = server.sql(&s);
    if out.ok {
        return Err(format!(
            "case `{}` is marked notx, but it ran inside a transaction block without error",
            case.name
        ));
    }
    if !out.stderr.contains("cannot run inside a transaction block") {
        return Err(format!(
            "case `{}`: the in-transaction attempt failed with an unexpected error:\n{}",
            case.name,
            out.stderr.trim()
        ));
    }
    facts.tx_error = out
        .stderr
        .lines()
        .find(|l| l.contains("cannot run inside a transaction block"))
        .map(|l| l.trim().trim_start_matches("psql:<stdin>:").to_string());

    // Relations and filenodes before.
    let mut s = prelude(&schema, case, false);
    s.push_str(BEFORE_TABLE);
    s.push_str(&rels_query("rel", &schema));
    s.push_str(&filenode_query("fn0"));
    let before = server.sql(&s);
    if !before.ok {
        return Err(format!("before-snapshot failed: {}", before.stderr));
    }

    // 2. Blockers, sampler, statement.
    let app_stmt = format!("migrade_notx_{idx}");
    let mut blocker_children = Vec::new();
    for (k, b) in blockers.iter().enumerate() {
        let app = format!("migrade_blocker_{idx}_{k}");
        let sql = format!(
            "SET search_path = {schema};\nBEGIN ISOLATION LEVEL REPEATABLE READ;\n\
             LOCK TABLE {} IN {} MODE;\nSELECT pg_sleep({});\nCOMMIT;\n",
            b.table,
            mode_name(b.mode),
            b.secs
        );
        blocker_children.push((app.clone(), server.spawn_sql(&app, &sql)?));
        // Wait until it holds its lock (and its snapshot: pg_sleep has started).
        let t0 = Instant::now();
        loop {
            let r = server.sql(&format!(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE a.application_name = '{app}' AND l.granted AND l.locktype = 'relation' \
                 AND l.relation = '{schema}.{}'::regclass AND a.query LIKE '%pg_sleep%';",
                b.table
            ));
            if r.ok && r.stdout.trim() != "0" {
                break;
            }
            if t0.elapsed() > Duration::from_secs(10) {
                let mut msg = format!("blocker {k} never got its lock: {}", r.stderr);
                for (_, c) in blocker_children {
                    msg.push_str(&Server::wait(c).stderr);
                }
                return Err(msg);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let sampler_sql = format!(
        "SET client_min_messages = warning;
CREATE TEMP TABLE _samp (relation oid, mode text, granted bool, PRIMARY KEY (relation, mode, granted));
DO $sampler$
DECLARE
  apid int;
  t0 timestamptz := clock_timestamp();
  i int := 0;
BEGIN
  LOOP
    PERFORM pg_stat_clear_snapshot();
    SELECT pid INTO apid FROM pg_stat_activity WHERE application_name = '{app_stmt}' LIMIT 1;
    EXIT WHEN apid IS NOT NULL;
    IF clock_timestamp() - t0 > interval '15 s' THEN
      RAISE EXCEPTION 'sampler: the statement session never appeared';
    END IF;
    PERFORM pg_sleep(0.001);
    COMMIT;
  END LOOP;
  LOOP
    INSERT INTO _samp (relation, mode, granted)
      SELECT DISTINCT l.relation, l.mode, l.granted FROM pg_locks l
      WHERE l.pid = apid AND l.locktype = 'relation'
      ON CONFLICT DO NOTHING;
    i := i + 1;
    -- End the transaction on every iteration: CREATE INDEX CONCURRENTLY and
    -- REINDEX CONCURRENTLY wait for every transaction older than their snapshot,
    -- which would otherwise include this sampler (a deadlock until the timeout).
    COMMIT;
    IF i % 20 = 0 THEN
      PERFORM pg_stat_clear_snapshot();
      EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = apid);
      IF clock_timestamp() - t0 > interval '30 s' THEN
        RAISE EXCEPTION 'sampler: timeout';
      END IF;
    END IF;
  END LOOP;
  RAISE NOTICE 'sampler: % iterations', i;
END
$sampler$;
SELECT format('samp|%s|%s|%s', relation::bigint, mode, granted) FROM _samp;
"
    );
    let sampler = server.spawn_sql("migrade_sampler", &sampler_sql)?;
    let mut stmt_sql = prelude(&schema, case, false);
    stmt_sql.push_str(&ensure_semicolon(&case.stmt));
    stmt_sql.push('\n');
    let stmt = server.spawn_sql(&app_stmt, &stmt_sql)?;
    let stmt_out = Server::wait(stmt);
    let sampler_out = Server::wait(sampler);
    let blocker_outs: Vec<(String, SqlOut)> =
        blocker_children.into_iter().map(|(app, c)| (app, Server::wait(c))).collect();
    if !stmt_out.ok {
        return Err(format!("case `{}`: the statement failed:\n{}", case.name, stmt_out.stderr.trim()));
    }
    if !sampler_out.ok {
        return Err(format!("case `{}`: the lock sampler failed:\n{}", case.name, sampler_out.stderr.trim()));
    }
    for (app, out) in &blocker_outs {
        if !out.ok {
            return Err(format!("case `{}`: blocker {app} failed:\n{}", case.name, out.stderr.trim()));
        }
    }

    // 3. Relations (new ones too) and filenodes after. `_before` was a temp table of
    //    another session: rebuild it from the before-output.
    let before_p = parse_output(&before.stdout)?;
    let values: Vec<String> =
        before_p.rels.iter().map(|(oid, r)| format!("({oid}::oid, '{}'::\"char\")", r.kind)).collect();
    let mut s = prelude(&schema, case, false);
    s.push_str(&rels_query("new", &schema));
    if !values.is_empty() {
        s.push_str(&format!(
            "CREATE TEMP TABLE _before (relid oid, relkind \"char\");\nINSERT INTO _before VALUES {};\n",
            values.join(", ")
        ));
        s.push_str(&filenode_query("fn1"));
    }
    let after = server.sql(&s);
    if !after.ok {
        return Err(format!("after-snapshot failed: {}", after.stderr));
    }
    let combined = format!("{}\n{}\n{}", before.stdout, sampler_out.stdout, after.stdout);
    let p = parse_output(&combined)?;
    facts = facts_from(&p, facts);
    // A table whose file shrank in place was truncated by VACUUM, which PostgreSQL only
    // does under ACCESS EXCLUSIVE (lazy_truncate_heap, taken conditionally and held
    // briefly): proof of the lock even when the sampler missed that moment.
    for (oid, (node0, size0)) in &p.fn0 {
        let Some(rel) = p.rels.get(oid).filter(|r| TABLE_KINDS.contains(&r.kind)) else { continue };
        if let (Some((node1, size1)), Some(s0)) = (p.fn1.get(oid), size0)
            && node1 == node0
            && size1.is_some_and(|s1| s1 < *s0)
        {
            facts.locks.insert(rel.name.clone(), mode_from_pg_locks("AccessExclusiveLock").unwrap_or(7));
            facts.notes.push(format!("{} shrank in place: truncated under ACCESS EXCLUSIVE", rel.name));
        }
    }
    if p.locks.is_empty() {
        facts.notes.push("sampler saw no relation lock".into());
    }
    if !facts.raw_locks.iter().any(|(_, _, _, granted, _)| !granted) {
        facts.notes.push(
            "WARNING: the statement was never seen waiting for a lock: the blockers did not \
             hold it up and the sampling may have missed its locks"
                .into(),
        );
    }
    let sampled = describe_raw(&facts);
    facts.notes.push(format!("sampled: {sampled}"));
    Ok(facts)
}

/// Every relation lock the server reported for the case schema (indexes too).
pub fn describe_raw(facts: &Facts) -> String {
    let v: Vec<String> = facts
        .raw_locks
        .iter()
        .map(|(name, kind, mode, granted, is_new)| {
            let kind = match kind {
                'i' | 'I' => " (index)",
                'S' => " (sequence)",
                'm' => " (matview)",
                'v' => " (view)",
                _ => "",
            };
            format!(
                "{name}{kind} {}{}{}",
                mode_name(*mode),
                if *granted { "" } else { " (waiting)" },
                if *is_new { " [new]" } else { "" }
            )
        })
        .collect();
    if v.is_empty() { "(none)".into() } else { v.join(", ") }
}
