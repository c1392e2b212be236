use super::*;
use crate::model::Level;

pub static RULE: Rule = Rule {
    id: "security-definer-without-search-path",
    level: Level::High,
    summary: "a SECURITY DEFINER function without a pinned search_path can be hijacked by objects in a writable schema",
    doc: rule_doc!("security-definer-without-search-path"),
    check: Check::Statement(security_definer),
    session: false,
    tags: &["security"],
};

fn security_definer(cx: &StmtCtx, out: &mut Vec<Hit>) {
    if let Op::CreateFunction { name, security_definer: true, sets_search_path: false, .. } = cx.op {
        out.push(Hit::new(
            format!("SECURITY DEFINER function {name} runs with its owner's rights but resolves names through the caller's search_path"),
            "Pin it: add SET search_path = pg_catalog, pg_temp (and schema-qualify the objects it uses)",
        ));
    }
}
