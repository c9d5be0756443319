//! Reading CLM records: CERTInext orders reports and generic inventory exports.

pub mod date;
pub mod index;
pub mod load;
pub mod map;
pub mod record;
pub mod serial;
