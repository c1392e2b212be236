//! A throwaway PostgreSQL cluster for `migrade verify`: found, `initdb`-ed into a
//! temporary folder, listening on a Unix socket in that folder only (no TCP),
//! stopped and deleted when dropped, on error, and on Ctrl-C.
//!
//! initdb refuses to run as root: as root, the server binaries run as the
//! `postgres` system user (Debian's postgresql package creates it), via `runuser`
//! or `su`; without that user the start fails with what to do.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The server binaries found, and their major version.
#[derive(Clone, Debug)]
pub struct Bins {
    pub bindir: PathBuf,
    pub major: u32,
    /// `postgres --version`, e.g. `postgres (PostgreSQL) 15.14 (Debian ...)`.
    pub version: String,
}

/// Variables that would redirect or change a client or server we start.
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
    "PGDATA",
    "PGTZ",
];

fn has_server_bins(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"].iter().all(|b| dir.join(b).is_file())
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

fn version_of(postgres: &Path) -> Option<(u32, String)> {
    let out = Command::new(postgres).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let ver = text.split_whitespace().find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?;
    let major = ver.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()?;
    Some((major, text))
}

/// Finds initdb, pg_ctl and postgres: `--pg-bin DIR`, else `pg_config --bindir`, else
/// the folder of an `initdb` on PATH, else the highest `/usr/lib/postgresql/<N>/bin`
/// (Debian's layout, where the server binaries are not on PATH).
pub fn find(pg_bin: Option<&Path>) -> Result<Bins, String> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = pg_bin {
        if !has_server_bins(dir) {
            return Err(format!(
                "--pg-bin {}: no initdb, pg_ctl and postgres there; name the folder that holds PostgreSQL's server binaries",
                dir.display()
            ));
        }
        candidates.push(dir.to_path_buf());
    } else {
        if let Some(pg_config) = on_path("pg_config")
            && let Ok(out) = Command::new(pg_config).arg("--bindir").output()
        {
            candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
        if let Some(initdb) = on_path("initdb")
            && let Some(dir) = initdb.parent()
        {
            candidates.push(dir.to_path_buf());
        }
        let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
            .collect();
        debian.sort();
        candidates.extend(debian.into_iter().rev().map(|(_, p)| p));
    }
    for dir in candidates {
        if has_server_bins(&dir)
            && let Some((major, version)) = version_of(&dir.join("postgres"))
        {
            return Ok(Bins { bindir: dir, major, version });
        }
    }
    Err("PostgreSQL's server binaries (initdb, pg_ctl, postgres) were not found (pg_config --bindir, PATH, \
         /usr/lib/postgresql/*/bin): install PostgreSQL (Debian: apt-get install postgresql), name them with \
         --pg-bin DIR, or use a scratch database with --database-url URL"
        .into())
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

fn postgres_user_exists() -> bool {
    std::fs::read_to_string("/etc/passwd").is_ok_and(|t| t.lines().any(|l| l.starts_with("postgres:")))
}

/// What Ctrl-C needs to stop the server and delete its folder.
#[derive(Clone)]
struct StopInfo {
    pg_ctl: PathBuf,
    data: PathBuf,
    dir: PathBuf,
    as_postgres: bool,
}

impl StopInfo {
    fn stop(&self) {
        let args: Vec<OsString> = vec![
            "-D".into(),
            self.data.clone().into(),
            "-m".into(),
            "immediate".into(),
            "-w".into(),
            "-t".into(),
            "30".into(),
            "stop".into(),
        ];
        let _ = admin(self.as_postgres, &self.dir, &self.pg_ctl, &args);
    }
}

/// The server the Ctrl-C handler stops (one per process).
static RUNNING: Mutex<Option<StopInfo>> = Mutex::new(None);
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether Ctrl-C was pressed: the handler is stopping the server and will end the
/// process with 130, so the caller must not report the closed connection as a failure.
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Waits for the Ctrl-C handler to end the process.
pub fn wait_for_exit() -> ! {
    loop {
        std::thread::park();
    }
}

fn install_ctrlc() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
            let info = RUNNING.lock().ok().and_then(|mut g| g.take());
            if let Some(info) = info {
                eprintln!(
                    "\nmigrade verify: interrupted; stopping the throwaway PostgreSQL and deleting {}",
                    info.dir.display()
                );
                info.stop();
                let _ = std::fs::remove_dir_all(&info.dir);
            }
            std::process::exit(130);
        });
    });
}

