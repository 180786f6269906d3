//! A command-line error in one line that names the setting the way the user set it.
//!
//! clap reports a bad value by its flag (`--poll-interval <POLL_INTERVAL>`) even when
//! the value came from the environment, where a user looking for `--poll-interval`
//! finds nothing: Kubernetes manifests and compose files set `GATEWAY_POLL_INTERVAL`.
//! When the flag is not on the command line and its variable is set, the message names
//! the variable instead.

use super::Cli;
use clap::{
    error::{ContextKind, ContextValue},
    CommandFactory,
};
use std::ffi::{OsStr, OsString};

/// The first line of `e`, naming the environment variable when the bad value came from
/// one. `args` is the command line; `is_set` says whether a variable is set.
pub fn one_line(e: &clap::Error, args: &[OsString], is_set: impl Fn(&OsStr) -> bool) -> String {
    let rendered = e.to_string();
    let line = rendered
        .lines()
        .next()
        .unwrap_or("invalid configuration")
        .trim_start_matches("error: ")
        .to_owned();
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return line;
    };
    let flag = arg.split_whitespace().next().unwrap_or_default();
    let Some(long) = flag.strip_prefix("--") else {
        return line;
    };
    let on_command_line = args.iter().any(|a| {
        a.to_str()
            .is_some_and(|a| a == flag || a.strip_prefix(flag).is_some_and(|r| r.starts_with('=')))
    });
    if on_command_line {
        return line;
    }
    // The subcommand's own settings first (`qencode-gateway sandbox` reads SANDBOX_*,
    // and its `--api-key` is not the gateway's), then the gateway's.
    let command = Cli::command();
    let subcommand = args
        .iter()
        .skip(1)
        .find_map(|a| a.to_str().and_then(|a| command.find_subcommand(a)));
    let Some(env) = subcommand
        .into_iter()
        .flat_map(|sub| sub.get_arguments())
        .chain(command.get_arguments())
        .filter(|a| a.get_long() == Some(long))
        .filter_map(|a| a.get_env())
        .find(|env| is_set(env))
    else {
        return line;
    };
    line.replacen(
        &format!("'{arg}'"),
        &format!("{} (the environment; flag {flag})", env.to_string_lossy()),
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn error(args: &[&str]) -> clap::Error {
        Cli::try_parse_from(args).unwrap_err()
    }

    #[test]
    fn a_bad_value_from_the_environment_names_the_variable() {
        // The same error clap gives for `GATEWAY_POLL_INTERVAL=abc` with no flag.
        let e = error(&["qencode-gateway", "--poll-interval", "abc"]);
        let line = one_line(&e, &["qencode-gateway".into()], |env| {
            env == "GATEWAY_POLL_INTERVAL"
        });
        assert_eq!(
            line,
            "invalid value 'abc' for GATEWAY_POLL_INTERVAL (the environment; flag --poll-interval): \
             'abc' is not a duration (try 500ms, 30s, 5m)"
        );
    }

    #[test]
    fn a_bad_flag_keeps_naming_the_flag() {
        for args in [
            &["qencode-gateway", "--poll-interval", "abc"][..],
            &["qencode-gateway", "--poll-interval=abc"][..],
        ] {
            let e = error(args);
            let argv: Vec<OsString> = args.iter().map(Into::into).collect();
            let line = one_line(&e, &argv, |_| true);
            assert!(line.contains("'--poll-interval <POLL_INTERVAL>'"), "{line}");
            assert!(!line.contains("GATEWAY_POLL_INTERVAL"), "{line}");
        }
    }

    #[cfg(feature = "sandbox")]
    #[test]
    fn a_bad_value_of_the_sandbox_subcommand_names_its_variable() {
        let e = error(&["qencode-gateway", "sandbox", "--phase-duration", "abc"]);
        let argv: Vec<OsString> = vec!["qencode-gateway".into(), "sandbox".into()];
        let line = one_line(&e, &argv, |env| env == "SANDBOX_PHASE_DURATION");
        assert!(
            line.starts_with("invalid value 'abc' for SANDBOX_PHASE_DURATION (the environment; flag --phase-duration)"),
            "{line}"
        );
        // The sandbox's --api-key reads SANDBOX_API_KEYS, not QENCODE_API_KEY.
        let e = error(&["qencode-gateway", "sandbox", "--api-key", " "]);
        let line = one_line(&e, &argv, |env| {
            env == "SANDBOX_API_KEYS" || env == "QENCODE_API_KEY"
        });
        assert!(line.contains("SANDBOX_API_KEYS"), "{line}");
    }

    #[test]
    fn errors_without_a_value_pass_through() {
        let e = error(&["qencode-gateway", "--no-such-flag"]);
        let line = one_line(&e, &["qencode-gateway".into()], |_| true);
        assert!(line.contains("--no-such-flag"), "{line}");
        assert!(!line.starts_with("error:"), "{line}");
    }
}
