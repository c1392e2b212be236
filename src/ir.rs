//! What a statement says, in migrade's own terms. The parse module fills
//! these from pg_query's tree; everything after it (facts, rules, plans)
//! reads only these types, never the parser's.

use std::fmt;
use std::sync::Arc;

/// SQL the parse module writes from a statement's own nodes when something prints it
/// (a finding's plan), not at parse time: deparsing every variant of every statement up
/// front, used or not, was a tenth of a lint's instructions (issue 16). One SQL text per
/// key (a column, or `""` for a statement's only variant); `None` for a key it has none
/// for (the deparser failed, or the variant cannot be written).
#[derive(Clone, Default)]
pub struct DeferredSql {
    keys: Vec<String>,
    write: Option<Arc<WriteSql>>,
}

/// Writes the SQL for one key of a [`DeferredSql`].
type WriteSql = dyn Fn(&str) -> Option<String> + Send + Sync;

impl DeferredSql {
    /// SQL for each of `keys`, written by `write` when asked.
    pub fn new(keys: Vec<String>, write: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        DeferredSql { keys, write: Some(Arc::new(write)) }
    }
    /// The statement's only variant (key `""`).
    pub fn one(write: impl Fn() -> Option<String> + Send + Sync + 'static) -> Self {
        DeferredSql::new(vec![String::new()], move |_| write())
    }
    /// No SQL for any key.
    pub fn none() -> Self {
        DeferredSql::default()
    }
    /// Forgets every key (the statements went stale).
    pub fn clear(&mut self) {
        *self = DeferredSql::none();
    }
    /// The SQL for `key`, written now.
    pub fn get(&self, key: &str) -> Option<String> {
        let write = self.write.as_ref()?;
        if !self.keys.iter().any(|k| k == key) {
            return None;
        }
        write(key)
    }
    /// The statement's only variant.
    pub fn sql(&self) -> Option<String> {
        self.get("")
    }
}

impl fmt::Debug for DeferredSql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.keys.iter().map(|k| (k, self.get(k)))).finish()
    }
}

/// Equal when they write the same SQL for the same keys.
impl PartialEq for DeferredSql {
    fn eq(&self, other: &Self) -> bool {
        let written = |d: &DeferredSql| d.keys.iter().filter_map(|k| Some((k.clone(), d.get(k)?))).collect::<Vec<_>>();
        written(self) == written(other)
    }
}

impl Eq for DeferredSql {}

/// One SQL text the parse module writes from a statement's own nodes the first time it
/// is read, then keeps: an `Option<String>` (`None` when the deparser fails) for a field
/// most runs never read (a column's DEFAULT, read by one rule's plan), so a lint does not
/// deparse every default of every CREATE TABLE up front (issue 16).
#[derive(Clone, Default)]
pub struct LazySql {
    sql: std::sync::OnceLock<Option<String>>,
    write: Option<Arc<dyn Fn() -> Option<String> + Send + Sync>>,
}

impl LazySql {
    /// SQL written by `write` when first read.
    pub fn new(write: impl Fn() -> Option<String> + Send + Sync + 'static) -> Self {
        LazySql { sql: std::sync::OnceLock::new(), write: Some(Arc::new(write)) }
    }
    /// SQL already written (or none).
    pub fn written(sql: Option<String>) -> Self {
        LazySql { sql: std::sync::OnceLock::from(sql), write: None }
    }
    /// The SQL (written now if it was not yet), as `Option<String>::as_deref` gives it.
    pub fn as_deref(&self) -> Option<&str> {
        self.sql.get_or_init(|| self.write.as_ref().and_then(|w| w())).as_deref()
    }
    /// No SQL (none to write, or the deparser failed).
    pub fn is_none(&self) -> bool {
        self.as_deref().is_none()
    }
}

impl fmt::Debug for LazySql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_deref().fmt(f)
    }
}

/// Equal when they write the same SQL.
impl PartialEq for LazySql {
    fn eq(&self, other: &Self) -> bool {
        self.as_deref() == other.as_deref()
    }
}

impl Eq for LazySql {}

/// A possibly schema-qualified object name, lower-cased as PostgreSQL folds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct QName {
    pub schema: Option<String>,
    pub name: String,
}

