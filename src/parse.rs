//! The only module (with its DO-block helper) that sees pg_query: turns one
//! statement's text into a [`ParsedStatement`] in migrade's own terms.

use crate::ir::*;
use pg_query::NodeEnum;
use pg_query::protobuf::{self, AlterTableType, ConstrType, DropBehavior, Node, ObjectType, TransactionStmtKind};
use serde_json::Value;

/// Only pg_query's parse of one statement (grammar, protobuf encoding and decoding),
/// no conversion: for the benchmark's measure of the parser's own cost.
#[doc(hidden)]
pub fn pg_query_only(sql: &str) -> bool {
    pg_query::parse(sql, 0).is_ok()
}

/// Parses one statement (its text without the final `;`). `offset` is the
/// statement's byte offset in the file, used to locate SQL inside DO blocks.
pub fn parse_statement(sql: &str, offset: usize) -> Result<ParsedStatement, ParseError> {
    let result = pg_query::parse(sql, 0).map_err(|e| ParseError { message: clean_error(&e.to_string()) })?;
    let stmts = &result.protobuf.stmts;
    let Some(raw) = stmts.first() else {
        if sql.contains('\u{a0}') {
            return Err(ParseError {
                message: "the statement is a stray no-break space (U+00A0), which PostgreSQL reads as a name, not as whitespace: syntax error".into(),
            });
        }
        return Ok(ParsedStatement {
            text: Default::default(),
            op: Op::Other,
            summary: "(empty)".into(),
            refuses_transaction: None,
            reads: Vec::new(),
        });
    };
    let Some(node) = raw.stmt.as_ref().and_then(|n| n.node.as_ref()) else {
        return Ok(ParsedStatement {
            text: Default::default(),
            op: Op::Other,
            summary: "(empty)".into(),
            refuses_transaction: None,
            reads: Vec::new(),
        });
    };
    let mut parsed = convert(node, sql, offset);
    // Tables read by queries inside the statement (views, CTAS, INSERT ... SELECT, MERGE sources).
    let target = parsed_target(&parsed.op);
    for (name, ctx) in &result.tables {
        if *ctx == pg_query::Context::Select {
            let bare = name.rsplit('.').next().unwrap_or(name).to_string();
            if Some(bare.as_str()) != target.as_deref() && !parsed.reads.contains(&bare) {
                parsed.reads.push(bare);
            }
        }
    }
    // pg_query's table list skips the source of `UPDATE ... SET (a, b) = (SELECT ...)`
    // (a MultiAssignRef): read its tables from the subquery's own text.
    if let NodeEnum::UpdateStmt(u) = node {
        for t in &u.target_list {
            if let Some(NodeEnum::ResTarget(rt)) = t.node.as_ref()
                && let Some(NodeEnum::MultiAssignRef(m)) = rt.val.as_deref().and_then(|v| v.node.as_ref())
                && let Some(src) = m.source.as_deref()
                && let Some(text) = deparse_expr(src)
                && let Ok(r) = pg_query::parse(&format!("SELECT {text}"), 0)
            {
                for (name, ctx) in &r.tables {
                    let bare = name.rsplit('.').next().unwrap_or(name).to_string();
                    if *ctx == pg_query::Context::Select && Some(bare.as_str()) != target.as_deref() {
                        parsed.reads.push(bare);
                    }
                }
            }
        }
    }
    // pg_query lists tables in hash order: sort for stable output.
    parsed.reads.sort();
    parsed.reads.dedup();
    parsed.text = text_facts(sql, &result, &parsed.op);
    Ok(parsed)
}

/// What rules need of the statement's text (see [`TextFacts`]).
fn text_facts(sql: &str, result: &pg_query::ParseResult, op: &Op) -> TextFacts {
    let lower = sql.to_ascii_lowercase();
    TextFacts {
        strings: string_literals(sql),
        connection_password: connection_string_password(&lower),
        sslmode_disable: lower.contains("sslmode") && lower.replace(' ', "").contains("sslmode=disable"),
        calls_gen_random_uuid: lower.contains("gen_random_uuid") && tree_calls(result, "gen_random_uuid"),
        sequence_words: sequence_words(sql, &lower, op),
    }
}

