//! The `migrade` command line.
#![forbid(unsafe_code)]

use clap::builder::TypedValueParser;
use clap::{Parser, Subcommand, ValueEnum};
use migrade::config::{self, Resolved};
use migrade::discover::{DiscoverOptions, Layout};
use migrade::lint::Settings;
use migrade::model::{Direction, Level};
use migrade::report::{self, RunReport};
use migrade::run::{self, RunOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// mimalloc (v2, no transparent huge pages): about 25% less CPU than glibc's malloc on a
/// lint of many files (issue 16; the measurement is in Cargo.toml's comment on the crate).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "migrade", version, about = "Grades PostgreSQL migration files by the risk they carry")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Sarif,
    Github,
    Markdown,
    Gcc,
    /// One line per finding, then the summary line.
    Concise,
}

/// Settings every subcommand that reads migrations shares: resolved by [`resolve`].
#[derive(clap::Args, Clone)]
struct Common {
    /// Target PostgreSQL version, MAJOR or MAJOR.MINOR (default 15; e.g. 16 or 16.2).
    #[arg(long, value_name = "VERSION", value_parser = config::parse_pg_version)]
    pg_version: Option<u32>,
    /// Config file (default: migrade.toml in the folder of each linted path or a parent).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Ignore any migrade.toml.
    #[arg(long)]
    no_config: bool,
}

#[derive(Copy, Clone, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    /// Colour when standard output is a terminal (NO_COLOR, FORCE_COLOR, CLICOLOR_FORCE honoured).
    Auto,
    Always,
    Never,
}

const LINT_AFTER_HELP: &str = "\
Exit codes:
  0  no file reached --fail-on
  1  at least one file's grade is at or above --fail-on (down migrations only with
     --fail-on-down)
  2  an operational error (bad flag or config, missing path, unreadable file); the other
     files are still linted and reported first

Examples:
  migrade lint migrations/
  migrade lint -q migrations/ --statistics
  migrade lint 'db/**/*.sql' --fail-on medium --format github
  migrade lint migrations/ --changed-since origin/main
  cat 0007_x.sql | migrade lint - --stdin-filename migrations/0007_x.sql";

#[derive(clap::Args, Clone)]
struct LintArgs {
    /// Files, directories or globs (quoted); `-` reads standard input.
    #[arg(default_value = ".")]
    paths: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Exit with code 1 when a file reaches this grade (default high).
    #[arg(long, value_name = "LEVEL", value_parser = level_parser())]
    fail_on: Option<Level>,
    #[command(flatten)]
    common: Common,
    /// Treat every file as one transaction (as many migration tools run them).
    #[arg(long)]
    assume_in_transaction: bool,
    /// The deploy session's TimeZone is UTC.
    #[arg(long)]
    session_timezone_utc: bool,
    /// Only lint files in directories that match this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,
    /// Skip files that match this glob, named files included (repeatable).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Migration tool layout (default: detected per folder).
    #[arg(long, value_name = "LAYOUT", value_parser = layout_parser())]
    layout: Option<Layout>,
    /// Lint only files added or modified since this git ref (merge-base).
    #[arg(long, value_name = "REF")]
    changed_since: Option<String>,
    /// The path standard input (`-`) stands for: used in output, for the layout and the
    /// schema history of its folder, and for excludes.
    #[arg(long, value_name = "PATH")]
    stdin_filename: Option<PathBuf>,
    /// Skip files larger than this many bytes.
    #[arg(long, value_name = "BYTES")]
    max_file_size: Option<u64>,
    /// Colour in human output.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    color: ColorChoice,
    /// Do not print expand/contract plans in human output.
    #[arg(long)]
    no_plan: bool,
    /// Also list files graded low with no findings (human output).
    #[arg(long)]
    all: bool,
    /// For files named on the command line, do not read the earlier migrations of
    /// their folder for the schema history.
    #[arg(long)]
    no_history: bool,
    /// Hide findings below this level in every format; grades are unchanged.
    #[arg(long, value_name = "LEVEL", value_parser = level_parser())]
    min_level: Option<Level>,
    /// Only the files that reach --fail-on, one line each, then the summary.
    #[arg(short, long)]
    quiet: bool,
    /// Count the findings per rule in the summary.
    #[arg(long)]
    statistics: bool,
    /// Down migrations count toward --fail-on (by default they are graded and shown apart).
    #[arg(long)]
    fail_on_down: bool,
}

