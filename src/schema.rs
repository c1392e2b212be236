//! Schema history: what earlier up migrations defined (tables, columns,
//! types, NOT NULL, constraints and whether they are validated, indexes).
//! Names are keyed without their schema (search_path is not modelled).

use crate::ir::*;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub struct Column {
    pub name: String,
    pub type_ref: TypeRef,
    pub not_null: bool,
    /// `GENERATED ... AS IDENTITY`: filled from a sequence, like serial.
    pub identity: bool,
    /// The DEFAULT expression (deparsed when first read), when the history knows one.
    pub default_sql: crate::ir::LazySql,
    /// `default_sql` is a bare string literal, typed by the column's type.
    pub default_literal: bool,
}

impl Column {
    /// The DEFAULT as PostgreSQL stores it: a bare string literal typed by the column
    /// (`'1970-01-01'` on a timestamp column is `'1970-01-01'::timestamp`, and stays a
    /// timestamp through a type change). The type without its modifiers: the length
    /// coercion is implicit, PostgreSQL strips it (`'q'::character varying`).
    pub fn stored_default(&self) -> Option<String> {
        let d = self.default_sql.as_deref()?;
        if !self.default_literal {
            return Some(d.to_string());
        }
        let t = &self.type_ref;
        let ty = if t.mods.is_empty() {
            t.without_serial()
        } else {
            format!("{}{}", t.name, if t.array { "[]" } else { "" })
        };
        Some(format!("{d}::{ty}"))
    }

    /// Filled from a sequence by default (serial or identity).
    pub fn from_sequence(&self) -> bool {
        self.identity || self.type_ref.is_serial()
    }
}

/// An object that `DROP ... CASCADE` drops with the named one.
#[derive(Debug, Clone, PartialEq)]
pub struct Dependent {
    /// e.g. "foreign key orders_user_id_fkey on orders", "view order_totals".
    pub what: String,
    /// The relation locked ACCESS EXCLUSIVE to drop it.
    pub lock: String,
    /// A foreign key: its name (on table `lock`); a view: None.
    pub foreign_key: Option<String>,
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    b.sort();
    a == b
}

#[derive(Debug, Clone)]
pub struct Constraint {
    pub name: String,
    pub kind: ConstraintKind,
    pub columns: Vec<String>,
    pub validated: bool,
    pub not_null_check_of: Option<String>,
    pub index: Option<String>,
    /// For a foreign key: its whole definition (referenced table, columns as written, empty
    /// for the referenced table's primary key; actions).
    pub fk: Option<crate::ir::ForeignKeyRef>,
    /// `DEFERRABLE`, and `INITIALLY DEFERRED`.
    pub deferrable: bool,
    pub initially_deferred: bool,
    /// For a CHECK: its expression (written when first read), when the history knows it.
    pub check_sql: crate::ir::LazySql,
}