impl QName {
    pub fn new(name: impl Into<String>) -> Self {
        QName { schema: None, name: name.into() }
    }
    /// The key used in the schema history: the bare name (search_path is not modelled).
    pub fn key(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for QName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{}.{}", quote_ident(s), quote_ident(&self.name)),
            None => write!(f, "{}", quote_ident(&self.name)),
        }
    }
}

/// The name of the copy of an object (`<name>_new`), within PostgreSQL's 63-byte
/// identifiers: a longer name is cut first, so that the copy's name never truncates to
/// the original's (`already exists`).
pub fn copy_name(name: &str) -> String {
    const MAX: usize = 63 - "_new".len();
    let mut end = name.len().min(MAX);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}_new", &name[..end])
}

/// Quotes an identifier when PostgreSQL needs it.
pub fn quote_ident(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        && !crate::ir::is_reserved(s);
    if plain { s.to_string() } else { format!("\"{}\"", s.replace('"', "\"\"")) }
}

pub(crate) fn is_reserved(s: &str) -> bool {
    matches!(
        s,
        "all"
            | "analyse"
            | "analyze"
            | "and"
            | "any"
            | "array"
            | "as"
            | "asc"
            | "asymmetric"
            | "both"
            | "case"
            | "cast"
            | "check"
            | "collate"
            | "column"
            | "constraint"
            | "create"
            | "current_date"
            | "current_role"
            | "current_time"
            | "current_timestamp"
            | "current_user"
            | "default"
            | "deferrable"
            | "desc"
            | "distinct"
            | "do"
            | "else"
            | "end"
            | "except"
            | "false"
            | "fetch"
            | "for"
            | "foreign"
            | "from"
            | "grant"
            | "group"
            | "having"
            | "in"
            | "initially"
            | "intersect"
            | "into"
            | "lateral"
            | "leading"
            | "limit"
            | "localtime"
            | "localtimestamp"
            | "not"
            | "null"
            | "offset"
            | "on"
            | "only"
            | "or"
            | "order"
            | "placing"
            | "primary"
            | "references"
            | "returning"
            | "select"
            | "session_user"
            | "some"
            | "symmetric"
            | "table"
            | "then"
            | "to"
            | "trailing"
            | "true"
            | "union"
            | "unique"
            | "user"
            | "using"
            | "variadic"
            | "when"
            | "where"
            | "window"
            | "with"
    )
}

/// A column type as written, normalised to PostgreSQL's internal name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TypeRef {
    /// Internal name, e.g. `int4`, `varchar`, `timestamptz`, or a user type.
    pub name: String,
    /// Type modifiers, e.g. `[20]` for varchar(20), `[10, 2]` for numeric(10,2).
    pub mods: Vec<i64>,
    pub array: bool,
    /// The type as the user would write it, for messages and plans.
    pub display: String,
}

impl TypeRef {
    /// The type as written, with serial's implicit sequence dropped (`bigserial` → `bigint`).
    pub fn without_serial(&self) -> String {
        match self.name.as_str() {
            "serial" | "serial4" => "integer".into(),
            "bigserial" | "serial8" => "bigint".into(),
            "smallserial" | "serial2" => "smallint".into(),
            _ => self.display.clone(),
        }
    }

    pub fn is_serial(&self) -> bool {
        matches!(self.name.as_str(), "serial" | "bigserial" | "smallserial" | "serial4" | "serial8" | "serial2")
    }
}

/// How a column default behaves when added to an existing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultKind {
    /// A constant or a stable/immutable expression: stored once, no rewrite (PG 11+).
    NonVolatile,
    /// A volatile expression: every row gets its own value, the table is rewritten.
    Volatile(String),
    /// Calls functions the parser does not know (user functions), otherwise
    /// non-volatile: volatile (a rewrite) unless the history created each one
    /// non-volatile ([`crate::facts::volatile_default`]).
    UserFunctions(Vec<String>),
    /// `DEFAULT NULL`.
    Null,
}

