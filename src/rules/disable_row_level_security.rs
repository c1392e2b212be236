use super::*;
use crate::model::Level;

pub static RULE: Rule = Rule {
    id: "disable-row-level-security",
    level: Level::High,
    summary: "disabling row level security or dropping a policy on an existing table exposes rows",
    doc: rule_doc!("disable-row-level-security"),
    check: Check::Statement(disable_rls),
    session: false,
    tags: &["security"],
};

fn disable_rls(cx: &StmtCtx, out: &mut Vec<Hit>) {
    match cx.op {
        Op::AlterTable { table, cmds, .. } if !cx.is_new(&table.name) => {
            for c in cmds {
                let what = match c {
                    AlterCmd::RowSecurity(RowSecurity::Disable) => "DISABLE ROW LEVEL SECURITY",
                    AlterCmd::RowSecurity(RowSecurity::NoForce) => "NO FORCE ROW LEVEL SECURITY",
                    _ => continue,
                };
                out.push(Hit::new(
                    format!("{what} on {table}: its policies stop filtering rows"),
                    "Keep row level security on; change the policies instead",
                ));
            }
        }
        Op::Drop { kind: ObjKind::Policy, names, .. } => {
            for t in names.iter().filter(|t| !cx.is_new(&t.name)) {
                out.push(Hit::new(
                    format!("dropping a policy on {t}: rows it protected may become visible or writable"),
                    "Create the replacement policy in the same transaction before dropping the old one",
                ));
            }
        }
        _ => {}
    }
}
