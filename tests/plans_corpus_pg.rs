//! Every expand/contract plan of the real migration folders in
//! `../shared/corpus`, run on a real PostgreSQL 15 (issue 11).
//!
//! * `migrade lint --format json` over the corpus gives each file's layout,
//!   direction, statements (with the transaction each runs in, and the goose /
//!   dbmate section) and plan, in migration order.
//! * Each migration folder (migrade's folder: temporal-sql-tool's
//!   `versioned/vX.Y` folders are one, in version order) gets its own database;
//!   its up files are applied in order the way migrade models the tool: inside
//!   one transaction when migrade says every statement runs in one, else
//!   statement by statement in autocommit; only the Up section of a goose /
//!   dbmate file. A folder where a file fails on vanilla PostgreSQL 15
//!   (extensions, roles, placeholders, a base schema that is not in the
//!   folder) is skipped, and printed with the file and the error.
//! * For every file with a plan, the database as it is before the file is
//!   kept as a template (`CREATE DATABASE .. TEMPLATE`, one per file); the
//!   file is applied to the folder's database, the plan's SQL steps alone to a
//!   copy of the template, each in its stated transaction mode (a
//!   `no_transaction` step in autocommit, any other in one transaction unless
//!   it says BEGIN itself). A plan *runs* when every step succeeds; it
//!   *reaches the file's schema* when the catalog facts (relations, columns
//!   with type, nullability and default, constraints, indexes, triggers,
//!   functions, types, views, schemas, extensions), the row count of every
//!   table and the data of every column (its count of NULLs, of distinct values, and
//!   an md5 of its sorted values) are equal, minus the helper objects the plan lists as left on purpose
//!   (each step's `leaves`: the backup tables and recommended indexes they
//!   create).
//!
//! * Each plan runs twice: on empty tables, and on tables topped up to a few
//!   generated rows each (`migrade verify --rows`'s generator, src/verify/fill.rs:
//!   values by type, NOT NULL and foreign keys respected; nullable columns without
//!   a generator stay NULL). A second database follows the folder with rows; the
//!   file runs on it and the plan on a copy of it as it was before the file. A
//!   file that fails on the rows itself (a NOT NULL column added without a
//!   default, a unique index over duplicates, …) would fail in production too: its
//!   plan is not judged on rows, and the file is printed with its error.
//!   With rows, a column whose values differ when the file itself runs twice (a time or
//!   a random value, set by the file or by a trigger) is compared by its counts of NULLs
//!   and of distinct values only; every other column by its sorted values too.
//!
//! Prints `folder: N/M plans run, K/M reach the file's schema; with 3 rows per
//! table: N/M run, K/M reach (F files fail on the rows themselves)` per folder
//! and the first error of each failure; any failure fails the test.
//!
//! A file where migrade reports `concurrently-in-transaction` runs outside a
//! transaction: the tool's configuration that says so (Diesel's
//! `metadata.toml`, …) is not part of the corpus.
//!
//! Needs the corpus (`MIGRADE_CORPUS`, default `../shared/corpus` next to the
//! project): without it the test says so loudly and passes, the project's own
//! tests do not need it. PostgreSQL as for tests/plans_pg.rs (`MIGRADE_SKIP_PG=1`
//! passes loudly when none is installed). `MIGRADE_CORPUS_ONLY=text` limits the
//! run to folders whose path contains `text`; `MIGRADE_CORPUS_JOBS` (default 2)
//! folders run at once; `MIGRADE_BIN` runs another
//! migrade binary (to measure a change before and after).
//!
//! The second test runs the same checks on `fixtures/unseen/`: real folders that are
//! not in the corpus and that migrade was never tuned on (verbatim copies; their
//! sources, commits and licences in `fixtures/unseen/SOURCES.tsv`). It needs no corpus.
//!
//! Part of `cargo test` (scripts/test.sh), about 5 minutes on 2 cores (the two tests
//! take turns). Run alone: `cargo test --test plans_corpus_pg -- --nocapture`;
//! only the unseen folders: `cargo test --test plans_corpus_pg unseen -- --nocapture`