/// One `column = expression` of an UPDATE's SET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetValue {
    pub column: String,
    /// The expression as SQL (deparsed), when it is a single-column assignment.
    pub sql: Option<String>,
    /// The expression is a constant (a literal, possibly cast).
    pub constant: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ForeignKeyRef {
    pub table: QName,
    pub columns: Vec<String>,
    pub on_delete: Option<String>,
    pub on_update: Option<String>,
    pub match_full: bool,
    pub deferrable: bool,
    pub initially_deferred: bool,
}

impl ForeignKeyRef {
    /// `REFERENCES t (cols) [MATCH FULL] [ON DELETE ..] [ON UPDATE ..] [DEFERRABLE ..]`.
    pub fn clause(&self) -> String {
        let mut s = format!("REFERENCES {}", self.table);
        if !self.columns.is_empty() {
            let cols: Vec<String> = self.columns.iter().map(|c| quote_ident(c)).collect();
            s.push_str(&format!(" ({})", cols.join(", ")));
        }
        if self.match_full {
            s.push_str(" MATCH FULL");
        }
        // PostgreSQL's own order (pg_get_constraintdef).
        for (what, action) in [("UPDATE", &self.on_update), ("DELETE", &self.on_delete)] {
            if let Some(a) = action {
                s.push_str(&format!(" ON {what} {a}"));
            }
        }
        if self.deferrable {
            s.push_str(if self.initially_deferred { " DEFERRABLE INITIALLY DEFERRED" } else { " DEFERRABLE" });
        }
        s
    }
}

/// A column definition (CREATE TABLE or ADD COLUMN).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ColumnSpec {
    pub name: String,
    pub type_ref: TypeRef,
    pub not_null: bool,
    pub default: Option<DefaultKind>,
    /// The DEFAULT expression as SQL (deparsed when first read).
    pub default_sql: LazySql,
    /// The DEFAULT is a bare string literal (`DEFAULT '1970-01-01'`): PostgreSQL types it
    /// as the column's type, and a type change keeps that type.
    pub default_literal: bool,
    pub identity: bool,
    /// `GENERATED ALWAYS AS IDENTITY` (else BY DEFAULT).
    pub identity_always: bool,
    /// The identity's sequence options as SQL clauses, in order (`START WITH 100`,
    /// `INCREMENT BY 5`, `SEQUENCE NAME s`, ...); None when one is not understood.
    pub identity_options: Option<Vec<String>>,
    pub generated_stored: bool,
    pub generated_virtual: bool,
    pub check: bool,
    pub unique: bool,
    /// The inline UNIQUE / PRIMARY KEY is `DEFERRABLE`, and `INITIALLY DEFERRED`.
    pub key_deferrable: bool,
    pub key_initially_deferred: bool,
    /// The inline UNIQUE's NULLS NOT DISTINCT (PostgreSQL 15+; a column constraint takes
    /// no INCLUDE).
    pub key_nulls_not_distinct: bool,
    pub primary_key: bool,
    pub references: Option<ForeignKeyRef>,
    /// The name of the inline REFERENCES when the file gives one (`CONSTRAINT x REFERENCES ...`).
    pub references_name: Option<String>,
    /// The inline CHECKs, in order (`check` says there is one).
    pub checks: Vec<ColumnCheck>,
    pub collation: Option<String>,
}

/// An inline CHECK of a column: its name when the file gives one, its expression
/// (deparsed when first read, by a plan; None when it does not deparse) and the columns
/// the expression reads (PostgreSQL names an unnamed CHECK after its one column).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ColumnCheck {
    pub name: Option<String>,
    pub expr_sql: LazySql,
    pub columns: Vec<String>,
}

impl ColumnSpec {
    /// A plain column: no key, CHECK, foreign key, identity or generated value, and a
    /// non-volatile default or none (what a plan can add and fill without a rewrite).
    pub fn is_plain(&self) -> bool {
        !(self.identity
            || self.generated_stored
            || self.generated_virtual
            || self.check
            || self.unique
            || self.primary_key
            || self.references.is_some()
            || matches!(self.default, Some(DefaultKind::Volatile(_))))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    Check,
    ForeignKey,
    Unique,
    PrimaryKey,
    Exclude,
    NotNull,
}

/// See `Op::Insert::row_query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowQuery {
    pub source: QName,
    /// The number of columns the query gives (an INSERT without a column list fills
    /// that many first columns of the table); None with a `*` in its select list.
    pub targets: Option<usize>,
    /// The query for one row, `NEW` or `OLD` (written when first read; None when the
    /// deparser fails).
    pub new_sql: LazySql,
    pub old_sql: LazySql,
}

