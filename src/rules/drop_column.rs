use super::*;

pub static RULE: Rule = Rule {
    id: "drop-column",
    level: Level::VeryHigh,
    summary: "dropping a column deletes its data and breaks code that still uses it",
    doc: rule_doc!("drop-column"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = existing_alter_cmds(cx) else {
        return;
    };
    for cmd in cmds {
        if let AlterCmd::DropColumn { column, if_exists, .. } = cmd {
            // The history dropped or renamed the column away earlier: `IF EXISTS` makes this
            // a no-op (RISK-MODEL, "What the schema history settles"), like DROP TABLE IF EXISTS.
            if *if_exists && cx.schema().gone_column(&table.name, column).is_some() {
                continue;
            }
            // The table or its column list comes from outside the folder: the history cannot
            // say whether the column exists.
            let known = cx.schema().table(&table.name).is_some_and(|t| t.column(column).is_some());
            let unknown = if *if_exists && !known { ", if it exists," } else { "" };
            out.push(
                Hit::new(
                    format!("dropping column {table}.{column}{unknown} deletes its data and breaks code that still reads or writes it"),
                    "Deploy code that no longer uses the column first, back it up, then drop it in a contract migration",
                )
                .plan({
                    let pk = pk_of(cx.schema(), &table.name);
                    let as_text = is_enum_column(cx.schema(), &table.name, column);
                    match replaced_column(cmds, column) {
                        Some(spec) => plan::replace_column(table, spec, &pk, as_text, cx.pg()),
                        None => plan::drop_column(table, column, &pk, as_text),
                    }
                }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::after_history;

    const HISTORY: &str = "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text, nick text);\n\
        ALTER TABLE users DROP COLUMN email;\n\
        ALTER TABLE users RENAME COLUMN name TO full_name;\n";

    #[test]
    fn drop_column_if_exists_of_a_column_the_history_dropped_or_renamed_is_a_no_op() {
        let sql = "ALTER TABLE users DROP COLUMN IF EXISTS email;\nALTER TABLE users DROP COLUMN IF EXISTS name;\n";
        assert_eq!(after_history(HISTORY, sql, &["drop-column", "drop-cascade"]), vec![]);
        let f = after_history(HISTORY, "ALTER TABLE users DROP COLUMN IF EXISTS email CASCADE;\n", &["drop-cascade"]);
        assert_eq!(f, vec![]);
        // Without IF EXISTS the statement fails: not a no-op, still reported.
        assert_eq!(after_history(HISTORY, "ALTER TABLE users DROP COLUMN email;\n", &["drop-column"]).len(), 1);
        // The new name, and a column added again under the old one, are real drops.
        let f = after_history(HISTORY, "ALTER TABLE users DROP COLUMN IF EXISTS full_name;\n", &["drop-column"]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(!f[0].2.contains("if it exists"), "{}", f[0].2);
        let f = after_history(
            &format!("{HISTORY}ALTER TABLE users ADD COLUMN email text;\n"),
            "ALTER TABLE users DROP COLUMN IF EXISTS email;\n",
            &["drop-column"],
        );
        assert_eq!(f.len(), 1, "{f:?}");
        // Same file: dropped, then dropped again if it exists.
        let f = after_history(
            HISTORY,
            "ALTER TABLE users DROP COLUMN nick;\nALTER TABLE users DROP COLUMN IF EXISTS nick;\n",
            &["drop-column"],
        );
        assert_eq!(f.len(), 1, "{f:?}");
    }

    #[test]
    fn drop_column_if_exists_of_a_column_the_history_does_not_know_says_if_it_exists() {
        let f = after_history(
            HISTORY,
            "ALTER TABLE users DROP COLUMN IF EXISTS legacy;\nALTER TABLE accounts DROP COLUMN IF EXISTS x;\n",
            &["drop-column"],
        );
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].2.contains("users.legacy, if it exists, deletes"), "{}", f[0].2);
        assert!(f[1].2.contains("accounts.x, if it exists, deletes"), "{}", f[1].2);
    }
}
