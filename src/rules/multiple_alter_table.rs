use super::*;

pub static RULE: Rule = Rule {
    id: "multiple-alter-table",
    level: Level::Low,
    summary: "two ALTER TABLE statements in one transaction each scan or rewrite the same existing table under ACCESS EXCLUSIVE: combine them into one pass",
    doc: rule_doc!("multiple-alter-table"),
    check: Check::File(check),
    session: false,
    tags: &[],
};

/// The table an ALTER TABLE statement scans or rewrites under ACCESS EXCLUSIVE, when
/// its actions can be combined with others in one statement (ATTACH / DETACH
/// PARTITION cannot). Catalog-only changes, index builds and foreign key validations
/// are not counted: merging them saves no pass, and the transaction holds the lock from
/// the first statement on anyway.
fn pass_under_lock<'a>(cx: &FileCtx, s: &'a StmtRecord) -> Option<&'a QName> {
    let (table, cmds) = alter_cmds(s.op.as_ref()?)?;
    // Rows verified in the shared pass: NOT NULL and CHECK (an index build or a
    // foreign key validation is a scan of its own even in a combined statement).
    let verifies = cmds.iter().any(|c| match c {
        AlterCmd::SetNotNull { .. } => true,
        AlterCmd::AddConstraint(k) => k.kind == ConstraintKind::Check && !k.not_valid,
        AlterCmd::AddColumn { column, .. } => column.check || column.not_null,
        _ => false,
    });
    if cmds.is_empty()
        || !(s.effects.rewrite || s.effects.scan && verifies)
        || cmds.iter().any(|c| matches!(c, AlterCmd::AttachPartition { .. } | AlterCmd::DetachPartition { .. }))
        || cx.new_objects_before(s, &table.name)
    {
        return None;
    }
    s.effects.all_locks().any(|(t, m)| t == table.name && m == LockMode::AccessExclusive).then_some(table)
}

fn check(cx: &FileCtx, out: &mut Vec<Hit>) {
    // (transaction, table) -> the statement that first scanned or rewrote it.
    let mut first: FastMap<(usize, String), usize> = FastMap::default();
    let mut reported = FastSet::default();
    for s in cx.statements.iter().filter(|s| s.in_tx) {
        let Some(table) = pass_under_lock(cx, s) else {
            // Another statement on the table in between (a backfill UPDATE, an index, a DO
            // block) usually depends on the first change: the two cannot be merged.
            if !matches!(s.op, Some(Op::AlterTable { .. })) {
                for (t, _) in s.effects.all_locks() {
                    first.remove(&(s.tx_id, t.to_string()));
                }
            }
            continue;
        };
        let key = (s.tx_id, table.name.clone());
        if reported.contains(&key) {
            continue;
        }
        let Some(&at) = first.get(&key) else {
            first.insert(key, s.index);
            continue;
        };
        reported.insert(key);
        out.push(
            Hit::new(
                format!("table {table} is scanned or rewritten again by statement {} in the transaction that already did so in statement {}, while ACCESS EXCLUSIVE blocks its reads and writes", s.index + 1, at + 1),
                "Combine the actions into one ALTER TABLE statement, separated by commas, so PostgreSQL checks and rewrites the table in a single pass",
            )
            .at(s.index),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::findings;
    use crate::unit::TxWrap;

    #[test]
    fn reported_once_in_the_tools_transaction() {
        let sql = "ALTER TABLE orders ALTER COLUMN a TYPE bigint;\nALTER TABLE orders ALTER COLUMN b SET NOT NULL;\nALTER TABLE orders ALTER COLUMN c TYPE bigint;\n";
        let m = |s: usize| ("multiple-alter-table".to_string(), s);
        assert_eq!(findings(sql, TxWrap::Always, &["multiple-alter-table"]), vec![m(2)]);
        assert_eq!(findings(sql, TxWrap::Never, &["multiple-alter-table"]), vec![]);
    }

    #[test]
    fn catalog_changes_weaker_locks_and_new_tables_are_not_counted() {
        let sql = "BEGIN;\nALTER TABLE orders ADD COLUMN a int;\nALTER TABLE orders ALTER COLUMN b TYPE bigint;\nALTER TABLE orders VALIDATE CONSTRAINT orders_a_check;\nCREATE TABLE t (id bigint PRIMARY KEY, a int);\nALTER TABLE t ALTER COLUMN a TYPE bigint;\nALTER TABLE t ALTER COLUMN a SET NOT NULL;\nCOMMIT;\n";
        assert_eq!(findings(sql, TxWrap::Never, &["multiple-alter-table"]), vec![]);
    }

    #[test]
    fn a_backfill_in_between_keeps_the_statements_apart() {
        let sql = "BEGIN;\nALTER TABLE orders ALTER COLUMN a TYPE bigint;\nUPDATE orders SET b = 0 WHERE b IS NULL;\nALTER TABLE orders ALTER COLUMN b SET NOT NULL;\nALTER TABLE orders ALTER COLUMN c TYPE bigint;\nCOMMIT;\n";
        let m = |s: usize| ("multiple-alter-table".to_string(), s);
        assert_eq!(findings(sql, TxWrap::Never, &["multiple-alter-table"]), vec![m(5)]);
    }
}
