//! A private, throw-away PostgreSQL cluster for the real-server tests.
//!
//! * finds the server binaries (Debian layout `/usr/lib/postgresql/<N>/bin`, or
//!   `MIGRADE_PG_BINDIR`),
//! * `initdb`s into a temporary directory as a non-root user (as `postgres` via
//!   `runuser`/`su` when the test runs as root),
//! * starts it listening only on a Unix socket inside that directory,
//! * talks to it by shelling out to `psql`,
//! * and always stops it (`pg_ctl stop -m immediate`) when the [`Server`] is dropped,
//!   also while unwinding from a failed assertion.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Server binaries and the client.
#[derive(Clone, Debug)]
pub struct PgBins {
    pub bindir: PathBuf,
    pub psql: PathBuf,
    /// Major version of the server binaries (e.g. 15).
    pub major: u32,
}

/// Environment variables that would change how psql connects or how the session
/// behaves; they are removed from every psql we start.
const PG_ENV: &[&str] = &[
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGOPTIONS",
    "PGAPPNAME",
    "PGTZ",
    "PGDATESTYLE",
    "PGCLIENTENCODING",
    "PGSSLMODE",
    "PGCONNECT_TIMEOUT",
    "PGTARGETSESSIONATTRS",
    "PSQLRC",
];

fn is_file(p: &Path) -> bool {
    p.is_file()
}

fn has_server_bins(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"].iter().all(|b| is_file(&dir.join(b)))
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| is_file(p))
}

/// `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` -> 15
fn major_from_binary(postgres: &Path) -> Option<u32> {
    let out = Command::new(postgres).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let ver = text.split_whitespace().find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?;
    ver.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// Finds the server binaries. Preference: `MIGRADE_PG_BINDIR`, then
/// `/usr/lib/postgresql/15/bin`, then the highest `/usr/lib/postgresql/<N>/bin`,
/// then the directory named by `pg_config --bindir` (if `pg_config` is on PATH).
pub fn find_bins() -> Result<PgBins, String> {
    let mut chosen: Option<(PathBuf, Option<u32>)> = None;
    if let Some(dir) = std::env::var_os("MIGRADE_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        if !has_server_bins(&dir) {
            return Err(format!("MIGRADE_PG_BINDIR={} does not contain initdb, pg_ctl and postgres", dir.display()));
        }
        chosen = Some((dir, None));
    }
    if chosen.is_none() {
        let mut found: Vec<(u32, PathBuf)> = Vec::new();
        if let Ok(rd) = std::fs::read_dir("/usr/lib/postgresql") {
            for e in rd.flatten() {
                let Some(n) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                    continue;
                };
                let bin = e.path().join("bin");
                if has_server_bins(&bin) {
                    found.push((n, bin));
                }
            }
        }
        found.sort();
        if let Some((n, bin)) = found.iter().find(|(n, _)| *n == 15).or(found.last()) {
            chosen = Some((bin.clone(), Some(*n)));
        }
    }
    if chosen.is_none()
        && let Some(pg_config) = which("pg_config")
        && let Ok(out) = Command::new(pg_config).arg("--bindir").output()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_server_bins(&dir) {
            chosen = Some((dir, None));
        }
    }
    let Some((bindir, major)) = chosen else {
        return Err("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found \
                    under /usr/lib/postgresql/<N>/bin, MIGRADE_PG_BINDIR or pg_config --bindir"
            .to_string());
    };
    let major = match major {
        Some(m) => m,
        None => major_from_binary(&bindir.join("postgres"))
            .ok_or_else(|| format!("cannot read the version of {}/postgres", bindir.display()))?,
    };
    let psql = if is_file(&bindir.join("psql")) {
        bindir.join("psql")
    } else if let Some(p) = which("psql") {
        p
    } else {
        return Err("psql not found (neither next to the server binaries nor on PATH)".into());
    };
    Ok(PgBins { bindir, psql, major })
}

