use super::*;

pub static RULE: Rule = Rule {
    id: "schema-and-data-change-in-transaction",
    level: Level::High,
    summary: "a schema change and a data change on existing tables in the same transaction hold DDL locks for the whole data change",
    doc: rule_doc!("schema-and-data-change-in-transaction"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

/// What a statement changes on existing tables, for this rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Schema,
    Data,
}

/// A schema change or a data change of an existing table (`is_new`: created earlier in the file).
pub(crate) fn change_kind(op: &Op, is_new: impl Fn(&str) -> bool) -> Option<Change> {
    let existing = |t: &QName| !is_new(&t.name);
    match op {
        Op::Update { table, .. }
        | Op::Delete { table, .. }
        | Op::Merge { table }
        | Op::Insert { table, from_query: true, .. }
        | Op::Copy { table: Some(table), from: true } => existing(table).then_some(Change::Data),
        Op::AlterTable { table, .. } | Op::CreateIndex { table, .. } => existing(table).then_some(Change::Schema),
        Op::Drop { kind: ObjKind::Table | ObjKind::Index, names, .. } => {
            names.iter().any(existing).then_some(Change::Schema)
        }
        Op::Rename { object, .. } => existing(object).then_some(Change::Schema),
        _ => None,
    }
}

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    if !cx.tx.in_tx {
        return;
    }
    // Reported once per transaction (RISK-MODEL, Data): at the statement that first
    // makes the pair, naming every schema and data change of the transaction.
    let first = match change_kind(cx.op, |t| cx.is_new(t)) {
        Some(Change::Data) => !cx.tx.ddl_at.is_empty() && cx.tx.dml_at.is_empty(),
        Some(Change::Schema) => !cx.tx.dml_at.is_empty() && cx.tx.ddl_at.is_empty(),
        None => false,
    };
    if !first {
        return;
    }
    let (mut ddl, mut dml) = (cx.tx.ddl_at.clone(), cx.tx.dml_at.clone());
    match change_kind(cx.op, |t| cx.is_new(t)) {
        Some(Change::Data) => dml.push(cx.index),
        _ => ddl.push(cx.index),
    }
    // The rest of the transaction: to COMMIT/ROLLBACK after an explicit BEGIN, to the
    // end of the file when the tool wraps it.
    let mut created: Vec<String> = Vec::new();
    for (i, op) in cx.later.iter().enumerate() {
        let Some(op) = op else { continue };
        if let Op::Transaction(k) = op {
            if matches!(k, TxKind::Commit | TxKind::Rollback) || (!cx.tx.wrapped && *k == TxKind::Begin) {
                break;
            }
            continue;
        }
        match change_kind(op, |t| cx.is_new(t) || created.iter().any(|c| c == t)) {
            Some(Change::Data) => dml.push(cx.index + 1 + i),
            Some(Change::Schema) => ddl.push(cx.index + 1 + i),
            None => {}
        }
        match op {
            Op::CreateTable { table, .. } | Op::CreateTableAs { table, .. } => created.push(table.name.clone()),
            Op::CreateIndex { name: Some(n), .. } => created.push(n.clone()),
            _ => {}
        }
    }
    let list = |v: &[usize]| v.iter().map(|i| (i + 1).to_string()).collect::<Vec<_>>().join(", ");
    let plural = |v: &[usize]| if v.len() == 1 { "statement" } else { "statements" };
    out.push(
        Hit::new(
            format!(
                "this transaction changes the schema of existing tables ({} {}) and their data ({} {}; statements numbered from 1): locks taken by any of them are held until all finish",
                plural(&ddl),
                list(&ddl),
                plural(&dml),
                list(&dml)
            ),
            "Split them: the schema change in its own short migration, the data change in a separate batched one",
        )
        .plan(plan::split_schema_and_data()),
    );
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::findings;
    use crate::unit::TxWrap;

    const RULE: &[&str] = &["schema-and-data-change-in-transaction"];

    #[test]
    fn reported_once_per_transaction_naming_its_statements() {
        let sql = "ALTER TABLE a ADD COLUMN x int;\nUPDATE a SET x = 1 WHERE id = 1;\nALTER TABLE b ADD COLUMN y int;\nUPDATE b SET y = 1 WHERE id = 1;\nDELETE FROM c WHERE id = 2;\n";
        assert_eq!(findings(sql, TxWrap::Always, RULE), vec![(RULE[0].to_string(), 2)]);
        let unit = crate::unit::Unit::plain("0001_t.sql", sql, crate::model::Direction::Up, TxWrap::Always);
        let r = crate::lint::lint_unit(&unit, &mut crate::schema::Schema::default(), &Default::default());
        let f = r.findings.iter().find(|f| f.rule == RULE[0]).unwrap();
        assert!(f.message.contains("(statements 1, 3) and their data (statements 2, 4, 5;"), "{}", f.message);
        // Two explicit transactions: once each.
        let two = format!("BEGIN;\n{sql}COMMIT;\nBEGIN;\n{sql}COMMIT;\n");
        assert_eq!(findings(&two, TxWrap::Never, RULE), vec![(RULE[0].to_string(), 3), (RULE[0].to_string(), 10)]);
    }
}
