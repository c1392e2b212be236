//! `migrade verify --rows N`: before each up file, every existing table that holds
//! fewer than N rows is topped up to N generated rows, so that rewrites, scans and
//! validations take measurable time.
//!
//! One `INSERT INTO t (...) SELECT ... FROM generate_series(...) g` per table, in
//! autocommit, outside the file's transaction. Values follow each column's type (a
//! number from the series, text `r<g>` cut to the column's length, a date from the
//! series, md5-based uuids, an enum's labels in turn, ...); a column with a default
//! (serial, identity, `now()`, ...) gets its default, a generated column is computed;
//! a single-column foreign key takes values of the referenced table (filled first);
//! a nullable column without a generator is left NULL. A table it cannot fill (a type
//! it has no generator for in a NOT NULL column without default, an empty referenced
//! table, a multi-column foreign key, or the server refusing the rows: a CHECK, a
//! UNIQUE the values collide on) is listed with the reason, and the run goes on.

use super::rows;
use crate::model::{FillReport, Filled, NotFilled};
use std::collections::{BTreeMap, BTreeSet};

struct Column {
    name: String,
    /// `format_type`, for casts.
    ty: String,
    typname: String,
    category: String,
    typmod: i32,
    not_null: bool,
    has_default: bool,
    generated: bool,
}

