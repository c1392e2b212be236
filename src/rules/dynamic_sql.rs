use super::*;

pub static RULE: Rule = Rule {
    id: "dynamic-sql",
    level: Level::Medium,
    summary: "EXECUTE of a string built at run time cannot be analysed",
    doc: rule_doc!("dynamic-sql"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Do { dynamic, error, .. } = cx.op else {
        return;
    };
    if let Some(e) = error {
        out.push(Hit::new(
            format!("could not analyze the DO block: {e}"),
            "Review the block by hand, or move its statements to plain SQL",
        ));
    }
    for d in dynamic {
        out.push(
            Hit::new(
                "EXECUTE of SQL built at run time cannot be analysed: what it runs is unknown until it runs",
                "Review the generated statements by hand, or write them as plain SQL the linter can read",
            )
            .span(d.offset, d.offset + d.len),
        );
    }
}
