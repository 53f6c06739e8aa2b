//! One run at a time per output folder, and cleanup of what a killed run left behind.
//!
//! The lock is an OS file lock (`flock`) on `<output>/.newsmill.lock`: it dies with its
//! process, so there is never a stale lock to delete by hand. The file's content only says who
//! holds it, for the message the second run prints.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::Error;

/// Held for the whole run; released when dropped or when the process dies.
#[derive(Debug)]
pub struct OutputLock {
    _file: File,
}

/// Takes the output folder's lock, or fails with `Error::Locked` naming the holder.
pub fn acquire(output: &Path) -> Result<OutputLock, Error> {
    fs::create_dir_all(output).map_err(|e| Error::io(output, e))?;
    let path = output.join(".newsmill.lock");
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(Error::Locked {
                path: output.to_path_buf(),
                holder: if holder.is_empty() { "unknown holder".into() } else { holder.to_string() },
            });
        }
        Err(fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
    }
    let who = format!(
        "pid {} on {} since {}",
        std::process::id(),
        fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let _ = file.set_len(0).and_then(|_| file.seek(SeekFrom::Start(0))).and_then(|_| file.write_all(who.as_bytes()));
    Ok(OutputLock { _file: file })
}

/// Repairs what an interrupted run left: a table moved aside but not replaced is moved back;
/// staging folders and moved-aside copies are removed.
pub fn clean_leftovers(output: &Path) -> Result<(), Error> {
    let Ok(entries) = fs::read_dir(output) else { return Ok(()) };
    let mut names: Vec<String> = entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    for name in names {
        let p = output.join(&name);
        if let Some(table) = name.strip_prefix(".old-") {
            let live = output.join(table);
            if live.exists() {
                fs::remove_dir_all(&p).map_err(|e| Error::io(&p, e))?;
            } else {
                // Killed between the two renames of a swap: the old table is the committed one.
                fs::rename(&p, &live).map_err(|e| Error::io(&p, e))?;
            }
        } else if name.starts_with(".staging-") {
            fs::remove_dir_all(&p).map_err(|e| Error::io(&p, e))?;
        } else if name.starts_with(".spill-") {
            // The story terms of a run killed before its overlap stage.
            fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
        } else if name == "_runs" {
            // Half-written manifests.
            if let Ok(rs) = fs::read_dir(&p) {
                for r in rs.filter_map(|e| e.ok()) {
                    if r.file_name().to_string_lossy().ends_with(".tmp") {
                        let _ = fs::remove_file(r.path());
                    }
                }
            }
        }
    }
    Ok(())
}

/// Fault injection for the crash tests: when `NEWSMILL_FAULT` names this point, the run says
/// so on stderr and stalls, so that a test can `kill -9` it at exactly this moment.
pub fn fault_point(name: &str) {
    if std::env::var("NEWSMILL_FAULT").is_ok_and(|v| v == name) {
        eprintln!("newsmill: fault point {name} reached");
        std::thread::sleep(std::time::Duration::from_secs(120));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_in_the_same_folder_is_refused_until_the_first_drops() {
        let dir = tempfile::tempdir().unwrap();
        let a = acquire(dir.path()).unwrap();
        let e = acquire(dir.path()).unwrap_err();
        assert!(matches!(e, Error::Locked { .. }));
        assert_eq!(e.exit_code(), 75);
        assert!(e.to_string().contains("pid"));
        drop(a);
        assert!(acquire(dir.path()).is_ok());
    }

    #[test]
    fn leftovers_are_repaired() {
        let dir = tempfile::tempdir().unwrap();
        let o = dir.path();
        fs::create_dir_all(o.join(".old-documents")).unwrap();
        fs::write(o.join(".old-documents/part-00000.parquet"), b"x").unwrap();
        fs::create_dir_all(o.join(".old-mentions")).unwrap();
        fs::create_dir_all(o.join("mentions")).unwrap();
        fs::create_dir_all(o.join(".staging-abc/quotes")).unwrap();
        fs::write(o.join(".spill-abc"), b"terms").unwrap();
        clean_leftovers(o).unwrap();
        assert!(!o.join(".spill-abc").exists());
        assert!(o.join("documents/part-00000.parquet").exists());
        assert!(!o.join(".old-mentions").exists());
        assert!(o.join("mentions").exists());
        assert!(!o.join(".staging-abc").exists());
    }
}
