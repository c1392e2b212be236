use super::*;
use crate::model::Level;

pub static RULE: Rule = Rule {
    id: "disable-trigger-all",
    level: Level::High,
    summary: "DISABLE TRIGGER ALL on an existing table stops enforcing its foreign keys; rows written meanwhile are never rechecked",
    doc: rule_doc!("disable-trigger-all"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = existing_alter_cmds(cx) else {
        return;
    };
    if !cmds.iter().any(|c| matches!(c, AlterCmd::Trigger { enable: false, foreign_keys: true })) {
        return;
    }
    let schema = cx.schema();
    let mut known = Vec::new();
    let to = schema.referenced_by(&table.name);
    if !to.is_empty() {
        known.push(format!("its foreign keys to {}", to.join(", ")));
    }
    let from = schema.referencing(&table.name);
    if !from.is_empty() {
        known.push(format!("the foreign keys of {} that point to it", from.join(", ")));
    }
    let which = if known.is_empty() { "its foreign keys".to_string() } else { known.join(" and ") };
    out.push(Hit::new(
        format!(
            "disabling all triggers on {table} stops enforcing {which} (and every user trigger): rows written until ENABLE TRIGGER ALL are never rechecked, so orphans stay; it also needs a superuser (otherwise it fails with \"permission denied: ... is a system trigger\")"
        ),
        "Keep the foreign keys enforced: disable only user triggers (DISABLE TRIGGER USER or by name), or load the data in dependency order",
    ));
}

#[cfg(test)]
mod tests {
    use crate::model::Level;
    use crate::rules::test_support::after_history;

    const HISTORY: &str = "CREATE TABLE orgs (id bigint PRIMARY KEY);\n\
        CREATE TABLE users (id bigint PRIMARY KEY, org_id bigint REFERENCES orgs);\n\
        CREATE TABLE posts (id bigint PRIMARY KEY, user_id bigint REFERENCES users);\n";

    #[test]
    fn all_triggers_of_an_existing_table_name_its_foreign_keys() {
        let f = after_history(HISTORY, "ALTER TABLE users DISABLE TRIGGER ALL;", &["disable-trigger-all"]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].1, Level::High);
        assert!(f[0].2.contains("foreign keys to orgs") && f[0].2.contains("foreign keys of posts"), "{}", f[0].2);
    }

    #[test]
    fn user_triggers_enable_and_new_tables_are_not_reported() {
        for sql in [
            "ALTER TABLE users DISABLE TRIGGER USER;",
            "ALTER TABLE users DISABLE TRIGGER users_audit;",
            "ALTER TABLE users ENABLE TRIGGER ALL;",
            "CREATE TABLE tmp (id bigint REFERENCES orgs);\nALTER TABLE tmp DISABLE TRIGGER ALL;",
        ] {
            let f = after_history(HISTORY, sql, &["disable-trigger-all"]);
            assert!(f.is_empty(), "{sql}: {f:?}");
        }
        // A foreign key's internal trigger by name is the same as ALL for enforcement.
        let f = after_history(
            HISTORY,
            "ALTER TABLE users DISABLE TRIGGER \"RI_ConstraintTrigger_c_16402\";",
            &["disable-trigger-all"],
        );
        assert_eq!(f.len(), 1, "{f:?}");
    }
}