#[allow(dead_code)]
#[path = "pg/server.rs"]
mod server;

use serde_json::Value;
use server::Server;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

fn corpus_dir() -> PathBuf {
    match std::env::var_os("MIGRADE_CORPUS") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
    }
}

fn loud(msg: &str) {
    let bar = "!".repeat(78);
    let _ = writeln!(std::io::stderr(), "\n{bar}\n{msg}\n{bar}\n");
    println!("{msg}");
}

/// One file of a folder, as migrade reports it.
struct FileRun {
    path: String,
    /// The SQL the tool runs (the Up section only for goose / dbmate).
    sql: String,
    /// Every statement runs inside one transaction.
    in_tx: bool,
    plan: Vec<Step>,
}

struct Step {
    stage: String,
    title: String,
    sql: String,
    no_transaction: bool,
    /// Helper objects the step leaves in place on purpose.
    leaves: Vec<String>,
}

struct Folder {
    name: String,
    files: Vec<FileRun>,
}

/// migrade's folder of a file (temporal-sql-tool's `versioned/vX.Y` folders are one,
/// in version order, as migrade orders them).
fn folder_key(path: &str) -> (String, Vec<u64>) {
    (migrade::discover::group_of(Path::new(path)).to_string_lossy().to_string(), Vec::new())
}

/// The text up to the first statement of the Down section.
fn up_text(text: &str, statements: &[Value]) -> String {
    let first_down =
        statements.iter().filter(|s| s["section"].as_str() == Some("down")).filter_map(|s| s["line"].as_u64()).min();
    match first_down {
        None => text.to_string(),
        Some(line) => {
            let mut out: String = text.lines().take(line.saturating_sub(1) as usize).collect::<Vec<_>>().join("\n");
            out.push_str("\n;\n");
            out
        }
    }
}

