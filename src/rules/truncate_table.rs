use super::*;

pub static RULE: Rule = Rule {
    id: "truncate-table",
    level: Level::VeryHigh,
    summary: "TRUNCATE deletes every row of a table under an ACCESS EXCLUSIVE lock",
    doc: rule_doc!("truncate-table"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Truncate { tables, cascade } = cx.op else {
        return;
    };
    for t in tables.iter().filter(|t| !cx.is_new(&t.name)) {
        out.push(Hit::new(
            format!(
                "TRUNCATE {t}{} deletes every row under an ACCESS EXCLUSIVE lock",
                if *cascade { " CASCADE also empties every table that references it" } else { "" }
            ),
            "Back up the table first; delete data in a separate, reviewed data migration",
        ));
    }
}
