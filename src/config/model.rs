#[derive(Clone, Debug, Default)]
pub struct Config {}
