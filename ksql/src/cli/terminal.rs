//! What the CLI asks of the terminal: its width, and Ctrl-C turned into a flag while a
//! query streams, so the query ends and the CLI carries on.

use std::sync::atomic::{AtomicBool, Ordering};

/// The terminal's width in characters, when standard output is a terminal.
pub fn width() -> Option<usize> {
    // SAFETY: isatty and TIOCGWINSZ only read the descriptor's state into `size`.
    unsafe {
        if libc::isatty(libc::STDOUT_FILENO) != 1 {
            return None;
        }
        let mut size: libc::winsize = std::mem::zeroed();
        if libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) != 0 || size.ws_col == 0 {
            return None;
        }
        Some(usize::from(size.ws_col))
    }
}

/// Whether standard input is a terminal (an interactive session).
pub fn input_is_terminal() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(libc::STDIN_FILENO) == 1 }
}

static QUERY_RUNNING: AtomicBool = AtomicBool::new(false);
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C handler: during a query it only marks the query interrupted; at
/// other times it ends the program, unless `keep_running` (an interactive session, whose
/// line editor reads Ctrl-C itself).
pub fn handle_interrupts(keep_running: bool) {
    let installed = ctrlc::set_handler(move || {
        if QUERY_RUNNING.load(Ordering::SeqCst) {
            INTERRUPTED.store(true, Ordering::SeqCst);
        } else if !keep_running {
            std::process::exit(130);
        }
    });
    if let Err(error) = installed {
        eprintln!("Ctrl-C will not stop queries: {error}");
    }
}

/// Marks a query as streaming until dropped; Ctrl-C meanwhile is reported by `interrupted`.
pub struct QueryGuard;

impl QueryGuard {
    pub fn start() -> QueryGuard {
        INTERRUPTED.store(false, Ordering::SeqCst);
        QUERY_RUNNING.store(true, Ordering::SeqCst);
        QueryGuard
    }

    pub fn interrupted(&self) -> bool {
        INTERRUPTED.load(Ordering::SeqCst)
    }
}

impl Drop for QueryGuard {
    fn drop(&mut self) {
        QUERY_RUNNING.store(false, Ordering::SeqCst);
        INTERRUPTED.store(false, Ordering::SeqCst);
    }
}
