use super::*;

pub static RULE: Rule = Rule {
    id: "create-index",
    level: Level::Medium,
    summary: "CREATE INDEX CONCURRENTLY on an existing table: reads and writes continue, but the build can fail and leave an invalid index",
    doc: rule_doc!("create-index"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::CreateIndex { name, table, concurrently: true, .. } = cx.op else {
        return;
    };
    if cx.is_new(&table.name) {
        return;
    }
    let mut msg = format!(
        "building index {} on {table} concurrently scans the table twice; a failed build leaves an INVALID index",
        name.as_deref().unwrap_or("(unnamed)")
    );
    if cx.pg() == 14 {
        msg.push_str("; PostgreSQL 14.0–14.3 could corrupt indexes built concurrently: run 14.4 or later");
    }
    out.push(
        Hit::new(msg, "Check pg_index.indisvalid after the build; drop and rebuild the index if it is invalid")
            .plan(plan::create_index_concurrently(cx.sql.trim_end_matches(';'), table, name.as_deref())),
    );
    if cx.schema().table(&table.name).is_some_and(|t| t.partitioned) {
        out.push(
            Hit::new(
                format!(
                    "CREATE INDEX CONCURRENTLY is not supported on the partitioned table {table}: the statement fails"
                ),
                "Create the index ON ONLY the parent, build each partition's index concurrently, then ATTACH them",
            )
            .level(Level::High),
        );
    }
}