/// Runs a server binary, as `postgres` when we are root.
fn admin(as_postgres: bool, cwd: &Path, prog: &Path, args: &[OsString]) -> Result<Output, String> {
    let mut cmd = if !as_postgres {
        let mut c = Command::new(prog);
        c.args(args);
        c
    } else if let Some(runuser) =
        on_path("runuser").or_else(|| Some(PathBuf::from("/usr/sbin/runuser")).filter(|p| p.is_file()))
    {
        let mut c = Command::new(runuser);
        c.args(["-u", "postgres", "--"]).arg(prog).args(args);
        c
    } else {
        let quote = |s: &std::ffi::OsStr| format!("'{}'", s.to_string_lossy().replace('\'', r"'\''"));
        let mut line = quote(prog.as_os_str());
        for a in args {
            line.push(' ');
            line.push_str(&quote(a));
        }
        let mut c = Command::new("su");
        c.args(["postgres", "-s", "/bin/sh", "-c"]).arg(line);
        c
    };
    cmd.current_dir(cwd).stdin(Stdio::null());
    for v in PG_ENV {
        cmd.env_remove(v);
    }
    cmd.env("LC_ALL", "C");
    cmd.output().map_err(|e| format!("cannot run {}: {e}", prog.display()))
}

/// A running throwaway cluster. Dropping it stops the server and deletes its folder.
pub struct Server {
    pub bins: Bins,
    dir: Option<tempfile::TempDir>,
    stop: StopInfo,
    running: bool,
    pub port: u16,
}

impl Server {
    pub fn start(bins: Bins) -> Result<Server, String> {
        let as_postgres = running_as_root();
        if as_postgres && !postgres_user_exists() {
            return Err("initdb refuses to run as root, and there is no `postgres` system user to run the \
                        throwaway server as: run migrade verify as a normal user, create the user \
                        (Debian's postgresql package does), or use --database-url URL"
                .into());
        }
        // TMPDIR when set, else /tmp: a short path (a Unix socket path must stay under
        // ~100 bytes) that the postgres user can traverse when we are root.
        let base = std::env::var_os("TMPDIR")
            .map(PathBuf::from)
            .filter(|p| p.is_dir())
            .unwrap_or_else(|| if Path::new("/tmp").is_dir() { PathBuf::from("/tmp") } else { std::env::temp_dir() });
        let dir = tempfile::Builder::new()
            .prefix("migrade-verify-")
            .tempdir_in(&base)
            .map_err(|e| format!("cannot create a folder in {}: {e}", base.display()))?;
        if as_postgres {
            let ok = Command::new("chown").arg("postgres:").arg(dir.path()).status().is_ok_and(|s| s.success());
            if !ok {
                return Err(format!("cannot give {} to the postgres user (chown)", dir.path().display()));
            }
        }
        let data = dir.path().join("data");
        let stop = StopInfo {
            pg_ctl: bins.bindir.join("pg_ctl"),
            data: data.clone(),
            dir: dir.path().to_path_buf(),
            as_postgres,
        };
        // Any free TCP port number names the socket file; nothing listens on TCP.
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_or(54329, |a| a.port());
        // From here Ctrl-C stops what runs and deletes the folder (initdb included).
        install_ctrlc();
        if let Ok(mut g) = RUNNING.lock() {
            *g = Some(stop.clone());
        }
        let mut server = Server { bins, dir: Some(dir), stop, running: false, port };
        let cwd = server.stop.dir.clone();
        let initdb = server.bins.bindir.join("initdb");
        let args: Vec<OsString> = vec![
            "-D".into(),
            data.clone().into(),
            "-U".into(),
            "postgres".into(),
            "--auth=trust".into(),
            "--encoding=UTF8".into(),
            "--locale=C".into(),
            "--no-sync".into(),
        ];
        let out = admin(as_postgres, &cwd, &initdb, &args)?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        server.running = true;
        let opts = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c port={port} -c autovacuum=off \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_locks_per_transaction=1024 \
             -c log_min_messages=warning",
            cwd.display()
        );
        let log = cwd.join("server.log");
        let args: Vec<OsString> = vec![
            "-D".into(),
            data.into(),
            "-l".into(),
            log.clone().into(),
            "-w".into(),
            "-t".into(),
            "60".into(),
            "-o".into(),
            opts.into(),
            "start".into(),
        ];
        let out = admin(as_postgres, &cwd, &server.stop.pg_ctl, &args)?;
        if !out.status.success() {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!("pg_ctl start failed: {}\n{log}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(server)
    }

    /// A connection to database `db` of this server, retried for up to 30 s.
    pub fn connect(&self, db: &str) -> Result<postgres::Client, String> {
        let mut config = postgres::Config::new();
        config.host_path(&self.stop.dir).port(self.port).user("postgres").dbname(db).application_name("migrade-verify");
        let t0 = Instant::now();
        loop {
            match config.connect(postgres::NoTls) {
                Ok(c) => return Ok(c),
                Err(e) if t0.elapsed() > Duration::from_secs(30) => {
                    return Err(format!("cannot connect to the throwaway server: {e}"));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    pub fn folder(&self) -> &Path {
        &self.stop.dir
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.running {
            self.running = false;
            self.stop.stop();
        }
        if let Ok(mut g) = RUNNING.lock() {
            *g = None;
        }
        // The folder (owned by postgres when we are root) goes with the TempDir.
        drop(self.dir.take());
    }
}
