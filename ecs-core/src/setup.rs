//! TODO(#2): module under construction.
