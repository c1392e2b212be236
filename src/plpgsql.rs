//! Reads the statements inside a `DO` block (PL/pgSQL) with libpg_query's
//! PL/pgSQL parser, and locates each one in the file.

use crate::ir::*;
use pg_query::NodeEnum;
use pg_query::protobuf;
use serde_json::Value;

const TAG: &str = "$migrade_do_body$";

pub(crate) fn do_block(d: &protobuf::DoStmt, sql: &str, offset: usize) -> ParsedStatement {
    let mut body = None;
    let mut language = "plpgsql".to_string();
    for a in &d.args {
        if let Some(NodeEnum::DefElem(de)) = a.node.as_ref() {
            let s = match de.arg.as_deref().and_then(|n| n.node.as_ref()) {
                Some(NodeEnum::String(s)) => s.sval.clone(),
                _ => continue,
            };
            match de.defname.as_str() {
                "as" => body = Some(s),
                "language" => language = s.to_ascii_lowercase(),
                _ => {}
            }
        }
    }
    let summary = "DO".to_string();
    let Some(body) = body else {
        return ParsedStatement {
            text: Default::default(),
            op: Op::Do { statements: vec![], dynamic: vec![], error: Some("DO block without a body".into()) },
            summary,
            refuses_transaction: None,
            reads: Vec::new(),
        };
    };
    if language != "plpgsql" {
        return ParsedStatement {
            text: Default::default(),
            op: Op::Do {
                statements: vec![],
                dynamic: vec![],
                error: Some(format!("DO block in language {language} cannot be analysed")),
            },
            summary,
            refuses_transaction: None,
            reads: Vec::new(),
        };
    }
    // Where the body sits in the file: verbatim for dollar quotes.
    let body_offset = sql.find(body.as_str()).map(|p| offset + p);
    let (statements, mut dynamic, error) = analyse_body(&body, body_offset, offset);
    if error.is_some() {
        dynamic = scan_executes(&body, body_offset.unwrap_or(offset));
    }
    ParsedStatement {
        text: Default::default(),
        op: Op::Do { statements, dynamic, error },
        summary,
        refuses_transaction: None,
        reads: Vec::new(),
    }
}

/// Parses a PL/pgSQL body and returns the SQL statements it runs and its
/// dynamic EXECUTEs, located at byte offsets in the file.
pub(crate) fn analyse_body(
    body: &str,
    body_offset: Option<usize>,
    fallback_offset: usize,
) -> (Vec<EmbeddedSql>, Vec<DynamicExecute>, Option<String>) {
    if body.contains(TAG) {
        return (vec![], vec![], Some("DO block body cannot be wrapped for analysis".into()));
    }
    let wrapped = format!("CREATE FUNCTION migrade_do() RETURNS void LANGUAGE plpgsql AS {TAG}{body}{TAG}");
    let json = match pg_query::parse_plpgsql(&wrapped) {
        Ok(j) => j,
        Err(e) => {
            let msg = e.to_string();
            let msg = msg.trim_start_matches("Invalid statement: ").to_string();
            return (vec![], vec![], Some(msg));
        }
    };
    let mut queries: Vec<(bool, String)> = Vec::new();
    collect(&json, &mut queries);
    let mut statements = Vec::new();
    let mut dynamic = Vec::new();
    let mut cursor = 0usize;
    for (is_dynamic, query) in queries {
        let pos = body[cursor.min(body.len())..].find(query.as_str()).map(|p| p + cursor);
        let at = match (pos, body_offset) {
            (Some(p), Some(b)) => {
                cursor = p + query.len();
                b + p
            }
            _ => fallback_offset,
        };
        if !is_dynamic {
            statements.push(EmbeddedSql { offset: at, sql: query });
            continue;
        }
        match string_literal(&query) {
            Some(inner) => statements.push(EmbeddedSql { offset: at + 1, sql: inner }),
            None => dynamic.push(DynamicExecute { offset: at, len: query.len(), unsafe_concat: unsafe_concat(&query) }),
        }
    }
    (statements, dynamic, None)
}

