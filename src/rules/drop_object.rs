use super::*;

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
    let Op::Drop { kind, names, if_exists, args, .. } = cx.op else {
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
    for (i, n) in names.iter().enumerate().filter(|(_, n)| !cx.is_new(&n.name)) {
        // Dropped or renamed away earlier in the history: `IF EXISTS` makes it a no-op.
        if *if_exists && cx.schema().gone(&n.name).is_some() {
            continue;
        }
        // Created again under the same name later in the file: a replacement, graded
        // as the create (RISK-MODEL, "What the schema history settles"); outside a
        // transaction the gap between the two statements is what it breaks.
        if let Some(at) = recreated_at(cx, *kind, &n.name, args.get(i).and_then(Option::as_deref)) {
            if !cx.tx.in_tx {
                out.push(Hit::new(
                    format!("{what} {n} is dropped and created again {at} statement{} later, outside a transaction: calls between the two fail with \"does not exist\"", if at == 1 { "" } else { "s" }),
                    "Use CREATE OR REPLACE, or run the drop and the create in one transaction",
                ).level(Level::Medium));
            }
            continue;
        }
        let known = cx.schema().views.contains_key(&n.name) || cx.schema().enums.contains(&n.name);
        let unknown = if *if_exists && !known { ", if it exists," } else { "" };
        out.push(Hit::new(
            format!(
                "dropping {what} {n}{unknown} breaks running code that still uses it{}",
                if *kind == ObjKind::Sequence { " and loses its current value" } else { "" }
            ),
            "Deploy code that no longer uses it first; recreate-in-place (CREATE OR REPLACE) where possible",
        ));
    }
}

/// How many statements after this one the same object is created again (a function
/// or procedure, a view or materialized view), when it is. A function is the same when
/// its name and its argument types are: a changed argument list creates another
/// function (an overload), and old callers of the dropped one fail. A drop without an
/// argument list names the only function of that name.
fn recreated_at(cx: &StmtCtx, kind: ObjKind, name: &str, args: Option<&[String]>) -> Option<usize> {
    cx.later
        .iter()
        .position(|op| match (kind, op) {
            (ObjKind::Function | ObjKind::Procedure, Some(Op::CreateFunction { name: n, args: a, defaults, .. })) => {
                n.name == name && args.is_none_or(|d| accepts_old_calls(d, a, *defaults))
            }
            (ObjKind::View, Some(Op::CreateView { name: n, materialized: false, .. }))
            | (ObjKind::MaterializedView, Some(Op::CreateView { name: n, materialized: true, .. })) => n.name == name,
            _ => false,
        })
        .map(|p| p + 1)
}

/// The created function takes every call of the dropped one: the same argument types in
/// order (a type copied with `%TYPE` is not known and matches any), plus only arguments
/// with defaults.
fn accepts_old_calls(dropped: &[String], created: &[String], defaults: usize) -> bool {
    created.len() >= dropped.len()
        && created.len() - dropped.len() <= defaults
        && dropped.iter().zip(created).all(|(d, c)| d == c || d == "%TYPE" || c == "%TYPE")
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{after_history, findings};
    use crate::unit::TxWrap;

    #[test]
    fn drop_then_create_of_the_same_function_is_a_replacement() {
        let sql = "DROP FUNCTION IF EXISTS touch(int);\nCREATE FUNCTION touch(a int) RETURNS int LANGUAGE sql AS 'SELECT a';\n";
        // In a transaction nobody sees the gap: no drop finding.
        assert_eq!(findings(sql, TxWrap::Always, &["drop-object"]), vec![]);
        let wrapped = format!("BEGIN;\n{sql}COMMIT;\n");
        assert_eq!(findings(&wrapped, TxWrap::Never, &["drop-object"]), vec![]);
        // Outside one, the gap is reported as such (medium), not as a drop.
        let f = after_history("SELECT 1;\n", sql, &["drop-object"]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].1, crate::model::Level::Medium);
        assert!(f[0].2.contains("dropped and created again 1 statement later"), "{}", f[0].2);
        // Another function created: still a drop.
        let other =
            "DROP FUNCTION touch(int);\nCREATE FUNCTION touch2(a int) RETURNS int LANGUAGE sql AS 'SELECT a';\n";
        assert_eq!(findings(other, TxWrap::Always, &["drop-object"]), vec![("drop-object".to_string(), 1)]);
        let view = "DROP VIEW v;\nCREATE VIEW v AS SELECT 1 AS x;\n";
        assert_eq!(findings(view, TxWrap::Always, &["drop-object"]), vec![]);
    }

    #[test]
    fn drop_if_exists_of_a_view_the_history_dropped_is_a_no_op() {
        let f = after_history(
            "CREATE VIEW v AS SELECT 1 AS x;\nDROP VIEW v;\n",
            "DROP VIEW IF EXISTS v;\n",
            &["drop-object"],
        );
        assert_eq!(f, vec![]);
        let f = after_history("SELECT 1;\n", "DROP VIEW IF EXISTS v;\n", &["drop-object"]);
        assert!(f.len() == 1 && f[0].2.contains("v, if it exists,"), "{f:?}");
    }

    #[test]
    fn a_function_is_replaced_only_by_one_with_the_same_argument_types() {
        let drop_create = |drop: &str, create: &str| {
            let sql = format!("{drop}\nCREATE FUNCTION {create} RETURNS int LANGUAGE sql AS 'SELECT 1';\n");
            findings(&sql, TxWrap::Always, &["drop-object"])
        };
        let dropped = vec![("drop-object".to_string(), 1)];
        // Same types, written differently (names, int/integer/int4, varchar modifiers, OUT args).
        assert_eq!(drop_create("DROP FUNCTION f(integer, varchar(10));", "f(a int4, b varchar)"), vec![]);
        assert_eq!(drop_create("DROP FUNCTION f(int);", "f(a int, OUT b text)"), vec![]);
        assert_eq!(drop_create("DROP FUNCTION f(text[]);", "f(VARIADIC a text[])"), vec![]);
        // No argument list: the only function of that name.
        assert_eq!(drop_create("DROP FUNCTION f;", "f(a bigint)"), vec![]);
        // A changed argument list is another function: callers of f(int) fail.
        assert_eq!(drop_create("DROP FUNCTION f(int);", "f(a bigint)"), dropped);
        assert_eq!(drop_create("DROP FUNCTION f(int);", "f(a int, b int)"), dropped);
        assert_eq!(drop_create("DROP FUNCTION f(int);", "f()"), dropped);
        // New arguments with defaults: old calls still resolve to it.
        assert_eq!(drop_create("DROP FUNCTION f(int);", "f(a int, b text DEFAULT 'x')"), vec![]);
        // A type copied from a column cannot be compared: it matches.
        assert_eq!(drop_create("DROP FUNCTION f(int, text);", "f(a users.id%TYPE, b text)"), vec![]);
        assert_eq!(drop_create("DROP FUNCTION f(int), g(int);", "f(a int)"), vec![("drop-object".to_string(), 1)]);
    }
}