impl Constraint {
    /// The table a foreign key references.
    pub fn references(&self) -> Option<&str> {
        self.fk.as_ref().map(|f| f.table.name.as_str())
    }
    /// The referenced columns as written (empty: the referenced table's primary key).
    pub fn ref_columns(&self) -> &[String] {
        self.fk.as_ref().map_or(&[], |f| f.columns.as_slice())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Table {
    pub name: String,
    /// Known only from ALTERs (not created in a file migrade read): its column list is incomplete.
    pub partial: bool,
    pub columns: Vec<Column>,
    pub constraints: Vec<Constraint>,
    pub partitioned: bool,
    pub partition_of: Option<String>,
    /// For a partitioned table: its DEFAULT partition.
    pub default_partition: Option<String>,
    /// Columns the history dropped or renamed away, and how (`dropped`, `renamed to x`);
    /// adding the name again removes it.
    pub gone_columns: HashMap<String, String>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
    fn column_mut(&mut self, name: &str) -> Option<&mut Column> {
        self.columns.iter_mut().find(|c| c.name == name)
    }
    /// A validated `CHECK (col IS NOT NULL)` exists.
    pub fn has_valid_not_null_check(&self, column: &str) -> bool {
        self.constraints.iter().any(|c| c.validated && c.not_null_check_of.as_deref() == Some(column))
    }
    pub fn constraint(&self, name: &str) -> Option<&Constraint> {
        self.constraints.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone)]
pub struct Index {
    pub name: String,
    pub table: String,
    pub columns: Vec<String>,
    pub unique: bool,
    /// Every column the index reads (key columns, expressions, INCLUDE, WHERE).
    pub reads: Vec<String>,
    /// A UNIQUE / PRIMARY KEY constraint's index (no CREATE INDEX of its own): its
    /// INCLUDE columns and NULLS NOT DISTINCT, which a copy of it must keep.
    pub include: Vec<String>,
    pub nulls_not_distinct: bool,
    /// The IR's `CreateIndex::copies`: per column, the index's copy on that column's
    /// copy. Cleared when a rename (of the index, its table or a column it reads) makes
    /// the statements stale.
    pub copies: crate::ir::DeferredSql,
}

#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// Maps and values are shared (Arc): cloning the history for a down migration
    /// copies pointers, and a map or a table is copied only when that clone changes it
    /// (`Arc::make_mut`). Copying every map for every down file was 3% of a lint (issue 16).
    pub tables: Arc<HashMap<String, Arc<Table>>>,
    pub indexes: Arc<HashMap<String, Arc<Index>>>,
    /// Views and materialized views, with the tables their query reads.
    pub views: Arc<HashMap<String, Arc<Vec<String>>>>,
    pub enums: Arc<HashSet<String>>,
    /// Domains that carry a CHECK constraint (a column of one is a rewrite).
    pub domains_with_check: Arc<HashSet<String>>,
    /// Tables, views, indexes and types the history dropped or renamed away, and
    /// how (`dropped`, `renamed to x`); a later create of the name removes it.
    pub gone: Arc<HashMap<String, String>>,
    /// Tables renamed with RENAME TO (known to the history or not): new name -> old name.
    pub renamed_tables: Arc<HashMap<String, String>>,
    /// A table renamed away whose rows an `INSERT ... SELECT` copied into the table
    /// recreated under its old name (a table rebuild): old copy -> new table.
    pub copied_into: Arc<HashMap<String, String>>,
    /// Extensions created (`CREATE EXTENSION`).
    pub extensions: Arc<HashSet<String>>,
    /// Triggers created (`CREATE TRIGGER`) and not dropped since: `table\0trigger`.
    pub triggers: Arc<HashSet<String>>,
    /// `transaction = "all-pending"`: the transaction the runner keeps open across the
    /// pending files linted so far (empty otherwise).
    pub open_batch: OpenBatch,
    /// Schemas created (`CREATE SCHEMA`) and not dropped since.
    pub schemas: Arc<HashSet<String>>,
    /// Functions created whose call in a DEFAULT is not volatile (see
    /// [`Op::CreateFunction`]'s `non_volatile`).
    pub non_volatile_functions: Arc<HashSet<String>>,
}

/// What the one transaction of an all-pending run still holds when the next
/// pending file starts.
#[derive(Debug, Clone, Default)]
pub struct OpenBatch {
    /// Tables that existed before the batch and that an earlier pending file locked
    /// ACCESS EXCLUSIVE: (table, where: `<file> statement N`).
    pub access_exclusive: Vec<(String, String)>,
    /// Objects created by the earlier pending files: invisible to other sessions
    /// until the batch commits, so a lock on them blocks nobody.
    pub created: HashSet<String>,
}

/// Key of a trigger in [`Schema::triggers`].
pub fn trigger_key(table: &str, trigger: &str) -> String {
    format!("{table}\u{0}{trigger}")
}

impl Schema {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name).map(|t| &**t)
    }
    /// `DROP INDEX IF EXISTS t.i` where `t` is a table the history knows and no schema of
    /// that name was created: PostgreSQL reads `t` as a schema, finds none, and drops
    /// nothing (a MySQL-style `table.index`; measured on PG 15: fixtures/locks
    /// drop-index-if-exists-table-qualified).
    pub fn qualifier_is_a_table_not_a_schema(&self, qualifier: &str) -> bool {
        qualifier != "public"
            && qualifier != "pg_catalog"
            && !self.schemas.contains(qualifier)
            && self.tables.contains_key(qualifier)
    }
    /// The history knows every trigger of `table` and it has none named `trigger`: the
    /// table (or view) was created in the history (not only altered), never renamed, and no
    /// CREATE TRIGGER of that name on it is standing.
    pub fn trigger_known_missing(&self, table: &str, trigger: &str) -> bool {
        (self.table(table).is_some_and(|t| !t.partial) || self.views.contains_key(table))
            && !self.renamed_tables.contains_key(table)
            && !self.triggers.contains(&trigger_key(table, trigger))
    }

    /// Indexes on a table that use a column.
    /// Indexes that read the column anywhere (key, expression, INCLUDE, WHERE): the ones
    /// PostgreSQL rebuilds when the column's type changes, and drops with the column.
    pub fn indexes_reading(&self, table: &str, column: &str) -> Vec<&Index> {
        let mut v: Vec<&Index> = self
            .indexes
            .values()
            .map(|i| &**i)
            .filter(|i| {
                i.table == table && (i.reads.iter().any(|c| c == column) || i.columns.iter().any(|c| c == column))
            })
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    pub fn indexes_on(&self, table: &str, column: &str) -> Vec<&Index> {
        let mut v: Vec<&Index> = self
            .indexes
            .values()
            .map(|i| &**i)
            .filter(|i| i.table == table && i.columns.iter().any(|c| c == column))
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Partitions of a partitioned table.
    pub fn partitions(&self, parent: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .tables
            .values()
            .filter(|t| t.partition_of.as_deref() == Some(parent))
            .map(|t| t.name.as_str())
            .collect();
        v.sort();
        v
    }

    /// Tables with a foreign key to `table`.
    pub fn referencing(&self, table: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .tables
            .values()
            .filter(|t| t.name != table && t.constraints.iter().any(|k| k.references() == Some(table)))
            .map(|t| t.name.as_str())
            .collect();
        v.sort();
        v
    }

    /// Foreign keys (table, constraint) that depend on the unique or primary key
    /// `key` of `table`: they reference `table` and its columns (a foreign key
    /// written without columns references the primary key).
    pub fn foreign_keys_on(&self, table: &str, key: &Constraint) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .tables
            .values()
            .flat_map(|t| {
                t.constraints
                    .iter()
                    .filter(|k| k.kind == ConstraintKind::ForeignKey && k.references() == Some(table))
                    .filter(|k| {
                        if k.ref_columns().is_empty() {
                            key.kind == ConstraintKind::PrimaryKey
                        } else {
                            let (mut a, mut b) = (k.ref_columns().to_vec(), key.columns.clone());
                            a.sort();
                            b.sort();
                            a == b
                        }
                    })
                    .map(|k| (t.name.clone(), k.name.clone()))
            })
            .collect();
        v.sort();
        v
    }

    /// What `DROP <kind> name CASCADE` also drops, as far as the history knows it, in
    /// order: foreign keys that depend on a dropped table or unique index, and views
    /// (transitively) that read a dropped table or view. Each with the relation that
    /// PostgreSQL locks ACCESS EXCLUSIVE to drop it (the foreign key's table, the view).
    pub fn cascade_dependents(&self, kind: ObjKind, name: &str) -> Vec<Dependent> {
        let mut out: Vec<Dependent> = Vec::new();
        let fk = |table: &str, cols: Option<&[String]>, out: &mut Vec<Dependent>| {
            let mut v: Vec<(String, String)> = self
                .tables
                .values()
                .filter(|t| t.name != table)
                .flat_map(|t| {
                    t.constraints
                        .iter()
                        .filter(|k| k.kind == ConstraintKind::ForeignKey && k.references() == Some(table))
                        .filter(|k| match cols {
                            None => true,
                            Some(c) => !k.ref_columns().is_empty() && same_set(k.ref_columns(), c),
                        })
                        .map(|k| (t.name.clone(), k.name.clone()))
                })
                .collect();
            v.sort();
            out.extend(v.into_iter().map(|(t, k)| Dependent {
                what: format!("foreign key {k} on {t}"),
                lock: t,
                foreign_key: Some(k),
            }));
        };
        let mut roots = vec![name.to_string()];
        match kind {
            ObjKind::Table | ObjKind::ForeignTable => fk(name, None, &mut out),
            ObjKind::Index => {
                // A foreign key whose referenced columns are exactly a unique index's
                // depends on that index (no constraint owns it: those cannot be dropped this way).
                // An index that backs a constraint cannot be dropped at all, not even with
                // CASCADE (PostgreSQL 15: "cannot drop index ... because constraint ...
                // requires it"): it drops nothing.
                if let Some(i) = self.indexes.get(name).filter(|i| i.unique)
                    && self.constraint_of_index(name).is_none()
                {
                    fk(&i.table, Some(&i.columns), &mut out);
                }
                return out;
            }
            ObjKind::View | ObjKind::MaterializedView => {}
            _ => return out,
        }
        // Views reading a dropped relation, then views reading those.
        let mut seen: HashSet<String> = roots.iter().cloned().collect();
        while let Some(r) = roots.pop() {
            let mut vs: Vec<&String> = self
                .views
                .iter()
                .filter(|(v, reads)| !seen.contains(*v) && reads.contains(&r))
                .map(|(v, _)| v)
                .collect();
            vs.sort();
            for v in vs {
                seen.insert(v.clone());
                roots.push(v.clone());
                out.push(Dependent { what: format!("view {v}"), lock: v.clone(), foreign_key: None });
            }
        }
        out
    }

    /// Forgets an object that a CASCADE dropped.
    fn drop_dependent(&mut self, d: &Dependent) {
        match &d.foreign_key {
            Some(name) => {
                if let Some(t) = Arc::make_mut(&mut self.tables).get_mut(&d.lock) {
                    Arc::make_mut(t).constraints.retain(|k| &k.name != name);
                }
            }
            None => {
                Arc::make_mut(&mut self.views).remove(&d.lock);
            }
        }
    }

    /// Tables a table's foreign keys point to.
    pub fn referenced_by(&self, table: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .table(table)
            .map(|t| {
                t.constraints.iter().filter_map(|k| k.references().map(str::to_string)).filter(|r| r != table).collect()
            })
            .unwrap_or_default();
        v.sort();
        v.dedup();
        v
    }

    /// Tables with a column of a domain type.
    pub fn tables_using_type(&self, type_name: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .tables
            .values()
            .filter(|t| t.columns.iter().any(|c| c.type_ref.name == type_name))
            .map(|t| t.name.as_str())
            .collect();
        v.sort();
        v
    }

    /// The table a foreign-key column points to, when known.
    pub fn fk_target(&self, table: &str, column: &str) -> Option<String> {
        self.table(table)?
            .constraints
            .iter()
            .find(|c| c.kind == ConstraintKind::ForeignKey && c.columns.iter().any(|x| x == column))
            .and_then(|c| c.references().map(str::to_string))
    }

    fn add_constraint(&mut self, table: &str, spec: &ConstraintSpec, validated: bool) {
        self.add_constraint_with(table, spec, validated, None);
    }

    /// [`Schema::add_constraint`], a CHECK's expression given apart (`check_sql`: an
    /// inline CHECK's, written when first read) instead of `spec.expr_sql`.
    fn add_constraint_with(
        &mut self,
        table: &str,
        spec: &ConstraintSpec,
        validated: bool,
        check_sql: Option<crate::ir::LazySql>,
    ) {
        // Without a name, `USING INDEX i` names the constraint after the index.
        let name = spec
            .name
            .clone()
            .or_else(|| {
                spec.using_index
                    .clone()
                    .filter(|_| matches!(spec.kind, ConstraintKind::Unique | ConstraintKind::PrimaryKey))
            })
            .unwrap_or_else(|| self.new_constraint_name(table, spec, &[], &[]));
        let index = match spec.kind {
            ConstraintKind::Unique | ConstraintKind::PrimaryKey => {
                // `ADD CONSTRAINT c ... USING INDEX i` renames the index to the constraint's
                // name (PostgreSQL docs, ALTER TABLE: "the index will be renamed to match
                // the constraint name"); without a constraint name the constraint takes the
                // index's.
                let (columns, include, nulls_not_distinct) = match &spec.using_index {
                    Some(old) => {
                        let existing = Arc::make_mut(&mut self.indexes).remove(old);
                        if *old != name {
                            Arc::make_mut(&mut self.gone).insert(old.clone(), format!("renamed to {name}"));
                        }
                        // An index a key can use has no expression and no WHERE (PostgreSQL
                        // refuses it): what it reads beyond its key columns is its INCLUDE.
                        let (include, nnd) = existing
                            .as_ref()
                            .map(|i| {
                                let include = if i.include.is_empty() {
                                    i.reads.iter().filter(|r| !i.columns.contains(r)).cloned().collect()
                                } else {
                                    i.include.clone()
                                };
                                (include, i.nulls_not_distinct)
                            })
                            .unwrap_or_default();
                        let columns = existing
                            .map(|i| i.columns.clone())
                            .filter(|c| !c.is_empty())
                            .unwrap_or(spec.columns.clone());
                        (columns, include, nnd)
                    }
                    None => (spec.columns.clone(), spec.include.clone(), spec.nulls_not_distinct),
                };
                let idx = name.clone();
                Arc::make_mut(&mut self.gone).remove(&idx);
                let mut reads = columns.clone();
                reads.extend(include.iter().filter(|c| !columns.contains(c)).cloned());
                Arc::make_mut(&mut self.indexes).insert(
                    idx.clone(),
                    Arc::new(Index {
                        name: idx.clone(),
                        table: table.to_string(),
                        reads,
                        columns,
                        include,
                        nulls_not_distinct,
                        unique: true,
                        copies: crate::ir::DeferredSql::none(),
                    }),
                );
                Some(idx)
            }
            _ => None,
        };
        {
            let t = self.table_mut(table);
            if spec.kind == ConstraintKind::PrimaryKey || spec.kind == ConstraintKind::NotNull {
                for c in &spec.columns {
                    if let Some(col) = t.column_mut(c) {
                        col.not_null = true;
                    }
                }
            }
            t.constraints.push(Constraint {
                name,
                kind: spec.kind,
                columns: spec.columns.clone(),
                validated,
                not_null_check_of: spec.not_null_check_of.clone(),
                index,
                fk: spec.references.clone(),
                deferrable: spec.deferrable,
                initially_deferred: spec.initially_deferred,
                check_sql: check_sql.unwrap_or_else(|| crate::ir::LazySql::written(spec.expr_sql.clone())),
            });
        }
    }

    /// The name PostgreSQL gives an unnamed constraint `spec` added to `table` now: for a
    /// CHECK, the first free one of `t_c_check`, `t_c_check1`, … ([`Schema::choose_constraint_name`]);
    /// `others`: the names the same command chose before it; `freed`: the constraints the
    /// same ALTER TABLE drops (PostgreSQL drops them before it adds any).
    pub fn new_constraint_name(
        &self,
        table: &str,
        spec: &ConstraintSpec,
        others: &[String],
        freed: &[String],
    ) -> String {
        match spec.kind {
            ConstraintKind::Check => {
                self.choose_constraint_name(table, check_column(&spec.columns), "check", others, freed)
            }
            // ATExecAddConstraint: ChooseConstraintName(rel, the key's columns joined by `_`, "fkey").
            ConstraintKind::ForeignKey => {
                let cols = spec.columns.join("_");
                self.choose_constraint_name(table, (!cols.is_empty()).then_some(cols.as_str()), "fkey", others, freed)
            }
            _ => default_constraint_name(table, spec),
        }
    }

    /// PostgreSQL's ChooseConstraintName (PostgreSQL 15, checked): `<name1>_<name2>_<label>`,
    /// then with `label1`, `label2`, … until no constraint of the schema has the name (the
    /// history has no schemas: any table's) and the same command did not choose it (`others`).
    pub fn choose_constraint_name(
        &self,
        name1: &str,
        name2: Option<&str>,
        label: &str,
        others: &[String],
        freed: &[String],
    ) -> String {
        let taken = |n: &str| {
            others.iter().any(|o| o == n)
                || (!freed.iter().any(|f| f == n)
                    && self
                        .tables
                        .values()
                        .any(|t| t.constraints.iter().any(|k| k.kind != ConstraintKind::NotNull && k.name == n)))
        };
        let mut pass = 0u32;
        loop {
            let l = if pass == 0 { label.to_string() } else { format!("{label}{pass}") };
            let name = object_name(name1, name2, &l);
            if !taken(&name) {
                return name;
            }
            pass += 1;
        }
    }

    /// How the history lost `name` (`dropped`, `renamed to x`) when it no longer
    /// holds an object of that name.
    pub fn gone(&self, name: &str) -> Option<&str> {
        let present = self.tables.contains_key(name)
            || self.indexes.contains_key(name)
            || self.views.contains_key(name)
            || self.enums.contains(name);
        if present { None } else { self.gone.get(name).map(String::as_str) }
    }

    /// How a column the history dropped or renamed away went (`dropped`, `renamed to x`),
    /// when the table is known and has no column of that name now.
    pub fn gone_column(&self, table: &str, column: &str) -> Option<&str> {
        let t = self.table(table)?;
        if t.column(column).is_some() { None } else { t.gone_columns.get(column).map(String::as_str) }
    }

    /// The constraint (PRIMARY KEY, UNIQUE, EXCLUDE) whose index is `index`.
    pub fn constraint_of_index(&self, index: &str) -> Option<&Constraint> {
        let i = self.indexes.get(index)?;
        self.table(&i.table)?.constraints.iter().find(|k| k.index.as_deref() == Some(index))
    }

    /// Applies a statement to the history.
    pub fn apply(&mut self, op: &Op, reads: &[String]) {
        self.track_gone(op);
        match op {
            Op::CreateTrigger { table, name, .. } => {
                Arc::make_mut(&mut self.triggers).insert(trigger_key(&table.name, name));
            }
            Op::Rename { kind: ObjKind::Trigger, object, new_name, .. } => {
                Arc::make_mut(&mut self.triggers).insert(trigger_key(&object.name, new_name));
            }
            Op::CreateTable { table, columns, constraints, partition_of, partitioned, default_partition, .. } => {
                if let Some(p) = partition_of
                    && *default_partition
                {
                    self.table_mut(&p.name).default_partition = Some(table.name.clone());
                }
                let mut t = Table {
                    name: table.name.clone(),
                    partitioned: *partitioned,
                    partition_of: partition_of.as_ref().map(|p| p.name.clone()),
                    ..Default::default()
                };
                for c in columns {
                    t.columns.push(Column {
                        name: c.name.clone(),
                        type_ref: c.type_ref.clone(),
                        not_null: c.not_null,
                        identity: c.identity,
                        default_sql: c.default_sql.clone(),
                        default_literal: c.default_literal,
                    });
                }
                Arc::make_mut(&mut self.tables).insert(table.name.clone(), Arc::new(t));
                for c in columns {
                    if let Some(r) = &c.references {
                        let spec = ConstraintSpec::for_column(ConstraintKind::ForeignKey, &c.name, Some(r.clone()));
                        self.add_constraint(&table.name, &spec, true);
                    }
                }
                for spec in constraints {
                    if spec.kind != ConstraintKind::ForeignKey
                        || spec.name.is_some()
                        || !columns.iter().any(|c| c.references.is_some() && spec.columns == vec![c.name.clone()])
                    {
                        self.add_constraint(&table.name, spec, !spec.not_valid);
                    }
                }
            }
            Op::CreateTableAs { table, matview } => {
                if *matview {
                    Arc::make_mut(&mut self.views).insert(table.name.clone(), Arc::new(reads.to_vec()));
                } else {
                    Arc::make_mut(&mut self.tables)
                        .insert(table.name.clone(), Arc::new(Table { name: table.name.clone(), ..Default::default() }));
                }
            }
            Op::AlterTable { table, cmds, .. } => {
                // PostgreSQL drops the statement's constraints before it adds any (their
                // names are free for the new ones, whatever the order of the actions).
                let drop = |c: &&AlterCmd| matches!(c, AlterCmd::DropConstraint { .. });
                for cmd in cmds.iter().filter(drop).chain(cmds.iter().filter(|c| !drop(c))) {
                    self.apply_alter(&table.name, cmd);
                }
            }
            Op::CreateIndex { name, auto_name, table, columns, unique, reads, copies, nulls_not_distinct, .. } => {
                let name = name.clone().unwrap_or_else(|| auto_name.clone());
                Arc::make_mut(&mut self.indexes).insert(
                    name.clone(),
                    Arc::new(Index {
                        name,
                        table: table.name.clone(),
                        columns: columns.clone(),
                        unique: *unique,
                        reads: reads.clone(),
                        // Its INCLUDE columns are among `reads`: a key made USING INDEX
                        // takes them from there (see add_constraint).
                        include: Vec::new(),
                        nulls_not_distinct: *nulls_not_distinct,
                        copies: copies.clone(),
                    }),
                );
            }
            Op::Drop { kind, names, cascade, sub_names, if_exists, .. } => {
                if *kind == ObjKind::Trigger {
                    for (n, s) in names.iter().zip(sub_names) {
                        Arc::make_mut(&mut self.triggers).remove(&trigger_key(&n.name, s));
                    }
                }
                for n in names {
                    if *cascade {
                        for d in self.cascade_dependents(*kind, &n.name) {
                            self.drop_dependent(&d);
                        }
                    }
                    match kind {
                        ObjKind::Table | ObjKind::ForeignTable => {
                            Arc::make_mut(&mut self.tables).remove(&n.name);
                            Arc::make_mut(&mut self.renamed_tables).remove(&n.name);
                            Arc::make_mut(&mut self.copied_into).remove(&n.name);
                            Arc::make_mut(&mut self.indexes).retain(|_, i| i.table != n.name);
                        }
                        ObjKind::Index
                            if *if_exists
                                && n.schema.as_deref().is_some_and(|q| self.qualifier_is_a_table_not_a_schema(q)) => {}
                        ObjKind::Index => {
                            Arc::make_mut(&mut self.indexes).remove(&n.name);
                        }
                        ObjKind::View | ObjKind::MaterializedView => {
                            Arc::make_mut(&mut self.views).remove(&n.name);
                        }
                        ObjKind::Schema => {
                            Arc::make_mut(&mut self.schemas).remove(&n.name);
                        }
                        ObjKind::Function => {
                            Arc::make_mut(&mut self.non_volatile_functions).remove(&n.name);
                        }
                        ObjKind::Type => {
                            Arc::make_mut(&mut self.enums).remove(&n.name);
                        }
                        _ => {}
                    }
                }
            }
            Op::Rename { kind, object, column, new_name } => match kind {
                ObjKind::Table => {
                    Arc::make_mut(&mut self.renamed_tables).insert(new_name.clone(), object.name.clone());
                    if let Some(mut t) = Arc::make_mut(&mut self.tables).remove(&object.name) {
                        Arc::make_mut(&mut t).name = new_name.clone();
                        // Only the renamed table's indexes are copied out of a shared
                        // history (a down section's scratch), not every index (issue 16).
                        for i in Arc::make_mut(&mut self.indexes).values_mut() {
                            if i.table == object.name {
                                let i = Arc::make_mut(i);
                                i.table = new_name.clone();
                                i.copies.clear();
                            }
                        }
                        Arc::make_mut(&mut self.tables).insert(new_name.clone(), t);
                        // Foreign keys follow the renamed table (PostgreSQL links them by oid).
                        for t in Arc::make_mut(&mut self.tables).values_mut() {
                            if t.constraints.iter().any(|k| k.references() == Some(object.name.as_str())) {
                                for k in &mut Arc::make_mut(t).constraints {
                                    if let Some(fk) = k.fk.as_mut().filter(|f| f.table.name == object.name) {
                                        fk.table.name = new_name.clone();
                                    }
                                }
                            }
                        }
                    }
                }
                ObjKind::Column => {
                    if let (Some(t), Some(old)) =
                        (Arc::make_mut(&mut self.tables).get_mut(&object.name).map(Arc::make_mut), column)
                    {
                        if let Some(c) = t.column_mut(old) {
                            c.name = new_name.clone();
                        }
                        t.gone_columns.remove(new_name);
                        t.gone_columns.insert(old.clone(), format!("renamed to {new_name}"));
                        for k in &mut t.constraints {
                            if k.kind == ConstraintKind::Check && k.columns.contains(old) {
                                // Its expression names the old column: no longer the SQL
                                // that re-creates it (a type change says so instead).
                                k.check_sql = crate::ir::LazySql::written(None);
                            }
                            for c in &mut k.columns {
                                if c == old {
                                    *c = new_name.clone();
                                }
                            }
                            if k.not_null_check_of.as_deref() == Some(old) {
                                k.not_null_check_of = Some(new_name.clone());
                            }
                        }
                        for i in Arc::make_mut(&mut self.indexes).values_mut() {
                            if i.table == object.name && i.reads.contains(old) {
                                let i = Arc::make_mut(i);
                                for c in i.columns.iter_mut().chain(i.reads.iter_mut()).chain(i.include.iter_mut()) {
                                    if c == old {
                                        *c = new_name.clone();
                                    }
                                }
                                i.copies.clear();
                            }
                        }
                        // Foreign keys that name the column among their referenced ones
                        // follow it (PostgreSQL links them by attribute number).
                        let refers = |k: &Constraint| {
                            k.references() == Some(object.name.as_str()) && k.ref_columns().contains(old)
                        };
                        for t in Arc::make_mut(&mut self.tables).values_mut() {
                            if t.constraints.iter().any(refers) {
                                for k in Arc::make_mut(t).constraints.iter_mut().filter(|k| refers(k)) {
                                    for c in k.fk.iter_mut().flat_map(|f| f.columns.iter_mut()).filter(|c| *c == old) {
                                        *c = new_name.clone();
                                    }
                                }
                            }
                        }
                    }
                }
                ObjKind::Index => {
                    if let Some(mut i) = Arc::make_mut(&mut self.indexes).remove(&object.name) {
                        let i_mut = Arc::make_mut(&mut i);
                        i_mut.name = new_name.clone();
                        i_mut.copies.clear();
                        Arc::make_mut(&mut self.indexes).insert(new_name.clone(), i);
                    }
                }
                ObjKind::Constraint => {
                    if let (Some(t), Some(old)) =
                        (Arc::make_mut(&mut self.tables).get_mut(&object.name).map(Arc::make_mut), column)
                        && let Some(k) = t.constraints.iter_mut().find(|k| &k.name == old)
                    {
                        k.name = new_name.clone();
                    }
                }
                _ => {}
            },
            Op::CreateView { name, .. } => {
                Arc::make_mut(&mut self.views).insert(name.name.clone(), Arc::new(reads.to_vec()));
            }
            // Rows of a table renamed away copied into the table recreated under its old name.
            Op::Insert { table, from_query: true, .. } => {
                for r in reads {
                    if self.renamed_tables.get(r) == Some(&table.name) {
                        Arc::make_mut(&mut self.copied_into).insert(r.clone(), table.name.clone());
                    }
                }
            }
            Op::CreateDomain { name, has_check: true } => {
                Arc::make_mut(&mut self.domains_with_check).insert(name.name.clone());
            }
            Op::AlterDomainAddConstraint { name, .. } => {
                Arc::make_mut(&mut self.domains_with_check).insert(name.name.clone());
            }
            Op::CreateEnum { type_name } => {
                Arc::make_mut(&mut self.enums).insert(type_name.name.clone());
            }
            Op::CreateExtension { name } => {
                Arc::make_mut(&mut self.extensions).insert(name.clone());
            }
            Op::CreateSchema { name } => {
                Arc::make_mut(&mut self.schemas).insert(name.clone());
            }
            Op::CreateFunction { name, non_volatile, .. } => {
                if *non_volatile {
                    Arc::make_mut(&mut self.non_volatile_functions).insert(name.name.clone());
                } else {
                    Arc::make_mut(&mut self.non_volatile_functions).remove(&name.name);
                }
            }
            _ => {}
        }
    }

    /// Records names dropped or renamed away, and forgets them when created again.
    fn track_gone(&mut self, op: &Op) {
        match op {
            Op::CreateTable { table: n, .. } | Op::CreateTableAs { table: n, .. } | Op::CreateView { name: n, .. } => {
                Arc::make_mut(&mut self.gone).remove(&n.name);
            }
            Op::CreateEnum { type_name } => {
                Arc::make_mut(&mut self.gone).remove(&type_name.name);
            }
            Op::CreateIndex { name: Some(n), .. } | Op::CreateIndex { name: None, auto_name: n, .. } => {
                Arc::make_mut(&mut self.gone).remove(n);
            }
            Op::Drop {
                kind:
                    ObjKind::Table
                    | ObjKind::ForeignTable
                    | ObjKind::Index
                    | ObjKind::View
                    | ObjKind::MaterializedView
                    | ObjKind::Type,
                names,
                ..
            } => {
                for n in names {
                    Arc::make_mut(&mut self.gone).insert(n.name.clone(), "dropped".to_string());
                }
            }
            Op::Rename { kind: ObjKind::Table | ObjKind::Index | ObjKind::View, object, column: None, new_name } => {
                Arc::make_mut(&mut self.gone).remove(new_name);
                Arc::make_mut(&mut self.gone).insert(object.name.clone(), format!("renamed to {new_name}"));
            }
            _ => {}
        }
    }

    /// The table, created as a partial entry when no earlier file defined it.
    fn table_mut(&mut self, table: &str) -> &mut Table {
        Arc::make_mut(
            Arc::make_mut(&mut self.tables)
                .entry(table.to_string())
                .or_insert_with(|| Arc::new(Table { name: table.to_string(), partial: true, ..Default::default() })),
        )
    }

    fn apply_alter(&mut self, table: &str, cmd: &AlterCmd) {
        match cmd {
            AlterCmd::AddColumn { column, .. } => {
                let t = self.table_mut(table);
                t.gone_columns.remove(&column.name);
                if t.column(&column.name).is_none() {
                    t.columns.push(Column {
                        name: column.name.clone(),
                        type_ref: column.type_ref.clone(),
                        not_null: column.not_null,
                        identity: column.identity,
                        default_sql: column.default_sql.clone(),
                        default_literal: column.default_literal,
                    });
                }
                if column.unique || column.primary_key {
                    let kind = if column.primary_key { ConstraintKind::PrimaryKey } else { ConstraintKind::Unique };
                    let spec = ConstraintSpec {
                        deferrable: column.key_deferrable,
                        initially_deferred: column.key_initially_deferred,
                        nulls_not_distinct: column.key_nulls_not_distinct,
                        ..ConstraintSpec::for_column(kind, &column.name, None)
                    };
                    self.add_constraint(table, &spec, true);
                }
                if let Some(r) = &column.references {
                    let spec = ConstraintSpec::for_column(ConstraintKind::ForeignKey, &column.name, Some(r.clone()));
                    self.add_constraint(table, &spec, true);
                }
                // The inline CHECKs, under PostgreSQL's names (a later type change of the
                // column re-creates them from their expressions).
                for (name, check) in column_checks(self, table, column) {
                    let spec = ConstraintSpec {
                        name: Some(name),
                        columns: check.columns.clone(),
                        ..ConstraintSpec::for_column(ConstraintKind::Check, &column.name, None)
                    };
                    self.add_constraint_with(table, &spec, true, Some(check.expr_sql.clone()));
                }
            }
            AlterCmd::DropColumn { column, .. } => {
                // Gone after the statement whether or not the history knew the table or the
                // column (IF EXISTS): a table made outside the folder becomes a partial entry.
                let t = self.table_mut(table);
                t.gone_columns.entry(column.clone()).or_insert_with(|| "dropped".to_string());
                t.columns.retain(|c| &c.name != column);
                t.constraints.retain(|k| !k.columns.contains(column));
                Arc::make_mut(&mut self.indexes)
                    .retain(|_, i| !(i.table == table && (i.columns.contains(column) || i.reads.contains(column))));
            }
            AlterCmd::AlterType { column, new_type, .. } => {
                if let Some(t) = Arc::make_mut(&mut self.tables).get_mut(table).map(Arc::make_mut)
                    && let Some(c) = t.column_mut(column)
                {
                    // The default keeps the type it had (PostgreSQL coerces it to the new one).
                    c.default_sql = crate::ir::LazySql::written(c.stored_default());
                    c.default_literal = false;
                    c.type_ref = new_type.clone();
                }
            }
            AlterCmd::SetNotNull { column } => {
                if let Some(t) = Arc::make_mut(&mut self.tables).get_mut(table).map(Arc::make_mut)
                    && let Some(c) = t.column_mut(column)
                {
                    c.not_null = true;
                }
            }
            AlterCmd::AddIdentity { column } => {
                if let Some(t) = Arc::make_mut(&mut self.tables).get_mut(table).map(Arc::make_mut)
                    && let Some(c) = t.column_mut(column)
                {
                    c.identity = true;
                }
            }
            AlterCmd::DropIdentity { column } => {
                if let Some(t) = Arc::make_mut(&mut self.tables).get_mut(table).map(Arc::make_mut)
                    && let Some(c) = t.column_mut(column)
                {
                    c.identity = false;
                    c.not_null = true;
                }
            }
            AlterCmd::SetDefault { column, sql, literal, .. } => {
                if let Some(t) = Arc::make_mut(&mut self.tables).get_mut(table).map(Arc::make_mut)
                    && let Some(c) = t.column_mut(column)
                {
                    c.default_sql = crate::ir::LazySql::written(sql.clone());
                    c.default_literal = *literal;
                }
            }
            AlterCmd::DropDefault { column } => {
                if let Some(t) = Arc::make_mut(&mut self.tables).get_mut(table).map(Arc::make_mut)
                    && let Some(c) = t.column_mut(column)
                {
                    c.default_sql = Default::default();
                    c.default_literal = false;
                }
            }
            AlterCmd::DropNotNull { column } => {
                if let Some(t) = Arc::make_mut(&mut self.tables).get_mut(table).map(Arc::make_mut)
                    && let Some(c) = t.column_mut(column)
                {
                    c.not_null = false;
                }
            }
            AlterCmd::AddConstraint(spec) => self.add_constraint(table, spec, !spec.not_valid),
            AlterCmd::ValidateConstraint { name } => {
                if let Some(t) = Arc::make_mut(&mut self.tables).get_mut(table).map(Arc::make_mut)
                    && let Some(k) = t.constraints.iter_mut().find(|k| &k.name == name)
                {
                    k.validated = true;
                }
            }
            AlterCmd::AlterConstraint { name, deferral: Some((deferrable, deferred)) } => {
                if let Some(k) = Arc::make_mut(&mut self.tables)
                    .get_mut(table)
                    .map(Arc::make_mut)
                    .and_then(|t| t.constraints.iter_mut().find(|k| &k.name == name))
                {
                    (k.deferrable, k.initially_deferred) = (*deferrable, *deferred);
                    if let Some(fk) = k.fk.as_mut() {
                        (fk.deferrable, fk.initially_deferred) = (*deferrable, *deferred);
                    }
                }
            }
            AlterCmd::DropConstraint { name, .. } => {
                let mut idx = None;
                if let Some(t) = Arc::make_mut(&mut self.tables).get_mut(table).map(Arc::make_mut) {
                    idx = t.constraint(name).and_then(|k| k.index.clone());
                    t.constraints.retain(|k| &k.name != name);
                }
                if let Some(i) = idx {
                    Arc::make_mut(&mut self.indexes).remove(&i);
                }
            }
            _ => {}
        }
    }
}

