use super::*;

pub static RULE: Rule = Rule {
    id: "prefer-timestamptz",
    level: Level::Low,
    summary: "a timestamp without time zone column stores wall-clock times with no offset: use timestamptz",
    doc: rule_doc!("prefer-timestamptz"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    for (table, column, t) in declared_types(cx.op) {
        if is_builtin(t, &["timestamp"]) {
            out.push(Hit::new(
                format!("column {table}.{} is timestamp without time zone: it stores no offset, so its values mean different instants to sessions in different time zones", quote_ident(column)),
                "Use timestamptz (timestamp with time zone), which stores an absolute instant and converts on display",
            ));
        }
    }
}