/// Result of one psql run.
#[derive(Debug)]
pub struct SqlOut {
    pub ok: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl SqlOut {
    pub fn from_output(o: Output) -> SqlOut {
        SqlOut {
            ok: o.status.success(),
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

pub struct Server {
    bins: PgBins,
    /// Keeps the directory alive; removed after the server is stopped (field drop
    /// runs after `Drop::drop`).
    dir: tempfile::TempDir,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
    running: bool,
}

fn running_as_root() -> bool {
    if let Ok(m) = std::fs::metadata("/proc/self") {
        return m.uid() == 0;
    }
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

fn free_port() -> u16 {
    // The server listens on a Unix socket only; the port just names the socket
    // file (.s.PGSQL.<port>). Still pick one no TCP listener uses.
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(54329)
}

/// Quotes for /bin/sh.
fn sh_quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Server {
    /// initdb + start. The returned server is stopped on drop.
    pub fn start(bins: &PgBins) -> Result<Server, String> {
        let as_postgres = running_as_root();
        // Short path: the socket path must stay below ~100 bytes, and the `postgres`
        // user must be able to traverse the parent directory.
        let base = if Path::new("/tmp").is_dir() { PathBuf::from("/tmp") } else { std::env::temp_dir() };
        let dir = tempfile::Builder::new()
            .prefix("migrade-pg-")
            .tempdir_in(&base)
            .map_err(|e| format!("cannot create a temp dir in {}: {e}", base.display()))?;
        let data = dir.path().join("data");
        if as_postgres {
            let st =
                Command::new("chown").arg("postgres:").arg(dir.path()).status().map_err(|e| format!("chown: {e}"))?;
            if !st.success() {
                return Err(format!(
                    "running as root: cannot chown {} to the `postgres` user (is Debian's postgresql package installed?)",
                    dir.path().display()
                ));
            }
        }
        let mut server = Server { bins: bins.clone(), dir, data, port: free_port(), as_postgres, running: false };

        let initdb = server.bins.bindir.join("initdb");
        let out = server.admin(
            &initdb,
            &[
                "-D".into(),
                server.data.clone().into_os_string(),
                "-U".into(),
                "postgres".into(),
                "--auth=trust".into(),
                "--encoding=UTF8".into(),
                "--locale=C".into(),
                "--no-sync".into(),
            ],
        )?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }

        let sock = server.dir.path().to_string_lossy().into_owned();
        let opts = format!(
            "-c listen_addresses='' -c unix_socket_directories='{sock}' -c port={} \
             -c autovacuum=off -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
             -c TimeZone=UTC -c max_locks_per_transaction=256 -c log_min_messages=warning",
            server.port
        );
        let pg_ctl = server.bins.bindir.join("pg_ctl");
        let log = server.dir.path().join("server.log");
        // From here on Drop must try to stop it, even if start reports failure.
        server.running = true;
        let out = server.admin(
            &pg_ctl,
            &[
                "-D".into(),
                server.data.clone().into_os_string(),
                "-l".into(),
                log.into_os_string(),
                "-w".into(),
                "-t".into(),
                "60".into(),
                "-o".into(),
                opts.into(),
                "start".into(),
            ],
        )?;
        if !out.status.success() {
            return Err(format!(
                "pg_ctl start failed:\n{}\n{}\n--- server log ---\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                server.log_tail()
            ));
        }
        // pg_ctl -w already waited; make sure a client gets in.
        let t0 = Instant::now();
        loop {
            let r = server.sql("SELECT 1;");
            if r.ok && r.stdout.trim() == "1" {
                break;
            }
            if t0.elapsed() > Duration::from_secs(30) {
                return Err(format!(
                    "server did not accept connections within 30 s: {}\n--- server log ---\n{}",
                    r.stderr,
                    server.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(server)
    }

    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Runs a server administration binary as a non-root user.
    fn admin(&self, prog: &Path, args: &[OsString]) -> Result<Output, String> {
        let mut cmd = if !self.as_postgres {
            let mut c = Command::new(prog);
            c.args(args);
            c
        } else if which("runuser").is_some() || Path::new("/usr/sbin/runuser").exists() {
            let runuser = which("runuser").unwrap_or_else(|| PathBuf::from("/usr/sbin/runuser"));
            let mut c = Command::new(runuser);
            c.args(["-u", "postgres", "--"]).arg(prog).args(args);
            c
        } else {
            let mut line = sh_quote(prog.as_os_str());
            for a in args {
                line.push(' ');
                line.push_str(&sh_quote(a));
            }
            let mut c = Command::new("su");
            c.args(["postgres", "-s", "/bin/sh", "-c"]).arg(line);
            c
        };
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        for v in PG_ENV {
            cmd.env_remove(v);
        }
        cmd.env("LC_ALL", "C");
        cmd.output().map_err(|e| format!("cannot run {}: {e}", prog.display()))
    }

    /// A psql command connected to this server (no script yet).
    pub fn psql_cmd(&self, appname: &str) -> Command {
        self.psql_cmd_db(appname, "postgres")
    }

    /// A psql command connected to database `db` of this server.
    pub fn psql_cmd_db(&self, appname: &str, db: &str) -> Command {
        let mut cmd = Command::new(&self.bins.psql);
        cmd.arg("-X").arg("-q").arg("-At").arg("-h").arg(self.dir.path()).arg("-p").arg(self.port.to_string()).args([
            "-U",
            "postgres",
            "-d",
            db,
            "-v",
            "ON_ERROR_STOP=1",
        ]);
        for v in PG_ENV {
            cmd.env_remove(v);
        }
        cmd.env("PGAPPNAME", appname);
        cmd.env("PGCONNECT_TIMEOUT", "10");
        cmd
    }

    /// Runs a script in one session, feeding it on stdin.
    pub fn sql(&self, script: &str) -> SqlOut {
        self.sql_as("migrade_test", script)
    }

    pub fn sql_as(&self, appname: &str, script: &str) -> SqlOut {
        let child = self.spawn_sql(appname, script);
        match child {
            Ok(c) => match c.wait_with_output() {
                Ok(o) => SqlOut::from_output(o),
                Err(e) => SqlOut { ok: false, code: None, stdout: String::new(), stderr: e.to_string() },
            },
            Err(e) => SqlOut { ok: false, code: None, stdout: String::new(), stderr: e },
        }
    }

    /// Runs a script in one session on database `db`.
    pub fn sql_db(&self, db: &str, script: &str) -> SqlOut {
        match self.spawn_cmd(self.psql_cmd_db("migrade_test", db), script) {
            Ok(c) => Self::wait(c),
            Err(e) => SqlOut { ok: false, code: None, stdout: String::new(), stderr: e },
        }
    }

    /// Starts a script in its own session without waiting for it.
    pub fn spawn_sql(&self, appname: &str, script: &str) -> Result<Child, String> {
        self.spawn_cmd(self.psql_cmd(appname), script)
    }

    fn spawn_cmd(&self, mut cmd: Command, script: &str) -> Result<Child, String> {
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| format!("cannot run {}: {e}", self.bins.psql.display()))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let script = script.to_owned();
        // Write from a thread so a large script can never deadlock against output.
        std::thread::spawn(move || {
            let _ = stdin.write_all(script.as_bytes());
        });
        Ok(child)
    }

    pub fn wait(child: Child) -> SqlOut {
        match child.wait_with_output() {
            Ok(o) => SqlOut::from_output(o),
            Err(e) => SqlOut { ok: false, code: None, stdout: String::new(), stderr: e.to_string() },
        }
    }

    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        let pg_ctl = self.bins.bindir.join("pg_ctl");
        let res = self.admin(
            &pg_ctl,
            &[
                "-D".into(),
                self.data.clone().into_os_string(),
                "-m".into(),
                "immediate".into(),
                "-w".into(),
                "-t".into(),
                "30".into(),
                "stop".into(),
            ],
        );
        match res {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "real_pg: pg_ctl stop failed (data dir {}): {}{}",
                self.data.display(),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("real_pg: pg_ctl stop: {e}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
