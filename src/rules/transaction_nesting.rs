use super::*;

pub static RULE: Rule = Rule {
    id: "transaction-nesting",
    level: Level::Medium,
    summary: "BEGIN inside an open transaction, or COMMIT / ROLLBACK inside the tool's, ends the transaction early and leaves the rest outside it",
    doc: rule_doc!("transaction-nesting"),
    check: Check::File(check),
    session: false,
    tags: &[],
};

/// Statements (other than transaction control) after the one at position `i`.
fn work_after(cx: &FileCtx, i: usize) -> bool {
    cx.statements[i + 1..].iter().any(|s| !matches!(s.op, Some(Op::Transaction(_))))
}

/// Follows the file's transaction control the way PostgreSQL runs it. A file the
/// tool wraps starts inside the tool's transaction (the first statement's `in_tx`;
/// golang-migrate's implicit block of a multi-statement query is modelled the
/// same). A BEGIN there only warns in a real transaction (a converted implicit
/// block is fine), so it is reported only when the COMMIT that then ends the
/// tool's transaction leaves statements after it: under either model those are
/// no longer part of it. A ROLLBACK of the tool's transaction is always reported.
fn check(cx: &FileCtx, out: &mut Vec<Hit>) {
    let Some(first) = cx.statements.first() else {
        return;
    };
    let mut tool_open = first.in_tx;
    // The file's own BEGIN that is open, and whether it was issued inside the tool's transaction.
    let mut explicit: Option<(usize, bool)> = None;
    for (i, s) in cx.statements.iter().enumerate() {
        let Some(Op::Transaction(kind)) = &s.op else {
            continue;
        };
        match kind {
            TxKind::Begin => match explicit {
                Some((b, _)) => out.push(
                    Hit::new(
                        format!("{} inside the transaction opened at statement {} does not nest: PostgreSQL only warns, and the next COMMIT ends the outer transaction, so the statements after it run outside any transaction", s.summary, b + 1),
                        "Remove the inner BEGIN and its COMMIT (use SAVEPOINT for a nested scope that can be rolled back alone)",
                    )
                    .at(s.index),
                ),
                None => explicit = Some((s.index, tool_open)),
            },
            TxKind::Commit | TxKind::Rollback => {
                let rollback = *kind == TxKind::Rollback;
                let after = work_after(cx, i);
                match explicit.take() {
                    // The file's BEGIN ... COMMIT inside the tool's transaction.
                    Some((b, true)) if !rollback && after => out.push(
                        Hit::new(
                            format!("BEGIN runs inside the transaction the migration tool wraps the file in, and the COMMIT at statement {} ends the tool's transaction early: the statements after it are not part of it, so a failure there leaves the migration half applied", s.index + 1),
                            "Remove BEGIN and COMMIT and let the tool's transaction cover the whole file, or split the file into one migration per transaction",
                        )
                        .at(b),
                    ),
                    Some((_, true)) | None if rollback && tool_open => out.push(
                        Hit::new(
                            format!("{} undoes the transaction the migration tool wraps the file in, yet the tool records the migration as applied{}", s.summary, if after { ", and the statements after it run outside that transaction" } else { "" }),
                            "Remove the ROLLBACK; to abort the migration, raise an error (RAISE EXCEPTION in a DO block) so that the tool rolls back and reports the failure",
                        )
                        .at(s.index),
                    ),
                    None if tool_open && after => out.push(
                        Hit::new(
                            format!("{} ends the transaction the migration tool wraps the file in: the statements after it are not part of it, so a failure there leaves the migration half applied", s.summary),
                            "Remove the COMMIT and let the tool commit, or split the file into one migration per transaction",
                        )
                        .at(s.index),
                    ),
                    _ => {}
                }
                // Whatever was open, the tool's transaction included, is now closed.
                tool_open = false;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::findings;
    use crate::unit::TxWrap;

    fn at(sql: &str, tx: TxWrap) -> Vec<usize> {
        findings(sql, tx, &["transaction-nesting"]).into_iter().map(|(_, s)| s).collect()
    }

    #[test]
    fn commit_inside_the_tools_transaction() {
        let w = TxWrap::Always;
        assert_eq!(at("ALTER TABLE t ADD COLUMN a int;\nCOMMIT;\nALTER TABLE t ADD COLUMN b int;\n", w), vec![2]);
        // Nothing after the COMMIT: every statement still commits together.
        assert_eq!(at("ALTER TABLE t ADD COLUMN a int;\nCOMMIT;\n", w), Vec::<usize>::new());
        // After the COMMIT the tool's transaction is gone: the file's own BEGIN is a plain one.
        assert_eq!(at("DELETE FROM s;\nCOMMIT;\nBEGIN;\nCREATE INDEX i ON s (a);\nCOMMIT;\n", w), vec![2]);
        assert_eq!(
            at("ALTER TABLE t ADD COLUMN a int;\nCOMMIT;\nALTER TABLE t ADD COLUMN b int;\n", TxWrap::Never),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn rollback_inside_the_tools_transaction() {
        let w = TxWrap::Always;
        assert_eq!(at("ALTER TABLE t ADD COLUMN a int;\nROLLBACK;\n", w), vec![2]);
        assert_eq!(at("BEGIN;\nALTER TABLE t ADD COLUMN a int;\nROLLBACK;\n", w), vec![3]);
        // The COMMIT already ended the tool's transaction: the ROLLBACK has nothing to undo.
        assert_eq!(
            at("ALTER TABLE t ADD COLUMN a int;\nCOMMIT;\nALTER TABLE t ADD COLUMN b int;\nROLLBACK;\n", w),
            vec![2]
        );
        assert_eq!(at("BEGIN;\nALTER TABLE t ADD COLUMN a int;\nROLLBACK;\n", TxWrap::Never), Vec::<usize>::new());
    }

    #[test]
    fn begin_inside_the_tools_transaction() {
        let w = TxWrap::Always;
        // BEGIN ... COMMIT around the whole file: every statement still commits together.
        assert_eq!(at("BEGIN;\nCREATE TABLE t (id bigint PRIMARY KEY);\nCOMMIT;\n", w), Vec::<usize>::new());
        assert_eq!(
            at("ALTER TABLE t ADD COLUMN a int;\nBEGIN;\nUPDATE t SET a = 1;\nCOMMIT;\n", w),
            Vec::<usize>::new()
        );
        // Statements after the COMMIT are outside the tool's transaction: reported at the BEGIN.
        let two =
            "BEGIN;\nALTER TABLE t ADD COLUMN a int;\nCOMMIT;\nBEGIN;\nALTER TABLE t ADD COLUMN b int;\nCOMMIT;\n";
        assert_eq!(at(two, w), vec![1]);
        assert_eq!(at(two, TxWrap::Never), Vec::<usize>::new());
    }

    #[test]
    fn begin_inside_an_explicit_transaction() {
        let sql = "BEGIN;\nBEGIN;\nCREATE TABLE t (id bigint PRIMARY KEY);\nCOMMIT;\nCOMMIT;\n";
        assert_eq!(at(sql, TxWrap::Never), vec![2]);
        assert_eq!(at(sql, TxWrap::Always), vec![2]);
        assert_eq!(
            at("START TRANSACTION;\nSAVEPOINT a;\nROLLBACK TO SAVEPOINT a;\nCOMMIT;\n", TxWrap::Never),
            Vec::<usize>::new()
        );
    }
}
