use super::*;

pub static RULE: Rule = Rule {
    id: "vacuum-full",
    level: Level::High,
    summary: "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE",
    doc: rule_doc!("vacuum-full"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Vacuum { full: true, tables, .. } = cx.op else {
        return;
    };
    if !tables.is_empty() && tables.iter().all(|t| cx.is_new(&t.name)) {
        return;
    }
    let names = if tables.is_empty() {
        "every table".to_string()
    } else {
        tables.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
    };
    out.push(Hit::new(
        format!("VACUUM FULL rewrites {names} under ACCESS EXCLUSIVE: reads and writes wait for the whole rewrite"),
        "Use plain VACUUM, or pg_repack / pg_squeeze to compact a table online",
    ));
}
