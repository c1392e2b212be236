use super::*;
use crate::model::Level;

pub static RULE: Rule = Rule {
    id: "drop-unique-constraint",
    level: Level::Medium,
    summary: "dropping a UNIQUE constraint drops its index: duplicates are accepted again and ON CONFLICT on it fails",
    doc: rule_doc!("drop-unique-constraint"),
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
        let Some((ConstraintKind::Unique, known)) = dropped_key(cx.schema(), &table.name, name) else {
            continue;
        };
        let cols = known.map(|k| format!(" ({})", k.columns.join(", "))).unwrap_or_default();
        let (deps, fails) = dependent_fks(cx.schema(), &table.name, known, *cascade);
        out.push(Hit::new(
            format!(
                "dropping unique constraint {name} on {table} drops its index: duplicates{cols} are accepted again, INSERT ... ON CONFLICT on it fails and queries that used the index get slower; ACCESS EXCLUSIVE on {table} (brief){deps}"
            ),
            "Make sure no code relies on the uniqueness (ON CONFLICT, lookups); set a short lock_timeout",
        ).level(// A statement that will fail is high (RISK-MODEL principle 3).
            if fails { Level::High } else { Level::Medium }));
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Level;
    use crate::rules::test_support::key_drops;

    #[test]
    fn unique_constraint_is_medium_and_high_when_a_foreign_key_makes_it_fail() {
        let history = "CREATE TABLE users (id bigint PRIMARY KEY, email text UNIQUE, handle text CONSTRAINT users_handle_uq UNIQUE);\n\
            CREATE TABLE invites (id bigint PRIMARY KEY, email text REFERENCES users (email));\n";
        let f = key_drops(history, "ALTER TABLE users DROP CONSTRAINT users_handle_uq;");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].0.as_str(), f[0].1), ("drop-unique-constraint", Level::Medium));
        let f = key_drops(history, "ALTER TABLE users DROP CONSTRAINT users_email_key;");
        assert_eq!((f[0].0.as_str(), f[0].1), ("drop-unique-constraint", Level::High));
        assert!(f[0].2.contains("invites_email_fkey on invites"), "{}", f[0].2);
        // Unknown table: PostgreSQL's default name `<table>_<cols>_key`.
        let f = key_drops("", "ALTER TABLE accounts DROP CONSTRAINT accounts_org_id_slug_key;");
        assert_eq!((f[0].0.as_str(), f[0].1), ("drop-unique-constraint", Level::Medium));
        let f = key_drops("", "ALTER TABLE accounts DROP CONSTRAINT accounts_key;");
        assert!(f.is_empty(), "{f:?}");
    }
}
