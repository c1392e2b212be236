use super::*;

pub static RULE: Rule = Rule {
    id: "rename-enum-value",
    level: Level::High,
    summary: "ALTER TYPE ... RENAME VALUE breaks code and data that use the old label",
    doc: rule_doc!("rename-enum-value"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::AlterEnum { type_name, rename: Some((old, new)), .. } = cx.op else {
        return;
    };
    if cx.is_new(&type_name.name) {
        return;
    }
    out.push(Hit::new(
        format!("renaming value '{old}' of enum {type_name} to '{new}' breaks running code that still writes or compares '{old}'"),
        "Add the new value, migrate code and rows to it, and stop using the old one (PostgreSQL cannot drop an enum value)",
    ));
}
