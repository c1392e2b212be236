use super::*;

pub static RULE: Rule = Rule {
    id: "prefer-jsonb",
    level: Level::Low,
    summary: "a json column has no equality operator (DISTINCT, GROUP BY, UNION fail) and is re-parsed on every read: use jsonb",
    doc: rule_doc!("prefer-jsonb"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    for (table, column, t) in declared_types(cx.op) {
        if is_builtin(t, &["json"]) {
            out.push(Hit::new(
                format!("column {table}.{} is json: it has no equality operator, so SELECT DISTINCT, GROUP BY and UNION over it fail, and it cannot be indexed with GIN", quote_ident(column)),
                "Use jsonb unless the exact text (key order, duplicate keys, whitespace) must be kept",
            ));
        }
    }
}
