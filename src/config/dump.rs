//! (placeholder) effective-configuration dump.
use super::model::Config;

pub fn dump(config: &Config) -> String {
    format!("{config:#?}\n")
}
