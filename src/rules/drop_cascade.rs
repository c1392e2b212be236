use super::*;

pub static RULE: Rule = Rule {
    id: "drop-cascade",
    level: Level::High,
    summary: "DROP ... CASCADE silently drops every dependent object (views, constraints, defaults)",
    doc: rule_doc!("drop-cascade"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    // `IF EXISTS` of a name the history dropped or renamed away is a no-op, and drops no dependent.
    let no_op = |n: &QName, if_exists: bool| if_exists && cx.schema().gone(&n.name).is_some();
    let live = |n: &QName, if_exists: bool| !cx.is_new(&n.name) && !no_op(n, if_exists);
    // An index that backs a constraint cannot be dropped, not even with CASCADE (PostgreSQL 15:
    // "cannot drop index x because constraint x on table t requires it"; real-server case
    // drop-constraint-index-cascade-fails): the statement fails and drops nothing, which
    // `drop-index` reports. CASCADE has nothing to say about it.
    let fails = |kind: ObjKind, n: &QName| kind == ObjKind::Index && cx.schema().constraint_of_index(&n.name).is_some();
    match cx.op {
        Op::Drop { kind, names, cascade: true, if_exists, .. }
            if names.iter().any(|n| live(n, *if_exists) && !fails(*kind, n)) =>
        {
            // The dependents the schema history knows, and the relations their drop locks.
            let deps: Vec<_> = names.iter().flat_map(|n| cx.schema().cascade_dependents(*kind, &n.name)).collect();
            let known = if deps.is_empty() {
                String::new()
            } else {
                let list = deps.iter().map(|d| d.what.as_str()).collect::<Vec<_>>().join(", ");
                let mut locked: Vec<&str> = deps.iter().map(|d| d.lock.as_str()).collect();
                locked.sort();
                locked.dedup();
                format!(
                    "; the schema history knows it drops {list}, taking ACCESS EXCLUSIVE on {} as well",
                    locked.join(", ")
                )
            };
            out.push(Hit::new(
                format!(
                    "DROP {} ... CASCADE also drops every object that depends on it, without listing them{known}",
                    kind.sql()
                ),
                "Drop the dependent objects explicitly, so the migration says what it removes",
            ));
        }
        Op::Truncate { cascade: true, tables } if tables.iter().any(|t| !cx.is_new(&t.name)) => {
            out.push(Hit::new(
                "TRUNCATE ... CASCADE also empties every table with a foreign key to it".to_string(),
                "Truncate the referencing tables explicitly, after backing them up",
            ));
        }
        Op::AlterTable { table, cmds, .. } if !cx.is_new(&table.name) => {
            for cmd in cmds {
                match cmd {
                    AlterCmd::DropColumn { column, cascade: true, if_exists }
                        if !(*if_exists && cx.schema().gone_column(&table.name, column).is_some()) =>
                    {
                        out.push(Hit::new(
                            format!("DROP COLUMN {column} CASCADE also drops views and constraints that use it"),
                            "Drop the dependent objects explicitly first",
                        ))
                    }
                    AlterCmd::DropConstraint { name, cascade: true } => {
                        // The foreign keys the history knows on a dropped unique or primary key.
                        let key = dropped_key(cx.schema(), &table.name, name);
                        let (known, _) = dependent_fks(cx.schema(), &table.name, key.and_then(|(_, k)| k), true);
                        out.push(Hit::new(
                            format!("DROP CONSTRAINT {name} CASCADE also drops foreign keys that depend on it{known}"),
                            "Drop the dependent constraints explicitly first",
                        ))
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::after_history;

    const HISTORY: &str = "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n\
        CREATE UNIQUE INDEX users_email_idx ON users (email);\n\
        CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users, email text REFERENCES users (email));\n\
        CREATE TABLE invites (id bigint PRIMARY KEY, email text REFERENCES users (email));\n\
        CREATE VIEW active_users AS SELECT * FROM users;\n\
        CREATE VIEW active_user_count AS SELECT count(*) FROM active_users;\n";

    #[test]
    fn drop_index_cascade_lists_the_foreign_keys_on_it_and_their_tables() {
        let f = after_history(HISTORY, "DROP INDEX users_email_idx CASCADE;", &["drop-cascade"]);
        assert_eq!(f.len(), 1, "{f:?}");
        let m = &f[0].2;
        assert!(
            m.contains("foreign key invites_email_fkey on invites, foreign key orders_email_fkey on orders"),
            "{m}"
        );
        assert!(m.contains("ACCESS EXCLUSIVE on invites, orders"), "{m}");
        // The foreign key on user_id references the primary key, not this index.
        assert!(!m.contains("orders_user_id_fkey"), "{m}");
    }

    #[test]
    fn drop_table_cascade_lists_foreign_keys_and_views_transitively() {
        let f = after_history(HISTORY, "DROP TABLE users CASCADE;", &["drop-cascade"]);
        let m = &f[0].2;
        for d in [
            "orders_user_id_fkey on orders",
            "invites_email_fkey on invites",
            "view active_users",
            "view active_user_count",
        ] {
            assert!(m.contains(d), "{d}: {m}");
        }
        assert!(m.contains("ACCESS EXCLUSIVE on active_user_count, active_users, invites, orders"), "{m}");
    }

    #[test]
    fn an_index_that_backs_a_constraint_is_not_dropped_by_cascade() {
        // The DROP fails (drop-index says so); CASCADE drops nothing.
        let f = after_history(HISTORY, "DROP INDEX users_pkey CASCADE;", &["drop-cascade"]);
        assert_eq!(f, vec![]);
        let f = after_history(HISTORY, "DROP INDEX users_pkey, users_email_idx CASCADE;", &["drop-cascade"]);
        assert_eq!(f.len(), 1, "{f:?}");
    }

    #[test]
    fn drop_constraint_cascade_lists_the_foreign_keys_on_the_key() {
        let f = after_history(HISTORY, "ALTER TABLE users DROP CONSTRAINT users_pkey CASCADE;", &["drop-cascade"]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].2.contains("(orders_user_id_fkey on orders), taking ACCESS EXCLUSIVE on orders"), "{}", f[0].2);
    }

    #[test]
    fn the_history_forgets_what_a_cascade_dropped() {
        // After DROP INDEX ... CASCADE the history no longer has the foreign keys on email.
        let f = after_history(
            &format!("{HISTORY}DROP INDEX users_email_idx CASCADE;\n"),
            "DROP TABLE users CASCADE;",
            &["drop-cascade"],
        );
        assert!(!f[0].2.contains("email_fkey"), "{}", f[0].2);
        assert!(f[0].2.contains("orders_user_id_fkey"), "{}", f[0].2);
    }

    #[test]
    fn a_no_op_drop_if_exists_cascade_drops_nothing() {
        let history = format!("{HISTORY}DROP VIEW active_user_count;\nALTER TABLE orders DROP COLUMN email;\n");
        let sql =
            "DROP VIEW IF EXISTS active_user_count CASCADE;\nALTER TABLE orders DROP COLUMN IF EXISTS email CASCADE;\n";
        assert_eq!(after_history(&history, sql, &["drop-cascade"]), vec![]);
        // Objects that exist: both reported.
        let sql =
            "DROP VIEW IF EXISTS active_users CASCADE;\nALTER TABLE orders DROP COLUMN IF EXISTS user_id CASCADE;\n";
        assert_eq!(after_history(&history, sql, &["drop-cascade"]).len(), 2);
    }
}