/// The inline CHECKs of a column added to `table`, under the names the file gives them or,
/// unnamed, the ones PostgreSQL chooses ([`Schema::choose_constraint_name`]: `t_c_check`,
/// else `t_c_check1`, …, past the names the history and the column's earlier CHECKs hold).
pub fn column_checks<'a>(
    schema: &Schema,
    table: &str,
    column: &'a crate::ir::ColumnSpec,
) -> Vec<(String, &'a crate::ir::ColumnCheck)> {
    let mut chosen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for check in &column.checks {
        let name = check.name.clone().unwrap_or_else(|| {
            schema.choose_constraint_name(table, check_column(&check.columns), "check", &chosen, &[])
        });
        chosen.push(name.clone());
        out.push((name, check));
    }
    out
}

/// The column an unnamed CHECK is named after: the one its expression reads, if only one.
fn check_column(columns: &[String]) -> Option<&str> {
    match columns {
        [c] => Some(c.as_str()),
        _ => None,
    }
}

/// PostgreSQL's default constraint names (`t_col_key`, `t_pkey`, `t_col_fkey`; a CHECK
/// `t_col_check` when it reads one column, else `t_check`), before any number is added
/// to make them free ([`Schema::new_constraint_name`]).
pub fn default_constraint_name(table: &str, spec: &ConstraintSpec) -> String {
    let cols = spec.columns.join("_");
    let cols = (!cols.is_empty()).then_some(cols.as_str());
    match spec.kind {
        ConstraintKind::Check => object_name(table, check_column(&spec.columns), "check"),
        ConstraintKind::PrimaryKey => object_name(table, None, "pkey"),
        ConstraintKind::Unique => object_name(table, cols, "key"),
        ConstraintKind::ForeignKey => object_name(table, cols, "fkey"),
        ConstraintKind::Exclude => object_name(table, cols, "excl"),
        ConstraintKind::NotNull => object_name(table, cols, "not_null"),
    }
}

/// The name PostgreSQL gives an index created without one: `<table>_<columns>_idx`.
pub fn default_index_name(table: &str, columns: &[String]) -> String {
    let cols = columns.join("_");
    crate::ir::object_name(table, (!cols.is_empty()).then_some(cols.as_str()), "idx")
}
