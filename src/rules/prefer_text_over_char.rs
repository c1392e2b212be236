use super::*;

pub static RULE: Rule = Rule {
    id: "prefer-text-over-char",
    level: Level::Low,
    summary: "char(n) pads values with blanks and is no faster than text or varchar",
    doc: rule_doc!("prefer-text-over-char"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    for (table, column, t) in declared_types(cx.op) {
        if is_builtin(t, &["bpchar"]) {
            out.push(Hit::new(
                format!("column {table}.{} is {}: values are blank-padded to the length and trailing spaces are ignored in comparisons", quote_ident(column), t.display),
                "Use text or varchar(n), with a CHECK on length(...) if the limit matters",
            ));
        }
    }
}
