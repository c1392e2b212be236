use super::*;

pub static RULE: Rule = Rule {
    id: "foreign-key-set-null-on-not-null-column",
    level: Level::High,
    summary: "ON DELETE SET NULL on a NOT NULL column makes every delete of a referenced row fail",
    doc: rule_doc!("foreign-key-set-null-on-not-null-column"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let mut check_fk = |table: &QName, columns: &[String], fk: &ForeignKeyRef, not_null: &dyn Fn(&str) -> bool| {
        if fk.on_delete.as_deref() != Some("SET NULL") {
            return;
        }
        for c in columns {
            if not_null(c) {
                out.push(Hit::new(
                    format!(
                        "ON DELETE SET NULL on {table}.{c}, which is NOT NULL: deleting a referenced row in {} fails",
                        fk.table
                    ),
                    "Use ON DELETE CASCADE or RESTRICT, or make the column nullable",
                ));
            }
        }
    };
    match cx.op {
        Op::CreateTable { table, columns, constraints, .. } => {
            let nn = |c: &str| columns.iter().any(|x| x.name == c && x.not_null);
            for col in columns {
                if let Some(fk) = &col.references {
                    check_fk(table, std::slice::from_ref(&col.name), fk, &nn);
                }
            }
            for k in constraints {
                if let Some(fk) = &k.references
                    && k.kind == ConstraintKind::ForeignKey
                    && !columns.iter().any(|c| c.references.as_ref() == Some(fk) && k.columns == vec![c.name.clone()])
                {
                    check_fk(table, &k.columns, fk, &nn);
                }
            }
        }
        Op::AlterTable { table, cmds, .. } => {
            let schema = cx.schema();
            let nn = |c: &str| {
                schema.table(&table.name).and_then(|t| t.column(c)).is_some_and(|x| x.not_null)
                    || cmds.iter().any(
                        |cmd| matches!(cmd, AlterCmd::AddColumn { column, .. } if column.name == c && column.not_null),
                    )
            };
            for cmd in cmds {
                match cmd {
                    AlterCmd::AddConstraint(k) if k.kind == ConstraintKind::ForeignKey => {
                        if let Some(fk) = &k.references {
                            check_fk(table, &k.columns, fk, &nn);
                        }
                    }
                    AlterCmd::AddColumn { column, .. } => {
                        if let Some(fk) = &column.references {
                            check_fk(table, std::slice::from_ref(&column.name), fk, &nn);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}