const VERIFY_AFTER_HELP: &str = "\
The server: PostgreSQL's server binaries are found with --pg-bin DIR, pg_config --bindir,
PATH or /usr/lib/postgresql/*/bin; a cluster is initdb-ed into a new folder under /tmp,
listens on a Unix socket in that folder only (no TCP), and is stopped and deleted at the
end, on error and on Ctrl-C. As root it runs as the `postgres` system user. Its major
version is the target version unless --pg-version says otherwise.

Findings: verify-apply-failed (the server refused a statement: the rest of that file is
not run) and verify-disagrees (another lock or rewrite than lint said), added to lint's.
Output formats and exit codes are lint's.

Examples:
  migrade verify fixtures/example
  migrade verify migrations/ --format json
  migrade verify migrations/ --pg-bin /usr/lib/postgresql/16/bin
  migrade verify migrations/ --rows 100000 --format json   (tables filled before each file)";

#[derive(clap::Args, Clone)]
struct VerifyArgs {
    #[command(flatten)]
    lint: LintArgs,
    /// The folder of PostgreSQL's server binaries (initdb, pg_ctl, postgres).
    #[arg(long, value_name = "DIR", conflicts_with = "database_url")]
    pg_bin: Option<PathBuf>,
    /// Use this scratch database instead of a throwaway server (libpq URL or key=value
    /// string). It must be empty unless --allow-nonempty.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// With --database-url: apply the migrations even if the database already holds tables.
    #[arg(long, requires = "database_url")]
    allow_nonempty: bool,
    /// Before each up file, top every existing table up to N generated rows (types, NOT
    /// NULL, foreign keys respected where possible; the tables it cannot fill are listed),
    /// so rewrites, scans and validations take measurable time.
    #[arg(long, value_name = "N")]
    rows: Option<u64>,
}

#[derive(Subcommand)]
enum Command {
    /// Lint migration files and grade them.
    #[command(after_help = LINT_AFTER_HELP)]
    Lint(LintArgs),
    /// Apply the up migrations to a throwaway PostgreSQL and hold lint's claims against
    /// what the server did (locks, rewrites, statements it refuses).
    #[command(after_help = VERIFY_AFTER_HELP)]
    Verify(VerifyArgs),
    /// List every rule with its default level.
    Rules,
    /// Print a rule's documentation.
    Explain {
        /// A rule id, as `migrade rules` lists them (e.g. drop-column).
        rule: String,
    },
    /// Print the expand/contract plan for one migration file.
    Plan {
        /// The migration file to plan (its folder's earlier files feed the schema history).
        file: String,
        /// Write the stages as separate migration files into this directory.
        #[arg(long, value_name = "DIR")]
        split: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Write a commented default migrade.toml in the current directory.
    Init,
    /// Print a shell completion script (e.g. `migrade completions bash > /etc/bash_completion.d/migrade`).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `migrade man > migrade.1`.
    Man,
}

fn level_parser() -> impl TypedValueParser<Value = Level> {
    clap::builder::PossibleValuesParser::new(Level::ALL.map(|l| l.as_str()))
        .try_map(|s| Level::parse(&s).ok_or_else(|| format!("`{s}` is not a level")))
}

fn layout_parser() -> impl TypedValueParser<Value = Layout> {
    clap::builder::PossibleValuesParser::new(Layout::ALL.map(|l| l.name()))
        .try_map(|s| Layout::parse(&s).ok_or_else(|| format!("`{s}` is not a layout")))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Lint(args) => lint(args),
        Command::Verify(args) => verify(args),
        Command::Rules => {
            let mut out = String::new();
            for r in migrade::rules::ALL {
                let tags = if r.tags.is_empty() { String::new() } else { format!(" [{}]", r.tags.join(", ")) };
                out.push_str(&format!("{:<42} {:<10} {}{tags}\n", r.id, r.level.as_str(), r.summary));
            }
            print(&out);
            ExitCode::SUCCESS
        }
        Command::Explain { rule } => match migrade::rules::find(&rule) {
            Some(r) => {
                print(r.doc);
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("error: unknown rule `{rule}`; run `migrade rules` for the list");
                ExitCode::from(2)
            }
        },
        Command::Plan { file, split, common } => plan(file, split, common),
        Command::Init => init(),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "migrade", &mut out);
            print(&String::from_utf8_lossy(&out));
            ExitCode::SUCCESS
        }
        Command::Man => {
            let mut out = Vec::new();
            match clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut out) {
                Ok(()) => {
                    print(&String::from_utf8_lossy(&out));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: cannot render the man page: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn print(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

/// The settings resolver's result for the command line, errors printed.
fn resolve(common: &Common, paths: &[String], stdin_name: Option<&Path>) -> Result<Vec<Resolved>, ExitCode> {
    let shared =
        config::Shared { pg_version: common.pg_version, config: common.config.clone(), no_config: common.no_config };
    config::resolve(&shared, paths, stdin_name).map_err(|e| {
        match e {
            config::ResolveError::Invalid(e) => eprintln!("{:?}", miette::Report::new(*e)),
            e => eprintln!("error: {e}"),
        }
        ExitCode::from(2)
    })
}

/// One run: the options, settings and `--fail-on` of a group of paths that share a config.
struct Job {
    opts: RunOptions,
    settings: Settings,
    fail_on: Level,
}

fn lint(args: LintArgs) -> ExitCode {
    let jobs = match jobs(&args) {
        Ok(j) => j,
        Err(c) => return c,
    };
    if args.format == Format::Json {
        return lint_json_stream(&jobs, &args);
    }
    let (result, failed) = match run_jobs(&jobs, args.fail_on_down) {
        Ok(r) => r,
        Err(c) => return c,
    };
    finish(result, failed, &jobs, &args)
}

/// Runs every job; the report and whether a file reached its job's --fail-on.
fn run_jobs(jobs: &[Job], fail_on_down: bool) -> Result<(RunReport, bool), ExitCode> {
    let mut result = RunReport::default();
    let mut failed = false;
    for job in jobs {
        match run::run(&job.opts, &job.settings) {
            Ok(r) => {
                failed |= r.files.iter().any(|f| f.fail_grade(fail_on_down).is_some_and(|g| g >= job.fail_on));
                result.files.extend(r.files);
                result.errors.extend(r.errors);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return Err(ExitCode::from(2));
            }
        }
    }
    Ok((result, failed))
}

/// Whether a file of the report reaches `--fail-on` (the first config's: one config in
/// most runs), after verify added its findings.
fn reaches(result: &RunReport, jobs: &[Job], fail_on_down: bool) -> bool {
    let fail_on = jobs.first().map_or(Level::High, |j| j.fail_on);
    result.files.iter().any(|f| f.fail_grade(fail_on_down).is_some_and(|g| g >= fail_on))
}

/// Prints the report in the chosen format and returns the exit code.
fn finish(mut result: RunReport, failed: bool, jobs: &[Job], args: &LintArgs) -> ExitCode {
    if let Some(min) = args.min_level {
        result.hide_findings_below(min);
    }
    // -q and the summary use the first config's --fail-on (one config in most runs).
    let fail_on = jobs.first().map_or(Level::High, |j| j.fail_on);
    let out = render(&result, args.format, args, fail_on);
    print(&out);
    if !matches!(args.format, Format::Human | Format::Concise) {
        for e in &result.errors {
            eprintln!("error: {}: {}", e.path, e.message);
        }
    }
    exit_code(!result.errors.is_empty(), failed)
}

/// `migrade verify`: lint, then apply the up files to a throwaway server (src/verify).
fn verify(mut args: VerifyArgs) -> ExitCode {
    // The server first: its major version is the target version.
    enum Target {
        Throwaway(migrade::verify::server::Bins),
        Scratch(Box<postgres::Client>, String),
    }
    let (target, major) = match &args.database_url {
        Some(url) => match migrade::verify::connect_scratch(url, args.allow_nonempty) {
            Ok((client, major, described)) => (Target::Scratch(Box::new(client), described), major),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        None => match migrade::verify::server::find(args.pg_bin.as_deref()) {
            Ok(b) => {
                let major = b.major;
                (Target::Throwaway(b), major)
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
    match args.lint.common.pg_version {
        Some(v) if v != major => eprintln!(
            "warning: --pg-version {v}, but the server is PostgreSQL {major}: lint's version checks use {v}, \
             the server runs {major}"
        ),
        Some(_) => {}
        None => args.lint.common.pg_version = Some(major),
    }
    let args_lint = &args.lint;
    let jobs = match jobs(args_lint) {
        Ok(j) => j,
        Err(c) => return c,
    };
    let (mut result, _) = match run_jobs(&jobs, args_lint.fail_on_down) {
        Ok(r) => r,
        Err(c) => return c,
    };
    // Nothing to apply (no files found, or only downs): no server is started.
    let ups = result.files.iter().filter(|f| matches!(f.direction, Direction::Up | Direction::Repeatable)).count();
    let summary = match target {
        _ if ups == 0 => {
            eprintln!("verify: no up migration file to apply; no PostgreSQL server was started");
            let failed = reaches(&result, &jobs, args_lint.fail_on_down);
            return finish(result, failed, &jobs, args_lint);
        }
        Target::Throwaway(bins) => migrade::verify::verify(&mut result, bins, args.rows),
        Target::Scratch(mut client, described) => {
            let watcher = args.database_url.as_deref().and_then(|u| migrade::verify::connect_watcher(u).ok());
            Ok(migrade::verify::verify_on(&mut result, &mut client, described, None, watcher, args.rows))
        }
    };
    match summary {
        Ok(summary) => eprintln!("{}", summary.line()),
        Err(e) => {
            eprintln!("error: migrade verify: {e}");
            return ExitCode::from(2);
        }
    }
    // The grades now include verify's findings.
    let failed = reaches(&result, &jobs, args_lint.fail_on_down);
    finish(result, failed, &jobs, args_lint)
}

/// The jobs of a lint or verify run: one per group of paths sharing a config.
fn jobs(args: &LintArgs) -> Result<Vec<Job>, ExitCode> {
    let groups = resolve(&args.common, &args.paths, args.stdin_filename.as_deref())?;
    // --changed-since: the repository is the one holding the linted paths (not
    // necessarily the working directory's).
    let only = match &args.changed_since {
        Some(r) => {
            let start = args.paths.first().map(|p| config::search_start(p, args.stdin_filename.as_deref()));
            match migrade::git::changed_since(r, start.as_deref()) {
                Ok(set) => Some(set),
                Err(e) => {
                    eprintln!("error: --changed-since {r}: {e}");
                    return Err(ExitCode::from(2));
                }
            }
        }
        None => None,
    };
    let jobs: Vec<Job> = groups
        .into_iter()
        .map(|Resolved { mut settings, loaded, paths }| {
            settings.assume_in_transaction |= args.assume_in_transaction;
            settings.utc |= args.session_timezone_utc;
            let mut include = loaded.include.clone();
            include.extend(args.include.iter().cloned());
            let mut exclude = loaded.exclude.clone();
            exclude.extend(args.exclude.iter().cloned());
            let opts = RunOptions {
                paths,
                discover: DiscoverOptions {
                    include,
                    exclude,
                    max_depth: None,
                    stdin_filename: args.stdin_filename.clone(),
                },
                layout: args.layout.or(loaded.layout),
                max_file_size: args.max_file_size.or(loaded.max_file_size).unwrap_or(run::DEFAULT_MAX_FILE_SIZE),
                only: only.clone(),
                history_from_siblings: !args.no_history,
            };
            Job { opts, settings, fail_on: loaded.fail_on(args.fail_on) }
        })
        .collect();
    Ok(jobs)
}

/// Standard output for a large report: on Unix a handle of its own on file descriptor 1,
/// so the bytes skip `Stdout`'s line buffering (which searches every byte written for a
/// newline: 36 M instructions for the corpus's 32 MB of JSON, issue 16); elsewhere, or
/// when the descriptor cannot be duplicated, the locked `Stdout`.
fn report_out(stdout: &std::io::Stdout) -> Box<dyn Write + '_> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        // Whatever an earlier job wrote through `Stdout` goes out first.
        if stdout.lock().flush().is_ok()
            && let Ok(fd) = stdout.as_fd().try_clone_to_owned()
        {
            return Box::new(std::fs::File::from(fd));
        }
    }
    Box::new(stdout.lock())
}

/// `--format json`, written file by file as the run goes (bounded memory).
fn lint_json_stream(jobs: &[Job], args: &LintArgs) -> ExitCode {
    let stdout = std::io::stdout();
    let mut stream =
        match report::json::JsonStream::begin(std::io::BufWriter::with_capacity(1 << 16, report_out(&stdout))) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: cannot write the report: {e}");
                return ExitCode::from(2);
            }
        };
    let mut errors = Vec::new();
    let mut failed = false;
    let mut write_error = None;
    // Each file's entry is rendered on the worker threads; this thread only writes bytes.
    let (min_level, fail_on_down) = (args.min_level, args.fail_on_down);
    let render = |(r, e): run::FileResult| {
        let r = r.map(|mut r| {
            if let Some(min) = min_level {
                report::hide_findings_below(&mut r, min);
            }
            (r.fail_grade(fail_on_down), report::json::file_bytes(&r))
        });
        (r, e)
    };
    for Job { opts, settings, fail_on } in jobs {
        let result = run::run_mapped(opts, settings, &render, &mut |(r, e)| {
            if let Some((grade, entry)) = r {
                failed |= grade.is_some_and(|g| g >= *fail_on);
                if write_error.is_none()
                    && let Err(err) = stream.file_rendered(&entry)
                {
                    write_error = Some(err);
                }
            }
            errors.extend(e);
        });
        if let Err(e) = result {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    if let Err(e) = stream.finish(&errors) {
        write_error.get_or_insert(e);
    }
    if let Some(e) = write_error
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write the report: {e}");
        return ExitCode::from(2);
    }
    for e in &errors {
        eprintln!("error: {}: {}", e.path, e.message);
    }
    exit_code(!errors.is_empty(), failed)
}

fn render(result: &RunReport, format: Format, args: &LintArgs, fail_on: Level) -> String {
    let opts = |color| report::human::HumanOptions {
        color,
        show_plan: !args.no_plan,
        show_low_files: args.all,
        fail_on,
        fail_on_down: args.fail_on_down,
        quiet: args.quiet,
        statistics: args.statistics,
    };
    match format {
        Format::Json => report::json::render(result) + "\n",
        Format::Human => {
            let color = use_color(args.color);
            report::human::render(result, &opts(color))
        }
        Format::Sarif => report::sarif::render(result),
        Format::Github => report::github::render(result),
        Format::Markdown => report::markdown::render(result),
        Format::Gcc => report::gcc::render(result),
        Format::Concise => report::concise::render(result, &opts(false)),
    }
}

/// The exit code of lint and verify: 2 when a path could not be read (or another
/// operational error), else 1 when a file reached `--fail-on`, else 0.
fn exit_code(errors: bool, failed: bool) -> ExitCode {
    if errors {
        ExitCode::from(2)
    } else if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Whether human output is coloured: `--color always|never` decides; with `auto`,
/// NO_COLOR (non-empty) turns colour off, FORCE_COLOR (non-empty) or
/// CLICOLOR_FORCE (set, not `0`) turn it on, else colour when stdout is a terminal.
fn use_color(choice: ColorChoice) -> bool {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if env("NO_COLOR").is_some() {
                false
            } else if env("FORCE_COLOR").is_some() || env("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
                true
            } else {
                std::io::stdout().is_terminal()
            }
        }
    }
}

fn plan(file: String, split: Option<PathBuf>, common: Common) -> ExitCode {
    let settings = match resolve(&common, std::slice::from_ref(&file), None) {
        Ok(mut groups) if !groups.is_empty() => groups.swap_remove(0).settings,
        Ok(_) => Settings::default(),
        Err(c) => return c,
    };
    migrade::plan_cmd::run(&file, split.as_deref(), &settings)
}

fn init() -> ExitCode {
    let p = PathBuf::from(config::FILE_NAME);
    if p.exists() {
        eprintln!("error: {} already exists; not overwriting it", p.display());
        return ExitCode::from(2);
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&p)
        .and_then(|mut f| f.write_all(config::DEFAULT_FILE.as_bytes()))
    {
        Ok(()) => {
            println!("wrote {}", p.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", p.display());
            ExitCode::from(2)
        }
    }
}
