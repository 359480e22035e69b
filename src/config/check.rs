use super::diag::Diagnostic;
use super::model::Config;
use super::LoadOptions;

pub fn check(_config: &mut Config, _diags: &mut Vec<Diagnostic>, _opts: &LoadOptions) {}
