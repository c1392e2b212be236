use super::*;

pub static RULE: Rule = Rule {
    id: "missing-lock-timeout",
    level: Level::Low,
    summary: "a statement that blocks reads or writes on an existing table runs with no lock_timeout set",
    doc: rule_doc!("missing-lock-timeout"),
    check: Check::File(check),
    session: true,
    tags: &[],
};

fn check(cx: &FileCtx, out: &mut Vec<Hit>) {
    let Some(s) = cx.statements.iter().find(|s| {
        !s.lock_timeout_before
            // A plain VACUUM's ACCESS EXCLUSIVE (to truncate the table's end) never waits.
            && !matches!(s.op, Some(Op::Vacuum { full: false, .. }))
            && s.effects.all_locks().any(|(t, m)| m >= LockMode::Share && !cx.new_objects_before(s, t))
    }) else {
        return;
    };
    let (t, m) =
        s.effects.all_locks().find(|(_, m)| *m >= LockMode::Share).unwrap_or(("the table", LockMode::AccessExclusive));
    out.push(
        Hit::new(
            format!("{} waits for {m} on {t} with no lock_timeout set: while it waits, every query on {t} queues behind it", s.summary),
            "Start the file with SET lock_timeout = '5s' (and a statement_timeout); use SET LOCAL inside a transaction, since a plain SET persists on a pooled connection",
        )
        .at(s.index),
    );
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::findings;
    use crate::unit::TxWrap;

    #[test]
    fn a_plain_vacuum_does_not_wait_for_its_truncation_lock() {
        let rule = &["missing-lock-timeout"];
        assert!(findings("VACUUM orders;\n", TxWrap::Never, rule).is_empty());
        assert_eq!(findings("VACUUM FULL orders;\n", TxWrap::Never, rule).len(), 1);
    }
}
