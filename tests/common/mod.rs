//! Shared test harness (network namespaces, processes).
