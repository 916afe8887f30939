//! `legacy_flags!`: declares a clap argument struct as a table, one line per flag.
//!
//! Every legacy flag has the same parts — `--name` spelt with underscores, a `SELKIES_NAME`
//! environment variable, a string value and a default — and differs only in a few clap details
//! (a boolean that may be given bare, a value that may start with `-`). Spelt out as clap
//! attributes, those parts took five lines a flag and hid the one line that mattered; the
//! table below says each flag's kind once and this macro writes the attributes.
//!
//! Kinds (every value stays a `String`; `Settings::resolve` types it):
//! - `text(env, default)`: a value with a default.
//! - `maybe(env)`: an `Option<String>`, for defaults that depend on the machine.
//! - `maybe_signed(env)`: the same, and the value may start with `-`.
//! - `signed(env, default)`: a value that may start with `-` (`-1` means "off" in several).
//! - `switch(env, default)`: `true`/`false`; the bare flag means `true`, as in the legacy host.
//! - `mode(env, default)`: like `switch`, with a third value such as `auto`.
//! - `choice(env, default, "a|b|c")`: a value from a list, shown in `--help`.
//!
//! After the table, `extra { ... }` holds fields written as plain clap attributes (a flag with
//! no environment variable, a flattened group).

/// See the module documentation.
macro_rules! legacy_flags {
    ($(#[$attr:meta])* $vis:vis struct $name:ident { $($table:tt)* } $(extra { $($extra:tt)* })?) => {
        legacy_flags!(@row [$(#[$attr])* $vis struct $name] [] [$($($extra)*)?] $($table)*);
    };
    (@row [$($head:tt)*] [$($done:tt)*] [$($extra:tt)*]) => {
        $($head)* { $($done)* $($extra)* }
    };
    (@row $head:tt [$($done:tt)*] $extra:tt
        $(#[doc = $doc:literal])* $f:ident: text($env:literal, $default:literal), $($rest:tt)*) => {
        legacy_flags!(@row $head [$($done)*
            $(#[doc = $doc])*
            #[arg(long = stringify!($f), env = $env, default_value = $default)]
            pub $f: String,
        ] $extra $($rest)*);
    };
    (@row $head:tt [$($done:tt)*] $extra:tt
        $(#[doc = $doc:literal])* $f:ident: maybe($env:literal), $($rest:tt)*) => {
        legacy_flags!(@row $head [$($done)*
            $(#[doc = $doc])*
            #[arg(long = stringify!($f), env = $env)]
            pub $f: Option<String>,
        ] $extra $($rest)*);
    };
    (@row $head:tt [$($done:tt)*] $extra:tt
        $(#[doc = $doc:literal])* $f:ident: maybe_signed($env:literal), $($rest:tt)*) => {
        legacy_flags!(@row $head [$($done)*
            $(#[doc = $doc])*
            #[arg(long = stringify!($f), env = $env, allow_hyphen_values = true)]
            pub $f: Option<String>,
        ] $extra $($rest)*);
    };
    (@row $head:tt [$($done:tt)*] $extra:tt
        $(#[doc = $doc:literal])* $f:ident: signed($env:literal, $default:literal), $($rest:tt)*) => {
        legacy_flags!(@row $head [$($done)*
            $(#[doc = $doc])*
            #[arg(long = stringify!($f), env = $env, default_value = $default,
                  allow_hyphen_values = true)]
            pub $f: String,
        ] $extra $($rest)*);
    };
    (@row $head:tt [$($done:tt)*] $extra:tt
        $(#[doc = $doc:literal])* $f:ident: switch($env:literal, $default:literal), $($rest:tt)*) => {
        legacy_flags!(@row $head [$($done)*
            $(#[doc = $doc])*
            #[arg(long = stringify!($f), env = $env, default_value = $default, value_name = "BOOL",
                  num_args = 0..=1, default_missing_value = "true")]
            pub $f: String,
        ] $extra $($rest)*);
    };
    (@row $head:tt [$($done:tt)*] $extra:tt
        $(#[doc = $doc:literal])* $f:ident: mode($env:literal, $default:literal), $($rest:tt)*) => {
        legacy_flags!(@row $head [$($done)*
            $(#[doc = $doc])*
            #[arg(long = stringify!($f), env = $env, default_value = $default, value_name = "MODE",
                  num_args = 0..=1, default_missing_value = "true")]
            pub $f: String,
        ] $extra $($rest)*);
    };
    (@row $head:tt [$($done:tt)*] $extra:tt
        $(#[doc = $doc:literal])* $f:ident: choice($env:literal, $default:literal, $values:literal),
        $($rest:tt)*) => {
        legacy_flags!(@row $head [$($done)*
            $(#[doc = $doc])*
            #[arg(long = stringify!($f), env = $env, default_value = $default, value_name = $values)]
            pub $f: String,
        ] $extra $($rest)*);
    };
}