fn collect(v: &Value, out: &mut Vec<(bool, String)>) {
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                match k.as_str() {
                    "PLpgSQL_stmt_execsql" => {
                        if let Some(q) = val.pointer("/sqlstmt/PLpgSQL_expr/query").and_then(Value::as_str) {
                            out.push((false, q.to_string()));
                        }
                    }
                    "PLpgSQL_stmt_dynexecute" => {
                        if let Some(q) = val.pointer("/query/PLpgSQL_expr/query").and_then(Value::as_str) {
                            out.push((true, q.to_string()));
                        }
                    }
                    _ => {}
                }
                collect(val, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        _ => {}
    }
}

/// The value of a single SQL string literal (`'...'` or `$$...$$`), if the
/// expression is exactly one.
fn string_literal(expr: &str) -> Option<String> {
    let e = expr.trim();
    if e.len() >= 2 && e.starts_with('\'') && e.ends_with('\'') {
        let inner = &e[1..e.len() - 1];
        // A lone quote inside means concatenation of several literals.
        let without_pairs = inner.replace("''", "");
        if without_pairs.contains('\'') {
            return None;
        }
        return Some(inner.replace("''", "'"));
    }
    if let Some(rest) = e.strip_prefix('$') {
        let tag_end = rest.find('$')? + 2;
        let tag = &e[..tag_end];
        if e.len() > 2 * tag.len() && e.ends_with(tag) {
            let inner = &e[tag_end..e.len() - tag.len()];
            if !inner.contains(tag) {
                return Some(inner.to_string());
            }
        }
    }
    None
}

/// A token scan for `EXECUTE <expr>;` in a body the PL/pgSQL parser rejected.
pub(crate) fn scan_executes(body: &str, body_offset: usize) -> Vec<DynamicExecute> {
    let mut out = Vec::new();
    let lower = body.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut from = 0;
    while let Some(p) = lower[from..].find("execute") {
        let start = from + p;
        let before_ok = start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let after = start + 7;
        let after_ok = bytes.get(after).is_none_or(|c| c.is_ascii_whitespace() || *c == b'(' || *c == b'\'');
        from = after;
        if !(before_ok && after_ok) {
            continue;
        }
        // The expression runs to the next `;` outside quotes.
        let mut i = after;
        let mut in_quote = false;
        while i < bytes.len() {
            match bytes[i] {
                b'\'' => in_quote = !in_quote,
                b';' if !in_quote => break,
                _ => {}
            }
            i += 1;
        }
        let expr = body[after..i].trim();
        let lexpr = expr.to_ascii_lowercase();
        // `EXECUTE FUNCTION f()` / `EXECUTE PROCEDURE` in trigger DDL are not dynamic SQL.
        if lexpr.starts_with("function") || lexpr.starts_with("procedure") || expr.is_empty() {
            continue;
        }
        // A lone string literal: `EXECUTE 'DROP TABLE x'` (a lone `'` is not one).
        let literal = expr.len() >= 2
            && expr.starts_with('\'')
            && expr.ends_with('\'')
            && !expr[1..expr.len() - 1].replace("''", "").contains('\'');
        if literal {
            continue;
        }
        out.push(DynamicExecute { offset: body_offset + start, len: i - start, unsafe_concat: unsafe_concat(expr) });
        from = i;
    }
    out
}

/// Concatenation (`||` or `format('%s')`) without the quoting functions.
pub(crate) fn unsafe_concat(expr: &str) -> bool {
    let l = expr.to_ascii_lowercase();
    let quoted = l.contains("quote_ident") || l.contains("quote_literal") || l.contains("quote_nullable");
    let concat = l.contains("||") || l.contains("concat(");
    let format_s = l.contains("format(") && l.contains("%s");
    (concat && !quoted) || format_s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_statements_and_dynamic_sql() {
        let body = " DECLARE t text; BEGIN IF true THEN ALTER TABLE a ADD COLUMN b int; END IF; EXECUTE 'DROP TABLE x'; EXECUTE 'ALTER TABLE ' || t || ' DROP COLUMN y'; END ";
        let (stmts, dynamic, err) = analyse_body(body, Some(100), 0);
        assert!(err.is_none());
        assert_eq!(stmts.len(), 2);
        assert_eq!(stmts[0].sql, "ALTER TABLE a ADD COLUMN b int");
        assert_eq!(stmts[0].offset, 100 + body.find("ALTER TABLE a").unwrap());
        assert_eq!(stmts[1].sql, "DROP TABLE x");
        assert_eq!(dynamic.len(), 1);
        assert!(dynamic[0].unsafe_concat);
    }
}