fn folders(corpus: &Path, only: Option<&str>) -> Vec<Folder> {
    let bin = std::env::var_os("MIGRADE_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_migrade").into());
    let out = Command::new(bin)
        .args(["lint", "--no-config", "--format", "json", "."])
        .current_dir(corpus)
        .output()
        .expect("run migrade lint");
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("migrade lint: not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    // (folder, [(version order, position in migrade's order, file)])
    type Files = Vec<(Vec<u64>, usize, FileRun)>;
    let mut list: Vec<(String, Files)> = Vec::new();
    for (i, f) in v["files"].as_array().expect("files").iter().enumerate() {
        let path = f["path"].as_str().expect("path").to_string();
        if !matches!(f["direction"].as_str(), Some("up" | "repeatable")) {
            continue;
        }
        let (key, order) = folder_key(&path);
        if only.is_some_and(|o| !key.contains(o)) {
            continue;
        }
        let statements = f["statements"].as_array().cloned().unwrap_or_default();
        let text = std::fs::read_to_string(corpus.join(&path)).unwrap_or_default();
        let up: Vec<&Value> = statements.iter().filter(|s| s["section"].as_str() != Some("down")).collect();
        // A CONCURRENTLY that migrade says runs in a transaction: the project's tool
        // configuration (Diesel's metadata.toml, …) is not in the corpus, and the
        // project runs the file outside one, else it would never have applied.
        let concurrent = f["findings"]
            .as_array()
            .is_some_and(|fs| fs.iter().any(|x| x["rule"].as_str() == Some("concurrently-in-transaction")));
        let in_tx = !concurrent && !up.is_empty() && up.iter().all(|s| s["in_transaction"].as_bool() == Some(true));
        let plan = f["plan"]
            .as_array()
            .map(|p| {
                p.iter()
                    .map(|s| Step {
                        stage: s["stage"].as_str().unwrap_or_default().to_string(),
                        title: s["title"].as_str().unwrap_or_default().to_string(),
                        sql: s["sql"].as_str().unwrap_or_default().to_string(),
                        no_transaction: s["no_transaction"].as_bool().unwrap_or(false),
                        leaves: s["leaves"]
                            .as_array()
                            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let run = FileRun { sql: up_text(&text, &statements), path, in_tx, plan };
        match list.iter_mut().find(|(k, _)| *k == key) {
            Some((_, files)) => files.push((order, i, run)),
            None => list.push((key, vec![(order, i, run)])),
        }
    }
    list.into_iter()
        .map(|(name, mut files)| {
            files.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
            Folder { name, files: files.into_iter().map(|(_, _, f)| f).collect() }
        })
        .collect()
}

fn first_error(stderr: &str) -> String {
    let line = stderr.lines().find(|l| l.contains("ERROR:")).or_else(|| stderr.lines().find(|l| !l.trim().is_empty()));
    let l = line.unwrap_or("(no message)").trim();
    let l = l.split_once("ERROR:").map(|(_, m)| m.trim()).unwrap_or(l);
    clip(l, 200)
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n - 1).collect::<String>()) }
}

const MARK: &str = "@@migrade-corpus@@";

/// A file as the tool runs it.
fn file_script(f: &FileRun) -> String {
    if f.in_tx { format!("BEGIN;\n{}\n;\nCOMMIT;\n", f.sql) } else { format!("{}\n;\n", f.sql) }
}

/// A plan step in its stated transaction mode: a `no_transaction` step in
/// autocommit, any other in one transaction unless it says BEGIN itself.
fn step_script(s: &Step) -> String {
    let own_tx = s.sql.lines().any(|l| {
        let t = l.trim().trim_end_matches(';').trim().to_ascii_uppercase();
        t == "BEGIN" || t == "START TRANSACTION"
    });
    if s.no_transaction || own_tx { format!("{}\n;\n", s.sql) } else { format!("BEGIN;\n{}\n;\nCOMMIT;\n", s.sql) }
}

/// Runs scripts in one session, stopping at the first error: `Err((index of
/// the failing script, its first error))`. A `\echo` marker before each
/// script tells which one failed. `tail` (catalog queries) runs after them.
fn run_scripts(server: &Server, db: &str, scripts: &[String], tail: &str) -> Result<String, (usize, String)> {
    let mut all = String::new();
    for (i, s) in scripts.iter().enumerate() {
        all.push_str(&format!("\\echo {MARK}{i}\n{s}"));
    }
    all.push_str(&format!("\\echo {MARK}end\n{tail}"));
    let out = server.sql_db(db, &all);
    if out.ok {
        return Ok(out.stdout);
    }
    let last = out.stdout.lines().filter_map(|l| l.strip_prefix(MARK)).next_back();
    let at = last.and_then(|m| m.parse::<usize>().ok()).unwrap_or(scripts.len());
    Err((at, first_error(&out.stderr)))
}

const USER_NS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') \
                       AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'";

/// Catalog queries whose output lines are the schema's facts, `kind|schema|relation|…`.
fn describe_sql() -> String {
    format!(
        "SELECT 'N|' || n.nspname FROM pg_namespace n WHERE {USER_NS};\n\
         SELECT 'E|' || extname FROM pg_extension;\n\
         SELECT 'R|' || n.nspname || '|' || c.relname || '|' || c.relkind::text FROM pg_class c \
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER_NS} AND c.relkind IN ('r','p','v','m','S','f','c');\n\
         SELECT 'C|' || n.nspname || '|' || c.relname || '|' || a.attname || '|' || format_type(a.atttypid, a.atttypmod) \
           || '|' || a.attnotnull || '|' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || '|' || a.attidentity::text \
           || a.attgenerated::text || '|' || coalesce((SELECT collname FROM pg_collation WHERE oid = a.attcollation \
           AND a.attcollation <> 100), '') \
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
           WHERE {USER_NS} AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r','p','v','m','f','c');\n\
         SELECT 'K|' || n.nspname || '|' || c.relname || '|' || k.conname || '|' || pg_get_constraintdef(k.oid) \
           || '|' || k.convalidated FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER_NS};\n\
         SELECT 'D|' || n.nspname || '|' || t.typname || '|' || k.conname || '|' || pg_get_constraintdef(k.oid) \
           FROM pg_constraint k JOIN pg_type t ON t.oid = k.contypid JOIN pg_namespace n ON n.oid = t.typnamespace \
           WHERE {USER_NS};\n\
         SELECT 'I|' || n.nspname || '|' || t.relname || '|' || i.relname || '|' || pg_get_indexdef(i.oid) || '|' \
           || x.indisvalid FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
           JOIN pg_namespace n ON n.oid = t.relnamespace WHERE {USER_NS};\n\
         SELECT 'T|' || n.nspname || '|' || c.relname || '|' || pg_get_triggerdef(t.oid) FROM pg_trigger t \
           JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
           WHERE {USER_NS} AND NOT t.tgisinternal;\n\
         SELECT 'F|' || n.nspname || '|' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')|' \
           || md5(pg_get_functiondef(p.oid)) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
           WHERE {USER_NS} AND p.prokind IN ('f', 'p');\n\
         SELECT 'Y|' || n.nspname || '|' || t.typname || '|' || t.typtype::text || '|' || coalesce((SELECT \
           string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '') \
           FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {USER_NS} \
           AND t.typtype IN ('e', 'd', 'r', 'm');\n\
         SELECT 'V|' || n.nspname || '|' || c.relname || '|' || md5(pg_get_viewdef(c.oid)) FROM pg_class c \
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER_NS} AND c.relkind IN ('v', 'm');\n\
         SELECT 'W|' || n.nspname || '|' || c.relname || '|' || (xpath('/row/n/text()', query_to_xml(format( \
           'SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text FROM pg_class c \
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER_NS} AND c.relkind IN ('r', 'p');\n\
         SELECT 'X|' || n.nspname || '|' || c.relname || '|' || (xpath('/row/v/text()', query_to_xml('SELECT ' \
           || string_agg(format('%L || '':'' || count(*) FILTER (WHERE %I IS NULL) || '':'' \
           || count(DISTINCT %I::text) || '':'' || %s', a.attname, a.attname, a.attname, \
           format('md5(coalesce(string_agg(%I::text, '','' ORDER BY %I::text), ''''))', a.attname, a.attname)), \
           ' || ''/'' || ' ORDER BY a.attname) || format(' AS v FROM %I.%I', n.nspname, c.relname), \
           false, true, '')))[1]::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
           WHERE {USER_NS} AND c.relkind IN ('r', 'p') GROUP BY n.nspname, c.relname;\n"
    )
}

/// The facts in psql's output after the last marker. The data facts (`X|schema|table|col:nulls:distinct:md5/col:…`, one line per table)
/// become one fact per column, so that a difference names the column.
fn facts(stdout: &str) -> BTreeSet<String> {
    let after = stdout.rsplit(&format!("{MARK}end")).next().unwrap_or("");
    let mut out = BTreeSet::new();
    for l in after.lines().filter(|l| l.len() > 2 && l.as_bytes()[1] == b'|') {
        match l.strip_prefix("X|").and_then(|rest| rest.splitn(3, '|').nth(2).map(|cols| (rest, cols))) {
            Some((rest, cols)) => {
                let table = &rest[..rest.len() - cols.len()];
                out.extend(cols.split('/').map(|c| format!("X|{table}{c}")));
            }
            None => {
                out.insert(l.to_string());
            }
        }
    }
    out
}

/// Helper objects the plan lists as left on purpose (each step's `leaves`: the
/// backup tables and recommended indexes it creates), unquoted, without schema.
fn helpers(plan: &[Step]) -> BTreeSet<String> {
    plan.iter().flat_map(|s| s.leaves.iter()).map(|n| unqualified(n)).collect()
}

/// `"Schema".name` -> `name`, a quoted name as written, an unquoted one in lower case.
fn unqualified(name: &str) -> String {
    let last = name.rsplit('.').next().unwrap_or(name);
    if last.starts_with('"') { last.trim_matches('"').to_string() } else { last.to_lowercase() }
}

/// The facts without those of helper objects (a relation's, or an index's by its name).
fn without_helpers(facts: BTreeSet<String>, helpers: &BTreeSet<String>) -> BTreeSet<String> {
    facts
        .into_iter()
        .filter(|f| {
            let mut parts = f.split('|');
            let (kind, rel, index) = (parts.next(), parts.nth(1), parts.next());
            !(rel.is_some_and(|r| helpers.contains(r))
                || (kind == Some("I") && index.is_some_and(|i| helpers.contains(i))))
        })
        .collect()
}

fn drop_db(server: &Server, db: &str) {
    let _ = server.sql(&format!("DROP DATABASE IF EXISTS {db};"));
}

enum Outcome {
    /// The folder does not apply on vanilla PostgreSQL: the file and its error.
    Skipped(String),
    /// The harness itself failed (a database could not be created, …).
    Error(String),
    Done(Tally),
}

#[derive(Default)]
struct Tally {
    plans: usize,
    ran: usize,
    reached: usize,
    /// The same with a few generated rows per table: plans whose file applies on them.
    rows_plans: usize,
    rows_ran: usize,
    rows_reached: usize,
    /// Files that fail on the generated rows themselves (a NOT NULL column added without
    /// a default, a unique index on duplicates, …): their plans are not judged on rows.
    rows_file_fails: Vec<String>,
    /// Rows the generator added over the folder (proof that the second run has rows).
    rows_added: u64,
    failures: Vec<String>,
}

/// Rows per table of the second run (`migrade verify --rows`'s generator).
const ROWS_PER_TABLE: u64 = 3;

/// Tops every table of `db` up to [`ROWS_PER_TABLE`] generated rows (src/verify/fill.rs):
/// the rows added.
fn fill_rows(server: &Server, db: &str) -> Result<u64, String> {
    let mut client = postgres::Config::new()
        .host_path(server.socket_dir())
        .port(server.port())
        .user("postgres")
        .dbname(db)
        .connect(postgres::NoTls)
        .map_err(|e| format!("connect to {db}: {e}"))?;
    let mut reported = BTreeSet::new();
    let report = migrade::verify::fill::fill(&mut client, ROWS_PER_TABLE, &mut reported);
    client.close().map_err(|e| format!("close {db}: {e}"))?;
    Ok(report.filled.iter().map(|f| f.rows_added).sum())
}

/// The plan's SQL steps in order on `db`, each in its stated transaction mode; after a
/// failing step the rest still run (in a new session). The schema's facts after them,
/// and the first failure.
fn run_plan(
    server: &Server,
    db: &str,
    plan: &[Step],
    describe: &str,
) -> Result<(BTreeSet<String>, Option<String>), String> {
    let steps: Vec<(usize, &Step)> = plan.iter().enumerate().filter(|(_, s)| !s.sql.is_empty()).collect();
    let mut from = 0;
    let mut first_fail = None;
    loop {
        let scripts: Vec<String> = steps[from..].iter().map(|(_, s)| step_script(s)).collect();
        match run_scripts(server, db, &scripts, describe) {
            Ok(out) => return Ok((facts(&out), first_fail)),
            Err((at, e)) => {
                let Some((n, s)) = steps.get(from + at) else {
                    return Err(format!("describe: {e}"));
                };
                if first_fail.is_none() {
                    first_fail = Some(format!("step {} [{}] {}: {e}", n + 1, s.stage, clip(&s.title, 60)));
                }
                from += at + 1;
            }
        }
    }
}

/// A data fact `X|schema|table|column:nulls:distinct:md5` split into its column
/// (`X|schema|table|column`) and its values.
fn data_fact(fact: &str) -> Option<(&str, &str)> {
    if !fact.starts_with("X|") {
        return None;
    }
    let mut cut = fact.len();
    for _ in 0..3 {
        cut = fact[..cut].rfind(':')?;
    }
    Some((&fact[..cut], &fact[cut..]))
}

/// The columns whose data differ between two runs of the same file on copies of one
/// database.
fn nondeterministic_columns(a: &BTreeSet<String>, b: &BTreeSet<String>) -> BTreeSet<String> {
    a.symmetric_difference(b).filter_map(|f| data_fact(f)).map(|(col, _)| col.to_string()).collect()
}

/// The facts with the md5 of the values of `columns` left out (their counts stay).
fn counts_only(facts: BTreeSet<String>, columns: &BTreeSet<String>) -> BTreeSet<String> {
    facts
        .into_iter()
        .map(|f| match data_fact(&f) {
            Some((col, values)) if columns.contains(col) => {
                let counts = values.rsplit_once(':').map_or(values, |(c, _)| c);
                format!("{col}{counts}:(differs from one run of the file to the next)")
            }
            _ => f,
        })
        .collect()
}

/// `name: schema differs: …` when the facts differ (helper objects aside).
fn schema_difference(
    name: &str,
    got: BTreeSet<String>,
    want: BTreeSet<String>,
    keep: &BTreeSet<String>,
) -> Option<String> {
    let (got, want) = (without_helpers(got, keep), without_helpers(want, keep));
    if got == want {
        return None;
    }
    let extra: Vec<&String> = got.difference(&want).take(2).collect();
    let missing: Vec<&String> = want.difference(&got).take(2).collect();
    Some(format!("{name}: schema differs: only after the plan {extra:?}, only after the file {missing:?}"))
}

fn fresh_db(server: &Server, db: &str, template: &str) -> Result<(), String> {
    let out = server
        .sql(&format!("DROP DATABASE IF EXISTS {db};\nCREATE DATABASE {db} TEMPLATE {template} STRATEGY FILE_COPY;"));
    if out.ok { Ok(()) } else { Err(format!("CREATE DATABASE {db}: {}", first_error(&out.stderr))) }
}

/// First pass: does every up file apply, in order, on an empty database?
fn applies(server: &Server, db: &str, folder: &Folder) -> Result<(), String> {
    fresh_db(server, db, "template0")?;
    let scripts: Vec<String> = folder.files.iter().map(file_script).collect();
    let r = run_scripts(server, db, &scripts, "");
    drop_db(server, db);
    r.map(|_| ()).map_err(|(i, e)| format!("{}: {e}", folder.files.get(i).map(|f| f.path.as_str()).unwrap_or("?")))
}

/// Second pass: the plans, each on a copy of the database as it is before its file,
/// once with empty tables and once with [`ROWS_PER_TABLE`] generated rows per table.
/// The rows database follows the folder beside the empty one; where a file fails on
/// its rows, it starts again from the empty database's state after that file.
fn check_plans(server: &Server, db: &str, folder: &Folder) -> Result<Tally, String> {
    let mut t = Tally::default();
    fresh_db(server, db, "template0")?;
    let (pre, rows, rows_pre) = (format!("{db}_pre"), format!("{db}_rows"), format!("{db}_rows_pre"));
    let rows_twice = format!("{db}_rows_twice");
    fresh_db(server, &rows, "template0")?;
    let mut pending: Vec<String> = Vec::new();
    let describe = describe_sql();
    for f in &folder.files {
        if !f.plan.iter().any(|s| !s.sql.is_empty()) {
            pending.push(file_script(f));
            continue;
        }
        t.plans += 1;
        let before = std::mem::take(&mut pending);
        run_scripts(server, db, &before, "").map_err(|(_, e)| format!("before {}: {e}", f.path))?;
        if run_scripts(server, &rows, &before, "").is_err() {
            fresh_db(server, &rows, db)?;
        }
        fresh_db(server, &pre, db)?;
        t.rows_added += fill_rows(server, &rows)?;
        fresh_db(server, &rows_pre, &rows)?;
        fresh_db(server, &rows_twice, &rows)?;
        let want =
            run_scripts(server, db, &[file_script(f)], &describe).map_err(|(_, e)| format!("{}: {e}", f.path))?;
        let want = facts(&want);
        let name = f.path.rsplit('/').take(2).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("/");
        let keep = helpers(&f.plan);
        let (got, first_fail) = run_plan(server, &pre, &f.plan, &describe).map_err(|e| format!("{}: {e}", f.path))?;
        match &first_fail {
            None => t.ran += 1,
            Some(e) => t.failures.push(format!("{name}: {e}")),
        }
        match schema_difference(&name, got, want, &keep) {
            None => t.reached += 1,
            Some(d) => t.failures.push(d),
        }
        // With rows: the file on the rows database, the plan on its copy.
        match run_scripts(server, &rows, &[file_script(f)], &describe) {
            Err((_, e)) => {
                t.rows_file_fails.push(format!("{name}: {e}"));
                fresh_db(server, &rows, db)?;
            }
            Ok(out) => {
                t.rows_plans += 1;
                let (got, first_fail) =
                    run_plan(server, &rows_pre, &f.plan, &describe).map_err(|e| format!("{}: {e}", f.path))?;
                match &first_fail {
                    None => t.rows_ran += 1,
                    Some(e) => t.failures.push(format!("{name} (with rows): {e}")),
                }
                let mut want = facts(&out);
                let mut got = got;
                if got != want {
                    // Values that differ when the file itself runs twice (a time, a random
                    // value, set by the file or by a trigger) are compared by their counts.
                    let again = run_scripts(server, &rows_twice, &[file_script(f)], &describe)
                        .map_err(|(_, e)| format!("{} (run twice): {e}", f.path))?;
                    let moving = nondeterministic_columns(&want, &facts(&again));
                    want = counts_only(want, &moving);
                    got = counts_only(got, &moving);
                }
                match schema_difference(&format!("{name} (with rows)"), got, want, &keep) {
                    None => t.rows_reached += 1,
                    Some(d) => t.failures.push(d),
                }
            }
        }
    }
    for d in [&pre, &rows_pre, &rows_twice, &rows, &db.to_string()] {
        drop_db(server, d);
    }
    Ok(t)
}

/// Both tests start their own server; one at a time (the machine has 2 cores and
/// each already runs `MIGRADE_CORPUS_JOBS` folders at once).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn corpus_plans_run_and_reach_the_files_schema() {
    let corpus = corpus_dir();
    if !corpus.join("SOURCES.tsv").is_file() {
        loud(&format!(
            "!!! plans_corpus_pg SKIPPED: no corpus at {} (set MIGRADE_CORPUS).\n\
             !!! The corpus plans were NOT run; the project's own tests do not need the corpus, CI has it.",
            corpus.display()
        ));
        return;
    }
    check_root("plans_corpus_pg", &corpus);
}

/// The same checks on real migration folders this project has never been tuned on:
/// `fixtures/unseen/` (verbatim copies, sources and licences in its SOURCES.tsv).
/// `MIGRADE_CORPUS_ONLY` filters these folders too.
#[test]
fn unseen_folders_plans_run_and_reach_the_files_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/unseen");
    assert!(root.join("SOURCES.tsv").is_file(), "fixtures/unseen/SOURCES.tsv is missing");
    check_root("plans_unseen_pg", &root);
}

/// Runs every folder under `root` (see the module comment) and fails on any failure.
fn check_root(label: &str, root: &Path) {
    let bins = match server::find_bins() {
        Ok(b) => b,
        Err(e) => {
            if env_flag("MIGRADE_SKIP_PG") {
                loud(&format!("!!! {label} SKIPPED (MIGRADE_SKIP_PG=1): {e}"));
                return;
            }
            panic!("{label}: {e}. Install Debian's postgresql, or set MIGRADE_SKIP_PG=1 to skip.");
        }
    };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let t0 = Instant::now();
    let server = Server::start(&bins).unwrap_or_else(|e| panic!("{label}: cannot start PostgreSQL: {e}"));
    println!("{label}: PostgreSQL {} from {}, folders under {}", bins.major, bins.bindir.display(), root.display());
    let only = std::env::var("MIGRADE_CORPUS_ONLY").ok();
    let all = folders(root, only.as_deref());
    println!("{label}: migrade lint: {:.1}s", t0.elapsed().as_secs_f64());
    let mut failed = Vec::new();
    let (mut plans, mut ran, mut reached, mut used) = (0, 0, 0, 0);
    let (mut rows_plans, mut rows_ran, mut rows_reached, mut rows_file_fails) = (0, 0, 0, 0);
    // Folders in parallel (MIGRADE_CORPUS_JOBS, default 2: one database each), the
    // biggest first; printed in folder order.
    let jobs: usize = std::env::var("MIGRADE_CORPUS_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(2).max(1);
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(all[i].files.len()));
    let next = std::sync::Mutex::new(order.into_iter());
    let results: std::sync::Mutex<Vec<Option<(Outcome, f64)>>> =
        std::sync::Mutex::new((0..all.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let Some(i) = next.lock().expect("queue").next() else { break };
                    let (folder, db, tf) = (&all[i], format!("corpus_{i}"), Instant::now());
                    let outcome = match applies(&server, &db, folder) {
                        Err(e) => Outcome::Skipped(e),
                        Ok(()) => match check_plans(&server, &db, folder) {
                            Err(e) => Outcome::Error(e),
                            Ok(t) => Outcome::Done(t),
                        },
                    };
                    results.lock().expect("results")[i] = Some((outcome, tf.elapsed().as_secs_f64()));
                }
            });
        }
    });
    for (folder, r) in all.iter().zip(results.into_inner().expect("results")) {
        let Some((outcome, secs)) = r else { continue };
        match outcome {
            Outcome::Skipped(e) => println!(
                "skipped {} ({} files): does not apply on vanilla PostgreSQL {}: {e}",
                folder.name,
                folder.files.len(),
                bins.major
            ),
            Outcome::Error(e) => {
                used += 1;
                println!("{}: harness error: {e}", folder.name);
                failed.push(format!("{}: {e}", folder.name));
            }
            Outcome::Done(t) => {
                used += 1;
                println!(
                    "{}: {}/{} plans run, {}/{} reach the file's schema; with {ROWS_PER_TABLE} rows per table: {}/{} \
                     run, {}/{} reach ({} files fail on the rows themselves; {} rows generated) ({} files, {secs:.0}s)",
                    folder.name,
                    t.ran,
                    t.plans,
                    t.reached,
                    t.plans,
                    t.rows_ran,
                    t.rows_plans,
                    t.rows_reached,
                    t.rows_plans,
                    t.rows_file_fails.len(),
                    t.rows_added,
                    folder.files.len(),
                );
                for f in &t.failures {
                    println!("  {f}");
                }
                for f in &t.rows_file_fails {
                    println!("  not judged with rows, the file fails on them: {f}");
                }
                plans += t.plans;
                ran += t.ran;
                reached += t.reached;
                rows_plans += t.rows_plans;
                rows_ran += t.rows_ran;
                rows_reached += t.rows_reached;
                rows_file_fails += t.rows_file_fails.len();
                if !t.failures.is_empty() {
                    failed.push(format!("{}: {} failures", folder.name, t.failures.len()));
                }
            }
        }
    }
    println!(
        "{label}: {used} folders apply, {} skipped; {ran}/{plans} plans run, {reached}/{plans} reach the \
         file's schema; with {ROWS_PER_TABLE} rows per table: {rows_ran}/{rows_plans} run, \
         {rows_reached}/{rows_plans} reach ({rows_file_fails} files fail on the rows themselves); {:.0}s",
        all.len() - used,
        t0.elapsed().as_secs_f64()
    );
    drop(server);
    assert!(failed.is_empty(), "{label} failed:\n{}", failed.join("\n"));
}
