//! The statically linked release binary, built for this machine by
//! `scripts/dist.sh --binary-only` (musl on Linux: Debian's musl-tools and the
//! rustup target, which scripts/setup.sh --test installs), packaged by
//! scripts/package.sh exactly as the release workflow packages it:
//!
//! - `ldd` finds no dynamic dependency;
//! - it lints a fixture with an empty environment (`env -i`: no PATH, no HOME);
//! - the archive's `.sha256` file verifies with `sha256sum -c`, and `SHA256SUMS` lists it.
//!
//! The release build takes a few minutes from cold (it shares target/).
//!
//! Run: `cargo test --test dist`

use std::path::{Path, PathBuf};
use std::process::Command;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn target() -> String {
    format!("{}-unknown-linux-musl", std::env::consts::ARCH)
}

/// Runs scripts/dist.sh --binary-only into a fresh folder; returns it.
fn dist() -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(root.join("scripts/dist.sh")).arg("--binary-only").arg(out.path()).output().unwrap();
    assert!(
        o.status.success(),
        "scripts/dist.sh --binary-only failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

#[test]
fn the_static_binary_has_no_dynamic_dependencies_and_lints_with_an_empty_environment() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = dist();
    let name = format!("migrade-v{VERSION}-{}", target());
    let archive = format!("{name}.tar.gz");
    assert!(
        out.path().join(&archive).is_file(),
        "{archive} in {:?}",
        std::fs::read_dir(out.path()).unwrap().collect::<Vec<_>>()
    );

    // The checksum file verifies, and SHA256SUMS lists it.
    let o =
        Command::new("sha256sum").arg("-c").arg(format!("{archive}.sha256")).current_dir(out.path()).output().unwrap();
    assert!(
        o.status.success(),
        "sha256sum -c: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let sums = std::fs::read_to_string(out.path().join("SHA256SUMS")).unwrap();
    assert!(sums.lines().any(|l| l.ends_with(&format!("  {archive}"))), "{sums}");

    // Unpacked as a user would.
    let unpack = tempfile::tempdir().unwrap();
    let o =
        Command::new("tar").arg("-xzf").arg(out.path().join(&archive)).arg("-C").arg(unpack.path()).output().unwrap();
    assert!(o.status.success(), "tar: {}", String::from_utf8_lossy(&o.stderr));
    let bin: PathBuf = unpack.path().join(&name).join("migrade");
    assert!(bin.is_file() && unpack.path().join(&name).join("README.md").is_file());

    // No dynamic dependency: ldd names no library ("statically linked" / "not a dynamic executable").
    let o = Command::new("ldd").arg(&bin).output().unwrap();
    let ldd = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(!ldd.contains("=>") && !ldd.contains(".so"), "the release binary links libraries:\n{ldd}");
    assert!(ldd.contains("statically linked") || ldd.contains("not a dynamic executable"), "{ldd}");
    // The control: the test's own (glibc) build is dynamic, so this ldd check can fail.
    let o = Command::new("ldd").arg(env!("CARGO_BIN_EXE_migrade")).output().unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("=>"), "the dev build is expected to be dynamic");

    // It runs with nothing from the environment.
    let o = Command::new("env")
        .arg("-i")
        .arg(&bin)
        .args(["lint", "--no-config", "--format", "json"])
        .arg(root.join("fixtures/grades/very-high.sql"))
        .output()
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(v["files"][0]["grade"], "very-high");
    assert_eq!(o.status.code(), Some(1));
    let o = Command::new("env").arg("-i").arg(&bin).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), format!("migrade {VERSION}"));
}

/// buildah with its storage in `dir` (nothing under /var/lib/containers), vfs
/// driver and chroot isolation, as it runs unprivileged in a container.
fn buildah(dir: &Path) -> Command {
    let mut c = Command::new("buildah");
    c.arg("--root").arg(dir.join("root")).arg("--runroot").arg(dir.join("runroot"));
    c.env("STORAGE_DRIVER", "vfs").env("BUILDAH_ISOLATION", "chroot");
    c
}

