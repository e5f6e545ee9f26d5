//! Small state files (checkpoints, the vote, metadata snapshots) replaced whole: written to a
//! temporary file, synced, renamed over the old one, the directory synced. A failure at any
//! step (a full disk) leaves the old file as it was and no temporary file behind. State that
//! is rebuilt from the log after a crash is replaced without the syncs, which under heavy
//! writeback can take hundreds of milliseconds.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Replaces `path` with `contents`, or leaves it untouched.
pub fn replace(path: &Path, contents: &[u8]) -> io::Result<()> {
    replace_with(path, contents, true)
}

/// Replaces `path` with `contents` without syncing: readers see the old file or the new one
/// whole, but a crash may leave either, or an empty file. Only for state the next start
/// after a crash rebuilds from the log.
pub fn replace_unsynced(path: &Path, contents: &[u8]) -> io::Result<()> {
    replace_with(path, contents, false)
}

fn replace_with(path: &Path, contents: &[u8], sync: bool) -> io::Result<()> {
    let temporary = temporary_path(path);
    let written = write_file(&temporary, contents, sync).and_then(|()| {
        std::fs::rename(&temporary, path)?;
        if sync {
            sync_parent(path)?;
        }
        Ok(())
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

fn write_file(path: &Path, contents: &[u8], sync: bool) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(contents)?;
    if sync {
        file.sync_all()?;
    }
    Ok(())
}

fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

/// Removes temporary files a crash left in `dir` while replacing a state file.
pub fn remove_leftovers(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "tmp") && path.is_file() {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        replace(&path, b"one").unwrap();
        replace(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        replace(&path, b"old").unwrap();
        std::fs::create_dir(dir.path().join("state.tmp")).unwrap();
        assert!(replace(&path, b"new").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
    }

    #[test]
    fn leftovers_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("high-watermark.tmp"), b"1").unwrap();
        std::fs::write(dir.path().join("00000000000000000000.log"), b"").unwrap();
        remove_leftovers(dir.path()).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["00000000000000000000.log"]);
    }
}
