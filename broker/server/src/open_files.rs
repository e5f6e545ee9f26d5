//! The process's limit on open files. Each connection and each log segment holds a file
//! descriptor, so the limit bounds both; reaching it is a resource the operator must raise,
//! not a failing disk.

use std::io;

/// The soft and hard `RLIMIT_NOFILE`.
fn limits() -> io::Result<libc::rlimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct passed to it.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(limit)
}

/// The limit in force now (the soft one), if it can be read.
pub fn limit() -> Option<u64> {
    limits().ok().map(|limit| limit.rlim_cur)
}

/// Whether `error` says the process (EMFILE) or the system (ENFILE) has no file
/// descriptor left.
pub fn exhausted(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Raises the soft limit to the hard one, as the usual soft limit (1,024) would refuse
/// connections long before `max.connections`; warns when even the hard limit is below it.
pub fn raise_limit(max_connections: usize) {
    let mut limit = match limits() {
        Ok(limit) => limit,
        Err(error) => {
            tracing::warn!(%error, "cannot read the open files limit");
            return;
        }
    };
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct passed to it.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        } else {
            let error = io::Error::last_os_error();
            tracing::warn!(%error, soft = limit.rlim_cur, hard = limit.rlim_max, "cannot raise the open files limit");
        }
    }
    let open_files = usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX);
    if open_files < max_connections {
        tracing::warn!(
            open_files,
            max_connections,
            "the open files limit (ulimit -n) is below max.connections: connections beyond it fail to be accepted"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_out_of_descriptors_is_told_apart_from_other_errors() {
        assert!(exhausted(&io::Error::from_raw_os_error(libc::EMFILE)));
        assert!(exhausted(&io::Error::from_raw_os_error(libc::ENFILE)));
        assert!(!exhausted(&io::Error::from_raw_os_error(libc::ENOSPC)));
        assert!(!exhausted(&io::Error::other("disk gone")));
        assert!(limit().is_some_and(|limit| limit > 0));
    }
}