struct Table {
    oid: String,
    /// `schema.name`, quoted.
    qualified: String,
    name: String,
    columns: Vec<Column>,
    /// Single-column foreign keys: column name -> (referenced table OID, referenced column, quoted).
    fks: BTreeMap<String, (String, String)>,
    /// Columns of a multi-column foreign key.
    multi_fk: BTreeSet<String>,
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The expression for column `c` of row `g`, or None when there is none.
fn generator(c: &Column) -> Option<String> {
    let cast = |e: String| format!("({e})::{}", c.ty);
    let text_len = if c.typmod > 4 { Some(c.typmod - 4) } else { None };
    Some(match (c.category.as_str(), c.typname.as_str()) {
        (_, "int2") => "(g % 32000)::int2".to_string(),
        (_, "uuid") => "md5(g::text)::uuid".to_string(),
        (_, "json" | "jsonb") => cast("'{\"n\": ' || g || '}'".to_string()),
        (_, "bytea") => "decode(md5(g::text), 'hex')".to_string(),
        (_, "inet" | "cidr") => cast("'10.0.0.0'::inet + g".to_string()),
        (_, "date") => "(date '2000-01-01' + (g % 36500)::int)".to_string(),
        (_, "interval") => "g * interval '1 second'".to_string(),
        (_, "time" | "timetz") => cast("time '00:00' + (g % 86400) * interval '1 second'".to_string()),
        ("D", _) => cast("timestamp '2000-01-01' + g * interval '1 second'".to_string()),
        ("N", _) => cast("g + 1000000".to_string()),
        ("B", _) => "(g % 2 = 0)".to_string(),
        ("S", _) => match text_len {
            Some(n) => cast(format!("left('r' || g, {n})")),
            None => cast("'r' || g".to_string()),
        },
        ("E", _) => {
            let range = format!("enum_range(NULL::{})", c.ty);
            format!("({range})[1 + (g % array_length({range}, 1))::int]")
        }
        ("A", _) => cast("'{}'".to_string()),
        _ => return None,
    })
}

fn load_tables(client: &mut postgres::Client) -> Result<Vec<Table>, postgres::Error> {
    let list = rows(
        client,
        "SELECT c.oid::text, quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relname FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
         AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' \
         AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 2",
    )?;
    let cols = rows(
        client,
        "SELECT a.attrelid::text, a.attname, format_type(a.atttypid, a.atttypmod), t.typname, t.typcategory::text, \
         a.atttypmod::text, a.attnotnull::text, (a.atthasdef OR a.attidentity <> '')::text, \
         (a.attgenerated <> '')::text FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
         JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') \
         AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY a.attrelid, a.attnum",
    )?;
    let fks = rows(
        client,
        "SELECT co.conrelid::text, array_length(co.conkey, 1)::text, \
         (SELECT string_agg(a.attname, ',') FROM pg_attribute a WHERE a.attrelid = co.conrelid AND a.attnum = ANY(co.conkey)), \
         co.confrelid::text, (SELECT quote_ident(a.attname) FROM pg_attribute a WHERE a.attrelid = co.confrelid \
         AND a.attnum = co.confkey[1]) FROM pg_constraint co WHERE co.contype = 'f'",
    )?;
    let mut tables: Vec<Table> = list
        .into_iter()
        .map(|r| Table {
            oid: r[0].clone(),
            qualified: r[1].clone(),
            name: r[2].clone(),
            columns: Vec::new(),
            fks: BTreeMap::new(),
            multi_fk: BTreeSet::new(),
        })
        .collect();
    let index: BTreeMap<String, usize> = tables.iter().enumerate().map(|(i, t)| (t.oid.clone(), i)).collect();
    for r in cols {
        if let Some(&i) = index.get(&r[0]) {
            tables[i].columns.push(Column {
                name: r[1].clone(),
                ty: r[2].clone(),
                typname: r[3].clone(),
                category: r[4].clone(),
                typmod: r[5].parse().unwrap_or(-1),
                not_null: r[6] == "true",
                has_default: r[7] == "true",
                generated: r[8] == "true",
            });
        }
    }
    for r in fks {
        if let Some(&i) = index.get(&r[0]) {
            if r[1] == "1" {
                tables[i].fks.insert(r[2].clone(), (r[3].clone(), r[4].clone()));
            } else {
                tables[i].multi_fk.extend(r[2].split(',').map(str::to_string));
            }
        }
    }
    Ok(tables)
}

fn count(client: &mut postgres::Client, qualified: &str) -> Option<u64> {
    rows(client, &format!("SELECT count(*) FROM {qualified}")).ok()?.first()?.first()?.parse().ok()
}

/// Tops every table up to `n` rows; `reported` keeps the reasons already given, so a
/// table that cannot be filled is listed once per run.
pub fn fill(client: &mut postgres::Client, n: u64, reported: &mut BTreeSet<(String, String)>) -> FillReport {
    let mut out = FillReport::default();
    let tables = match load_tables(client) {
        Ok(t) => t,
        Err(e) => {
            out.not_filled.push(NotFilled { table: "(all)".into(), why: super::db_error_text(&e) });
            return out;
        }
    };
    let by_oid: BTreeMap<&str, &Table> = tables.iter().map(|t| (t.oid.as_str(), t)).collect();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    // Referenced tables first: passes until nothing changes.
    for _ in 0..=tables.len() {
        let mut progress = false;
        for t in &tables {
            if done.contains(&t.oid) || failed.contains_key(&t.oid) {
                continue;
            }
            let waits =
                t.fks.values().any(|(r, _)| *r != t.oid && !done.contains(r) && !failed.contains_key(r.as_str()));
            if waits {
                continue;
            }
            progress = true;
            match fill_table(client, t, &by_oid, n) {
                Ok(Some(added)) => {
                    out.filled.push(Filled { table: t.name.clone(), rows_added: added });
                    done.insert(t.oid.clone());
                }
                Ok(None) => {
                    done.insert(t.oid.clone());
                }
                Err(why) => {
                    failed.insert(t.oid.clone(), why);
                }
            }
        }
        if !progress {
            break;
        }
    }
    for t in &tables {
        let why = match failed.get(&t.oid) {
            Some(w) => w.clone(),
            None if !done.contains(&t.oid) => "its foreign keys form a cycle".to_string(),
            None => continue,
        };
        if reported.insert((t.name.clone(), why.clone())) {
            out.not_filled.push(NotFilled { table: t.name.clone(), why });
        }
    }
    out
}

/// Fills one table up to `n` rows: `Ok(Some(added))`, `Ok(None)` when it already holds
/// enough, `Err(why)`.
fn fill_table(
    client: &mut postgres::Client,
    t: &Table,
    by_oid: &BTreeMap<&str, &Table>,
    n: u64,
) -> Result<Option<u64>, String> {
    let have = count(client, &t.qualified).ok_or("cannot count its rows")?;
    if have >= n {
        return Ok(None);
    }
    let mut names = Vec::new();
    let mut values = Vec::new();
    let mut ctes = Vec::new();
    for c in &t.columns {
        if c.generated {
            continue;
        }
        if t.multi_fk.contains(&c.name) {
            if c.not_null {
                return Err(format!("column {} is part of a multi-column foreign key", c.name));
            }
            continue;
        }
        if let Some((rel, rcol)) = t.fks.get(&c.name) {
            let Some(r) = by_oid.get(rel.as_str()) else {
                return Err(format!("column {} references a table outside the user's schemas", c.name));
            };
            let alias = format!("fk{}", ctes.len());
            if *rel == t.oid {
                // Self-reference: leave it NULL when it may be, else refuse.
                if c.not_null {
                    return Err(format!("column {} references its own table and is NOT NULL", c.name));
                }
                continue;
            }
            let cnt = count(client, &r.qualified).unwrap_or(0);
            if cnt == 0 {
                if c.not_null {
                    return Err(format!("column {} references {}, which holds no row", c.name, r.name));
                }
                continue;
            }
            ctes.push(format!(
                "{alias} AS (SELECT array_agg({rcol}) AS a FROM (SELECT {rcol} FROM {} LIMIT 100000) x)",
                r.qualified
            ));
            names.push(quote_ident(&c.name));
            values.push(format!("(SELECT a[1 + (g % array_length(a, 1))::int] FROM {alias})"));
            continue;
        }
        if c.has_default {
            continue;
        }
        match generator(c) {
            Some(e) => {
                names.push(quote_ident(&c.name));
                values.push(e);
            }
            None if c.not_null => {
                return Err(format!("no generated value for NOT NULL column {} of type {}", c.name, c.ty));
            }
            None => {}
        }
    }
    let with = if ctes.is_empty() { String::new() } else { format!("WITH {} ", ctes.join(", ")) };
    let sql = if names.is_empty() {
        format!("INSERT INTO {} SELECT FROM generate_series({}, {n}) g", t.qualified, have + 1)
    } else {
        format!(
            "INSERT INTO {} ({}) {with}SELECT {} FROM generate_series({}, {n}) g",
            t.qualified,
            names.join(", "),
            values.join(", "),
            have + 1
        )
    };
    client.batch_execute(&sql).map_err(|e| format!("PostgreSQL refused the rows: {}", super::db_error_text(&e)))?;
    // Fresh estimates in pg_class, which verify reads per statement without a lock.
    let _ = client.batch_execute(&format!("ANALYZE {}", t.qualified));
    Ok(Some(n - have))
}
