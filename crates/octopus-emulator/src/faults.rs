//! Injected faults: seeded random 500/503/429 answers, writes that commit and then drop the
//! connection, and a budget of writes after which the server refuses every write.

use axum::http::StatusCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::reply::{ApiError, Reply};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    InternalError,
    Unavailable,
    TooManyRequests,
}

impl Fault {
    pub fn reply(self) -> Reply {
        match self {
            Fault::InternalError => ApiError::internal(
                "System.TimeoutException: The operation has timed out. (fault injected by the Octopus emulator)",
            )
            .into(),
            Fault::Unavailable => unavailable(),
            Fault::TooManyRequests => Reply::json(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"ErrorMessage": "Too many requests. Please try again later.", "Errors": []}),
            )
            .with_header("retry-after", "1"),
        }
    }
}

pub fn unavailable() -> Reply {
    ApiError::with_status(
        StatusCode::SERVICE_UNAVAILABLE,
        "The Octopus Server is currently unavailable. Please try again later.",
    )
    .into()
}

#[derive(Debug)]
struct DropRule {
    method: String,
    path_contains: String,
    remaining: usize,
}

#[derive(Debug)]
pub struct Faults {
    rate: f64,
    rng: StdRng,
    drops: Vec<DropRule>,
    /// Committed writes still allowed; `None` = unlimited.
    write_budget: Option<usize>,
}

impl Faults {
    pub fn new(rate: f64, seed: u64) -> Faults {
        Faults {
            rate,
            rng: StdRng::seed_from_u64(seed),
            drops: Vec::new(),
            write_budget: None,
        }
    }

    /// Restart the random sequence: the same seed and requests give the same faults.
    pub fn set_rate(&mut self, rate: f64, seed: u64) {
        self.rate = rate;
        self.rng = StdRng::seed_from_u64(seed);
    }

    /// With probability `rate`, one of the three faults, uniformly.
    pub fn draw(&mut self) -> Option<Fault> {
        if self.rate <= 0.0 || self.rng.gen::<f64>() >= self.rate {
            return None;
        }
        Some(match self.rng.gen_range(0..3) {
            0 => Fault::InternalError,
            1 => Fault::Unavailable,
            _ => Fault::TooManyRequests,
        })
    }

    pub fn arm_drop(&mut self, method: &str, path_contains: &str, times: usize) {
        self.drops.push(DropRule {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_ascii_lowercase(),
            remaining: times,
        });
    }

    /// Whether this committed write must lose its response; uses up one shot of the rule.
    pub fn take_drop(&mut self, method: &str, path: &str) -> bool {
        let path = path.to_ascii_lowercase();
        let rule = self.drops.iter_mut().find(|r| {
            r.remaining > 0
                && r.method.eq_ignore_ascii_case(method)
                && path.contains(&r.path_contains)
        });
        match rule {
            Some(rule) => {
                rule.remaining -= 1;
                true
            }
            None => false,
        }
    }

    pub fn fail_writes_after(&mut self, n: usize) {
        self.write_budget = Some(n);
    }

    pub fn writes_refused(&self) -> bool {
        self.write_budget == Some(0)
    }

    pub fn count_write(&mut self) {
        if let Some(budget) = &mut self.write_budget {
            *budget = budget.saturating_sub(1);
        }
    }

    pub fn clear(&mut self) {
        self.rate = 0.0;
        self.drops.clear();
        self.write_budget = None;
    }
}