/// A table constraint (CREATE TABLE or ADD CONSTRAINT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstraintSpec {
    pub kind: ConstraintKind,
    pub name: Option<String>,
    pub columns: Vec<String>,
    pub not_valid: bool,
    pub using_index: Option<String>,
    pub nulls_not_distinct: bool,
    /// The columns of `UNIQUE / PRIMARY KEY / EXCLUDE ... INCLUDE (...)` (PostgreSQL 11+).
    pub include: Vec<String>,
    /// `DEFERRABLE`, and `INITIALLY DEFERRED`.
    pub deferrable: bool,
    pub initially_deferred: bool,
    /// For `CHECK (col IS NOT NULL)`: the column.
    pub not_null_check_of: Option<String>,
    pub references: Option<ForeignKeyRef>,
    /// The constraint's SQL as written (for plans), when available.
    pub expr_sql: Option<String>,
}

impl ConstraintSpec {
    /// A validated column constraint written inline on one column (UNIQUE, PRIMARY KEY, REFERENCES).
    pub fn for_column(kind: ConstraintKind, column: &str, references: Option<ForeignKeyRef>) -> Self {
        ConstraintSpec {
            kind,
            name: None,
            columns: vec![column.to_string()],
            not_valid: false,
            using_index: None,
            nulls_not_distinct: false,
            include: Vec::new(),
            deferrable: false,
            initially_deferred: false,
            not_null_check_of: None,
            references,
            expr_sql: None,
        }
    }
}

/// What a `USING` clause of a type change does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsingKind {
    /// A function or cast known to cut values (left, substr, ::varchar(n)).
    Truncating(String),
    /// `USING col::type`: the plain cast PostgreSQL would do anyway.
    Cast,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowSecurity {
    Enable,
    Disable,
    Force,
    NoForce,
}

/// One sub-command of ALTER TABLE. `Trigger::foreign_keys`: ENABLE/DISABLE TRIGGER ALL, or
/// of a foreign key's internal trigger, which switches foreign-key enforcement too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterCmd {
    AddColumn {
        column: ColumnSpec,
        if_not_exists: bool,
    },
    DropColumn {
        column: String,
        cascade: bool,
        if_exists: bool,
    },
    AlterType {
        column: String,
        new_type: TypeRef,
        using: Option<UsingKind>,
        /// The USING expression as SQL (deparsed).
        using_sql: Option<String>,
        collation: Option<String>,
    },
    SetNotNull {
        column: String,
    },
    DropNotNull {
        column: String,
    },
    SetDefault {
        column: String,
        default: DefaultKind,
        sql: Option<String>,
        /// A bare string literal (see `ColumnSpec::default_literal`).
        literal: bool,
    },
    DropDefault {
        column: String,
    },
    AddConstraint(ConstraintSpec),
    ValidateConstraint {
        name: String,
    },
    DropConstraint {
        name: String,
        cascade: bool,
    },
    /// `ALTER CONSTRAINT name [NOT] DEFERRABLE [INITIALLY ...]`: `deferral` is
    /// (deferrable, initially deferred) when the command sets them.
    AlterConstraint {
        name: String,
        deferral: Option<(bool, bool)>,
    },
    SetLogged,
    SetUnlogged,
    SetTablespace(String),
    SetAccessMethod(String),
    AttachPartition {
        partition: QName,
        default: bool,
        hash: bool,
    },
    DetachPartition {
        partition: QName,
        concurrently: bool,
    },
    RowSecurity(RowSecurity),
    Trigger {
        enable: bool,
        foreign_keys: bool,
    },
    ReplicaIdentity,
    OwnerTo,
    ClusterOn,
    SetStatistics,
    SetStorage,
    SetOptions,
    AddIdentity {
        column: String,
    },
    /// `ALTER COLUMN c DROP IDENTITY [IF EXISTS]`: the column stays, NOT NULL, without
    /// its sequence.
    DropIdentity {
        column: String,
    },
    SetExpression {
        column: String,
    },
    DropExpression,
    Inherit,
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjKind {
    Table,
    Index,
    View,
    MaterializedView,
    Sequence,
    Schema,
    Function,
    Procedure,
    Type,
    Domain,
    Trigger,
    Policy,
    Extension,
    ForeignTable,
    Column,
    Constraint,
    Other,
}

