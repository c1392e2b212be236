use super::*;
use crate::model::Level;

pub static RULE: Rule = Rule {
    id: "unsafe-dynamic-sql",
    level: Level::Medium,
    summary: "EXECUTE of a string built by concatenation without quote_ident/quote_literal/format('%I'/'%L') is injectable",
    doc: rule_doc!("unsafe-dynamic-sql"),
    check: Check::Statement(unsafe_dynamic_sql),
    session: false,
    tags: &["security"],
};

fn unsafe_dynamic_sql(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let (dynamic, what) = match cx.op {
        Op::Do { dynamic, .. } => (dynamic, "DO block".to_string()),
        Op::CreateFunction { dynamic, name, .. } => (dynamic, format!("function {name}")),
        _ => return,
    };
    for d in dynamic.iter().filter(|d| d.unsafe_concat) {
        out.push(
            Hit::new(
                format!("the {what} builds an EXECUTE string by concatenation without quote_ident/quote_literal/format('%I'/'%L'): a value or name can inject SQL"),
                "Build the statement with format('... %I ... %L ...', ident, value) or EXECUTE ... USING for values",
            )
            .span(d.offset, d.offset + d.len),
        );
    }
}
