use super::*;

pub static RULE: Rule = Rule {
    id: "drop-index",
    level: Level::Medium,
    summary: "dropping an index takes ACCESS EXCLUSIVE on its table (without CONCURRENTLY) and can slow queries that used it",
    doc: rule_doc!("drop-index"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Drop { kind: ObjKind::Index, names, concurrently, if_exists, cascade, .. } = cx.op else {
        return;
    };
    // `DROP INDEX CONCURRENTLY [IF EXISTS] x` directly followed by `CREATE INDEX
    // CONCURRENTLY x`: the (retry-safe) rebuild of x, graded as the create (RISK-MODEL,
    // "What the schema history settles"), plus what the gap between them breaks.
    let rebuilt = match cx.later.next_op() {
        Some(Op::CreateIndex { name: Some(next), concurrently: true, .. })
            if *concurrently && names.len() == 1 && names[0].name == *next =>
        {
            Some(next.as_str())
        }
        _ => None,
    };
    if let Some(name) = rebuilt {
        if let Some(idx) = cx.schema().indexes.get(name).filter(|i| i.unique && !cx.is_new(&i.table)) {
            out.push(Hit::new(
                format!("rebuilding unique index {name} on {}: between the drop and the end of the new build nothing rejects duplicates, and INSERT ... ON CONFLICT on its columns fails", idx.table),
                "Build the new index under another name CONCURRENTLY, then drop the old one and rename the new one",
            ));
        }
        return;
    }
    // `IF EXISTS` of an index the history dropped or renamed away: a no-op.
    let no_op = |n: &QName| *if_exists && cx.schema().gone(&n.name).is_some();
    for n in names.iter().filter(|n| !cx.is_new(&n.name) && !no_op(n)) {
        let idx = cx.schema().indexes.get(&n.name);
        if idx.is_some_and(|i| cx.is_new(&i.table)) {
            continue;
        }
        // An index that backs a constraint cannot be dropped, not even with CASCADE: the
        // statement fails (measured on PostgreSQL 15: "cannot drop index x because
        // constraint x on table t requires it"), so the migration stops (principle 3).
        // A schema-qualified name may be another schema's index (the history keys indexes by
        // bare name): then the failure is not claimed.
        let same_schema = n.schema.as_deref().is_none_or(|s| s == "public");
        if let (Some(i), Some(k), true) = (idx, cx.schema().constraint_of_index(&n.name), same_schema) {
            out.push(Hit::new(
                format!(
                    "DROP INDEX {n} fails: the index backs constraint {} on {}, and PostgreSQL refuses to drop it, with or without CASCADE or CONCURRENTLY (\"cannot drop index {n} because constraint {} on table {} requires it\")",
                    k.name, i.table, k.name, i.table
                ),
                format!("Drop the constraint instead: ALTER TABLE {} DROP CONSTRAINT {} (it drops its index)", i.table, k.name),
            ).level(Level::High));
            continue;
        }
        let mut table = idx.map(|i| i.table.clone()).unwrap_or_else(|| "its table".into());
        // CASCADE also drops the foreign keys on a unique index, locking their tables.
        if *cascade {
            let mut also: Vec<String> =
                cx.schema().cascade_dependents(ObjKind::Index, &n.name).into_iter().map(|d| d.lock).collect();
            also.sort();
            also.dedup();
            if !also.is_empty() {
                table = format!("{table} and on {} (CASCADE drops their foreign keys on it)", also.join(", "));
            }
        }
        // Made outside the folder (or never): the history cannot say whether it exists.
        let unknown = if *if_exists && idx.is_none() { ", if it exists," } else { "" };
        if *concurrently {
            out.push(Hit::new(
                format!("dropping index {n}{unknown} concurrently: queries that relied on it get slower"),
                "Check the index is unused (pg_stat_user_indexes.idx_scan) before dropping it",
            ));
        } else {
            out.push(
                Hit::new(
                    format!("dropping index {n}{unknown} without CONCURRENTLY takes ACCESS EXCLUSIVE on {table}, blocking reads and writes while it waits"),
                    "Use DROP INDEX CONCURRENTLY outside a transaction, with a short lock_timeout",
                )
                .plan(plan::drop_index_concurrently(n)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{after_history, findings};
    use crate::unit::TxWrap;

    #[test]
    fn drop_then_create_concurrently_under_the_same_name_is_a_rebuild() {
        let rebuild = "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n";
        assert_eq!(findings(rebuild, TxWrap::Never, &["drop-index"]), vec![]);
        // The create is still graded as one.
        assert_eq!(findings(rebuild, TxWrap::Never, &["create-index"]), vec![("create-index".to_string(), 2)]);
        // Another name, or not directly followed: a drop of an index in use.
        let other = "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;\nCREATE INDEX CONCURRENTLY users_email_idx2 ON users (email);\n";
        assert_eq!(findings(other, TxWrap::Never, &["drop-index"]), vec![("drop-index".to_string(), 1)]);
        let gap = "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;\nSELECT 1;\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n";
        assert_eq!(findings(gap, TxWrap::Never, &["drop-index"]), vec![("drop-index".to_string(), 1)]);
    }

    #[test]
    fn rebuilding_a_unique_index_leaves_a_gap_without_uniqueness() {
        let f = after_history(
            "CREATE TABLE users (id bigint PRIMARY KEY, email text);\nCREATE UNIQUE INDEX users_email_idx ON users (email);\n",
            "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;\nCREATE UNIQUE INDEX CONCURRENTLY users_email_idx ON users (email);\n",
            &["drop-index"],
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].2.contains("nothing rejects duplicates"), "{}", f[0].2);
    }

    #[test]
    fn drop_index_if_exists_is_a_no_op_after_the_history_dropped_it_and_says_if_it_exists_when_unknown() {
        let history = "CREATE TABLE users (id bigint, email text);\nCREATE INDEX users_email_idx ON users (email);\nDROP INDEX users_email_idx;\n";
        assert_eq!(after_history(history, "DROP INDEX IF EXISTS users_email_idx;\n", &["drop-index"]), vec![]);
        let f = after_history(history, "DROP INDEX IF EXISTS other_idx;\n", &["drop-index"]);
        assert!(f.len() == 1 && f[0].2.contains("other_idx, if it exists, without"), "{f:?}");
        let f = after_history(
            "CREATE TABLE users (id bigint, email text);\nCREATE INDEX users_email_idx ON users (email);\n",
            "DROP INDEX IF EXISTS users_email_idx;\n",
            &["drop-index"],
        );
        assert!(f.len() == 1 && !f[0].2.contains("if it exists"), "{f:?}");
    }

    #[test]
    fn dropping_an_index_that_backs_a_constraint_fails_even_with_cascade() {
        let history = "CREATE TABLE k (id int PRIMARY KEY, code text CONSTRAINT k_code_key UNIQUE);\n\
            CREATE TABLE r (id int, code text REFERENCES k (code));\nCREATE UNIQUE INDEX k_id_code_idx ON k (id, code);\n";
        for sql in [
            "DROP INDEX k_code_key;",
            "DROP INDEX k_code_key CASCADE;",
            "DROP INDEX CONCURRENTLY k_code_key;",
            "DROP INDEX k_pkey;",
        ] {
            let f = after_history(history, sql, &["drop-index", "drop-cascade"]);
            let drop: Vec<_> = f.iter().filter(|x| x.0 == "drop-index").collect();
            assert_eq!(drop.len(), 1, "{sql}: {f:?}");
            assert_eq!(drop[0].1, crate::model::Level::High, "{sql}");
            assert!(drop[0].2.contains("fails") && drop[0].2.contains("with or without CASCADE"), "{}", drop[0].2);
            // CASCADE drops nothing: the statement fails first.
            assert!(!f.iter().any(|x| x.0 == "drop-cascade" && x.2.contains("r_code_fkey")), "{sql}: {f:?}");
        }
        // A standalone unique index is an ordinary drop.
        let f = after_history(history, "DROP INDEX k_id_code_idx;", &["drop-index"]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].1, crate::model::Level::Medium);
    }

    #[test]
    fn unique_using_index_renames_the_index_to_the_constraint() {
        // PostgreSQL renames the index to the constraint's name: the old name is gone.
        let history = "CREATE TABLE jobs (id int, name text);\nCREATE UNIQUE INDEX jobs_name_idx ON jobs (name);\n\
            ALTER TABLE jobs ADD CONSTRAINT jobs_name_key UNIQUE USING INDEX jobs_name_idx;\n";
        assert_eq!(after_history(history, "DROP INDEX IF EXISTS jobs_name_idx;", &["drop-index"]), vec![]);
        let f = after_history(history, "DROP INDEX jobs_name_key;", &["drop-index"]);
        assert!(f.len() == 1 && f[0].2.contains("backs constraint jobs_name_key"), "{f:?}");
        // Another schema's index of the same bare name: no failure claimed.
        let f = after_history(history, "DROP INDEX IF EXISTS other.jobs_name_key;", &["drop-index"]);
        assert!(f.iter().all(|x| !x.2.contains("fails")), "{f:?}");
    }
}