impl ObjKind {
    pub fn sql(&self) -> &'static str {
        match self {
            ObjKind::Table => "TABLE",
            ObjKind::Index => "INDEX",
            ObjKind::View => "VIEW",
            ObjKind::MaterializedView => "MATERIALIZED VIEW",
            ObjKind::Sequence => "SEQUENCE",
            ObjKind::Schema => "SCHEMA",
            ObjKind::Function => "FUNCTION",
            ObjKind::Procedure => "PROCEDURE",
            ObjKind::Type => "TYPE",
            ObjKind::Domain => "DOMAIN",
            ObjKind::Trigger => "TRIGGER",
            ObjKind::Policy => "POLICY",
            ObjKind::Extension => "EXTENSION",
            ObjKind::ForeignTable => "FOREIGN TABLE",
            ObjKind::Column => "COLUMN",
            ObjKind::Constraint => "CONSTRAINT",
            ObjKind::Other => "OBJECT",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKind {
    Begin,
    Commit,
    Rollback,
    Savepoint,
    Other,
}

/// An SQL statement found inside a `DO` block or function body, located in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedSql {
    /// Byte offset of the text in the file.
    pub offset: usize,
    pub sql: String,
}

/// An `EXECUTE` in a DO block whose string is built at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicExecute {
    pub offset: usize,
    pub len: usize,
    /// Concatenates values without quote_ident/quote_literal/format.
    pub unsafe_concat: bool,
}

