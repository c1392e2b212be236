use super::*;

pub static RULE: Rule = Rule {
    id: "drop-table",
    level: Level::VeryHigh,
    summary: "dropping a table deletes its data and breaks code that still uses it",
    doc: rule_doc!("drop-table"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Drop { kind: ObjKind::Table | ObjKind::ForeignTable, names, if_exists, cascade, .. } = cx.op else {
        return;
    };
    for n in names.iter().filter(|n| !cx.is_new(&n.name)) {
        // The history dropped or renamed it away earlier: `IF EXISTS` makes this a
        // no-op (RISK-MODEL, "What the schema history settles").
        if *if_exists && cx.schema().gone(&n.name).is_some() {
            continue;
        }
        // The old copy of a table rebuilt in this file (renamed away here, its rows copied
        // into the table created here under its old name): table-rebuild reports what its
        // drop loses.
        if cx.facts.renamed_here(&n.name) && cx.schema().copied_into.get(&n.name).is_some_and(|c| cx.is_new(c)) {
            continue;
        }
        // Made outside the folder (or never): the history cannot say whether it exists.
        let unknown = if *if_exists && cx.schema().table(&n.name).is_none() { ", if it exists," } else { "" };
        out.push(
            Hit::new(
                format!(
                    "dropping table {n}{unknown} deletes all its rows and breaks code that still reads or writes it"
                ),
                "Stop using the table in a deploy first, back it up, and drop it in a later contract migration",
            )
            .plan(match swapped_in(cx, &n.name) {
                // `DROP TABLE t; ALTER TABLE t_new RENAME TO t`: a table swap.
                Some(new) => plan::swap_table(n, new, *cascade, cx.index + 1),
                None => plan::drop_table(n, *cascade, *if_exists),
            }),
        );
    }
}

/// The table the statement right after this DROP renames to the dropped name (a swap:
/// `DROP TABLE t; ALTER TABLE t_new RENAME TO t`).
fn swapped_in<'a>(cx: &StmtCtx<'a>, dropped: &str) -> Option<&'a QName> {
    match cx.later.next_op()? {
        Op::Rename { kind: ObjKind::Table, object, column: None, new_name } if new_name == dropped => Some(object),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::after_history;

    #[test]
    fn drop_if_exists_of_a_table_the_history_dropped_or_renamed_is_a_no_op() {
        let history = "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCREATE TABLE c (id int);\nALTER TABLE a RENAME TO a_old;\nDROP TABLE b;\n";
        let f = after_history(history, "DROP TABLE IF EXISTS a;\nDROP TABLE IF EXISTS b;\n", &["drop-table"]);
        assert_eq!(f, vec![]);
        // Without IF EXISTS the statement fails: not a no-op, still reported.
        let f = after_history(history, "DROP TABLE a;\n", &["drop-table"]);
        assert_eq!(f.len(), 1, "{f:?}");
        // Created again under the name: a real drop.
        let f = after_history(history, "DROP TABLE IF EXISTS a_old;\n", &["drop-table"]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(!f[0].2.contains("if it exists"), "{}", f[0].2);
        let f = after_history(
            &format!("{history}CREATE TABLE b (id int);\n"),
            "DROP TABLE IF EXISTS b;\n",
            &["drop-table"],
        );
        assert_eq!(f.len(), 1, "{f:?}");
        // Same file: renamed away, then dropped if it exists.
        let f = after_history(
            "CREATE TABLE d (id int);\n",
            "ALTER TABLE d RENAME TO d2;\nDROP TABLE IF EXISTS d;\n",
            &["drop-table"],
        );
        assert_eq!(f, vec![]);
    }

    #[test]
    fn drop_if_exists_of_a_table_the_history_does_not_know_says_if_it_exists() {
        let f = after_history(
            "CREATE TABLE a (id int);\n",
            "DROP TABLE IF EXISTS legacy;\nDROP TABLE IF EXISTS a;\n",
            &["drop-table"],
        );
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].2.contains("legacy, if it exists, deletes all its rows"), "{}", f[0].2);
        assert!(!f[1].2.contains("if it exists"), "{}", f[1].2);
    }
}
