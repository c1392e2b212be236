use super::*;

pub static RULE: Rule = Rule {
    id: "begin-without-commit",
    level: Level::Medium,
    summary: "BEGIN that the file never commits: the file ends inside its own transaction, whose work the runner may roll back",
    doc: rule_doc!("begin-without-commit"),
    check: Check::File(check),
    session: false,
    tags: &[],
};

/// The file's own BEGIN still open when the section ends, with work after it. A tool
/// that runs the file in a transaction of its own (`first.in_tx`) commits it at the end,
/// the file's BEGIN with it; golang-migrate's implicit block is the exception: a BEGIN
/// in a multi-statement query turns it into a regular transaction block, which stays
/// open after the query (PostgreSQL docs, "Multiple Statements in a Simple Query").
fn check(cx: &FileCtx, out: &mut Vec<Hit>) {
    let Some(first) = cx.statements.first() else {
        return;
    };
    if first.in_tx && cx.tx != TxWrap::MultiStatement {
        return;
    }
    let mut open: Option<usize> = None;
    for s in cx.statements {
        match &s.op {
            Some(Op::Transaction(TxKind::Begin)) => {
                open.get_or_insert(s.index);
            }
            // COMMIT, ROLLBACK and PREPARE TRANSACTION all end it.
            Some(Op::Transaction(TxKind::Commit | TxKind::Rollback | TxKind::Other)) => open = None,
            _ => {}
        }
    }
    let Some(begin) = open else {
        return;
    };
    let work = cx.statements.iter().filter(|s| s.index > begin && !matches!(s.op, Some(Op::Transaction(_)))).count();
    if work == 0 {
        return;
    }
    out.push(
        Hit::new(
            format!(
                "BEGIN at statement {} is never committed: the file ends inside its transaction, so the runner decides what happens to the {work} statement{} after it (when the session ends, PostgreSQL rolls the transaction back), and every lock it took is held until then",
                begin + 1,
                if work == 1 { "" } else { "s" }
            ),
            "End the file with COMMIT; or remove the BEGIN and let the migration tool's transaction cover the file",
        )
        .at(begin),
    );
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::findings;
    use crate::unit::TxWrap;

    fn at(sql: &str, tx: TxWrap) -> Vec<usize> {
        findings(sql, tx, &["begin-without-commit"]).into_iter().map(|(_, s)| s).collect()
    }

    #[test]
    fn an_open_begin_at_the_end_of_a_file_the_tool_does_not_wrap() {
        let sql = "BEGIN;\nALTER TABLE t ADD COLUMN a int;\nUPDATE t SET a = 1;\n";
        assert_eq!(at(sql, TxWrap::Never), vec![1]);
        // golang-migrate: the BEGIN turns the implicit block into one that outlives the query.
        assert_eq!(at(sql, TxWrap::MultiStatement), vec![1]);
        // A second transaction left open after a closed one.
        assert_eq!(at("BEGIN;\nDELETE FROM s;\nCOMMIT;\nBEGIN;\nDELETE FROM t;\n", TxWrap::Never), vec![4]);
    }

    #[test]
    fn closed_wrapped_or_empty_transactions_are_not_reported() {
        for end in ["COMMIT;", "END;", "ROLLBACK;", "COMMIT TRANSACTION;"] {
            let sql = format!("BEGIN;\nALTER TABLE t ADD COLUMN a int;\n{end}\n");
            assert_eq!(at(&sql, TxWrap::Never), Vec::<usize>::new(), "{end}");
        }
        // The tool commits its own transaction, and the file's BEGIN with it.
        assert_eq!(at("BEGIN;\nALTER TABLE t ADD COLUMN a int;\n", TxWrap::Always), Vec::<usize>::new());
        // Nothing after the BEGIN.
        assert_eq!(at("ALTER TABLE t ADD COLUMN a int;\nBEGIN;\n", TxWrap::Never), Vec::<usize>::new());
        // Savepoints do not end the transaction; the COMMIT does.
        let sql = "BEGIN;\nSAVEPOINT s;\nDELETE FROM t;\nRELEASE SAVEPOINT s;\nCOMMIT;\n";
        assert_eq!(at(sql, TxWrap::Never), Vec::<usize>::new());
    }
}
