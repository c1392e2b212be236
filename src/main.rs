//! The `migrade` command line.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand, ValueEnum};
use migrade::config;
use migrade::discover::{DiscoverOptions, Layout};
use migrade::lint::Settings;
use migrade::model::Level;
use migrade::report::{self, RunReport};
use migrade::run::{self, RunOptions};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

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
}

#[derive(clap::Args, Clone)]
struct LintArgs {
    /// Files, directories or globs (quoted); `-` reads standard input.
    #[arg(default_value = ".")]
    paths: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Exit with code 1 when a file reaches this grade.
    #[arg(long, value_parser = parse_level)]
    fail_on: Option<Level>,
    /// Target PostgreSQL major version (default 15).
    #[arg(long)]
    pg_version: Option<u32>,
    /// Treat every file as one transaction (as many migration tools run them).
    #[arg(long)]
    assume_in_transaction: bool,
    /// The deploy session's TimeZone is UTC.
    #[arg(long)]
    session_timezone_utc: bool,
    /// Only lint files in directories that match this glob (repeatable).
    #[arg(long)]
    include: Vec<String>,
    /// Skip files that match this glob (repeatable).
    #[arg(long)]
    exclude: Vec<String>,
    /// Config file (default: migrade.toml in this directory or a parent).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Ignore any migrade.toml.
    #[arg(long)]
    no_config: bool,
    /// Migration tool layout (default: detected per folder).
    #[arg(long, value_parser = parse_layout)]
    layout: Option<Layout>,
    /// Lint only files added or modified since this git ref (merge-base).
    #[arg(long)]
    changed_since: Option<String>,
    /// Skip files larger than this many bytes.
    #[arg(long)]
    max_file_size: Option<u64>,
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
}

#[derive(Subcommand)]
enum Command {
    /// Lint migration files and grade them.
    Lint(LintArgs),
    /// List every rule with its default level.
    Rules,
    /// Print a rule's documentation.
    Explain { rule: String },
    /// Print the expand/contract plan for one migration file.
    Plan {
        file: String,
        /// Write the stages as separate migration files into this directory.
        #[arg(long)]
        split: Option<PathBuf>,
        #[command(flatten)]
        common: PlanArgs,
    },
    /// Write a commented default migrade.toml in the current directory.
    Init,
}

#[derive(clap::Args)]
struct PlanArgs {
    #[arg(long)]
    pg_version: Option<u32>,
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long)]
    no_config: bool,
}

fn parse_level(s: &str) -> Result<Level, String> {
    Level::parse(s).ok_or_else(|| format!("`{s}` is not a level: use low, medium, high or very-high"))
}

fn parse_layout(s: &str) -> Result<Layout, String> {
    Layout::parse(s).ok_or_else(|| {
        format!("`{s}` is not a layout: use golang-migrate, up-down-suffix, diesel, flyway, dbmate, goose, sqitch, prisma, supabase or plain")
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Lint(args) => lint(args),
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
    }
}

fn print(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

fn load_settings(config_path: Option<&PathBuf>, no_config: bool) -> Result<(Settings, config::Loaded), ExitCode> {
    let mut settings = Settings::default();
    if no_config {
        return Ok((settings, config::Loaded::default()));
    }
    let path = match config_path {
        Some(p) => {
            if !p.is_file() {
                eprintln!("error: config file {} not found; check --config", p.display());
                return Err(ExitCode::from(2));
            }
            Some(p.clone())
        }
        None => std::env::current_dir().ok().and_then(|d| config::find(&d)),
    };
    let loaded = match path {
        Some(p) => match config::load(&p, &mut settings) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{:?}", miette::Report::new(*e));
                return Err(ExitCode::from(2));
            }
        },
        None => config::Loaded::default(),
    };
    Ok((settings, loaded))
}

fn lint(args: LintArgs) -> ExitCode {
    let (mut settings, loaded) = match load_settings(args.config.as_ref(), args.no_config) {
        Ok(x) => x,
        Err(c) => return c,
    };
    if let Some(v) = args.pg_version {
        if !(9..=19).contains(&v) {
            eprintln!("error: --pg-version {v} is not a PostgreSQL major version (use e.g. 15)");
            return ExitCode::from(2);
        }
        settings.pg_version = v;
    }
    settings.assume_in_transaction |= args.assume_in_transaction;
    settings.utc |= args.session_timezone_utc;
    let fail_on = args.fail_on.or(loaded.fail_on).unwrap_or(Level::High);
    let layout = args.layout.or_else(|| loaded.layout.as_deref().and_then(Layout::parse));
    let mut include = loaded.include.clone();
    include.extend(args.include.iter().cloned());
    let mut exclude = loaded.exclude.clone();
    exclude.extend(args.exclude.iter().cloned());
    let only = match &args.changed_since {
        Some(r) => match migrade::git::changed_since(r) {
            Ok(set) => Some(set),
            Err(e) => {
                eprintln!("error: --changed-since {r}: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let opts = RunOptions {
        paths: args.paths.clone(),
        discover: DiscoverOptions { include, exclude, max_depth: None },
        layout,
        max_file_size: args.max_file_size.or(loaded.max_file_size).unwrap_or(run::DEFAULT_MAX_FILE_SIZE),
        only,
        history_from_siblings: !args.no_history,
    };
    if args.format == Format::Json {
        return lint_json_stream(&opts, &settings, fail_on);
    }
    let result = match run::run(&opts, &settings) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let out = render(&result, args.format, &args);
    print(&out);
    if args.format != Format::Human {
        for e in &result.errors {
            eprintln!("error: {}: {}", e.path, e.message);
        }
    }
    exit_code(&result, fail_on)
}

/// `--format json`, written file by file as the run goes (bounded memory).
fn lint_json_stream(opts: &RunOptions, settings: &Settings, fail_on: Level) -> ExitCode {
    let stdout = std::io::stdout();
    let mut stream = match report::json::JsonStream::begin(std::io::BufWriter::with_capacity(1 << 16, stdout.lock())) {
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
    let render = |(r, e): run::FileResult| (r.map(|r| (r.grade, report::json::file_bytes(&r))), e);
    let result = run::run_mapped(opts, settings, &render, &mut |(r, e)| {
        if let Some((grade, entry)) = r {
            failed |= grade >= fail_on;
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
    if !errors.is_empty() {
        ExitCode::from(2)
    } else if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn render(result: &RunReport, format: Format, args: &LintArgs) -> String {
    match format {
        Format::Json => report::json::render(result) + "\n",
        Format::Human => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            report::human::render(
                result,
                &report::human::HumanOptions { color, show_plan: !args.no_plan, show_low_files: args.all },
            )
        }
        Format::Sarif => report::sarif::render(result),
        Format::Github => report::github::render(result),
        Format::Markdown => report::markdown::render(result),
        Format::Gcc => report::gcc::render(result),
    }
}

fn exit_code(result: &RunReport, fail_on: Level) -> ExitCode {
    if !result.errors.is_empty() {
        ExitCode::from(2)
    } else if result.files.iter().any(|f| f.grade >= fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn plan(file: String, split: Option<PathBuf>, common: PlanArgs) -> ExitCode {
    let (mut settings, _) = match load_settings(common.config.as_ref(), common.no_config) {
        Ok(x) => x,
        Err(c) => return c,
    };
    if let Some(v) = common.pg_version {
        settings.pg_version = v;
    }
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