#[test]
fn the_dockerfile_makes_a_small_image_that_lints_a_mounted_folder() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        Command::new("buildah").arg("--version").output().is_ok_and(|o| o.status.success()),
        "buildah is not installed: scripts/setup.sh --test installs it (apt-get install buildah)"
    );
    let out = dist();
    let arch = if std::env::consts::ARCH == "x86_64" { "amd64" } else { "arm64" };
    assert!(out.path().join(format!("docker/{arch}/migrade")).is_file(), "dist.sh stages the image's binary");

    // The repository's Dockerfile and .dockerignore, the dist folder as the context.
    let ctx = tempfile::tempdir().unwrap();
    let context = ctx.path().join("context");
    std::fs::create_dir_all(context.join("dist")).unwrap();
    for f in ["Dockerfile", ".dockerignore"] {
        std::fs::copy(root.join(f), context.join(f)).unwrap();
    }
    let copy = Command::new("cp").arg("-a").arg(out.path().join("docker")).arg(context.join("dist")).status().unwrap();
    assert!(copy.success());

    let store = ctx.path().join("store");
    let o =
        buildah(&store).args(["bud", "--isolation", "chroot", "-t", "migrade-test"]).arg(&context).output().unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "buildah bud:\n{log}");

    // Small: the binary and nothing else.
    let o = buildah(&store).args(["inspect", "--type", "image", "migrade-test"]).output().unwrap();
    let image: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(image["Manifest"].as_str().unwrap()).unwrap();
    let layers = manifest["layers"].as_array().unwrap_or_else(|| panic!("{manifest:#}"));
    assert_eq!(layers.len(), 1, "one layer, the binary: {manifest:#}");
    let size = layers[0]["size"].as_u64().unwrap();
    let bin_size = std::fs::metadata(out.path().join(format!("docker/{arch}/migrade"))).unwrap().len();
    assert!(size < bin_size + 64 * 1024, "a {size}-byte layer for a {bin_size}-byte binary: something else was copied");

    // Run it on a mounted migrations folder, as `docker run -v "$PWD:/work" migrade lint migrations/`.
    let ws = ctx.path().join("ws");
    std::fs::create_dir_all(ws.join("migrations")).unwrap();
    std::fs::write(ws.join("migrations/0001_create.sql"), "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n")
        .unwrap();
    std::fs::write(ws.join("migrations/0002_drop.sql"), "ALTER TABLE users DROP COLUMN email;\n").unwrap();
    let o = buildah(&store).args(["from", "migrade-test"]).output().unwrap();
    let container = String::from_utf8_lossy(&o.stdout).trim().lines().last().unwrap_or_default().to_string();
    assert!(o.status.success() && !container.is_empty(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = buildah(&store)
        .args(["run", "--isolation", "chroot", "-v"])
        .arg(format!("{}:/work", ws.display()))
        .arg(&container)
        .args(["--", "/usr/local/bin/migrade", "lint", "--format", "json", "migrations"])
        .output()
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    let grades: Vec<&str> = v["files"].as_array().unwrap().iter().map(|f| f["grade"].as_str().unwrap()).collect();
    assert_eq!(grades, ["low", "very-high"], "{v:#}");
    // The entrypoint and the default command are the Dockerfile's.
    let o = buildah(&store)
        .args([
            "inspect",
            "--format",
            "{{.OCIv1.Config.Entrypoint}} {{.OCIv1.Config.Cmd}} {{.OCIv1.Config.WorkingDir}}",
            "migrade-test",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[/usr/local/bin/migrade] [lint .] /work");
    let _ = buildah(&store).args(["rm", "--all"]).output();
    let _ = buildah(&store).args(["rmi", "--all", "--force"]).output();
}