/// The string constants of a statement: `'...'` (with `''` for a quote), `E'...'` (with
/// backslash escapes kept as written), dollar-quoted bodies; comments and `"identifiers"`
/// are skipped.
fn string_literals(sql: &str) -> Vec<String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(b.len(), |n| i + n);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
            }
            b'"' => {
                i = sql[i + 1..].find('"').map_or(b.len(), |n| i + 1 + n + 1);
            }
            b'\'' => {
                let escapes = i > 0 && matches!(b[i - 1], b'e' | b'E') && (i < 2 || !b[i - 2].is_ascii_alphanumeric());
                let mut j = i + 1;
                let mut text = String::new();
                while j < b.len() {
                    if escapes && b[j] == b'\\' && j + 1 < b.len() {
                        j += 2;
                        continue;
                    }
                    if b[j] == b'\'' {
                        if b.get(j + 1) == Some(&b'\'') {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    j += 1;
                }
                if let Some(body) = sql.get(i + 1..j.min(b.len())) {
                    text.push_str(&body.replace("''", "'"));
                }
                out.push(text);
                i = j + 1;
            }
            b'$' => {
                // $tag$ ... $tag$ (a tag is empty or an identifier not starting with a digit).
                let tag_end = sql[i + 1..].find('$').map(|n| i + 1 + n);
                let tag = tag_end.map(|e| &sql[i..=e]);
                match (tag, tag_end) {
                    (Some(tag), Some(e))
                        if tag[1..tag.len() - 1].bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
                            && !tag.as_bytes().get(1).is_some_and(u8::is_ascii_digit) =>
                    {
                        let body_start = e + 1;
                        match sql[body_start..].find(tag) {
                            Some(n) => {
                                out.push(sql[body_start..body_start + n].to_string());
                                i = body_start + n + tag.len();
                            }
                            None => i = b.len(),
                        }
                    }
                    _ => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// `password=...` in a libpq string, or `scheme://user:password@host` in a URL
/// (`l`: the statement, ASCII-lowercased once by [`text_facts`]).
fn connection_string_password(l: &str) -> bool {
    if !(l.contains("password") || l.contains("postgres")) {
        return false;
    }
    if l.trim_start().starts_with("comment") {
        return false;
    }
    if let Some(i) = l.find("password=") {
        let rest = &l[i + 9..];
        if rest.chars().next().is_some_and(|c| !c.is_whitespace() && c != '\'' && c != ')') {
            return true;
        }
    }
    for scheme in ["postgres://", "postgresql://"] {
        if let Some(i) = l.find(scheme) {
            let rest = &l[i + scheme.len()..];
            let end = rest.find(|c: char| c == '\'' || c.is_whitespace()).unwrap_or(rest.len());
            let auth = &rest[..end];
            if let Some(at) = auth.find('@')
                && auth[..at].contains(':')
            {
                return true;
            }
        }
    }
    false
}

/// A statement that may advance a sequence: a call of `setval(...)` (also in a DO
/// block), or `ALTER SEQUENCE ... RESTART` / `ALTER TABLE ... ALTER COLUMN ... RESTART`.
/// Its words (lowercase), so that a rule can see which table or sequence it names.
fn sequence_words(sql: &str, ascii_lower: &str, op: &Op) -> Option<Vec<String>> {
    // Most statements neither call setval nor alter a sequence: no lowercase copy for them.
    if !ascii_lower.contains("setval") && !matches!(op, Op::AlterSequence { .. } | Op::AlterTable { .. }) {
        return None;
    }
    let lower = sql.to_lowercase();
    let setval = lower.match_indices("setval").any(|(i, _)| {
        let before_ok = !lower[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        before_ok && lower[i + "setval".len()..].trim_start().starts_with('(')
    });
    let words = || -> Vec<String> {
        lower.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')).map(str::to_string).collect()
    };
    if setval {
        return Some(words());
    }
    if matches!(op, Op::AlterSequence { .. } | Op::AlterTable { .. }) {
        let w = words();
        if w.iter().any(|x| x == "restart") {
            return Some(w);
        }
    }
    None
}

/// SQL text of a WHERE expression, via the deparser: only nodes from the
/// original tree are used (a hand-built node with default enum values trips
/// libpg_query's assertions).
fn deparse_where(relation: &Option<protobuf::RangeVar>, expr: &Node) -> Option<String> {
    let stmt = protobuf::DeleteStmt {
        relation: relation.clone(),
        using_clause: vec![],
        where_clause: Some(Box::new(expr.clone())),
        returning_clause: None,
        with_clause: None,
    };
    let s = NodeEnum::DeleteStmt(Box::new(stmt)).deparse(Default::default()).ok()?;
    s.split_once(" WHERE ").map(|(_, w)| w.to_string())
}

/// The table a DML statement writes (not counted as a read).
fn parsed_target(op: &Op) -> Option<String> {
    match op {
        Op::Insert { table, .. } | Op::Update { table, .. } | Op::Delete { table, .. } | Op::Merge { table } => {
            Some(table.name.clone())
        }
        _ => None,
    }
}

fn clean_error(msg: &str) -> String {
    msg.trim_start_matches("Invalid statement: ").to_string()
}

fn sval(node: &Node) -> Option<&str> {
    match node.node.as_ref()? {
        NodeEnum::String(s) => Some(&s.sval),
        _ => None,
    }
}

fn strings(list: &[Node]) -> Vec<String> {
    list.iter().filter_map(sval).map(str::to_string).collect()
}

fn qname_from_list(list: &[Node]) -> QName {
    let parts = strings(list);
    match parts.len() {
        0 => QName::default(),
        1 => QName::new(parts[0].clone()),
        n => QName { schema: Some(parts[n - 2].clone()), name: parts[n - 1].clone() },
    }
}

fn rangevar(rv: &protobuf::RangeVar) -> QName {
    QName {
        schema: if rv.schemaname.is_empty() { None } else { Some(rv.schemaname.clone()) },
        name: rv.relname.clone(),
    }
}

/// The tables of a list of RangeVar nodes (LOCK, TRUNCATE).
fn rangevars(list: &[Node]) -> Vec<QName> {
    list.iter()
        .filter_map(|n| match n.node.as_ref()? {
            NodeEnum::RangeVar(rv) => Some(rangevar(rv)),
            _ => None,
        })
        .collect()
}

fn opt_rv(rv: &Option<protobuf::RangeVar>) -> QName {
    rv.as_ref().map(rangevar).unwrap_or_default()
}

fn const_int(node: &Node) -> Option<i64> {
    match node.node.as_ref()? {
        NodeEnum::AConst(c) => match c.val.as_ref()? {
            protobuf::a_const::Val::Ival(i) => Some(i.ival as i64),
            _ => None,
        },
        _ => None,
    }
}

/// Normalises a type name to PostgreSQL's internal one and a readable form.
pub(crate) fn type_ref(t: &protobuf::TypeName) -> TypeRef {
    let mut names = strings(&t.names);
    if names.len() > 1 && names[0] == "pg_catalog" {
        names.remove(0);
    }
    let name = names.last().cloned().unwrap_or_default();
    let name = match name.as_str() {
        "int" | "integer" => "int4".to_string(),
        "bigint" => "int8".into(),
        "smallint" => "int2".into(),
        "decimal" => "numeric".into(),
        "character varying" => "varchar".into(),
        "timestamp with time zone" => "timestamptz".into(),
        "boolean" => "bool".into(),
        _ => name,
    };
    let mods: Vec<i64> = t.typmods.iter().filter_map(const_int).collect();
    let array = !t.array_bounds.is_empty();
    let base = match name.as_str() {
        "int4" => "integer".to_string(),
        "int8" => "bigint".into(),
        "int2" => "smallint".into(),
        "float8" => "double precision".into(),
        "float4" => "real".into(),
        "bool" => "boolean".into(),
        "bpchar" => "char".into(),
        _ => {
            if names.len() > 1 {
                names.iter().map(|n| quote_ident(n)).collect::<Vec<_>>().join(".")
            } else {
                quote_ident(&name)
            }
        }
    };
    let mut display = base;
    if !mods.is_empty() {
        display.push('(');
        display.push_str(&mods.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(","));
        display.push(')');
    }
    if array {
        display.push_str("[]");
    }
    TypeRef { name, mods, array, display }
}

/// Every function called anywhere inside a node (found through its serde form).
fn func_names(node: &Node) -> Vec<String> {
    if let Ok(names) = serde_walk::last_names(node, "FuncCall", "funcname") {
        return names;
    }
    let v = match serde_json::to_value(node) {
        Ok(v) => v,
        Err(_) => return vec!["(unreadable expression)".into()],
    };
    let mut out = Vec::new();
    walk_json(&v, &mut |k, val| {
        if k == "FuncCall"
            && let Some(parts) = val.get("funcname").and_then(Value::as_array)
            && let Some(last) = parts.last()
            && let Some(s) = last.pointer("/node/String/sval").and_then(Value::as_str)
        {
            out.push(s.to_string());
        }
    });
    out
}

/// A window function call (`... OVER (...)`) anywhere inside a node.
fn has_window_call(node: &Node) -> bool {
    let (mut overs, mut nulls) = (0usize, 0usize);
    let walked = serde_walk::walk(node, |e| match e {
        serde_walk::Event::Key([.., serde_walk::Step::Key("over")]) => overs += 1,
        serde_walk::Event::Null([.., serde_walk::Step::Key("over")]) => nulls += 1,
        _ => {}
    });
    if walked.is_ok() {
        return overs > nulls;
    }
    let Ok(v) = serde_json::to_value(node) else {
        return true;
    };
    let mut found = false;
    walk_json(&v, &mut |k, val| {
        if k == "over" && !val.is_null() {
            found = true;
        }
    });
    found
}

fn json_has_key(node: &Node, key: &str) -> bool {
    let mut found = false;
    let walked = serde_walk::walk(node, |e| {
        if let serde_walk::Event::Key([.., serde_walk::Step::Key(k)]) = e
            && *k == key
        {
            found = true;
        }
    });
    if walked.is_ok() {
        return found;
    }
    let Ok(v) = serde_json::to_value(node) else {
        return false;
    };
    let mut found = false;
    walk_json(&v, &mut |k, _| {
        if k == key {
            found = true;
        }
    });
    found
}

fn walk_json(v: &Value, f: &mut dyn FnMut(&str, &Value)) {
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                f(k, val);
                walk_json(val, f);
            }
        }
        Value::Array(a) => {
            for x in a {
                walk_json(x, f);
            }
        }
        _ => {}
    }
}

const VOLATILE_FUNCS: &[&str] = &[
    "random",
    "clock_timestamp",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "uuid_generate_v7",
    "nextval",
    "timeofday",
    "setseed",
    "gen_random_bytes",
    "txid_current",
    "pg_current_xact_id",
    "random_normal",
];

const NON_VOLATILE_FUNCS: &[&str] = &[
    "now",
    "transaction_timestamp",
    "statement_timestamp",
    "current_timestamp",
    "current_date",
    "localtimestamp",
    "lower",
    "upper",
    "concat",
    "to_jsonb",
    "to_json",
    "jsonb_build_object",
    "json_build_object",
    "jsonb_build_array",
    "json_build_array",
    "array",
    "make_interval",
    "make_date",
    "timezone",
    "date_trunc",
    "to_timestamp",
    "to_char",
    "to_date",
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "length",
    "md5",
    "trim",
    "btrim",
    "replace",
    "current_setting",
    "current_user",
    "session_user",
    "inet_client_addr",
    "abs",
    "round",
    "floor",
    "ceil",
    "extract",
    "date_part",
    "array_fill",
    "string_to_array",
    "encode",
    "decode",
    "row",
    "point",
    "tsrange",
    "tstzrange",
    "daterange",
    "int4range",
    "numrange",
    "uuid_nil",
    "jsonb_object",
    "array_length",
    "format",
    "left",
    "right",
    "substr",
    "substring",
];

fn default_kind(expr: &Node) -> DefaultKind {
    if let Some(NodeEnum::AConst(c)) = expr.node.as_ref()
        && c.isnull
    {
        return DefaultKind::Null;
    }
    let mut unknown = Vec::new();
    for f in func_names(expr) {
        let lf = f.to_ascii_lowercase();
        if VOLATILE_FUNCS.contains(&lf.as_str()) {
            return DefaultKind::Volatile(format!("{lf}()"));
        }
        if !NON_VOLATILE_FUNCS.contains(&lf.as_str()) && !unknown.contains(&lf) {
            unknown.push(lf);
        }
    }
    if json_has_key(expr, "SubLink") {
        return DefaultKind::Volatile("a subquery".into());
    }
    if unknown.is_empty() { DefaultKind::NonVolatile } else { DefaultKind::UserFunctions(unknown) }
}

/// The body of a function written as one string (`AS $$ ... $$`), parsed.
fn parsed_body(f: &protobuf::CreateFunctionStmt) -> Option<pg_query::ParseResult> {
    let body =
        def_elems(&f.options).find(|d| d.defname == "as").and_then(|d| match d.arg.as_deref()?.node.as_ref()? {
            NodeEnum::List(l) => l.items.first().and_then(sval).map(str::to_string),
            NodeEnum::String(s) => Some(s.sval.clone()),
            _ => None,
        })?;
    pg_query::parse(&body, 0).ok()
}

/// Whether calling the function `f` in a DEFAULT is not volatile (see
/// [`Op::CreateFunction`]'s `non_volatile`).
fn function_non_volatile(f: &protobuf::CreateFunctionStmt, language: Option<&str>, security_definer: bool) -> bool {
    let mut strict = false;
    let mut sets = false;
    for d in def_elems(&f.options) {
        match d.defname.as_str() {
            "volatility"
                if def_string(d)
                    .is_some_and(|v| v.eq_ignore_ascii_case("immutable") || v.eq_ignore_ascii_case("stable")) =>
            {
                return true;
            }
            "strict" => strict = def_string(d).is_some_and(|v| v == "true"),
            "set" => sets = true,
            _ => {}
        }
    }
    let setof = f.return_type.as_ref().is_some_and(|t| t.setof);
    if !language.is_some_and(|l| l.eq_ignore_ascii_case("sql")) || security_definer || strict || sets || setof {
        return false;
    }
    let Some(r) = parsed_body(f) else {
        return false;
    };
    let [stmt] = r.protobuf.stmts.as_slice() else {
        return false;
    };
    let Some(NodeEnum::SelectStmt(sel)) = stmt.stmt.as_ref().and_then(|n| n.node.as_ref()) else {
        return false;
    };
    let simple = sel.from_clause.is_empty()
        && sel.where_clause.is_none()
        && sel.group_clause.is_empty()
        && sel.having_clause.is_none()
        && sel.window_clause.is_empty()
        && sel.sort_clause.is_empty()
        && sel.limit_count.is_none()
        && sel.limit_offset.is_none()
        && sel.with_clause.is_none()
        && sel.distinct_clause.is_empty()
        && sel.values_lists.is_empty()
        && sel.larg.is_none()
        && sel.target_list.len() == 1;
    if !simple {
        return false;
    }
    let Some(NodeEnum::ResTarget(rt)) = sel.target_list[0].node.as_ref() else {
        return false;
    };
    rt.val.as_deref().is_some_and(|v| matches!(default_kind(v), DefaultKind::NonVolatile))
}

fn fk_ref(c: &protobuf::Constraint) -> ForeignKeyRef {
    // PostgreSQL's codes (parsenodes.h FKCONSTR_ACTION_*): `a` NO ACTION is the default.
    let action = |code: &str| match code {
        "n" => Some("SET NULL".to_string()),
        "c" => Some("CASCADE".into()),
        "d" => Some("SET DEFAULT".into()),
        "r" => Some("RESTRICT".into()),
        _ => None,
    };
    ForeignKeyRef {
        table: opt_rv(&c.pktable),
        columns: strings(&c.pk_attrs),
        on_delete: action(&c.fk_del_action),
        on_update: action(&c.fk_upd_action),
        match_full: c.fk_matchtype == "f",
        deferrable: c.deferrable,
        initially_deferred: c.initdeferred,
    }
}

/// Columns a WHERE clause of an UPDATE of `table` restricts to `IS NULL`: the clause is
/// `col IS NULL`, an AND whose operands include it (operands of OR or NOT restrict
/// nothing), or a bounded batch `key IN (SELECT key FROM table WHERE col IS NULL ... LIMIT n)`.
fn where_null_columns(expr: &Node, table: &str, out: &mut Vec<String>) {
    let column = |n: Option<&Node>| match n.and_then(|n| n.node.as_ref()) {
        Some(NodeEnum::ColumnRef(cr)) => cr.fields.last().and_then(sval).map(str::to_string),
        _ => None,
    };
    match expr.node.as_ref() {
        Some(NodeEnum::SubLink(s)) if s.sub_link_type == protobuf::SubLinkType::AnySublink as i32 => {
            let Some(NodeEnum::SelectStmt(sel)) = s.subselect.as_ref().and_then(|n| n.node.as_ref()) else {
                return;
            };
            let key = column(s.testexpr.as_deref());
            if key.is_some()
                && key == batch_key(sel, table)
                && let Some(w) = sel.where_clause.as_deref()
            {
                where_null_columns(w, table, out);
            }
        }
        Some(NodeEnum::NullTest(nt)) if nt.nulltesttype == protobuf::NullTestType::IsNull as i32 => {
            if let Some(NodeEnum::ColumnRef(cr)) = nt.arg.as_ref().and_then(|a| a.node.as_ref())
                && let Some(c) = cr.fields.last().and_then(sval)
            {
                out.push(c.to_string());
            }
        }
        Some(NodeEnum::BoolExpr(b)) if b.boolop == protobuf::BoolExprType::AndExpr as i32 => {
            for a in &b.args {
                where_null_columns(a, table, out);
            }
        }
        _ => {}
    }
}

/// The one column a batch subquery selects from `table` itself (`SELECT key FROM table ...`).
fn batch_key(sel: &protobuf::SelectStmt, table: &str) -> Option<String> {
    let same_table = matches!(sel.from_clause.as_slice(), [f] if matches!(f.node.as_ref(), Some(NodeEnum::RangeVar(rv)) if rv.relname == table));
    match sel.target_list.as_slice() {
        [t] if same_table => match t.node.as_ref() {
            Some(NodeEnum::ResTarget(r)) => match r.val.as_deref().and_then(|n| n.node.as_ref()) {
                Some(NodeEnum::ColumnRef(cr)) => cr.fields.last().and_then(sval).map(str::to_string),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// Columns a batch joined in FROM restricts to `IS NULL`: `UPDATE t u SET ... FROM
/// (SELECT key FROM t WHERE col IS NULL ... LIMIT n) b WHERE u.key = b.key` writes only the
/// rows the subquery picked (one bounded batch with its LIMIT), like the `key IN (SELECT
/// ...)` form of where_null_columns.
fn from_batch_null_columns(u: &protobuf::UpdateStmt, out: &mut Vec<String>) {
    let table = opt_rv(&u.relation).name;
    let target = u.relation.as_ref().and_then(|r| r.alias.as_ref()).map_or(table.as_str(), |a| a.aliasname.as_str());
    let [from] = u.from_clause.as_slice() else {
        return;
    };
    let Some(NodeEnum::RangeSubselect(rs)) = from.node.as_ref() else {
        return;
    };
    let (Some(alias), Some(NodeEnum::SelectStmt(sel))) =
        (rs.alias.as_ref(), rs.subquery.as_ref().and_then(|n| n.node.as_ref()))
    else {
        return;
    };
    let (Some(key), Some(w), Some(sub_where)) =
        (batch_key(sel, &table), u.where_clause.as_deref(), sel.where_clause.as_deref())
    else {
        return;
    };
    if joins_on(w, target, &alias.aliasname, &key) {
        where_null_columns(sub_where, &table, out);
    }
}

/// The WHERE is, or ANDs, `a.key = b.key` (either way round).
fn joins_on(expr: &Node, a: &str, b: &str, key: &str) -> bool {
    let qualified = |n: Option<&Node>| match n.and_then(|n| n.node.as_ref()) {
        Some(NodeEnum::ColumnRef(cr)) => match cr.fields.as_slice() {
            [q, c] => sval(q).zip(sval(c)).map(|(q, c)| (q.to_string(), c.to_string())),
            _ => None,
        },
        _ => None,
    };
    match expr.node.as_ref() {
        Some(NodeEnum::AExpr(e))
            if e.kind == protobuf::AExprKind::AexprOp as i32
                && matches!(e.name.as_slice(), [n] if sval(n) == Some("=")) =>
        {
            match (qualified(e.lexpr.as_deref()), qualified(e.rexpr.as_deref())) {
                (Some((lq, lc)), Some((rq, rc))) => {
                    lc == key && rc == key && ((lq == a && rq == b) || (lq == b && rq == a))
                }
                _ => false,
            }
        }
        Some(NodeEnum::BoolExpr(x)) if x.boolop == protobuf::BoolExprType::AndExpr as i32 => {
            x.args.iter().any(|n| joins_on(n, a, b, key))
        }
        _ => false,
    }
}

/// The statement's tree calls the function `name` (a call, not a mention in a comment,
/// a string or a function body). pg_query's own function list misses calls in some
/// places (VALUES lists): the whole tree is walked, through its serde form.
fn tree_calls(result: &pg_query::ParseResult, name: &str) -> bool {
    if let Ok(names) = serde_walk::last_names(&result.protobuf, "FuncCall", "funcname") {
        return names.iter().any(|n| n == name);
    }
    let Ok(tree) = serde_json::to_value(&result.protobuf) else {
        return false;
    };
    fn walk(v: &serde_json::Value, name: &str) -> bool {
        match v {
            serde_json::Value::Object(m) => {
                let called =
                    m.get("FuncCall").and_then(|c| c.get("funcname")).and_then(|f| f.as_array()).is_some_and(|parts| {
                        parts.last().and_then(|p| p.pointer("/node/String/sval")).and_then(|s| s.as_str()) == Some(name)
                    });
                called || m.values().any(|x| walk(x, name))
            }
            serde_json::Value::Array(a) => a.iter().any(|x| walk(x, name)),
            _ => false,
        }
    }
    walk(&tree, name)
}

/// `CHECK (col IS NOT NULL)`: returns the column.
fn not_null_check_column(expr: &Node) -> Option<String> {
    match expr.node.as_ref()? {
        NodeEnum::NullTest(nt) if nt.nulltesttype == protobuf::NullTestType::IsNotNull as i32 => {
            match nt.arg.as_ref()?.node.as_ref()? {
                NodeEnum::ColumnRef(cr) => cr.fields.last().and_then(sval).map(str::to_string),
                _ => None,
            }
        }
        _ => None,
    }
}

fn constraint_spec(c: &protobuf::Constraint, column: Option<&str>) -> Option<ConstraintSpec> {
    let kind = match ConstrType::try_from(c.contype).ok()? {
        ConstrType::ConstrCheck => ConstraintKind::Check,
        ConstrType::ConstrForeign => ConstraintKind::ForeignKey,
        ConstrType::ConstrUnique => ConstraintKind::Unique,
        ConstrType::ConstrPrimary => ConstraintKind::PrimaryKey,
        ConstrType::ConstrExclusion => ConstraintKind::Exclude,
        ConstrType::ConstrNotnull => ConstraintKind::NotNull,
        _ => return None,
    };
    let mut columns = match kind {
        ConstraintKind::ForeignKey => strings(&c.fk_attrs),
        // A CHECK's columns are those its expression reads, wherever it is written
        // (PostgreSQL: it depends on them, DROP COLUMN drops it, and an unnamed one is
        // named after its column when it reads one).
        ConstraintKind::Check => {
            let mut read = Vec::new();
            if let Some(e) = c.raw_expr.as_deref() {
                column_refs(e, &mut read);
            }
            read
        }
        _ => strings(&c.keys),
    };
    if columns.is_empty()
        && kind != ConstraintKind::Check
        && let Some(col) = column
    {
        columns.push(col.to_string());
    }
    Some(ConstraintSpec {
        kind,
        name: if c.conname.is_empty() { None } else { Some(c.conname.clone()) },
        columns,
        not_valid: c.skip_validation,
        using_index: if c.indexname.is_empty() { None } else { Some(c.indexname.clone()) },
        nulls_not_distinct: c.nulls_not_distinct,
        include: strings(&c.including),
        deferrable: c.deferrable,
        initially_deferred: c.initdeferred,
        not_null_check_of: if kind == ConstraintKind::Check {
            c.raw_expr.as_deref().and_then(not_null_check_column)
        } else {
            None
        },
        references: if kind == ConstraintKind::ForeignKey { Some(fk_ref(c)) } else { None },
        expr_sql: if kind == ConstraintKind::Check { c.raw_expr.as_deref().and_then(deparse_expr) } else { None },
    })
}

fn column_spec(cd: &protobuf::ColumnDef) -> ColumnSpec {
    let mut col = ColumnSpec {
        name: cd.colname.clone(),
        type_ref: cd.type_name.as_ref().map(type_ref).unwrap_or_default(),
        not_null: cd.is_not_null,
        ..Default::default()
    };
    if let Some(d) = cd.raw_default.as_deref() {
        col.default = Some(default_kind(d));
        col.default_sql = lazy_expr(d);
        col.default_literal = is_string_literal(d);
    }
    if !cd.identity.is_empty() {
        col.identity = true;
        col.identity_always = cd.identity == "a";
        col.identity_options = Some(Vec::new());
    }
    if let Some(cc) = &cd.coll_clause {
        col.collation = strings(&cc.collname).last().cloned();
    }
    for (i, c) in cd.constraints.iter().enumerate() {
        let Some(NodeEnum::Constraint(c)) = c.node.as_ref() else {
            continue;
        };
        let (deferrable, initially_deferred) = column_deferral(&cd.constraints, i, c);
        match ConstrType::try_from(c.contype) {
            Ok(ConstrType::ConstrNotnull) => col.not_null = true,
            Ok(ConstrType::ConstrNull) => col.not_null = false,
            Ok(ConstrType::ConstrDefault) => {
                if let Some(e) = c.raw_expr.as_deref() {
                    col.default = Some(default_kind(e));
                    col.default_sql = lazy_expr(e);
                    col.default_literal = is_string_literal(e);
                }
            }
            Ok(ConstrType::ConstrIdentity) => {
                col.identity = true;
                col.identity_always = c.generated_when == "a";
                col.identity_options = sequence_options(&c.options);
            }
            Ok(ConstrType::ConstrGenerated) => {
                // PG 18: VIRTUAL is the default kind; "s" is STORED.
                if c.generated_kind == "v" {
                    col.generated_virtual = true;
                } else {
                    col.generated_stored = true;
                }
            }
            Ok(ConstrType::ConstrCheck) => {
                col.check = true;
                let mut columns = Vec::new();
                if let Some(e) = c.raw_expr.as_deref() {
                    column_refs(e, &mut columns);
                }
                col.checks.push(crate::ir::ColumnCheck {
                    name: (!c.conname.is_empty()).then(|| c.conname.clone()),
                    expr_sql: c.raw_expr.as_deref().map(lazy_expr).unwrap_or_default(),
                    columns,
                });
            }
            Ok(ConstrType::ConstrUnique) => {
                col.unique = true;
                (col.key_deferrable, col.key_initially_deferred) = (deferrable, initially_deferred);
                col.key_nulls_not_distinct = c.nulls_not_distinct;
            }
            Ok(ConstrType::ConstrPrimary) => {
                col.primary_key = true;
                col.not_null = true;
                (col.key_deferrable, col.key_initially_deferred) = (deferrable, initially_deferred);
            }
            Ok(ConstrType::ConstrForeign) => {
                let mut r = fk_ref(c);
                (r.deferrable, r.initially_deferred) = (deferrable, initially_deferred);
                col.references = Some(r);
                col.references_name = (!c.conname.is_empty()).then(|| c.conname.clone());
            }
            _ => {}
        }
    }
    col
}

/// The deferral of a column's constraint `constraints[i]` (`c`): in the raw parse tree a
/// column's `DEFERRABLE` / `INITIALLY DEFERRED` are nodes of their own after the
/// constraint they qualify (PostgreSQL folds them in at parse analysis).
fn column_deferral(constraints: &[Node], i: usize, c: &protobuf::Constraint) -> (bool, bool) {
    let (mut deferrable, mut deferred) = (c.deferrable, c.initdeferred);
    for n in constraints.iter().skip(i + 1) {
        let Some(NodeEnum::Constraint(a)) = n.node.as_ref() else {
            break;
        };
        match ConstrType::try_from(a.contype) {
            Ok(ConstrType::ConstrAttrDeferrable) => deferrable = true,
            Ok(ConstrType::ConstrAttrNotDeferrable) => deferrable = false,
            // INITIALLY DEFERRED implies DEFERRABLE.
            Ok(ConstrType::ConstrAttrDeferred) => (deferrable, deferred) = (true, true),
            Ok(ConstrType::ConstrAttrImmediate) => deferred = false,
            _ => break,
        }
    }
    (deferrable, deferred)
}

fn behavior_cascade(b: i32) -> bool {
    b == DropBehavior::DropCascade as i32
}

fn obj_kind(t: i32) -> ObjKind {
    match ObjectType::try_from(t) {
        Ok(ObjectType::ObjectTable) => ObjKind::Table,
        Ok(ObjectType::ObjectIndex) => ObjKind::Index,
        Ok(ObjectType::ObjectView) => ObjKind::View,
        Ok(ObjectType::ObjectMatview) => ObjKind::MaterializedView,
        Ok(ObjectType::ObjectSequence) => ObjKind::Sequence,
        Ok(ObjectType::ObjectSchema) => ObjKind::Schema,
        Ok(ObjectType::ObjectFunction) | Ok(ObjectType::ObjectRoutine) | Ok(ObjectType::ObjectAggregate) => {
            ObjKind::Function
        }
        Ok(ObjectType::ObjectProcedure) => ObjKind::Procedure,
        Ok(ObjectType::ObjectType) => ObjKind::Type,
        Ok(ObjectType::ObjectDomain) => ObjKind::Domain,
        Ok(ObjectType::ObjectTrigger) => ObjKind::Trigger,
        Ok(ObjectType::ObjectPolicy) => ObjKind::Policy,
        Ok(ObjectType::ObjectExtension) => ObjKind::Extension,
        Ok(ObjectType::ObjectForeignTable) => ObjKind::ForeignTable,
        Ok(ObjectType::ObjectColumn) => ObjKind::Column,
        Ok(ObjectType::ObjectTabconstraint) | Ok(ObjectType::ObjectDomconstraint) => ObjKind::Constraint,
        _ => ObjKind::Other,
    }
}

/// For DROP TRIGGER/POLICY: the trigger's or policy's own name, per listed object.
fn drop_sub_names(objects: &[Node], kind: ObjKind) -> Vec<String> {
    if !matches!(kind, ObjKind::Trigger | ObjKind::Policy) {
        return Vec::new();
    }
    objects
        .iter()
        .map(|o| match o.node.as_ref() {
            Some(NodeEnum::List(l)) if l.items.len() >= 2 => match l.items.last().and_then(|n| n.node.as_ref()) {
                Some(NodeEnum::String(s)) => s.sval.clone(),
                _ => String::new(),
            },
            _ => String::new(),
        })
        .collect()
}

/// Names of the objects a DROP lists.
fn drop_names(objects: &[Node], kind: ObjKind) -> Vec<QName> {
    objects
        .iter()
        .filter_map(|o| match o.node.as_ref()? {
            NodeEnum::List(l) => {
                // DROP TRIGGER/POLICY name ON table: [table..., name]; we keep the table.
                if matches!(kind, ObjKind::Trigger | ObjKind::Policy) && l.items.len() >= 2 {
                    Some(qname_from_list(&l.items[..l.items.len() - 1]))
                } else {
                    Some(qname_from_list(&l.items))
                }
            }
            NodeEnum::String(s) => Some(QName::new(s.sval.clone())),
            NodeEnum::TypeName(t) => Some(qname_from_list(&t.names)),
            NodeEnum::ObjectWithArgs(o) => Some(qname_from_list(&o.objname)),
            _ => None,
        })
        .collect()
}

/// A type in a function signature: the normalized name, `[]` for an array (PostgreSQL
/// ignores type modifiers there).
fn signature_type(t: &protobuf::TypeName) -> String {
    if t.pct_type {
        return "%TYPE".to_string();
    }
    let r = type_ref(t);
    if r.array { format!("{}[]", r.name) } else { r.name }
}

/// Per dropped function or procedure: its argument types, when an argument list is written.
fn drop_args(objects: &[Node]) -> Vec<Option<Vec<String>>> {
    objects
        .iter()
        .map(|o| match o.node.as_ref() {
            Some(NodeEnum::ObjectWithArgs(o)) if !o.args_unspecified => Some(
                o.objargs
                    .iter()
                    .filter_map(|a| match a.node.as_ref() {
                        Some(NodeEnum::TypeName(t)) => Some(signature_type(t)),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// The input parameters of a CREATE FUNCTION / PROCEDURE (not OUT, not RETURNS TABLE).
fn input_params(f: &protobuf::CreateFunctionStmt) -> Vec<&protobuf::FunctionParameter> {
    use protobuf::FunctionParameterMode as M;
    f.parameters
        .iter()
        .filter_map(|p| match p.node.as_ref() {
            Some(NodeEnum::FunctionParameter(p))
                if !matches!(M::try_from(p.mode), Ok(M::FuncParamOut | M::FuncParamTable)) =>
            {
                Some(&**p)
            }
            _ => None,
        })
        .collect()
}

/// A sequence's options (`CREATE SEQUENCE`'s, an identity's `( ... )`) as SQL clauses;
/// None when one is not understood (an odd argument).
fn sequence_options(options: &[Node]) -> Option<Vec<String>> {
    let number = |d: &protobuf::DefElem| match d.arg.as_deref()?.node.as_ref()? {
        NodeEnum::Integer(i) => Some(i.ival.to_string()),
        NodeEnum::Float(f) => Some(f.fval.clone()),
        _ => None,
    };
    let names = |d: &protobuf::DefElem| match d.arg.as_deref()?.node.as_ref()? {
        NodeEnum::List(l) => Some(strings(&l.items).iter().map(|n| quote_ident(n)).collect::<Vec<_>>().join(".")),
        NodeEnum::TypeName(t) => Some(strings(&t.names).iter().map(|n| quote_ident(n)).collect::<Vec<_>>().join(".")),
        _ => None,
    };
    let mut out = Vec::new();
    for n in options {
        let NodeEnum::DefElem(d) = n.node.as_ref()? else {
            return None;
        };
        let clause = match d.defname.as_str() {
            "start" => format!("START WITH {}", number(d)?),
            "increment" => format!("INCREMENT BY {}", number(d)?),
            "cache" => format!("CACHE {}", number(d)?),
            "minvalue" if d.arg.is_none() => "NO MINVALUE".to_string(),
            "maxvalue" if d.arg.is_none() => "NO MAXVALUE".to_string(),
            "minvalue" => format!("MINVALUE {}", number(d)?),
            "maxvalue" => format!("MAXVALUE {}", number(d)?),
            "cycle" => match d.arg.as_deref()?.node.as_ref()? {
                NodeEnum::Boolean(b) if b.boolval => "CYCLE".to_string(),
                NodeEnum::Boolean(_) => "NO CYCLE".to_string(),
                _ => return None,
            },
            "as" => format!("AS {}", names(d)?),
            "sequence_name" => format!("SEQUENCE NAME {}", names(d)?),
            "restart" if d.arg.is_none() => "RESTART".to_string(),
            "restart" => format!("RESTART WITH {}", number(d)?),
            // `OWNED BY NONE` is the name list ["none"].
            "owned_by" => match d.arg.as_deref()?.node.as_ref()? {
                NodeEnum::List(l) if matches!(strings(&l.items).as_slice(), [n] if n == "none") => {
                    "OWNED BY NONE".to_string()
                }
                _ => format!("OWNED BY {}", names(d)?),
            },
            // PostgreSQL 15+: the identity sequence's persistence.
            "logged" if d.arg.is_none() => "LOGGED".to_string(),
            "unlogged" if d.arg.is_none() => "UNLOGGED".to_string(),
            _ => return None,
        };
        out.push(clause);
    }
    Some(out)
}

fn def_string(d: &protobuf::DefElem) -> Option<String> {
    let arg = d.arg.as_deref()?;
    match arg.node.as_ref()? {
        NodeEnum::String(s) => Some(s.sval.clone()),
        NodeEnum::Integer(i) => Some(i.ival.to_string()),
        NodeEnum::Boolean(b) => Some(b.boolval.to_string()),
        NodeEnum::List(l) => Some(strings(&l.items).join(",")),
        NodeEnum::TypeName(t) => Some(strings(&t.names).join(".")),
        _ => None,
    }
}

/// Server-level statements PostgreSQL refuses to run inside a transaction block
/// (checked on PostgreSQL 15: `ERROR: ... cannot run inside a transaction block`).
/// Called from `convert` for the statements it has no IR of its own for (and DROP DATABASE).
fn refuses_transaction(node: &NodeEnum) -> Option<String> {
    let off = |d: &protobuf::DefElem| {
        def_string(d).is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "false" | "off" | "0" | "no"))
    };
    let tag = match node {
        NodeEnum::CreatedbStmt(_) => "CREATE DATABASE",
        NodeEnum::DropdbStmt(_) => "DROP DATABASE",
        NodeEnum::AlterSystemStmt(_) => "ALTER SYSTEM",
        NodeEnum::CreateTableSpaceStmt(_) => "CREATE TABLESPACE",
        NodeEnum::DropTableSpaceStmt(_) => "DROP TABLESPACE",
        NodeEnum::AlterDatabaseStmt(a) if def_elems(&a.options).any(|d| d.defname == "tablespace") => {
            "ALTER DATABASE SET TABLESPACE"
        }
        // create_slot defaults to true, and to false with connect = false.
        NodeEnum::CreateSubscriptionStmt(c)
            if !def_elems(&c.options).any(|d| (d.defname == "create_slot" || d.defname == "connect") && off(d)) =>
        {
            "CREATE SUBSCRIPTION ... WITH (create_slot = true)"
        }
        _ => return None,
    };
    Some(tag.to_string())
}

fn def_elems(list: &[Node]) -> impl Iterator<Item = &protobuf::DefElem> {
    list.iter().filter_map(|n| match n.node.as_ref()? {
        NodeEnum::DefElem(d) => Some(d.as_ref()),
        _ => None,
    })
}

fn has_password_option(options: &[Node]) -> bool {
    def_elems(options).any(|d| {
        d.defname == "password"
            && d.arg.as_deref().and_then(sval).is_some_and(|v| !crate::placeholders::is_placeholder_value(v))
    })
}

/// Dynamic EXECUTEs in a PL/pgSQL function body, located in the file.
fn function_dynamic_sql(
    f: &protobuf::CreateFunctionStmt,
    language: Option<&str>,
    sql: &str,
    offset: usize,
) -> Vec<DynamicExecute> {
    if language.is_some_and(|l| !l.eq_ignore_ascii_case("plpgsql")) {
        return Vec::new();
    }
    let body =
        def_elems(&f.options).find(|d| d.defname == "as").and_then(|d| match d.arg.as_deref()?.node.as_ref()? {
            NodeEnum::List(l) => l.items.first().and_then(sval).map(str::to_string),
            NodeEnum::String(s) => Some(s.sval.clone()),
            _ => None,
        });
    let Some(body) = body else { return Vec::new() };
    // Only EXECUTE builds dynamic SQL: skip the PL/pgSQL parse for bodies without it.
    if !crate::source::contains_ignore_case(&body, "execute") {
        return Vec::new();
    }
    let body_offset = sql.find(body.as_str()).map(|p| offset + p);
    let (_, dynamic, error) = crate::plpgsql::analyse_body(&body, body_offset, offset);
    if error.is_some() {
        // The PL/pgSQL parser gives up on some bodies: scan the tokens instead.
        return crate::plpgsql::scan_executes(&body, body_offset.unwrap_or(offset));
    }
    dynamic
}

fn summary_from_variant(node: &NodeEnum) -> String {
    let dbg = format!("{node:?}");
    let name = dbg.split(['(', ' ', '{']).next().unwrap_or("");
    let name = name.strip_suffix("Stmt").unwrap_or(name);
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

/// The tables a `LANGUAGE sql` function's body reads: with `check_function_bodies` on
/// (the default), CREATE FUNCTION parses and analyses the body (`fmgr_sql_validator`),
/// which opens each table the body reads under ACCESS SHARE (measured on PG 15:
/// fixtures/locks create-function-sql-reads). Not for a function with a polymorphic
/// argument (the body is then only parsed), nor for PL/pgSQL (its validator checks
/// syntax only, no table is opened).
fn sql_function_body_reads(f: &protobuf::CreateFunctionStmt, language: Option<&str>) -> Vec<String> {
    if !language.is_some_and(|l| l.eq_ignore_ascii_case("sql")) {
        return Vec::new();
    }
    let polymorphic = input_params(f).iter().filter_map(|p| p.arg_type.as_ref()).any(|t| {
        let r = type_ref(t);
        r.name.starts_with("any") && r.name != "any"
    });
    if polymorphic {
        return Vec::new();
    }
    let Some(r) = parsed_body(f) else {
        return Vec::new();
    };
    let mut out: Vec<String> = r
        .tables
        .iter()
        .filter(|(_, ctx)| *ctx == pg_query::Context::Select)
        .map(|(name, _)| name.rsplit('.').next().unwrap_or(name).to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// PostgreSQL's name for an expression index column (`FigureColnameInternal`): a
/// column reference's name, a function's name, a cast's argument (else its type), …;
/// `None` gives "expr".
fn figure_colname(node: &Node) -> Option<String> {
    match node.node.as_ref()? {
        NodeEnum::ColumnRef(c) => c.fields.iter().rev().find_map(sval).map(str::to_string),
        NodeEnum::FuncCall(f) => f.funcname.last().and_then(sval).map(str::to_string),
        NodeEnum::TypeCast(t) => t
            .arg
            .as_deref()
            .and_then(figure_colname)
            .or_else(|| t.type_name.as_ref().and_then(|n| n.names.last()).and_then(sval).map(str::to_string)),
        NodeEnum::CoalesceExpr(_) => Some("coalesce".into()),
        NodeEnum::CaseExpr(_) => Some("case".into()),
        _ => None,
    }
}

/// The name PostgreSQL chooses for `CREATE INDEX` without one (`ChooseIndexName` with
/// `ChooseIndexColumnNames`, INCLUDE columns counted).
fn index_auto_name(i: &protobuf::IndexStmt) -> String {
    let mut cols = Vec::new();
    for p in i.index_params.iter().chain(&i.index_including_params) {
        if let Some(NodeEnum::IndexElem(e)) = p.node.as_ref() {
            let n = if !e.indexcolname.is_empty() {
                e.indexcolname.clone()
            } else if !e.name.is_empty() {
                e.name.clone()
            } else {
                e.expr.as_deref().and_then(figure_colname).unwrap_or_else(|| "expr".into())
            };
            cols.push(n);
        }
    }
    let mut addition = String::new();
    for c in cols {
        if !addition.is_empty() {
            addition.push('_');
        }
        addition.push_str(&c);
        if addition.len() >= 63 {
            break;
        }
    }
    let table = i.relation.as_ref().map(|r| r.relname.clone()).unwrap_or_default();
    crate::ir::object_name(&table, (!addition.is_empty()).then_some(addition.as_str()), "idx")
}

/// Every column an expression reads (its column references' last names).
fn column_refs(node: &Node, out: &mut Vec<String>) {
    if let Ok(names) = serde_walk::last_names(node, "ColumnRef", "fields") {
        for s in names {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        return;
    }
    let Ok(v) = serde_json::to_value(node) else {
        return;
    };
    walk_json(&v, &mut |k, val| {
        if k == "ColumnRef"
            && let Some(last) = val.get("fields").and_then(Value::as_array).and_then(|f| f.last())
            && let Some(s) = last.pointer("/node/String/sval").and_then(Value::as_str)
            && !out.iter().any(|c| c == s)
        {
            out.push(s.to_string());
        }
    });
}

/// Renames the column references to `old` inside an expression (`old` or `t.old`) to
/// `new`. False when the expression holds a node this walk does not enter (a subquery,
/// …) that refers to a column: then the rename would be incomplete.
fn rename_column_refs(node: &mut Node, old: &str, new: &str) -> bool {
    fn all(list: &mut [Node], old: &str, new: &str) -> bool {
        list.iter_mut().all(|n| rename_column_refs(n, old, new))
    }
    fn one(n: &mut Option<Box<Node>>, old: &str, new: &str) -> bool {
        n.as_deref_mut().is_none_or(|n| rename_column_refs(n, old, new))
    }
    let Some(inner) = node.node.as_mut() else {
        return true;
    };
    match inner {
        NodeEnum::ColumnRef(c) => {
            if let Some(NodeEnum::String(s)) = c.fields.last_mut().and_then(|f| f.node.as_mut())
                && s.sval == old
            {
                s.sval = new.to_string();
            }
            true
        }
        NodeEnum::FuncCall(f) => all(&mut f.args, old, new) && f.agg_order.is_empty() && f.agg_filter.is_none(),
        NodeEnum::AExpr(e) => one(&mut e.lexpr, old, new) && one(&mut e.rexpr, old, new),
        NodeEnum::TypeCast(t) => one(&mut t.arg, old, new),
        NodeEnum::CollateClause(c) => one(&mut c.arg, old, new),
        NodeEnum::BoolExpr(b) => all(&mut b.args, old, new),
        NodeEnum::NullTest(t) => one(&mut t.arg, old, new),
        NodeEnum::BooleanTest(t) => one(&mut t.arg, old, new),
        NodeEnum::CoalesceExpr(c) => all(&mut c.args, old, new),
        NodeEnum::MinMaxExpr(m) => all(&mut m.args, old, new),
        NodeEnum::RowExpr(r) => all(&mut r.args, old, new),
        NodeEnum::AArrayExpr(a) => all(&mut a.elements, old, new),
        NodeEnum::AIndirection(a) => one(&mut a.arg, old, new) && all(&mut a.indirection, old, new),
        NodeEnum::AIndices(a) => one(&mut a.lidx, old, new) && one(&mut a.uidx, old, new),
        NodeEnum::List(l) => all(&mut l.items, old, new),
        NodeEnum::CaseExpr(c) => {
            one(&mut c.arg, old, new) && all(&mut c.args, old, new) && one(&mut c.defresult, old, new)
        }
        NodeEnum::CaseWhen(w) => one(&mut w.expr, old, new) && one(&mut w.result, old, new),
        NodeEnum::AConst(_) | NodeEnum::ParamRef(_) | NodeEnum::SqlvalueFunction(_) => true,
        _ => {
            let mut refs = Vec::new();
            column_refs(node, &mut refs);
            refs.is_empty()
        }
    }
}

/// The columns an index reads: its key columns and expressions, INCLUDE, WHERE.
fn index_reads(i: &protobuf::IndexStmt) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in i.index_params.iter().chain(&i.index_including_params) {
        if let Some(NodeEnum::IndexElem(e)) = p.node.as_ref() {
            if !e.name.is_empty() {
                if !out.contains(&e.name) {
                    out.push(e.name.clone());
                }
            } else if let Some(x) = e.expr.as_deref() {
                column_refs(x, &mut out);
            }
        }
    }
    if let Some(w) = i.where_clause.as_deref() {
        column_refs(w, &mut out);
    }
    out
}

/// For each column the index reads: the index's copy for that column's copy (the
/// plans' `copy_name` of the index and of the column), the same definition (method,
/// opclasses, ordering, expressions, INCLUDE, WHERE, options) with the column renamed,
/// `CONCURRENTLY`, deparsed. A column whose references cannot all be renamed has none.
fn index_copies(i: &protobuf::IndexStmt, name: &str, reads: &[String]) -> DeferredSql {
    let (i, name) = (i.clone(), name.to_string());
    DeferredSql::new(reads.to_vec(), move |col| {
        let new = crate::ir::copy_name(col);
        let mut c = i.clone();
        c.concurrent = true;
        c.if_not_exists = false;
        c.idxname = crate::ir::copy_name(&name);
        let mut ok = true;
        for p in c.index_params.iter_mut().chain(c.index_including_params.iter_mut()) {
            if let Some(NodeEnum::IndexElem(e)) = p.node.as_mut() {
                if e.name == *col {
                    e.name = new.clone();
                }
                if let Some(x) = e.expr.as_deref_mut() {
                    ok &= rename_column_refs(x, col, &new);
                }
            }
        }
        if let Some(w) = c.where_clause.as_deref_mut() {
            ok &= rename_column_refs(w, col, &new);
        }
        if !ok {
            return None;
        }
        let sql = NodeEnum::IndexStmt(Box::new(c)).deparse(Default::default()).ok()?;
        Some(format!("{sql};"))
    })
}

fn plain(op: Op, summary: impl Into<String>) -> ParsedStatement {
    ParsedStatement {
        text: Default::default(),
        op,
        summary: summary.into(),
        refuses_transaction: None,
        reads: Vec::new(),
    }
}

/// The tables a `SELECT ... FOR UPDATE / FOR SHARE` locks rows of (ROW SHARE): those
/// named in `OF ...`, else every table in its FROM clause (joins included).
fn row_locks(sel: &protobuf::SelectStmt) -> Vec<String> {
    if sel.locking_clause.is_empty() {
        return Vec::new();
    }
    // (name or alias as the query refers to it, table)
    fn from_tables(n: &Node, out: &mut Vec<(String, String)>) {
        match n.node.as_ref() {
            Some(NodeEnum::RangeVar(rv)) => {
                let alias = rv.alias.as_ref().map(|a| a.aliasname.clone()).unwrap_or_else(|| rv.relname.clone());
                out.push((alias, rv.relname.clone()));
            }
            Some(NodeEnum::JoinExpr(j)) => {
                for side in [j.larg.as_deref(), j.rarg.as_deref()].into_iter().flatten() {
                    from_tables(side, out);
                }
            }
            _ => {}
        }
    }
    let mut tables = Vec::new();
    for n in &sel.from_clause {
        from_tables(n, &mut tables);
    }
    let mut out = Vec::new();
    for lc in &sel.locking_clause {
        let Some(NodeEnum::LockingClause(lc)) = lc.node.as_ref() else {
            continue;
        };
        if lc.locked_rels.is_empty() {
            out.extend(tables.iter().map(|(_, t)| t.clone()));
        }
        for r in &lc.locked_rels {
            if let Some(NodeEnum::RangeVar(rv)) = r.node.as_ref()
                && let Some((_, t)) = tables.iter().find(|(a, _)| *a == rv.relname)
            {
                out.push(t.clone());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// ENABLE/DISABLE TRIGGER ALL, or of a foreign key's internal trigger
/// (`RI_ConstraintTrigger_*`): it switches foreign-key enforcement.
fn fk_triggers(t: AlterTableType, name: &str) -> bool {
    matches!(t, AlterTableType::AtEnableTrigAll | AlterTableType::AtDisableTrigAll)
        || name.starts_with("RI_ConstraintTrigger")
}

fn alter_cmd(cmd: &protobuf::AlterTableCmd) -> (AlterCmd, &'static str) {
    use AlterTableType as T;
    let t = AlterTableType::try_from(cmd.subtype).unwrap_or(T::Undefined);
    let col = || cmd.name.clone();
    let def = cmd.def.as_deref().and_then(|d| d.node.as_ref());
    match t {
        T::AtAddColumn => match def {
            Some(NodeEnum::ColumnDef(cd)) => {
                (AlterCmd::AddColumn { column: column_spec(cd), if_not_exists: cmd.missing_ok }, "ADD COLUMN")
            }
            _ => (AlterCmd::Other("ADD COLUMN".into()), "ADD COLUMN"),
        },
        T::AtDropColumn => (
            AlterCmd::DropColumn { column: col(), cascade: behavior_cascade(cmd.behavior), if_exists: cmd.missing_ok },
            "DROP COLUMN",
        ),
        T::AtAlterColumnType => {
            let (new_type, using, using_sql, collation) = match def {
                Some(NodeEnum::ColumnDef(cd)) => {
                    let using = cd.raw_default.as_deref().map(|u| using_kind(u, &cmd.name));
                    let coll = cd.coll_clause.as_ref().and_then(|c| strings(&c.collname).last().cloned());
                    let using_sql = cd.raw_default.as_deref().and_then(deparse_expr);
                    (cd.type_name.as_ref().map(type_ref).unwrap_or_default(), using.flatten(), using_sql, coll)
                }
                _ => (TypeRef::default(), None, None, None),
            };
            (AlterCmd::AlterType { column: col(), new_type, using, using_sql, collation }, "ALTER COLUMN TYPE")
        }
        T::AtSetNotNull => (AlterCmd::SetNotNull { column: col() }, "ALTER COLUMN SET NOT NULL"),
        T::AtDropNotNull => (AlterCmd::DropNotNull { column: col() }, "ALTER COLUMN DROP NOT NULL"),
        T::AtColumnDefault => match cmd.def.as_deref() {
            Some(d) => (
                AlterCmd::SetDefault {
                    column: col(),
                    default: default_kind(d),
                    sql: deparse_expr(d),
                    literal: is_string_literal(d),
                },
                "ALTER COLUMN SET DEFAULT",
            ),
            None => (AlterCmd::DropDefault { column: col() }, "ALTER COLUMN DROP DEFAULT"),
        },
        T::AtAddConstraint => match def {
            Some(NodeEnum::Constraint(c)) => match constraint_spec(c, None) {
                Some(spec) => (AlterCmd::AddConstraint(spec), "ADD CONSTRAINT"),
                None => (AlterCmd::Other("ADD CONSTRAINT".into()), "ADD CONSTRAINT"),
            },
            _ => (AlterCmd::Other("ADD CONSTRAINT".into()), "ADD CONSTRAINT"),
        },
        T::AtValidateConstraint => (AlterCmd::ValidateConstraint { name: col() }, "VALIDATE CONSTRAINT"),
        T::AtDropConstraint => {
            (AlterCmd::DropConstraint { name: col(), cascade: behavior_cascade(cmd.behavior) }, "DROP CONSTRAINT")
        }
        T::AtAlterConstraint => match def {
            Some(NodeEnum::AtalterConstraint(a)) => (
                AlterCmd::AlterConstraint {
                    name: a.conname.clone(),
                    deferral: a.alter_deferrability.then_some((a.deferrable, a.initdeferred)),
                },
                "ALTER CONSTRAINT",
            ),
            _ => (AlterCmd::Other("ALTER CONSTRAINT".into()), "ALTER CONSTRAINT"),
        },
        T::AtSetLogged => (AlterCmd::SetLogged, "SET LOGGED"),
        T::AtSetUnLogged => (AlterCmd::SetUnlogged, "SET UNLOGGED"),
        T::AtSetTableSpace => (AlterCmd::SetTablespace(col()), "SET TABLESPACE"),
        T::AtSetAccessMethod => (AlterCmd::SetAccessMethod(cmd.name.clone()), "SET ACCESS METHOD"),
        T::AtAttachPartition | T::AtDetachPartition | T::AtDetachPartitionFinalize => {
            let (name, conc, bound) = match def {
                Some(NodeEnum::PartitionCmd(p)) => (opt_rv(&p.name), p.concurrent, p.bound.as_ref()),
                _ => (QName::default(), false, None),
            };
            if t == T::AtAttachPartition {
                let default = bound.is_some_and(|b| b.is_default);
                let hash = bound.is_some_and(|b| b.strategy == "h");
                (AlterCmd::AttachPartition { partition: name, default, hash }, "ATTACH PARTITION")
            } else if t == T::AtDetachPartitionFinalize {
                (AlterCmd::Other("DETACH PARTITION FINALIZE".into()), "DETACH PARTITION FINALIZE")
            } else {
                (AlterCmd::DetachPartition { partition: name, concurrently: conc }, "DETACH PARTITION")
            }
        }
        T::AtEnableRowSecurity => (AlterCmd::RowSecurity(RowSecurity::Enable), "ENABLE ROW LEVEL SECURITY"),
        T::AtDisableRowSecurity => (AlterCmd::RowSecurity(RowSecurity::Disable), "DISABLE ROW LEVEL SECURITY"),
        T::AtForceRowSecurity => (AlterCmd::RowSecurity(RowSecurity::Force), "FORCE ROW LEVEL SECURITY"),
        T::AtNoForceRowSecurity => (AlterCmd::RowSecurity(RowSecurity::NoForce), "NO FORCE ROW LEVEL SECURITY"),
        T::AtEnableTrig | T::AtEnableAlwaysTrig | T::AtEnableReplicaTrig | T::AtEnableTrigAll | T::AtEnableTrigUser => {
            (AlterCmd::Trigger { enable: true, foreign_keys: fk_triggers(t, &cmd.name) }, "ENABLE TRIGGER")
        }
        T::AtDisableTrig | T::AtDisableTrigAll | T::AtDisableTrigUser => {
            (AlterCmd::Trigger { enable: false, foreign_keys: fk_triggers(t, &cmd.name) }, "DISABLE TRIGGER")
        }
        T::AtReplicaIdentity => (AlterCmd::ReplicaIdentity, "REPLICA IDENTITY"),
        T::AtChangeOwner => (AlterCmd::OwnerTo, "OWNER TO"),
        T::AtClusterOn => (AlterCmd::ClusterOn, "CLUSTER ON"),
        T::AtSetStatistics => (AlterCmd::SetStatistics, "ALTER COLUMN SET STATISTICS"),
        T::AtSetStorage | T::AtSetCompression => (AlterCmd::SetStorage, "ALTER COLUMN SET STORAGE"),
        T::AtSetOptions | T::AtResetOptions | T::AtSetRelOptions | T::AtResetRelOptions | T::AtReplaceRelOptions => {
            (AlterCmd::SetOptions, "SET (...)")
        }
        T::AtAddIdentity => (AlterCmd::AddIdentity { column: col() }, "ALTER COLUMN ADD GENERATED AS IDENTITY"),
        T::AtDropIdentity => (AlterCmd::DropIdentity { column: col() }, "ALTER COLUMN DROP IDENTITY"),
        T::AtSetExpression => (AlterCmd::SetExpression { column: col() }, "ALTER COLUMN SET EXPRESSION"),
        T::AtDropExpression => (AlterCmd::DropExpression, "ALTER COLUMN DROP EXPRESSION"),
        T::AtAddInherit | T::AtDropInherit => (AlterCmd::Inherit, "INHERIT"),
        _ => (AlterCmd::Other(format!("{t:?}")), "ALTER"),
    }
}

fn using_kind(expr: &Node, column: &str) -> Option<UsingKind> {
    // `USING col` or `USING col::newtype` with no function are plain casts.
    let is_col = |n: &Node| match n.node.as_ref() {
        Some(NodeEnum::ColumnRef(cr)) => cr.fields.last().and_then(sval) == Some(column),
        _ => false,
    };
    if is_col(expr) {
        return None;
    }
    let funcs = func_names(expr);
    for f in &funcs {
        let lf = f.to_ascii_lowercase();
        if matches!(lf.as_str(), "left" | "substr" | "substring" | "trunc" | "round" | "split_part" | "right") {
            return Some(UsingKind::Truncating(format!("{lf}()")));
        }
    }
    if let Some(NodeEnum::TypeCast(tc)) = expr.node.as_ref()
        && let Some(t) = &tc.type_name
    {
        let tr = type_ref(t);
        if tr.name == "varchar" && !tr.mods.is_empty() || tr.name == "bpchar" {
            return Some(UsingKind::Truncating(format!("::{}", tr.display)));
        }
        if funcs.is_empty() && tc.arg.as_deref().is_some_and(is_col) {
            return Some(UsingKind::Cast);
        }
    }
    Some(UsingKind::Other)
}

fn convert(node: &NodeEnum, sql: &str, offset: usize) -> ParsedStatement {
    match node {
        NodeEnum::CreateStmt(c) => create_stmt(c),
        NodeEnum::CreateTableAsStmt(c) => {
            let matview = c.objtype == ObjectType::ObjectMatview as i32;
            let table = c.into.as_ref().map(|i| opt_rv(&i.rel)).unwrap_or_default();
            plain(
                Op::CreateTableAs { table, matview },
                if matview { "CREATE MATERIALIZED VIEW" } else { "CREATE TABLE AS" },
            )
        }
        NodeEnum::AlterTableStmt(a) => alter_table_stmt(a),
        NodeEnum::IndexStmt(i) => index_stmt(i),
        NodeEnum::DropStmt(d) => drop_stmt(d),
        NodeEnum::RenameStmt(r) => rename_stmt(r),
        NodeEnum::AlterObjectSchemaStmt(a) => alter_object_schema_stmt(a),
        NodeEnum::TruncateStmt(t) => {
            plain(Op::Truncate { tables: rangevars(&t.relations), cascade: behavior_cascade(t.behavior) }, "TRUNCATE")
        }
        NodeEnum::UpdateStmt(u) => update_stmt(u),
        NodeEnum::DeleteStmt(d) => plain(
            Op::Delete {
                table: opt_rv(&d.relation),
                has_where: d.where_clause.is_some(),
                where_sql: d.where_clause.as_deref().and_then(|w| deparse_where(&d.relation, w)),
                backup_query: d
                    .relation
                    .as_ref()
                    .and_then(|rv| dml_backup_query(rv, &d.using_clause, d.where_clause.as_deref(), &d.with_clause)),
            },
            "DELETE",
        ),
        NodeEnum::InsertStmt(i) => insert_stmt(i),
        NodeEnum::MergeStmt(m) => plain(Op::Merge { table: opt_rv(&m.relation) }, "MERGE"),
        NodeEnum::CopyStmt(c) => plain(
            Op::Copy { table: c.relation.as_ref().map(rangevar), from: c.is_from },
            if c.is_from { "COPY FROM" } else { "COPY TO" },
        ),
        NodeEnum::SelectStmt(sel) => plain(Op::Select { row_locks: row_locks(sel) }, "SELECT"),
        NodeEnum::VacuumStmt(v) => vacuum_stmt(v),
        NodeEnum::ClusterStmt(c) => ParsedStatement {
            text: Default::default(),
            refuses_transaction: c.relation.is_none().then(|| "CLUSTER".to_string()),
            reads: Vec::new(),
            op: Op::Cluster { table: c.relation.as_ref().map(rangevar) },
            summary: "CLUSTER".into(),
        },
        NodeEnum::ReindexStmt(r) => reindex_stmt(r),
        NodeEnum::RefreshMatViewStmt(r) => plain(
            Op::RefreshMatView { name: opt_rv(&r.relation), concurrently: r.concurrent },
            format!("REFRESH MATERIALIZED VIEW{}", if r.concurrent { " CONCURRENTLY" } else { "" }),
        ),
        NodeEnum::AlterEnumStmt(a) => {
            let type_name = qname_from_list(&a.type_name);
            if !a.old_val.is_empty() {
                plain(
                    Op::AlterEnum { type_name, add_value: None, rename: Some((a.old_val.clone(), a.new_val.clone())) },
                    "ALTER TYPE RENAME VALUE",
                )
            } else {
                plain(
                    Op::AlterEnum { type_name, add_value: Some(a.new_val.clone()), rename: None },
                    "ALTER TYPE ADD VALUE",
                )
            }
        }
        NodeEnum::CreateExtensionStmt(e) => plain(Op::CreateExtension { name: e.extname.clone() }, "CREATE EXTENSION"),
        NodeEnum::CreateEnumStmt(e) => {
            plain(Op::CreateEnum { type_name: qname_from_list(&e.type_name) }, "CREATE TYPE AS ENUM")
        }
        NodeEnum::CreateFunctionStmt(f) => create_function_stmt(f, sql, offset),
        NodeEnum::ViewStmt(v) => plain(
            Op::CreateView { name: opt_rv(&v.view), replace: v.replace, materialized: false },
            if v.replace { "CREATE OR REPLACE VIEW" } else { "CREATE VIEW" },
        ),
        NodeEnum::CreateTrigStmt(t) => plain(
            Op::CreateTrigger { table: opt_rv(&t.relation), replace: t.replace, name: t.trigname.clone() },
            if t.replace { "CREATE OR REPLACE TRIGGER" } else { "CREATE TRIGGER" },
        ),
        NodeEnum::CreatePolicyStmt(p) => plain(Op::CreatePolicy { table: opt_rv(&p.table) }, "CREATE POLICY"),
        NodeEnum::AlterSeqStmt(s) => alter_seq_stmt(s),
        NodeEnum::CreateSeqStmt(s) => plain(Op::CreateSequence { name: opt_rv(&s.sequence) }, "CREATE SEQUENCE"),
        NodeEnum::AlterDomainStmt(d) => alter_domain_stmt(d),
        NodeEnum::DoStmt(d) => crate::parse::do_block(d, sql, offset),
        NodeEnum::VariableSetStmt(v) => variable_set_stmt(v),
        NodeEnum::TransactionStmt(t) => transaction_stmt(t),
        NodeEnum::LockStmt(l) => lock_stmt(l),
        NodeEnum::GrantStmt(g) => {
            let to_public = g.grantees.iter().any(|n| match n.node.as_ref() {
                Some(NodeEnum::RoleSpec(r)) => r.roletype == protobuf::RoleSpecType::RolespecPublic as i32,
                _ => false,
            });
            let all_privileges = g.privileges.is_empty();
            plain(
                Op::Grant { is_grant: g.is_grant, to_public, all_privileges },
                if g.is_grant { "GRANT" } else { "REVOKE" },
            )
        }
        NodeEnum::AlterDefaultPrivilegesStmt(a) => {
            let (all, public) = match &a.action {
                Some(g) => (
                    g.is_grant && g.privileges.is_empty(),
                    g.is_grant
                        && g.grantees.iter().any(|n| match n.node.as_ref() {
                            Some(NodeEnum::RoleSpec(r)) => r.roletype == protobuf::RoleSpecType::RolespecPublic as i32,
                            _ => false,
                        }),
                ),
                None => (false, false),
            };
            plain(Op::AlterDefaultPrivileges { all_privileges: all, to_public: public }, "ALTER DEFAULT PRIVILEGES")
        }
        NodeEnum::CreateRoleStmt(r) => {
            plain(Op::Role { with_password: has_password_option(&r.options) }, "CREATE ROLE")
        }
        NodeEnum::AlterRoleStmt(r) => plain(Op::Role { with_password: has_password_option(&r.options) }, "ALTER ROLE"),
        NodeEnum::CreateUserMappingStmt(u) => {
            plain(Op::UserMapping { with_password: has_password_option(&u.options) }, "CREATE USER MAPPING")
        }
        NodeEnum::AlterUserMappingStmt(u) => {
            plain(Op::UserMapping { with_password: has_password_option(&u.options) }, "ALTER USER MAPPING")
        }
        NodeEnum::CreateForeignServerStmt(s) => {
            let sslmode_disable =
                def_elems(&s.options).any(|d| d.defname == "sslmode" && def_string(d).is_some_and(|v| v == "disable"));
            plain(
                Op::ForeignServer { sslmode_disable, with_password: has_password_option(&s.options) },
                "CREATE SERVER",
            )
        }
        NodeEnum::CreatePlangStmt(l) => {
            plain(Op::CreateLanguage { untrusted: !l.pltrusted, name: l.plname.clone() }, "CREATE LANGUAGE")
        }
        NodeEnum::CommentStmt(c) => {
            let kind = obj_kind(c.objtype);
            let table = match c.object.as_deref().and_then(|o| o.node.as_ref()) {
                Some(NodeEnum::List(l)) if kind == ObjKind::Column && l.items.len() >= 2 => {
                    Some(qname_from_list(&l.items[..l.items.len() - 1]))
                }
                Some(NodeEnum::List(l))
                    if matches!(kind, ObjKind::Table | ObjKind::View | ObjKind::MaterializedView) =>
                {
                    Some(qname_from_list(&l.items))
                }
                _ => None,
            };
            plain(Op::Comment { table }, format!("COMMENT ON {}", kind.sql()))
        }
        NodeEnum::CreateStatsStmt(c) => {
            let table = c.relations.first().and_then(|n| match n.node.as_ref()? {
                NodeEnum::RangeVar(rv) => Some(rangevar(rv)),
                _ => None,
            });
            plain(Op::CreateStatistics { table }, "CREATE STATISTICS")
        }
        NodeEnum::CreateSchemaStmt(c) => plain(Op::CreateSchema { name: c.schemaname.clone() }, "CREATE SCHEMA"),
        NodeEnum::DropdbStmt(d) => ParsedStatement {
            refuses_transaction: refuses_transaction(node),
            ..plain(Op::DropDatabase { name: d.dbname.clone(), if_exists: d.missing_ok }, "DROP DATABASE")
        },
        NodeEnum::CreateDomainStmt(d) => {
            let has_check = d.constraints.iter().any(|c| {
                matches!(c.node.as_ref(), Some(NodeEnum::Constraint(k)) if k.contype == ConstrType::ConstrCheck as i32)
            });
            plain(Op::CreateDomain { name: qname_from_list(&d.domainname), has_check }, "CREATE DOMAIN")
        }
        other => ParsedStatement {
            refuses_transaction: refuses_transaction(other),
            ..plain(Op::Other, summary_from_variant(other))
        },
    }
}

/// [`convert`] for CreateStmt.
fn create_stmt(c: &protobuf::CreateStmt) -> ParsedStatement {
    let mut columns = Vec::new();
    let mut constraints = Vec::new();
    for e in &c.table_elts {
        match e.node.as_ref() {
            Some(NodeEnum::ColumnDef(cd)) => {
                let col = column_spec(cd);
                for (i, cn) in cd.constraints.iter().enumerate() {
                    if let Some(NodeEnum::Constraint(k)) = cn.node.as_ref()
                        && let Some(mut spec) = constraint_spec(k, Some(&cd.colname))
                        && spec.kind != ConstraintKind::NotNull
                    {
                        (spec.deferrable, spec.initially_deferred) = column_deferral(&cd.constraints, i, k);
                        if let Some(r) = spec.references.as_mut() {
                            (r.deferrable, r.initially_deferred) = (spec.deferrable, spec.initially_deferred);
                        }
                        constraints.push(spec);
                    }
                }
                columns.push(col);
            }
            Some(NodeEnum::Constraint(k)) => {
                if let Some(spec) = constraint_spec(k, None) {
                    constraints.push(spec);
                }
            }
            _ => {}
        }
    }
    let partition_of = if c.partbound.is_some() {
        c.inh_relations.first().and_then(|n| match n.node.as_ref()? {
            NodeEnum::RangeVar(rv) => Some(rangevar(rv)),
            _ => None,
        })
    } else {
        None
    };
    let summary = if partition_of.is_some() { "CREATE TABLE PARTITION OF" } else { "CREATE TABLE" };
    // `LIKE source` reads the source table's definition (ACCESS SHARE).
    let likes: Vec<String> = c
        .table_elts
        .iter()
        .filter_map(|e| match e.node.as_ref()? {
            NodeEnum::TableLikeClause(l) => l.relation.as_ref().map(|r| r.relname.clone()),
            _ => None,
        })
        .collect();
    let mut parsed = plain(
        Op::CreateTable {
            table: opt_rv(&c.relation),
            columns,
            constraints,
            partition_of,
            default_partition: c.partbound.as_ref().is_some_and(|b| b.is_default),
            partitioned: c.partspec.is_some(),
            hash_partition: c.partspec.as_ref().is_some_and(|p| p.strategy == protobuf::PartitionStrategy::Hash as i32)
                || c.partbound.as_ref().is_some_and(|b| b.strategy == "h"),
            if_not_exists: c.if_not_exists,
            copy_sql: table_copy_sql(c),
        },
        summary,
    );
    parsed.reads = likes;
    parsed
}

/// A CREATE TABLE deparsed under the name `copy_name` of its table, without IF NOT EXISTS,
/// written when a plan asks (only a table rebuild's does).
fn table_copy_sql(c: &protobuf::CreateStmt) -> DeferredSql {
    if c.relation.is_none() {
        return DeferredSql::none();
    }
    let c = c.clone();
    DeferredSql::one(move || {
        let mut copy = c.clone();
        let rel = copy.relation.as_mut()?;
        rel.relname = crate::ir::copy_name(&rel.relname);
        copy.if_not_exists = false;
        NodeEnum::CreateStmt(copy).deparse(Default::default()).ok().map(|s| format!("{s};"))
    })
}

/// See `Op::Insert::row_query`.
fn insert_row_query(i: &protobuf::InsertStmt) -> Option<crate::ir::RowQuery> {
    let Some(NodeEnum::SelectStmt(s)) = i.select_stmt.as_deref().and_then(|s| s.node.as_ref()) else {
        return None;
    };
    if !s.values_lists.is_empty()
        || s.with_clause.is_some()
        || s.op != protobuf::SetOperation::SetopNone as i32
        || s.from_clause.len() != 1
        || !s.locking_clause.is_empty()
        || s.into_clause.is_some()
        || !s.distinct_clause.is_empty()
        || !s.group_clause.is_empty()
        || s.having_clause.is_some()
        || !s.window_clause.is_empty()
        || s.limit_count.is_some()
        || s.limit_offset.is_some()
    {
        return None;
    }
    // Applied to one row at a time, an aggregate or a window function gives another
    // result than over the whole table, and a volatile function another value for the
    // row's copy than for finding that copy again.
    const AGGREGATES: &[&str] = &[
        "count",
        "sum",
        "min",
        "max",
        "avg",
        "array_agg",
        "string_agg",
        "json_agg",
        "jsonb_agg",
        "json_object_agg",
        "jsonb_object_agg",
        "bool_and",
        "bool_or",
        "every",
        "bit_and",
        "bit_or",
        "xmlagg",
    ];
    for t in &s.target_list {
        if has_window_call(t)
            || func_names(t).iter().any(|f| AGGREGATES.contains(&f.as_str()) || VOLATILE_FUNCS.contains(&f.as_str()))
        {
            return None;
        }
    }
    let Some(NodeEnum::RangeVar(rv)) = s.from_clause[0].node.as_ref() else {
        return None;
    };
    let alias = rv.alias.as_ref().map(|a| a.aliasname.clone()).unwrap_or_else(|| rv.relname.clone());
    // Written when a plan reads them (only a table rebuild's does).
    let shared = std::sync::Arc::new((s.clone(), alias));
    let with_row = |record: &'static str| {
        let shared = shared.clone();
        LazySql::new(move || {
            let (s, alias) = &*shared;
            let template = format!("SELECT * FROM (SELECT {record}.*) AS {}", quote_ident(alias));
            let tp = pg_query::parse(&template, 0).ok()?;
            let NodeEnum::SelectStmt(t) = tp.protobuf.stmts.first()?.stmt.as_ref()?.node.as_ref()? else {
                return None;
            };
            let mut q = s.clone();
            q.from_clause = vec![t.from_clause.first()?.clone()];
            NodeEnum::SelectStmt(q).deparse(Default::default()).ok()
        })
    };
    Some(crate::ir::RowQuery {
        source: rangevar(rv),
        targets: (!s.target_list.iter().any(|t| json_has_key(t, "AStar"))).then_some(s.target_list.len()),
        new_sql: with_row("NEW"),
        old_sql: with_row("OLD"),
    })
}

/// [`convert`] for AlterTableStmt.
fn alter_table_stmt(a: &protobuf::AlterTableStmt) -> ParsedStatement {
    let kind = obj_kind(a.objtype);
    // Sized up front: an AlterCmd is 432 bytes, and a first push would reserve four.
    let mut cmds = Vec::with_capacity(a.cmds.len());
    let mut names: Vec<&str> = Vec::new();
    for c in &a.cmds {
        if let Some(NodeEnum::AlterTableCmd(cmd)) = c.node.as_ref() {
            let (ac, name) = alter_cmd(cmd);
            if !names.contains(&name) {
                names.push(name);
            }
            cmds.push(ac);
        }
    }
    let refuses = cmds
        .iter()
        .any(|c| matches!(c, AlterCmd::DetachPartition { concurrently: true, .. }))
        .then(|| "ALTER TABLE ... DETACH PARTITION CONCURRENTLY".to_string());
    let summary = format!("ALTER {} {} {}", kind.sql(), opt_rv(&a.relation), names.join(", "));
    let action_sql = if cmds.len() == a.cmds.len() { alter_action_sql(a) } else { DeferredSql::none() };
    ParsedStatement {
        text: Default::default(),
        op: Op::AlterTable { table: opt_rv(&a.relation), kind, cmds, action_sql },
        summary,
        refuses_transaction: refuses,
        reads: Vec::new(),
    }
}

/// [`convert`] for IndexStmt.
fn index_stmt(i: &protobuf::IndexStmt) -> ParsedStatement {
    let columns = i
        .index_params
        .iter()
        .filter_map(|p| match p.node.as_ref()? {
            NodeEnum::IndexElem(e) if !e.name.is_empty() => Some(e.name.clone()),
            NodeEnum::IndexElem(_) => Some("(expression)".to_string()),
            _ => None,
        })
        .collect();
    let summary = format!(
        "CREATE {}INDEX{}",
        if i.unique { "UNIQUE " } else { "" },
        if i.concurrent { " CONCURRENTLY" } else { "" }
    );
    let auto_name = index_auto_name(i);
    let reads = index_reads(i);
    let copies = index_copies(i, if i.idxname.is_empty() { &auto_name } else { &i.idxname }, &reads);
    ParsedStatement {
        text: Default::default(),
        refuses_transaction: i.concurrent.then(|| "CREATE INDEX CONCURRENTLY".to_string()),
        reads: Vec::new(),
        op: Op::CreateIndex {
            name: if i.idxname.is_empty() { None } else { Some(i.idxname.clone()) },
            auto_name,
            reads,
            copies,
            table: opt_rv(&i.relation),
            columns,
            unique: i.unique,
            concurrently: i.concurrent,
            if_not_exists: i.if_not_exists,
            include: !i.index_including_params.is_empty(),
            nulls_not_distinct: i.nulls_not_distinct,
            concurrent_sql: if i.concurrent {
                DeferredSql::none()
            } else {
                let mut c = i.clone();
                c.concurrent = true;
                DeferredSql::one(move || NodeEnum::IndexStmt(Box::new(c.clone())).deparse(Default::default()).ok())
            },
        },
        summary,
    }
}

/// [`convert`] for DropStmt.
fn drop_stmt(d: &protobuf::DropStmt) -> ParsedStatement {
    let kind = obj_kind(d.remove_type);
    let names = drop_names(&d.objects, kind);
    let summary = format!("DROP {}{}", kind.sql(), if d.concurrent { " CONCURRENTLY" } else { "" });
    ParsedStatement {
        text: Default::default(),
        refuses_transaction: d.concurrent.then(|| "DROP INDEX CONCURRENTLY".to_string()),
        reads: Vec::new(),
        op: Op::Drop {
            kind,
            names,
            cascade: behavior_cascade(d.behavior),
            if_exists: d.missing_ok,
            concurrently: d.concurrent,
            args: drop_args(&d.objects),
            sub_names: drop_sub_names(&d.objects, kind),
        },
        summary,
    }
}

/// [`convert`] for RenameStmt.
fn rename_stmt(r: &protobuf::RenameStmt) -> ParsedStatement {
    let kind = obj_kind(r.rename_type);
    let object = if r.relation.is_some() {
        opt_rv(&r.relation)
    } else {
        match r.object.as_deref().and_then(|o| o.node.as_ref()) {
            Some(NodeEnum::List(l)) => qname_from_list(&l.items),
            Some(NodeEnum::String(s)) => QName::new(s.sval.clone()),
            Some(NodeEnum::ObjectWithArgs(o)) => qname_from_list(&o.objname),
            _ => QName::new(r.subname.clone()),
        }
    };
    let column = match kind {
        ObjKind::Column | ObjKind::Constraint | ObjKind::Trigger | ObjKind::Policy => Some(r.subname.clone()),
        _ => None,
    };
    let summary = match kind {
        ObjKind::Column => format!("ALTER TABLE {object} RENAME COLUMN"),
        ObjKind::Constraint => format!("ALTER TABLE {object} RENAME CONSTRAINT"),
        k => format!("ALTER {} RENAME", k.sql()),
    };
    plain(Op::Rename { kind, object, column, new_name: r.newname.clone() }, summary)
}

/// [`convert`] for AlterObjectSchemaStmt.
fn alter_object_schema_stmt(a: &protobuf::AlterObjectSchemaStmt) -> ParsedStatement {
    let kind = obj_kind(a.object_type);
    let object = if a.relation.is_some() {
        opt_rv(&a.relation)
    } else {
        match a.object.as_deref().and_then(|o| o.node.as_ref()) {
            Some(NodeEnum::List(l)) => qname_from_list(&l.items),
            Some(NodeEnum::ObjectWithArgs(o)) => qname_from_list(&o.objname),
            _ => QName::default(),
        }
    };
    plain(Op::SetSchema { kind, object, new_schema: a.newschema.clone() }, format!("ALTER {} SET SCHEMA", kind.sql()))
}

/// [`convert`] for UpdateStmt.
fn update_stmt(u: &protobuf::UpdateStmt) -> ParsedStatement {
    let mut bare = u.clone();
    bare.where_clause = None;
    let set_sql = NodeEnum::UpdateStmt(Box::new(bare))
        .deparse(Default::default())
        .ok()
        .and_then(|s| s.split_once(" SET ").map(|(_, rest)| rest.to_string()));
    plain(
        Op::Update {
            table: opt_rv(&u.relation),
            has_where: u.where_clause.is_some(),
            set_columns: u
                .target_list
                .iter()
                .filter_map(|t| match t.node.as_ref() {
                    Some(NodeEnum::ResTarget(r)) => Some(r.name.clone()),
                    _ => None,
                })
                .collect(),
            set_values: u
                .target_list
                .iter()
                .filter_map(|t| match t.node.as_ref() {
                    Some(NodeEnum::ResTarget(r)) => {
                        let val = r.val.as_deref().filter(|v| !matches!(v.node, Some(NodeEnum::MultiAssignRef(_))));
                        Some(SetValue {
                            column: r.name.clone(),
                            sql: val.and_then(deparse_expr),
                            constant: val.is_some_and(is_constant),
                        })
                    }
                    _ => None,
                })
                .collect(),
            joins: !u.from_clause.is_empty()
                || u.with_clause.is_some()
                || u.relation.as_ref().is_some_and(|r| r.alias.is_some()),
            backup_query: u
                .relation
                .as_ref()
                .and_then(|rv| dml_backup_query(rv, &u.from_clause, u.where_clause.as_deref(), &u.with_clause)),
            set_sql,
            where_null_columns: {
                let mut v = Vec::new();
                if let Some(w) = u.where_clause.as_deref() {
                    where_null_columns(w, &opt_rv(&u.relation).name, &mut v);
                }
                from_batch_null_columns(u, &mut v);
                v
            },
            where_sql: u.where_clause.as_deref().and_then(|w| deparse_where(&u.relation, w)),
        },
        "UPDATE",
    )
}

/// [`convert`] for InsertStmt.
fn insert_stmt(i: &protobuf::InsertStmt) -> ParsedStatement {
    let from_query = match i.select_stmt.as_deref().and_then(|s| s.node.as_ref()) {
        Some(NodeEnum::SelectStmt(s)) => s.values_lists.is_empty(),
        Some(_) => true,
        None => false,
    };
    let summary = if from_query { "INSERT ... SELECT" } else { "INSERT" };
    let columns = i
        .cols
        .iter()
        .filter_map(|c| match c.node.as_ref() {
            Some(NodeEnum::ResTarget(r)) => Some(r.name.clone()),
            _ => None,
        })
        .collect();
    let upsert =
        i.on_conflict_clause.as_ref().is_some_and(|c| c.action == protobuf::OnConflictAction::OnconflictUpdate as i32);
    let row_query = if from_query { insert_row_query(i) } else { None };
    plain(Op::Insert { table: opt_rv(&i.relation), from_query, columns, upsert, row_query }, summary)
}

/// [`convert`] for VacuumStmt.
fn vacuum_stmt(v: &protobuf::VacuumStmt) -> ParsedStatement {
    let mut full = false;
    let mut truncate = true;
    for d in def_elems(&v.options) {
        let off = def_string(d).is_some_and(|s| matches!(s.to_ascii_lowercase().as_str(), "false" | "off" | "0"));
        if d.defname == "full" && !off {
            full = true;
        }
        if d.defname == "truncate" {
            truncate = !off;
        }
    }
    let tables = v
        .rels
        .iter()
        .filter_map(|n| match n.node.as_ref()? {
            NodeEnum::VacuumRelation(r) => r.relation.as_ref().map(rangevar),
            _ => None,
        })
        .collect();
    let summary = if !v.is_vacuumcmd {
        "ANALYZE"
    } else if full {
        "VACUUM FULL"
    } else {
        "VACUUM"
    };
    ParsedStatement {
        text: Default::default(),
        refuses_transaction: v.is_vacuumcmd.then(|| "VACUUM".to_string()),
        reads: Vec::new(),
        op: Op::Vacuum { full, analyze_only: !v.is_vacuumcmd, truncate, tables },
        summary: summary.into(),
    }
}

/// [`convert`] for ReindexStmt.
fn reindex_stmt(r: &protobuf::ReindexStmt) -> ParsedStatement {
    let concurrently = def_elems(&r.params).any(|d| d.defname == "concurrently");
    let kind = match protobuf::ReindexObjectType::try_from(r.kind) {
        Ok(protobuf::ReindexObjectType::ReindexObjectIndex) => ObjKind::Index,
        Ok(protobuf::ReindexObjectType::ReindexObjectTable) => ObjKind::Table,
        Ok(protobuf::ReindexObjectType::ReindexObjectSchema) => ObjKind::Schema,
        _ => ObjKind::Other,
    };
    let name = if r.relation.is_some() { opt_rv(&r.relation) } else { QName::new(r.name.clone()) };
    let refuses = if concurrently || matches!(kind, ObjKind::Schema | ObjKind::Other) {
        Some(format!("REINDEX {}{}", kind.sql(), if concurrently { " CONCURRENTLY" } else { "" }))
    } else {
        None
    };
    ParsedStatement {
        text: Default::default(),
        refuses_transaction: refuses,
        reads: Vec::new(),
        op: Op::Reindex { kind, name, concurrently },
        summary: format!("REINDEX{}", if concurrently { " CONCURRENTLY" } else { "" }),
    }
}

/// [`convert`] for CreateFunctionStmt.
fn create_function_stmt(f: &protobuf::CreateFunctionStmt, sql: &str, offset: usize) -> ParsedStatement {
    let mut security_definer = false;
    let mut sets_search_path = false;
    let mut language = None;
    for d in def_elems(&f.options) {
        match d.defname.as_str() {
            "security" => {
                if let Some(NodeEnum::Boolean(b)) = d.arg.as_deref().and_then(|a| a.node.as_ref()) {
                    security_definer = b.boolval;
                }
            }
            "language" => language = def_string(d),
            "set" => {
                if let Some(NodeEnum::VariableSetStmt(v)) = d.arg.as_deref().and_then(|a| a.node.as_ref())
                    && v.name == "search_path"
                {
                    sets_search_path = true;
                }
            }
            _ => {}
        }
    }
    let mut parsed = plain(
        Op::CreateFunction {
            name: qname_from_list(&f.funcname),
            args: input_params(f).iter().filter_map(|p| p.arg_type.as_ref().map(signature_type)).collect(),
            defaults: input_params(f).iter().filter(|p| p.defexpr.is_some()).count(),
            procedure: f.is_procedure,
            security_definer,
            sets_search_path,
            dynamic: function_dynamic_sql(f, language.as_deref(), sql, offset),
            non_volatile: function_non_volatile(f, language.as_deref(), security_definer),
            language: language.clone(),
        },
        if f.is_procedure { "CREATE PROCEDURE" } else { "CREATE FUNCTION" },
    );
    parsed.reads = sql_function_body_reads(f, language.as_deref());
    parsed
}

/// [`convert`] for AlterSeqStmt.
fn alter_seq_stmt(s: &protobuf::AlterSeqStmt) -> ParsedStatement {
    // OWNED BY [schema.]table.column, or OWNED BY NONE.
    let owned_by = def_elems(&s.options).filter(|d| d.defname == "owned_by").find_map(|d| {
        let parts = match d.arg.as_deref()?.node.as_ref()? {
            NodeEnum::List(l) => strings(&l.items),
            _ => return None,
        };
        let table = &parts[..parts.len().checked_sub(1)?];
        match table {
            [] => None,
            [t] => Some(QName::new(t.clone())),
            [.., s, t] => Some(QName { schema: Some(s.clone()), name: t.clone() }),
        }
    });
    plain(Op::AlterSequence { name: opt_rv(&s.sequence), owned_by }, "ALTER SEQUENCE")
}

/// [`convert`] for AlterDomainStmt.
fn alter_domain_stmt(d: &protobuf::AlterDomainStmt) -> ParsedStatement {
    let name = qname_from_list(&d.type_name);
    if d.subtype == "C" {
        let not_valid = match d.def.as_deref().and_then(|n| n.node.as_ref()) {
            Some(NodeEnum::Constraint(c)) => c.skip_validation,
            _ => false,
        };
        plain(Op::AlterDomainAddConstraint { name, not_valid }, "ALTER DOMAIN ADD CONSTRAINT")
    } else if d.subtype == "V" || d.subtype == "O" {
        plain(
            Op::AlterDomainAddConstraint { name, not_valid: false },
            if d.subtype == "V" { "ALTER DOMAIN VALIDATE CONSTRAINT" } else { "ALTER DOMAIN SET NOT NULL" },
        )
    } else {
        plain(Op::Other, "ALTER DOMAIN")
    }
}

/// [`convert`] for VariableSetStmt.
fn variable_set_stmt(v: &protobuf::VariableSetStmt) -> ParsedStatement {
    let value = v
        .args
        .iter()
        .filter_map(|a| match a.node.as_ref()? {
            NodeEnum::AConst(c) => match c.val.as_ref()? {
                protobuf::a_const::Val::Sval(s) => Some(s.sval.clone()),
                protobuf::a_const::Val::Ival(i) => Some(i.ival.to_string()),
                protobuf::a_const::Val::Fval(f) => Some(f.fval.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(", ");
    plain(
        Op::Set { name: v.name.to_ascii_lowercase(), value, local: v.is_local },
        if v.is_local { "SET LOCAL" } else { "SET" },
    )
}

/// [`convert`] for TransactionStmt.
fn transaction_stmt(t: &protobuf::TransactionStmt) -> ParsedStatement {
    let kind = match TransactionStmtKind::try_from(t.kind) {
        Ok(TransactionStmtKind::TransStmtBegin) | Ok(TransactionStmtKind::TransStmtStart) => TxKind::Begin,
        Ok(TransactionStmtKind::TransStmtCommit) => TxKind::Commit,
        Ok(TransactionStmtKind::TransStmtRollback) => TxKind::Rollback,
        Ok(TransactionStmtKind::TransStmtSavepoint)
        | Ok(TransactionStmtKind::TransStmtRelease)
        | Ok(TransactionStmtKind::TransStmtRollbackTo) => TxKind::Savepoint,
        _ => TxKind::Other,
    };
    let summary = match kind {
        TxKind::Begin => "BEGIN",
        TxKind::Commit => "COMMIT",
        TxKind::Rollback => "ROLLBACK",
        TxKind::Savepoint => "SAVEPOINT",
        TxKind::Other => "TRANSACTION",
    };
    plain(Op::Transaction(kind), summary)
}

/// [`convert`] for LockStmt.
fn lock_stmt(l: &protobuf::LockStmt) -> ParsedStatement {
    let tables = rangevars(&l.relations);
    let mode = match l.mode {
        1 => "ACCESS SHARE",
        2 => "ROW SHARE",
        3 => "ROW EXCLUSIVE",
        4 => "SHARE UPDATE EXCLUSIVE",
        5 => "SHARE",
        6 => "SHARE ROW EXCLUSIVE",
        7 => "EXCLUSIVE",
        _ => "ACCESS EXCLUSIVE",
    };
    plain(Op::Lock { tables, mode: mode.into() }, "LOCK TABLE")
}

pub(crate) use crate::plpgsql::do_block;

// ---------------------------------------------------------------------------
// Expressions as SQL for plans: deparsed from the nodes at parse time
// ---------------------------------------------------------------------------

/// A literal, possibly cast (`'x'`, `42`, `NULL`, `'a'::text`, `true`).
/// A bare string literal: an untyped constant that takes the type its context gives it.
fn is_string_literal(n: &protobuf::Node) -> bool {
    matches!(n.node.as_ref(), Some(NodeEnum::AConst(c)) if matches!(c.val, Some(protobuf::a_const::Val::Sval(_))))
}

fn is_constant(n: &protobuf::Node) -> bool {
    match n.node.as_ref() {
        Some(NodeEnum::AConst(_)) => true,
        Some(NodeEnum::TypeCast(c)) => c.arg.as_deref().is_some_and(is_constant),
        _ => false,
    }
}

/// SQL text of an expression node of a parsed statement.
fn deparse_expr(expr: &protobuf::Node) -> Option<String> {
    // The `SELECT 1` the expression is put into, parsed once per run.
    static SELECT_ONE: std::sync::OnceLock<Option<NodeEnum>> = std::sync::OnceLock::new();
    let template = SELECT_ONE.get_or_init(|| {
        let parsed = pg_query::parse("SELECT 1", 0).ok()?;
        parsed.protobuf.stmts.first()?.stmt.as_ref()?.node.clone()
    });
    let mut node = template.clone()?;
    let NodeEnum::SelectStmt(sel) = &mut node else {
        return None;
    };
    let Some(NodeEnum::ResTarget(rt)) = sel.target_list.first_mut()?.node.as_mut() else {
        return None;
    };
    rt.val = Some(Box::new(expr.clone()));
    node.deparse(Default::default()).ok()?.strip_prefix("SELECT ").map(str::to_string)
}

/// [`deparse_expr`] of `expr`, written when first read.
fn lazy_expr(expr: &protobuf::Node) -> LazySql {
    let expr = expr.clone();
    LazySql::new(move || deparse_expr(&expr))
}

/// Each action of a multi-action `ALTER TABLE` as its own statement, deparsed from the
/// original nodes (`ALTER TABLE t <action>;`). None for a single action; each written when asked.
fn alter_action_sql(a: &protobuf::AlterTableStmt) -> DeferredSql {
    if a.cmds.len() < 2 {
        return DeferredSql::none();
    }
    let a = a.clone();
    DeferredSql::new((0..a.cmds.len()).map(|k| k.to_string()).collect(), move |k| {
        let c = a.cmds.get(k.parse::<usize>().ok()?)?;
        let mut one = a.clone();
        one.cmds = vec![c.clone()];
        let sql = NodeEnum::AlterTableStmt(one).deparse(Default::default()).ok()?;
        Some(format!("{sql};"))
    })
}

/// An UPDATE or DELETE that names its target with an alias, reads other
/// relations (`UPDATE … FROM`, `DELETE … USING`) or has a `WITH` query: its
/// target table, and a query for the rows it changes, whole and once each,
/// built from the statement's own nodes:
/// `SELECT * FROM t WHERE ctid IN ([WITH …] SELECT a.ctid FROM t AS a, <from> WHERE <where>)`.
/// None for any other statement (a plain UPDATE/DELETE's `where_sql` serves).
fn dml_backup_query(
    rv: &protobuf::RangeVar,
    from: &[Node],
    cond: Option<&Node>,
    with: &Option<protobuf::WithClause>,
) -> Option<String> {
    let alias = rv.alias.as_ref().map(|a| a.aliasname.clone());
    if alias.is_none() && from.is_empty() && with.is_none() {
        return None;
    }
    let table = rangevar(rv);
    let a = quote_ident(alias.as_deref().unwrap_or(&rv.relname));
    let template = format!("SELECT * FROM {table} WHERE ctid IN (SELECT {a}.ctid FROM {table} AS {a})");
    let tp = pg_query::parse(&template, 0).ok()?;
    let mut outer = tp.protobuf.stmts.first()?.stmt.as_ref()?.node.clone()?;
    {
        let NodeEnum::SelectStmt(sel) = &mut outer else {
            return None;
        };
        let Some(NodeEnum::SubLink(sub)) = sel.where_clause.as_mut()?.node.as_mut() else {
            return None;
        };
        let Some(NodeEnum::SelectStmt(inner)) = sub.subselect.as_mut()?.node.as_mut() else {
            return None;
        };
        inner.from_clause.extend(from.iter().cloned());
        inner.where_clause = cond.map(|w| Box::new(w.clone()));
        inner.with_clause = with.clone();
    }
    outer.deparse(Default::default()).ok()
}

#[cfg(test)]
mod text_facts_tests {
    fn facts(sql: &str) -> crate::ir::TextFacts {
        super::parse_statement(sql, 0).unwrap().text
    }

    #[test]
    fn calls_are_seen_in_the_tree_not_in_strings_or_comments() {
        let f = |sql: &str| facts(sql).calls_gen_random_uuid;
        assert!(f("INSERT INTO tokens (id) VALUES (gen_random_uuid())"));
        assert!(f("ALTER TABLE t ADD COLUMN u uuid DEFAULT public.gen_random_uuid()"));
        assert!(f("UPDATE t SET u = gen_random_uuid() WHERE u IS NULL"));
        assert!(!f("INSERT INTO notes (body) VALUES ('gen_random_uuid()') -- gen_random_uuid()"));
        assert!(!f("SELECT uuid_generate_v4()"));
    }

    #[test]
    fn string_constants_are_read_as_written_between_their_quotes() {
        let s =
            facts("INSERT INTO t (a, \"b'\") VALUES ('it''s', E'x\\'y', $$body 'q'$$, $f$two$f$) -- 'comment'").strings;
        assert_eq!(s, vec!["it's", "x\\'y", "body 'q'", "two"]);
        assert!(facts("SELECT 1 /* 'no' */").strings.is_empty());
    }

    #[test]
    fn connection_settings_and_sequence_advances() {
        let t = facts("SELECT dblink_connect('host=db password=hunter2 sslmode = disable')");
        assert!(t.connection_password && t.sslmode_disable);
        assert!(!facts("COMMENT ON COLUMN t.password IS 'password=x'").connection_password);
        let w = facts("SELECT setval('users_id_seq', (SELECT max(id) FROM users))").sequence_words.unwrap();
        assert!(w.iter().any(|x| x == "users_id_seq"));
        assert!(facts("ALTER SEQUENCE users_id_seq RESTART WITH 10").sequence_words.is_some());
        assert!(facts("SELECT nextval('users_id_seq')").sequence_words.is_none());
    }
}

/// A walk over a node's serde form without building it: the keys (struct fields and
/// enum variants, in declaration order) and string values serde_json's `to_value`
/// would produce, each with its path. Anything `to_value` would write differently
/// (maps, tuples, struct variants, a sequence of unknown length) is refused, and the
/// callers then fall back to `to_value`. The callers sort what they collect by path:
/// `to_value`'s objects are sorted by key, so a walk of the Value visits the paths in
/// that order.
mod serde_walk {
    use serde::ser::{self, Serialize};
    use std::fmt;

    /// One step of a path: an object key, or an array element (index, array length).
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
    pub enum Step {
        Key(&'static str),
        Idx(usize, usize),
    }

    pub enum Event<'e> {
        /// An object key (the path ends with it), before its value.
        Key(&'e [Step]),
        /// A string value at the path.
        Str(&'e [Step], &'e str),
        /// A null value at the path.
        Null(&'e [Step]),
    }

    #[derive(Debug)]
    pub struct Unsupported;

    impl fmt::Display for Unsupported {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a form the walk does not read")
        }
    }
    impl std::error::Error for Unsupported {}
    impl ser::Error for Unsupported {
        fn custom<T: fmt::Display>(_: T) -> Self {
            Unsupported
        }
    }

    pub fn walk<T: Serialize + ?Sized, F: FnMut(Event)>(value: &T, f: F) -> Result<(), Unsupported> {
        let mut w = Walker { path: Vec::new(), f };
        value.serialize(&mut w)
    }

    /// For every object `outer` anywhere in the value whose `list` array's last element
    /// reads `{"node": {"String": {"sval": s}}}`: `s`, in the order a walk of the
    /// `to_value` form meets them (`FuncCall`/`funcname`, `ColumnRef`/`fields`).
    pub fn last_names<T: Serialize + ?Sized>(
        value: &T,
        outer: &'static str,
        list: &'static str,
    ) -> Result<Vec<String>, Unsupported> {
        let mut found: Vec<(Vec<Step>, String)> = Vec::new();
        walk(value, |e| {
            if let Event::Str(p, s) = e
                && let [
                    ..,
                    Step::Key(o),
                    Step::Key(l),
                    Step::Idx(i, len),
                    Step::Key("node"),
                    Step::Key("String"),
                    Step::Key("sval"),
                ] = p
                && *o == outer
                && *l == list
                && i + 1 == *len
            {
                found.push((p[..p.len() - 5].to_vec(), s.to_string()));
            }
        })?;
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(found.into_iter().map(|(_, s)| s).collect())
    }

    struct Walker<F> {
        path: Vec<Step>,
        f: F,
    }

    impl<F: FnMut(Event)> Walker<F> {
        fn keyed<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Unsupported> {
            self.path.push(Step::Key(key));
            (self.f)(Event::Key(&self.path));
            let r = value.serialize(&mut *self);
            self.path.pop();
            r
        }
        fn string(&mut self, s: &str) -> Result<(), Unsupported> {
            (self.f)(Event::Str(&self.path, s));
            Ok(())
        }
        fn null(&mut self) -> Result<(), Unsupported> {
            (self.f)(Event::Null(&self.path));
            Ok(())
        }
    }

    pub struct Seq<'w, F> {
        w: &'w mut Walker<F>,
        i: usize,
        len: usize,
    }

    impl<F: FnMut(Event)> ser::SerializeSeq for Seq<'_, F> {
        type Ok = ();
        type Error = Unsupported;
        fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
            self.w.path.push(Step::Idx(self.i, self.len));
            let r = value.serialize(&mut *self.w);
            self.w.path.pop();
            self.i += 1;
            r
        }
        fn end(self) -> Result<(), Unsupported> {
            if self.i == self.len { Ok(()) } else { Err(Unsupported) }
        }
    }

    impl<F: FnMut(Event)> ser::SerializeStruct for &mut Walker<F> {
        type Ok = ();
        type Error = Unsupported;
        fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Unsupported> {
            self.keyed(key, value)
        }
        fn end(self) -> Result<(), Unsupported> {
            Ok(())
        }
    }

    impl<'w, F: FnMut(Event)> ser::Serializer for &'w mut Walker<F> {
        type Ok = ();
        type Error = Unsupported;
        type SerializeSeq = Seq<'w, F>;
        type SerializeTuple = ser::Impossible<(), Unsupported>;
        type SerializeTupleStruct = ser::Impossible<(), Unsupported>;
        type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
        type SerializeMap = ser::Impossible<(), Unsupported>;
        type SerializeStruct = Self;
        type SerializeStructVariant = ser::Impossible<(), Unsupported>;

        fn serialize_bool(self, _: bool) -> Result<(), Unsupported> {
            Ok(())
        }
        fn serialize_i8(self, _: i8) -> Result<(), Unsupported> {
            Ok(())
        }
        fn serialize_i16(self, _: i16) -> Result<(), Unsupported> {
            Ok(())
        }
        fn serialize_i32(self, _: i32) -> Result<(), Unsupported> {
            Ok(())
        }
        fn serialize_i64(self, _: i64) -> Result<(), Unsupported> {
            Ok(())
        }
        fn serialize_u8(self, _: u8) -> Result<(), Unsupported> {
            Ok(())
        }
        fn serialize_u16(self, _: u16) -> Result<(), Unsupported> {
            Ok(())
        }
        fn serialize_u32(self, _: u32) -> Result<(), Unsupported> {
            Ok(())
        }
        fn serialize_u64(self, _: u64) -> Result<(), Unsupported> {
            Ok(())
        }
        fn serialize_f32(self, v: f32) -> Result<(), Unsupported> {
            self.serialize_f64(f64::from(v))
        }
        fn serialize_f64(self, v: f64) -> Result<(), Unsupported> {
            // to_value writes a non-finite float as null.
            if v.is_finite() { Ok(()) } else { self.null() }
        }
        fn serialize_char(self, v: char) -> Result<(), Unsupported> {
            self.string(v.encode_utf8(&mut [0; 4]))
        }
        fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
            self.string(v)
        }
        fn serialize_bytes(self, _: &[u8]) -> Result<(), Unsupported> {
            // to_value: an array of numbers, no keys and no strings.
            Ok(())
        }
        fn serialize_none(self) -> Result<(), Unsupported> {
            self.null()
        }
        fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
            value.serialize(self)
        }
        fn serialize_unit(self) -> Result<(), Unsupported> {
            self.null()
        }
        fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
            self.null()
        }
        fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Unsupported> {
            self.string(variant)
        }
        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            value: &T,
        ) -> Result<(), Unsupported> {
            value.serialize(self)
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            variant: &'static str,
            value: &T,
        ) -> Result<(), Unsupported> {
            self.keyed(variant, value)
        }
        fn serialize_seq(self, len: Option<usize>) -> Result<Seq<'w, F>, Unsupported> {
            let len = len.ok_or(Unsupported)?;
            Ok(Seq { w: self, i: 0, len })
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
            Err(Unsupported)
        }
        fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Unsupported> {
            Ok(self)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Unsupported> {
            Err(Unsupported)
        }
    }
}

#[cfg(test)]
mod serde_walk_tests {
    use super::{serde_walk, walk_json};
    use serde_json::Value;

    /// What the walk of the `to_value` form finds (the code before serde_walk).
    fn json_last_names(v: &Value, outer: &str, list: &str) -> Vec<String> {
        let mut out = Vec::new();
        walk_json(v, &mut |k, val| {
            if k == outer
                && let Some(last) = val.get(list).and_then(Value::as_array).and_then(|p| p.last())
                && let Some(s) = last.pointer("/node/String/sval").and_then(Value::as_str)
            {
                out.push(s.to_string());
            }
        });
        out
    }

    fn sql_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                sql_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "sql") {
                out.push(p);
            }
        }
    }

    #[test]
    fn the_walk_finds_what_the_value_walk_finds_in_the_same_order() {
        let mut files = Vec::new();
        sql_files(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"), &mut files);
        let mut sql: Vec<String> = files.iter().filter_map(|f| std::fs::read_to_string(f).ok()).collect();
        sql.push(
            "SELECT f(a), row_number() OVER (ORDER BY b), (SELECT max(c) FROM t2), s.g(t.d, e) FROM t \
             WHERE h(x) IN (VALUES (k()), (gen_random_uuid())); SELECT count(*), t.* FROM t"
                .into(),
        );
        let mut checked = 0;
        for text in &sql {
            let Ok(parsed) = pg_query::parse(text, 0) else { continue };
            let v = serde_json::to_value(&parsed.protobuf).unwrap();
            for (outer, list) in [("FuncCall", "funcname"), ("ColumnRef", "fields")] {
                assert_eq!(
                    serde_walk::last_names(&parsed.protobuf, outer, list).unwrap(),
                    json_last_names(&v, outer, list)
                );
            }
            for key in ["SubLink", "AStar", "over"] {
                let mut keys = (0, 0);
                serde_walk::walk(&parsed.protobuf, |e| match e {
                    serde_walk::Event::Key([.., serde_walk::Step::Key(k)]) if *k == key => keys.0 += 1,
                    serde_walk::Event::Null([.., serde_walk::Step::Key(k)]) if *k == key => keys.1 += 1,
                    _ => {}
                })
                .unwrap();
                let mut json = (0, 0);
                walk_json(&v, &mut |k, val| {
                    if k == key {
                        json.0 += 1;
                        json.1 += usize::from(val.is_null());
                    }
                });
                assert_eq!(keys, json, "{key}");
            }
            checked += 1;
        }
        assert!(checked > 50, "{checked}");
    }
}
