use super::*;
use crate::model::Level;

pub static RULE: Rule = Rule {
    id: "drop-primary-key",
    level: Level::High,
    summary: "dropping a primary key breaks ON CONFLICT on it and the replica identity of a published table, and fails while foreign keys depend on it",
    doc: rule_doc!("drop-primary-key"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = existing_alter_cmds(cx) else {
        return;
    };
    for cmd in cmds {
        let AlterCmd::DropConstraint { name, cascade } = cmd else {
            continue;
        };
        let Some((ConstraintKind::PrimaryKey, known)) = dropped_key(cx.schema(), &table.name, name) else {
            continue;
        };
        let cols = known.map(|k| k.columns.join(", ")).filter(|c| !c.is_empty());
        let on_conflict = match &cols {
            Some(c) => format!("INSERT ... ON CONFLICT ({c}) fails"),
            None => "INSERT ... ON CONFLICT on its columns fails".to_string(),
        };
        let (deps, _) = dependent_fks(cx.schema(), &table.name, known, *cascade);
        out.push(Hit::new(
            format!(
                "dropping primary key {name} on {table}: its unique index goes, {on_conflict}, and if {table} is published for logical replication its UPDATEs and DELETEs fail (no replica identity){deps}"
            ),
            "Add the replacement key first (CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... PRIMARY KEY USING INDEX), move the foreign keys to it, then drop the old key with a short lock_timeout",
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Level;
    use crate::rules::test_support::key_drops;

    const HISTORY: &str = "CREATE TABLE users (id bigint, email text, CONSTRAINT users_pk PRIMARY KEY (id), CONSTRAINT users_email_uq UNIQUE (email));\n\
        CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users, email text REFERENCES users (email));\n";

    #[test]
    fn kind_comes_from_the_history_then_from_default_names() {
        // users_pk is not a default name: only the history knows it is the primary key.
        let f = key_drops(HISTORY, "ALTER TABLE users DROP CONSTRAINT users_pk;");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].0.as_str(), f[0].1), ("drop-primary-key", Level::High));
        assert!(f[0].2.contains("ON CONFLICT (id)"), "{}", f[0].2);
        // Unknown to the history: the default name says primary key.
        let f = key_drops("", "ALTER TABLE accounts DROP CONSTRAINT accounts_pkey;");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].0, "drop-primary-key");
        // A CHECK the history knows, even when named like a key, is neither.
        let f = key_drops(
            "CREATE TABLE t (a int, CONSTRAINT t_a_key CHECK (a > 0));",
            "ALTER TABLE t DROP CONSTRAINT t_a_key;",
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn names_the_foreign_keys_that_depend_on_the_key() {
        let f = key_drops(HISTORY, "ALTER TABLE users DROP CONSTRAINT users_pk;");
        assert!(f[0].2.contains("orders_user_id_fkey on orders"), "{}", f[0].2);
        assert!(f[0].2.contains("without CASCADE the DROP fails"), "{}", f[0].2);
        // The foreign key on email references the unique constraint, not the primary key.
        assert!(!f[0].2.contains("orders_email_fkey"), "{}", f[0].2);
        let f = key_drops(HISTORY, "ALTER TABLE users DROP CONSTRAINT users_pk CASCADE;");
        assert!(f[0].2.contains("CASCADE also drops") && f[0].2.contains("ACCESS EXCLUSIVE on orders"), "{}", f[0].2);
    }

    #[test]
    fn not_on_a_table_created_in_the_same_file() {
        let f = key_drops(
            "",
            "CREATE TABLE t (id bigint PRIMARY KEY, e text UNIQUE);\nALTER TABLE t DROP CONSTRAINT t_pkey;\nALTER TABLE t DROP CONSTRAINT t_e_key;",
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
