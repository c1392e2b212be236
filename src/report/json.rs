//! `--format json`: the public, versioned contract (fields are added, never renamed).

use super::{RunReport, span_positions};
use crate::model::{FileReport, Level};
use crate::source::LineIndex;
use serde::Serialize;

pub const VERSION: u32 = 1;

#[derive(Serialize)]
pub struct JsonReport<'a> {
    pub version: u32,
    pub files: Vec<JsonFile<'a>>,
    pub errors: Vec<JsonError<'a>>,
}

#[derive(Serialize)]
pub struct JsonFile<'a> {
    pub path: &'a str,
    pub grade: Level,
    pub advice: JsonAdvice,
    pub statements: Vec<JsonStatement<'a>>,
    pub findings: Vec<JsonFinding<'a>>,
    pub plan: Vec<JsonPlanStep<'a>>,
    pub layout: &'a str,
    pub direction: crate::model::Direction,
    /// Files with up and down sections (dbmate, goose): each section graded on its own.
    /// The file's `grade` is the highest of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<JsonSection>,
    /// `migrade verify` only: what a real PostgreSQL did with the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<&'a crate::model::FileVerify>,
}

#[derive(Serialize)]
pub struct JsonSection {
    pub direction: crate::model::Direction,
    pub grade: Level,
    pub advice: JsonAdvice,
}

#[derive(Serialize)]
pub struct JsonAdvice {
    pub deploy: &'static str,
    pub backup: &'static str,
    pub manual_review: bool,
    pub stage2_approval: bool,
}

#[derive(Serialize)]
pub struct JsonStatement<'a> {
    /// Position in the file, from 0.
    pub index: usize,
    /// The statement's number as messages say it ("statement 3"): from 1.
    pub number: usize,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub summary: &'a str,
    pub level: Level,
    pub effects: JsonEffects<'a>,
    pub in_transaction: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<crate::model::Direction>,
}

#[derive(Serialize)]
pub struct JsonLock<'a> {
    pub table: &'a str,
    pub lock: &'static str,
}

#[derive(Serialize)]
pub struct JsonEffects<'a> {
    pub table: Option<&'a str>,
    pub lock: Option<&'static str>,
    pub other_locks: Vec<JsonLock<'a>>,
    pub rewrite: bool,
    pub scan: bool,
    pub data_loss: bool,
    pub breaks_running_code: bool,
    pub creates: &'a [String],
}

#[derive(Serialize)]
pub struct JsonFinding<'a> {
    pub rule: &'a str,
    pub level: Level,
    pub statement: Option<usize>,
    /// The statement's number as messages say it, from 1.
    pub statement_number: Option<usize>,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub message: &'a str,
    pub help: &'a str,
    pub ignored: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_reason: Option<&'a str>,
}

#[derive(Serialize)]
pub struct JsonPlanStep<'a> {
    pub stage: crate::model::Stage,
    pub title: &'a str,
    pub sql: &'a str,
    pub lock: Option<&'a str>,
    pub irreversible: bool,
    pub no_transaction: bool,
    /// Helper objects the step leaves in place on purpose (absent when none).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub leaves: &'a [String],
}

#[derive(Serialize)]
pub struct JsonError<'a> {
    pub path: &'a str,
    pub message: &'a str,
}

pub fn file<'a>(f: &'a FileReport) -> JsonFile<'a> {
    let text: &str = &f.text;
    let index = LineIndex::new(text);
    JsonFile {
        path: &f.path,
        grade: f.grade,
        advice: JsonAdvice {
            deploy: f.advice.deploy,
            backup: f.advice.backup,
            manual_review: f.advice.manual_review,
            stage2_approval: f.advice.stage2_approval,
        },
        statements: f
            .statements
            .iter()
            .map(|s| {
                let (a, b) = span_positions(text, &index, s.span);
                JsonStatement {
                    index: s.index,
                    number: s.index + 1,
                    line: a.line,
                    column: a.column,
                    end_line: b.line,
                    end_column: b.column,
                    summary: &s.summary,
                    level: s.level,
                    effects: JsonEffects {
                        table: s.effects.table.as_deref(),
                        lock: s.effects.lock.map(|l| l.as_str()),
                        other_locks: s
                            .effects
                            .other_locks
                            .iter()
                            .map(|(t, m)| JsonLock { table: t, lock: m.as_str() })
                            .collect(),
                        rewrite: s.effects.rewrite,
                        scan: s.effects.scan,
                        data_loss: s.effects.data_loss,
                        breaks_running_code: s.effects.breaks_running_code,
                        creates: &s.effects.creates,
                    },
                    in_transaction: s.in_transaction,
                    section: s.section.filter(|_| f.layout == "dbmate" || f.layout == "goose"),
                }
            })
            .collect(),
        findings: f
            .findings
            .iter()
            .map(|x| {
                let (a, b) = span_positions(text, &index, x.span);
                JsonFinding {
                    rule: x.rule,
                    level: x.level,
                    statement: x.statement,
                    statement_number: x.statement.map(|i| i + 1),
                    line: a.line,
                    column: a.column,
                    end_line: b.line,
                    end_column: b.column,
                    message: &x.message,
                    help: &x.help,
                    ignored: x.ignored,
                    ignore_reason: x.ignore_reason.as_deref(),
                }
            })
            .collect(),
        plan: f
            .plan
            .iter()
            .map(|p| JsonPlanStep {
                stage: p.stage,
                title: &p.title,
                sql: &p.sql,
                lock: p.lock.as_deref(),
                irreversible: p.irreversible,
                no_transaction: p.no_transaction,
                leaves: &p.leaves,
            })
            .collect(),
        layout: f.layout,
        direction: f.direction,
        sections: f
            .sections
            .iter()
            .map(|(d, g)| {
                let a = crate::model::Advice::for_grade(*g);
                JsonSection {
                    direction: *d,
                    grade: *g,
                    advice: JsonAdvice {
                        deploy: a.deploy,
                        backup: a.backup,
                        manual_review: a.manual_review,
                        stage2_approval: a.stage2_approval,
                    },
                }
            })
            .collect(),
        verify: f.verify.as_ref(),
    }
}

pub fn render(run: &RunReport) -> String {
    let report = JsonReport {
        version: VERSION,
        files: run.files.iter().map(file).collect(),
        errors: run.errors.iter().map(|e| JsonError { path: &e.path, message: &e.message }).collect(),
    };
    serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Writes the JSON report file by file, so memory does not grow with the run.
/// One file's entry of the `files` array, as JSON bytes.
pub fn file_bytes(f: &FileReport) -> Vec<u8> {
    // Serializing borrowed, plain data into a Vec cannot fail.
    serde_json::to_vec(&file(f)).unwrap_or_default()
}

pub struct JsonStream<W: std::io::Write> {
    out: W,
    first: bool,
}

impl<W: std::io::Write> JsonStream<W> {
    pub fn begin(mut out: W) -> std::io::Result<Self> {
        write!(out, "{{\"version\":{VERSION},\"files\":[")?;
        Ok(JsonStream { out, first: true })
    }

    /// Writes one file entry already rendered by [`file_bytes`] (on another thread).
    pub fn file_rendered(&mut self, entry: &[u8]) -> std::io::Result<()> {
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        self.out.write_all(entry)
    }

    pub fn finish(mut self, errors: &[crate::discover::PathError]) -> std::io::Result<()> {
        self.out.write_all(b"],\"errors\":")?;
        let errs: Vec<JsonError> = errors.iter().map(|e| JsonError { path: &e.path, message: &e.message }).collect();
        serde_json::to_writer(&mut self.out, &errs).map_err(std::io::Error::other)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }
}
