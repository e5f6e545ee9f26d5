//! The broker's log directory and its health, as Kafka's log-directory failure handling has
//! it: the first I/O error on any partition's files (a full or failing disk) takes the whole
//! directory offline. From then on its partitions answer `KAFKA_STORAGE_ERROR` instead of
//! touching the disk, and the broker, whose every log directory has failed, hands its
//! leaderships to other replicas and stops. Running out of file descriptors is not a disk
//! failure: the request that needed a file fails with a retriable storage error naming the
//! open files limit, and the directory stays online. A clean shutdown leaves a marker so the
//! next start trusts closed segments; without it every segment is checked.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use kafka_protocol::ResponseError;
use tokio::sync::Notify;

use crate::error::ApiError;

/// Kafka's name for the marker of a clean shutdown.
const CLEAN_SHUTDOWN_FILE: &str = ".kafka_cleanshutdown";
/// Written and removed at start: a directory that cannot take this much is refused before
/// any log is touched, rather than failing part-way through recovery.
const PROBE_FILE: &str = ".potok-write-probe";
const PROBE_BYTES: usize = 64 * 1024;
/// How often running out of file descriptors is logged while it lasts.
const EXHAUSTED_WARNING_EVERY: Duration = Duration::from_secs(10);

pub struct LogDir {
    path: PathBuf,
    /// Whether the previous run ended with a clean shutdown.
    clean_shutdown: bool,
    /// Why the directory went offline; set once.
    failure: OnceLock<String>,
    failed: Notify,
    /// When running out of file descriptors was last logged.
    exhausted_warned: Mutex<Option<Instant>>,
}

