//! The configuration as the entrypoint reads it: any set of `NAME=VALUE` lines must give a config or one
//! error whose message names a variable, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let vars: Vec<(String, String)> = text
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let lookup = |name: &str| vars.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if let Err(error) = coditect_runtime::config::Config::from_lookup(lookup) {
        let message = error.to_string();
        assert!(!message.is_empty());
    }
});
