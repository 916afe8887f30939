//! Opt-in diagnostics: silent unless `SELKIES_INTERPOSER_LOG` is set (`1`/`stderr` for stderr,
//! anything else is a file path opened for append). Writes go through raw syscalls so logging
//! never re-enters the hooked `open`/`close`.

use selkies_interposer_rt::Logger;
use selkies_js_wire::paths::LOG_ENV;

pub static LOGGER: Logger = Logger::new(LOG_ENV, "selkies-js-interposer");

/// Logs a formatted line when the log variable is set.
macro_rules! log {
    ($($arg:tt)*) => {
        if $crate::log::LOGGER.enabled() {
            $crate::log::LOGGER.write_line(format_args!($($arg)*));
        }
    };
}
pub(crate) use log;