impl LogDir {
    /// Opens the directory, removing temporary files a crash left, checking it can be
    /// written, and consuming the clean-shutdown marker (so a crash after this start is
    /// seen as one).
    pub fn open(path: &Path) -> std::io::Result<LogDir> {
        std::fs::create_dir_all(path)?;
        crate::durable_file::remove_leftovers(path)?;
        let probe = path.join(PROBE_FILE);
        crate::durable_file::replace(&probe, &[0; PROBE_BYTES])?;
        std::fs::remove_file(&probe)?;
        let marker = path.join(CLEAN_SHUTDOWN_FILE);
        let clean_shutdown = marker.exists();
        if clean_shutdown {
            std::fs::remove_file(&marker)?;
            tracing::info!(log_dir = %path.display(), "the last shutdown was clean: only each log's last segment is checked");
        } else {
            tracing::info!(log_dir = %path.display(), "no clean shutdown marker: every segment of every log is checked");
        }
        Ok(LogDir {
            path: path.to_path_buf(),
            clean_shutdown,
            failure: OnceLock::new(),
            failed: Notify::new(),
            exhausted_warned: Mutex::new(None),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn clean_shutdown(&self) -> bool {
        self.clean_shutdown
    }

    /// Takes the directory offline after `error` (later failures add nothing) and returns
    /// the error its partitions now answer with.
    pub fn fail(&self, error: &std::io::Error) -> ApiError {
        if crate::open_files::exhausted(error) {
            return self.out_of_file_descriptors(error);
        }
        let mut first = false;
        let reason = self.failure.get_or_init(|| {
            first = true;
            format!("{error} ({})", describe_space(&self.path))
        });
        if first {
            tracing::error!(
                log_dir = %self.path.display(),
                "log directory is offline after an I/O error: {reason}"
            );
            self.failed.notify_waiters();
        }
        self.offline_error(reason)
    }

    /// The retriable error of a request that needed a file when none could be opened;
    /// logged at most every few seconds.
    fn out_of_file_descriptors(&self, error: &std::io::Error) -> ApiError {
        let limit = crate::open_files::limit().map_or_else(
            || "its limit".to_string(),
            |limit| format!("its limit of {limit}"),
        );
        let message = format!(
            "cannot open a file in the log directory {}: {error}; the broker has reached {limit} open files (ulimit -n): raise it or host fewer partitions on this broker",
            self.path.display()
        );
        let mut warned = self
            .exhausted_warned
            .lock()
            .expect("open files warning lock poisoned");
        if warned.is_none_or(|at| at.elapsed() >= EXHAUSTED_WARNING_EVERY) {
            *warned = Some(Instant::now());
            tracing::error!(log_dir = %self.path.display(), "{message}; the directory stays online");
        }
        ApiError::new(ResponseError::KafkaStorageError, message)
    }

    fn offline_error(&self, reason: &str) -> ApiError {
        ApiError::new(
            ResponseError::KafkaStorageError,
            format!(
                "The log directory {} is offline: {reason}",
                self.path.display()
            ),
        )
    }

    pub fn failure(&self) -> Option<&str> {
        self.failure.get().map(String::as_str)
    }

    /// Fails with `KAFKA_STORAGE_ERROR` once the directory is offline.
    pub fn check(&self) -> Result<(), ApiError> {
        match self.failure() {
            None => Ok(()),
            Some(reason) => Err(self.offline_error(reason)),
        }
    }

    /// Resolves once the directory has gone offline, with the reason.
    pub async fn offline(&self) -> String {
        loop {
            let notified = self.failed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(reason) = self.failure() {
                return reason.to_string();
            }
            notified.await;
        }
    }

    /// Leaves the clean-shutdown marker, unless the directory failed: then the next start
    /// checks every segment.
    pub fn mark_clean_shutdown(&self) -> std::io::Result<()> {
        if self.failure().is_some() {
            return Ok(());
        }
        crate::durable_file::replace(&self.path.join(CLEAN_SHUTDOWN_FILE), b"")
    }
}

/// Free and total bytes of the file system holding `path`.
pub fn free_space(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `name` is a valid C string and `stats` is written by statvfs before it is read.
    let stats = unsafe {
        if libc::statvfs(name.as_ptr(), stats.as_mut_ptr()) != 0 {
            return None;
        }
        stats.assume_init()
    };
    let block = stats.f_frsize as u64;
    Some((stats.f_bavail as u64 * block, stats.f_blocks as u64 * block))
}

/// "12345 bytes free of 67890", for messages about a directory's disk.
pub fn describe_space(path: &Path) -> String {
    match free_space(path) {
        Some((free, total)) => format!("{free} bytes free of {total} on its file system"),
        None => "free space unknown".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_of_a_clean_shutdown_is_consumed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!LogDir::open(dir.path()).unwrap().clean_shutdown());
        LogDir::open(dir.path())
            .unwrap()
            .mark_clean_shutdown()
            .unwrap();
        assert!(LogDir::open(dir.path()).unwrap().clean_shutdown());
        assert!(!LogDir::open(dir.path()).unwrap().clean_shutdown());
    }

    #[test]
    fn a_failed_directory_refuses_with_a_storage_error_and_leaves_no_marker() {
        let dir = tempfile::tempdir().unwrap();
        let log_dir = LogDir::open(dir.path()).unwrap();
        assert!(log_dir.check().is_ok());
        log_dir.fail(&std::io::Error::from_raw_os_error(libc::ENOSPC));
        log_dir.fail(&std::io::Error::other("later"));
        let error = log_dir.check().unwrap_err();
        assert_eq!(error.error, ResponseError::KafkaStorageError);
        let message = error.message.unwrap();
        assert!(message.contains("No space left on device"), "{message}");
        assert!(message.contains("bytes free of"), "{message}");
        log_dir.mark_clean_shutdown().unwrap();
        assert!(!LogDir::open(dir.path()).unwrap().clean_shutdown());
    }

    #[test]
    fn running_out_of_file_descriptors_leaves_the_directory_online() {
        let dir = tempfile::tempdir().unwrap();
        let log_dir = LogDir::open(dir.path()).unwrap();
        let error = log_dir.fail(&std::io::Error::from_raw_os_error(libc::EMFILE));
        assert_eq!(error.error, ResponseError::KafkaStorageError);
        let message = error.message.unwrap();
        assert!(message.contains("open files (ulimit -n)"), "{message}");
        assert!(log_dir.check().is_ok());
        assert!(log_dir.failure().is_none());
    }

    #[tokio::test]
    async fn waiters_learn_of_the_failure() {
        let dir = tempfile::tempdir().unwrap();
        let log_dir = std::sync::Arc::new(LogDir::open(dir.path()).unwrap());
        let waiter = tokio::spawn({
            let log_dir = log_dir.clone();
            async move { log_dir.offline().await }
        });
        tokio::task::yield_now().await;
        log_dir.fail(&std::io::Error::other("disk gone"));
        assert!(waiter.await.unwrap().starts_with("disk gone"));
    }
}
