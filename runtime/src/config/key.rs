//! The license key as a type that cannot be printed by accident.

use std::fmt;

/// A validated license key. `Debug` and `Display` show only the last four characters (`…8ZN1`);
/// [`LicenseKey::expose`] is the one way to the secret, used when the request body is built.
#[derive(Clone, PartialEq, Eq)]
pub struct LicenseKey(String);

/// Why a license key was not accepted. Carries the length, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyProblem {
    /// Fewer than 16 or more than 128 characters.
    Length(usize),
    /// A character outside printable ASCII, or whitespace, at this (1-based) position.
    Character(usize),
}

impl LicenseKey {
    /// Checks the contract's shape: 16–128 printable ASCII characters, no whitespace.
    pub fn parse(raw: &str) -> Result<Self, KeyProblem> {
        let len = raw.chars().count();
        if !(16..=128).contains(&len) {
            return Err(KeyProblem::Length(len));
        }
        if let Some(pos) = raw.chars().position(|c| !c.is_ascii_graphic()) {
            return Err(KeyProblem::Character(pos + 1));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The secret itself, for the validation request body only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The masked form, `…` and the last four characters.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks a secret-ish identifier down to its last four characters: `…8ZN1`.
pub fn mask(value: &str) -> String {
    let tail: String = value
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

impl fmt::Debug for LicenseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LicenseKey({})", self.masked())
    }
}

impl fmt::Display for LicenseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length(n) => write!(f, "value hidden, {n} characters"),
            Self::Character(p) => write!(f, "value hidden, character {p} is whitespace or not printable ASCII"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "CDT-7Q2M9-XK4PA-33HRT-W8ZN1";

    #[test]
    fn valid_key_is_accepted_and_masked_everywhere() {
        let key = LicenseKey::parse(KEY).expect("contract example is valid");
        assert_eq!(key.masked(), "…8ZN1");
        assert_eq!(key.to_string(), "…8ZN1");
        assert!(!format!("{key:?}").contains("XK4PA"));
        assert_eq!(key.expose(), KEY);
    }

    #[test]
    fn short_long_and_spaced_keys_are_refused() {
        assert!(matches!(LicenseKey::parse("short"), Err(KeyProblem::Length(5))));
        assert!(matches!(
            LicenseKey::parse(&"A".repeat(129)),
            Err(KeyProblem::Length(129))
        ));
        assert!(matches!(
            LicenseKey::parse("CDT-7Q2M9 XK4PA-33HRT"),
            Err(KeyProblem::Character(10))
        ));
        assert!(matches!(
            LicenseKey::parse("CDT-7Q2M9-XK4PA-33HRTé"),
            Err(KeyProblem::Character(22))
        ));
    }

    #[test]
    fn problems_never_show_the_value() {
        let problem = LicenseKey::parse("CDT-SECRET").expect_err("too short");
        assert!(!problem.to_string().contains("SECRET"));
    }
}
