//! `dynamic-sql`: EXECUTE of a string built at run time cannot be analysed.

#[allow(unused_imports)]
use super::*;
#[allow(unused_imports)]
use crate::facts::{TypeChange, type_change};
#[allow(unused_imports)]
use crate::model::{Level, PlanStep, Stage};
#[allow(unused_imports)]
use crate::plan;

pub static RULE: Rule = Rule {
    id: "dynamic-sql",
    level: Level::Medium,
    summary: "EXECUTE of a string built at run time cannot be analysed",
    doc: rule_doc!("dynamic-sql"),
    check: Check::Statement(check),
    session: false,
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Do { dynamic, error, .. } = cx.op else {
        return;
    };
    if let Some(e) = error {
        out.push(Hit::new(
            Level::Medium,
            format!("could not analyze the DO block: {e}"),
            "Review the block by hand, or move its statements to plain SQL",
        ));
    }
    for d in dynamic {
        out.push(
            Hit::new(
                Level::Medium,
                format!(
                    "EXECUTE of SQL built at run time cannot be analysed{}",
                    if d.unsafe_concat { "; it concatenates values without quote_ident/quote_literal/format('%I'/'%L') (SQL injection risk)" } else { "" }
                ),
                "Review the generated statements by hand; build identifiers with format('%I') and values with format('%L')",
            )
            .span(d.offset, d.offset + d.len),
        );
    }
}
