use super::*;

pub static RULE: Rule = Rule {
    id: "rename-column",
    level: Level::High,
    summary: "renaming a column breaks running code that still uses the old name",
    doc: rule_doc!("rename-column"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Rename { kind: ObjKind::Column, object, column: Some(old), new_name } = cx.op else {
        return;
    };
    if cx.is_new(&object.name) {
        return;
    }
    let indexes = cx.schema().indexes_on(&object.name, old);
    let idx_note = if indexes.is_empty() {
        String::new()
    } else {
        format!("; indexes using it: {}", indexes.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", "))
    };
    // `ADD COLUMN <old>` on the same table later in the file: running code does not
    // fail, it silently uses the new, empty column (RISK-MODEL, "What the schema history settles").
    let re_added = cx.later.iter().position(|op| match op {
        Some(Op::AlterTable { table, cmds, .. }) if table.name == object.name => {
            cmds.iter().any(|c| matches!(c, AlterCmd::AddColumn { column, .. } if column.name == *old))
        }
        _ => false,
    });
    let message = match re_added {
        Some(p) => format!(
            "renaming {object}.{old} to {new_name}, then adding a new column {old} ({} statement{} later): running code that uses {old} does not fail, it silently reads and writes the new, empty column while the data sits in {new_name}{idx_note}",
            p + 1,
            if p == 0 { "" } else { "s" }
        ),
        None => {
            format!("renaming {object}.{old} to {new_name} breaks every running query that still uses {old}{idx_note}")
        }
    };
    out.push(
        Hit::new(
            message,
            "Add the new column beside the old one, keep them in sync, switch the code, then drop the old column",
        )
        .plan(plan::rename_column(
            object,
            old,
            new_name,
            &plan::ColumnInfo::from_schema(cx.schema(), &object.name, old, cx.pg()),
        )),
    );
}

#[cfg(test)]
mod tests {
    use crate::model::Level;
    use crate::rules::test_support::after_history;

    #[test]
    fn rename_then_add_under_the_old_name_says_old_code_silently_uses_the_empty_column() {
        let history = "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n";
        let f = after_history(
            history,
            "ALTER TABLE users RENAME COLUMN name TO full_name;\nALTER TABLE users ADD COLUMN name text;\n",
            &["rename-column"],
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].1, Level::High);
        assert!(f[0].2.contains("does not fail, it silently reads and writes the new, empty column"), "{}", f[0].2);
        // Another table, or another column name: the plain rename.
        let f = after_history(
            &format!("{history}CREATE TABLE teams (id bigint, name text);\n"),
            "ALTER TABLE users RENAME COLUMN name TO full_name;\nALTER TABLE teams ADD COLUMN nick text;\n",
            &["rename-column"],
        );
        assert!(f.len() == 1 && f[0].2.contains("breaks every running query"), "{f:?}");
    }
}
