//! The data directory holds password hashes, the audit log and the TLS key: only sessiond's
//! own user may read it. Files sessiond creates are private whatever the umask it was
//! started with; what an operator made readable to others is reported, not changed.

use std::path::Path;

use crate::fail::Fail;

/// Makes every file this process creates from now on private (0600, directories 0700).
/// Called before any thread starts: the umask is per process.
pub fn restrict_umask() {
    #[cfg(unix)]
    // SAFETY: umask has no memory effects; called before other threads exist.
    unsafe {
        libc::umask(0o077);
    }
}

/// Raises this process's soft limit on open files to its hard limit, so that connections
/// are bounded by `--max-connections`, not by a low default; returns the limit now in force.
pub fn raise_open_file_limit() -> Option<u64> {
    let mut lim = nofile()?;
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: setrlimit only reads `lim`.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            return open_file_limit();
        }
    }
    Some(lim.rlim_cur)
}

/// The soft limit on open files.
pub fn open_file_limit() -> Option<u64> {
    nofile().map(|l| l.rlim_cur)
}

fn nofile() -> Option<libc::rlimit> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes `lim`.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0).then_some(lim)
}

/// Creates `dir` (mode 0700) if it is missing, and returns a warning for the directory and
/// for each file in it (and in `tls/`) that others may read or write.
pub fn prepare_data_dir(dir: &Path) -> Result<Vec<String>, Fail> {
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir).map_err(|e| {
            Fail::new(format!(
                "cannot create the data directory {}: {e}",
                dir.display()
            ))
        })?;
        return Ok(vec![]);
    }
    Ok(exposed(dir))
}

#[cfg(unix)]
fn exposed(dir: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).ok().map(|m| m.permissions().mode());
    let mut warnings = vec![];
    let mut check = |p: &Path, what: &str| {
        if let Some(m) = mode(p) {
            if m & 0o077 != 0 {
                warnings.push(format!(
                    "{what} {} is accessible to other users (mode {:o}); `chmod go= {}` makes it private",
                    p.display(),
                    m & 0o777,
                    p.display()
                ));
            }
        }
    };
    check(dir, "the data directory");
    for sub in [dir.to_path_buf(), dir.join("tls")] {
        let Ok(entries) = std::fs::read_dir(&sub) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                check(&path, "the file");
            }
        }
    }
    warnings
}

#[cfg(not(unix))]
fn exposed(_: &Path) -> Vec<String> {
    vec![]
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_new_directory_is_private_and_an_open_one_is_reported() {
        let tmp = tempfile::TempDir::new().unwrap();
        let dir = tmp.path().join("data");
        assert!(prepare_data_dir(&dir).unwrap().is_empty());
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);

        std::fs::write(dir.join("sessiond.db"), b"x").unwrap();
        std::fs::set_permissions(
            dir.join("sessiond.db"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let warnings = prepare_data_dir(&dir).unwrap();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("mode 755"));
        assert!(warnings[1].contains("sessiond.db") && warnings[1].contains("mode 644"));
    }
}
