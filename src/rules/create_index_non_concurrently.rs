use super::*;

pub static RULE: Rule = Rule {
    id: "create-index-non-concurrently",
    level: Level::High,
    summary: "CREATE INDEX without CONCURRENTLY blocks writes to an existing table for the whole build",
    doc: rule_doc!("create-index-non-concurrently"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::CreateIndex { name, table, concurrently: false, concurrent_sql, .. } = cx.op else {
        return;
    };
    if cx.is_new(&table.name) {
        return;
    }
    let hit = Hit::new(
        format!(
            "building index {} on {table} without CONCURRENTLY holds a SHARE lock that blocks writes for the whole build",
            name.as_deref().unwrap_or("(unnamed)")
        ),
        "Use CREATE INDEX CONCURRENTLY in a migration that does not run inside a transaction",
    );
    // The statement with CONCURRENTLY, deparsed from its nodes (none if that failed).
    out.push(match concurrent_sql.sql() {
        Some(sql) => hit.plan(plan::create_index_concurrently(&sql, table, name.as_deref())),
        None => hit,
    });
}