/// The statement, in migrade's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    CreateTable {
        table: QName,
        columns: Vec<ColumnSpec>,
        constraints: Vec<ConstraintSpec>,
        partition_of: Option<QName>,
        /// `PARTITION OF ... DEFAULT`.
        default_partition: bool,
        partitioned: bool,
        /// `PARTITION BY HASH`, or a partition `FOR VALUES WITH (MODULUS ...)`.
        hash_partition: bool,
        if_not_exists: bool,
        /// The statement deparsed under the name `copy_name(table)` (no IF NOT EXISTS): the
        /// table built beside the old one by a rebuild's plan; written when asked.
        copy_sql: DeferredSql,
    },
    CreateTableAs {
        table: QName,
        matview: bool,
    },
    AlterTable {
        table: QName,
        kind: ObjKind,
        cmds: Vec<AlterCmd>,
        /// With several actions: each as its own `ALTER TABLE t <action>;`, deparsed, under
        /// its position in `cmds` (`"0"`, `"1"`, ...; none for one action).
        action_sql: DeferredSql,
    },
    CreateIndex {
        name: Option<String>,
        /// The name PostgreSQL gives the index when the statement names none
        /// (`ChooseIndexName`: table, column or expression names, `idx`), uniqueness
        /// suffixes aside.
        auto_name: String,
        table: QName,
        columns: Vec<String>,
        /// Every column the index reads: key columns, those its expressions and WHERE
        /// read, INCLUDE columns.
        reads: Vec<String>,
        /// Per column of `reads`: this index's copy on that column's copy (a type change
        /// builds it beside the original), deparsed with the column and the index renamed
        /// to `copy_name` of theirs, CONCURRENTLY; the whole definition kept.
        copies: DeferredSql,
        unique: bool,
        concurrently: bool,
        if_not_exists: bool,
        /// `INCLUDE (...)` (PostgreSQL 11+).
        include: bool,
        /// `NULLS NOT DISTINCT` (PostgreSQL 15+).
        nulls_not_distinct: bool,
        /// Without CONCURRENTLY: the same statement with it, deparsed from its nodes.
        concurrent_sql: DeferredSql,
    },
    Drop {
        kind: ObjKind,
        names: Vec<QName>,
        cascade: bool,
        if_exists: bool,
        concurrently: bool,
        /// Per name, for a function or procedure: its argument types as written (normalized
        /// like `TypeRef::name`, `[]` for arrays); None without an argument list.
        args: Vec<Option<Vec<String>>>,
        /// Per name, for a trigger or policy: its own name (`DROP TRIGGER name ON table`,
        /// where `names` holds the table); empty for other kinds.
        sub_names: Vec<String>,
    },
    /// `DROP DATABASE`: the database name as written.
    DropDatabase {
        name: String,
        if_exists: bool,
    },
    Rename {
        kind: ObjKind,
        object: QName,
        column: Option<String>,
        new_name: String,
    },
    SetSchema {
        kind: ObjKind,
        object: QName,
        new_schema: String,
    },
    Truncate {
        tables: Vec<QName>,
        cascade: bool,
    },
    Update {
        table: QName,
        has_where: bool,
        /// The columns its SET writes.
        set_columns: Vec<String>,
        /// Each `column = expression` of its SET, the expression deparsed (None for a
        /// multi-column `(a, b) = (...)` assignment).
        set_values: Vec<SetValue>,
        /// An alias on the target, a FROM list or a WITH clause: its expressions may name
        /// other relations, so they do not stand on their own.
        joins: bool,
        /// With an alias, FROM or WITH: a query for the rows it changes, whole and once
        /// each (`SELECT * FROM t WHERE ctid IN (...)`), built from its own nodes.
        backup_query: Option<String>,
        /// Columns its WHERE restricts to `IS NULL` (the clause itself or one of its top-level ANDs).
        where_null_columns: Vec<String>,
        set_sql: Option<String>,
        where_sql: Option<String>,
    },
    Delete {
        table: QName,
        has_where: bool,
        where_sql: Option<String>,
        /// With an alias, USING or WITH: a query for the rows it deletes (see Update).
        backup_query: Option<String>,
    },
    Insert {
        table: QName,
        from_query: bool,
        /// The column list as written (empty: every column, in table order).
        columns: Vec<String>,
        /// `ON CONFLICT ... DO UPDATE`: it can overwrite existing rows.
        upsert: bool,
        /// `INSERT ... SELECT` from one table (no join, WITH, set operation or VALUES): that
        /// table, and the query deparsed with it replaced by the row of a trigger,
        /// `(SELECT NEW.*)` and `(SELECT OLD.*)`, under its alias: what the statement would
        /// insert for that one row.
        row_query: Option<RowQuery>,
    },
    Merge {
        table: QName,
    },
    Copy {
        table: Option<QName>,
        from: bool,
    },
    Select {
        /// Tables whose rows a locking clause (`FOR UPDATE`, `FOR SHARE` ...) locks:
        /// ROW SHARE on each.
        row_locks: Vec<String>,
    },
    Vacuum {
        full: bool,
        analyze_only: bool,
        /// A plain VACUUM may truncate empty pages at the table's end (not with `TRUNCATE false`).
        truncate: bool,
        tables: Vec<QName>,
    },
    Cluster {
        table: Option<QName>,
    },
    Reindex {
        kind: ObjKind,
        name: QName,
        concurrently: bool,
    },
    RefreshMatView {
        name: QName,
        concurrently: bool,
    },
    AlterEnum {
        type_name: QName,
        add_value: Option<String>,
        rename: Option<(String, String)>,
    },
    CreateEnum {
        type_name: QName,
    },
    /// `CREATE EXTENSION`: its name.
    CreateExtension {
        name: String,
    },
    CreateFunction {
        name: QName,
        /// The types of its input arguments (IN, INOUT, VARIADIC), which with the name
        /// identify the function (`%TYPE` for a type copied from a column).
        args: Vec<String>,
        /// How many of them (the last ones) have a default: callers may leave them out.
        defaults: usize,
        /// CREATE PROCEDURE.
        procedure: bool,
        security_definer: bool,
        sets_search_path: bool,
        language: Option<String>,
        /// Calling it in a DEFAULT is not volatile: declared IMMUTABLE or STABLE, or a
        /// `LANGUAGE sql` function PostgreSQL inlines (`inline_function`: one `SELECT
        /// expr` without FROM, not SECURITY DEFINER, STRICT, SET or SETOF) whose expression
        /// is not volatile, whatever its declared volatility.
        non_volatile: bool,
        /// EXECUTEs of SQL built at run time inside a PL/pgSQL body.
        dynamic: Vec<DynamicExecute>,
    },
    CreateView {
        name: QName,
        replace: bool,
        materialized: bool,
    },
    CreateTrigger {
        table: QName,
        replace: bool,
        /// The trigger's name.
        name: String,
    },
    CreatePolicy {
        table: QName,
    },
    AlterSequence {
        name: QName,
        /// `OWNED BY table.column`: the table.
        owned_by: Option<QName>,
    },
    CreateSequence {
        name: QName,
    },
    CreateSchema {
        name: String,
    },
    CreateDomain {
        name: QName,
        has_check: bool,
    },
    AlterDomainAddConstraint {
        name: QName,
        not_valid: bool,
    },
    Do {
        statements: Vec<EmbeddedSql>,
        dynamic: Vec<DynamicExecute>,
        error: Option<String>,
    },
    Set {
        name: String,
        value: String,
        local: bool,
    },
    Transaction(TxKind),
    Lock {
        tables: Vec<QName>,
        mode: String,
    },
    Grant {
        is_grant: bool,
        to_public: bool,
        all_privileges: bool,
    },
    AlterDefaultPrivileges {
        all_privileges: bool,
        to_public: bool,
    },
    Role {
        with_password: bool,
    },
    UserMapping {
        with_password: bool,
    },
    ForeignServer {
        sslmode_disable: bool,
        with_password: bool,
    },
    CreateLanguage {
        untrusted: bool,
        name: String,
    },
    Comment {
        table: Option<QName>,
    },
    CreateStatistics {
        table: Option<QName>,
    },
    Other,
}

