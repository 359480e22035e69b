//! Placeholder until the preprocessor lands.
use super::diag::Diagnostic;
use super::token::Token;
use std::path::Path;

pub fn preprocess_file(_path: &Path, _config_id: &str) -> (Vec<Token>, Vec<Diagnostic>) {
    (Vec::new(), Vec::new())
}

pub fn preprocess_bytes(
    _name: &str,
    _bytes: &[u8],
    _base_dir: &Path,
    _config_id: &str,
) -> (Vec<Token>, Vec<Diagnostic>) {
    (Vec::new(), Vec::new())
}
