//! PagerDuty provider (issue 3): REST API v2 through reqwest behind the `Provider` trait.
