use super::*;

pub static RULE: Rule = Rule {
    id: "enum-value-used-in-same-transaction",
    level: Level::High,
    summary: "a value added with ALTER TYPE ... ADD VALUE cannot be used before the transaction commits",
    doc: rule_doc!("enum-value-used-in-same-transaction"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    if let Op::AlterEnum { type_name, add_value: Some(v), .. } = cx.op
        && cx.tx.in_tx
        && cx.pg() < 12
    {
        out.push(Hit::new(
            format!("ALTER TYPE {type_name} ADD VALUE '{v}' cannot run inside a transaction block before PostgreSQL 12: the migration fails"),
            "Run it outside a transaction, or target PostgreSQL 12+",
        ));
        return;
    }
    if matches!(cx.op, Op::AlterEnum { .. }) {
        return;
    }
    for (t, v) in &cx.tx.enum_values_added {
        let quoted = format!("'{}'", v.replace('\'', "''"));
        // The value as a constant, or quoted inside a body (a DO block's SQL).
        if cx.text.strings.iter().any(|s| s == v || s.contains(&quoted)) {
            out.push(Hit::new(
                format!("uses the enum value {quoted} of {t} in the transaction that added it: \"unsafe use of new value\", the migration fails"),
                "Commit after ALTER TYPE ... ADD VALUE and use the value in a later migration",
            ));
        }
    }
}
