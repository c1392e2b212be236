//! `drop-object`: dropping a view, function, type, domain or sequence breaks code that still uses it.

#[allow(unused_imports)]
use super::*;
#[allow(unused_imports)]
use crate::facts::{TypeChange, type_change};
#[allow(unused_imports)]
use crate::model::{Level, PlanStep, Stage};
#[allow(unused_imports)]
use crate::plan;

pub static RULE: Rule = Rule {
    id: "drop-object",
    level: Level::High,
    summary: "dropping a view, function, type, domain or sequence breaks code that still uses it",
    doc: rule_doc!("drop-object"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Drop { kind, names, .. } = cx.op else {
        return;
    };
    let what = match kind {
        ObjKind::View => "view",
        ObjKind::MaterializedView => "materialized view",
        ObjKind::Function => "function",
        ObjKind::Procedure => "procedure",
        ObjKind::Type => "type",
        ObjKind::Domain => "domain",
        ObjKind::Sequence => "sequence",
        _ => return,
    };
    for n in names.iter().filter(|n| !cx.is_new(&n.name)) {
        out.push(Hit::new(
            Level::High,
            format!(
                "dropping {what} {n} breaks running code that still uses it{}",
                if *kind == ObjKind::Sequence { " and loses its current value" } else { "" }
            ),
            "Deploy code that no longer uses it first; recreate-in-place (CREATE OR REPLACE) where possible",
        ));
    }
}
