//! (placeholder) lexer.