/// A statement the parser could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
}

/// A parsed statement: its op, its summary (`ALTER TABLE users ADD COLUMN`) and
/// whether it is one of the statements PostgreSQL refuses inside a transaction block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedStatement {
    pub op: Op,
    pub summary: String,
    /// The statement's tag if it refuses a transaction block (`CREATE INDEX CONCURRENTLY` ...).
    pub refuses_transaction: Option<String>,
    /// Tables the statement reads (queries inside it): ACCESS SHARE on each.
    pub reads: Vec<String>,
    /// What the parse stage read in the statement's text, for the rules that look for a
    /// literal, a call or a connection setting in it (rules never read the text).
    pub text: TextFacts,
}

/// Facts of a statement's text that its tree does not carry in a form rules can use,
/// read once by the parse stage.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextFacts {
    /// The string constants of the statement, as written between their quotes
    /// (`'...'`, `E'...'`, a dollar-quoted body), comments and quoted identifiers aside.
    pub strings: Vec<String>,
    /// A literal password in a connection string: `password=...` in a libpq string or
    /// `postgres://user:password@host` in a URL.
    pub connection_password: bool,
    /// `sslmode=disable` in a connection string.
    pub sslmode_disable: bool,
    /// The tree calls `gen_random_uuid()` (a call, not a mention in a string or a body).
    pub calls_gen_random_uuid: bool,
    /// The statement may advance a sequence (`setval(...)`, or an ALTER SEQUENCE / ALTER
    /// TABLE with RESTART): its words, lowercase, to match a table or sequence name.
    pub sequence_words: Option<Vec<String>>,
}

/// PostgreSQL's makeObjectName (src/backend/commands/indexcmds.c): `name1_name2_label`
/// within 63 bytes, shortening the longer of name1 and name2 one byte at a time (each
/// cut on a character boundary), so `selfservice_login_request_methods` +
/// `selfservice_login_request_id` + `fkey` gives
/// `selfservice_login_request_met_selfservice_login_request_id_fkey`.
pub fn object_name(name1: &str, name2: Option<&str>, label: &str) -> String {
    let overhead = name2.map_or(0, |_| 1) + label.len() + 1;
    let avail = 63usize.saturating_sub(overhead);
    let (mut n1, mut n2) = (name1.len(), name2.map_or(0, str::len));
    while n1 + n2 > avail {
        if n1 > n2 { n1 -= 1 } else { n2 -= 1 }
    }
    let clip = |s: &str, mut n: usize| {
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s[..n].to_string()
    };
    match name2 {
        Some(n) => format!("{}_{}_{label}", clip(name1, n1), clip(n, n2)),
        None => format!("{}_{label}", clip(name1, n1)),
    }
}
